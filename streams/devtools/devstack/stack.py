"""`credlink dev up|down|status|env`: the local broker, S3 endpoint and PostgreSQL, the topics,
the proof indexer and a worker."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from streams.core.signing import generate_key_pair
from streams.devtools.devstack.kafka import LocalKafka, StartReport
from streams.devtools.devstack.postgres import LocalPostgres
from streams.devtools.devstack.s3 import LOCAL_CREDENTIALS, LocalS3
from streams.devtools.devstack.services import BackgroundCommand
from streams.devtools.devstack.worker import WORKER_READY, credlink_env, settings_env
from streams.kafka.clients import confluent_config
from streams.kafka.topics import TopicReport, ensure_topics, pipeline_topics
from streams.settings import Settings

__all__ = ["LocalStack", "ServiceStatus", "Started", "UpReport"]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # "running", "stopped" or "stale"
    pid: int | None
    address: str  # where it listens, or (a service without a port) its log
    responding: bool
    listens: bool = True

    def describe(self) -> str:
        if self.state == "running" and not self.listens:
            return f"{self.name}: running (pid {self.pid}), log {self.address}"
        if self.state == "running":
            answer = "answering" if self.responding else "NOT answering"
            return f"{self.name}: running (pid {self.pid}) on {self.address}, {answer}"
        if self.state == "stale":
            return f"{self.name}: stopped (stale PID file, process {self.pid} is gone)"
        return f"{self.name}: stopped"


@dataclass(frozen=True)
class Started:
    """A service `up` made sure of: its PID, and whether it was running before."""

    name: str
    pid: int
    was_running: bool
    address: str


@dataclass(frozen=True)
class UpReport:
    kafka: StartReport
    kafka_was_running: bool
    s3_pid: int
    s3_was_running: bool
    topics: TopicReport
    services: tuple[Started, ...] = ()


@dataclass(frozen=True)
class LocalStack:
    """The local stack described by `settings` (its `dev_*` fields)."""

    settings: Settings

    @property
    def kafka(self) -> LocalKafka:
        return LocalKafka(
            home=self.settings.dev.home / "kafka",
            port=self.settings.dev.kafka_port,
            controller_port=self.settings.dev.controller_port,
            cache_dir=self.settings.dev.kafka_cache_dir,
        )

    @property
    def postgres(self) -> LocalPostgres:
        return LocalPostgres(
            home=self.settings.dev.home / "postgres", port=self.settings.dev.postgres_port
        )

    @property
    def indexer(self) -> BackgroundCommand:
        return BackgroundCommand("indexer", ("index", "run"), self.settings.dev.home)

    @property
    def worker(self) -> BackgroundCommand:
        return BackgroundCommand(
            "worker", ("worker",), self.settings.dev.home, ready_marker=WORKER_READY
        )

    @property
    def keys_dir(self) -> Path:
        return (self.settings.dev.home / "keys").resolve()

    @property
    def s3(self) -> LocalS3:
        return LocalS3(
            home=self.settings.dev.home / "s3",
            port=self.settings.dev.s3_port,
            region=self.settings.s3.region,
        )

    def client_settings(self) -> Settings:
        """The settings a worker or connector needs to use this stack."""
        key, secret = LOCAL_CREDENTIALS
        return self.settings.updated(
            kafka={"bootstrap_servers": self.kafka.bootstrap_servers},
            s3={
                "endpoint_url": self.s3.endpoint_url,
                "access_key_id": SecretStr(key),
                "secret_access_key": SecretStr(secret),
            },
        )

    def service_settings(self) -> Settings:
        """The settings of the stack's worker and indexer, and of a shell using the stack
        (`credlink dev env`): `client_settings`, development keys, proofs in the local bucket,
        and `file://` images from anywhere the user can read (the local worker runs as them)."""
        keys = self.keys_dir
        return self.client_settings().updated(
            signing={"key_file": keys / "signing-key.pem", "keyset_file": keys / "keyset.json"},
            store={"backend": "s3"},
            fetch={"file_roots": (Path("/"),)},
        )

    def index_dsn(self) -> str:
        return self.postgres.conninfo()

    def service_env(self) -> dict[str, str]:
        """The environment of the stack's `credlink` services: `service_settings` and the
        index DSN, nothing of the caller's `CREDLINK_*` variables."""
        return {**credlink_env(self.service_settings()), "CREDLINK_INDEX_DSN": self.index_dsn()}

    def shell_env(self) -> dict[str, str]:
        """The variables a shell needs to use the stack as its services do (`dev env`)."""
        env = settings_env(self.service_settings())
        names = (
            "CREDLINK_KAFKA_BOOTSTRAP_SERVERS",
            "CREDLINK_S3_ENDPOINT_URL",
            "CREDLINK_S3_ACCESS_KEY_ID",
            "CREDLINK_S3_SECRET_ACCESS_KEY",
            "CREDLINK_PROOF_STORE",
            "CREDLINK_SIGNING_KEY_FILE",
            "CREDLINK_KEYSET_FILE",
            "CREDLINK_FETCH_FILE_ROOTS",
        )
        return {**{name: env[name] for name in names}, "CREDLINK_INDEX_DSN": self.index_dsn()}

    def up(self, *, services: bool = False, worker: bool = True) -> UpReport:
        """Start what is not running, create the bucket and topics; with `services`, also
        PostgreSQL, the proof indexer and (unless not `worker`) a worker. Idempotent.

        If a step fails, whatever this call started is stopped again.
        """
        kafka, s3 = self.kafka, self.s3
        kafka_was_running = kafka.running_pid() is not None
        s3_was_running = s3.running_pid() is not None
        started: list[Started] = []
        try:
            kafka_report = kafka.start()
            s3_pid = s3.start(self.settings.s3.bucket)
            admin = AdminClient(confluent_config(self.client_settings()))
            topics = ensure_topics(admin, pipeline_topics(self.settings))
            if services:
                self._ensure_keys()
                postgres = self.postgres
                was_running = postgres.running_pid() is not None
                started.append(
                    Started(
                        "postgres",
                        postgres.start(),
                        was_running,
                        f"{postgres.host}:{postgres.port}",
                    )
                )
                for command in (self.indexer, self.worker) if worker else (self.indexer,):
                    pid, was_running = command.start(self.service_env())
                    started.append(Started(command.name, pid, was_running, str(command.log_path)))
        except BaseException:
            for service in reversed(started):
                if not service.was_running:
                    self._stop(service.name)
            if not s3_was_running:
                s3.stop()
            if not kafka_was_running:
                kafka.stop()
            raise
        return UpReport(
            kafka_report, kafka_was_running, s3_pid, s3_was_running, topics, tuple(started)
        )

    def down(self, wipe: bool = False) -> list[str]:
        """Stop every service of the stack by PID, clients before servers; with `wipe`, delete
        the broker's and PostgreSQL's data too."""
        stopped = [
            name for name in ("worker", "indexer", "postgres", "kafka", "s3") if self._stop(name)
        ]
        if wipe:
            shutil.rmtree(self.kafka.data_dir, ignore_errors=True)
            shutil.rmtree(self.postgres.data_dir, ignore_errors=True)
        return stopped

    def _stop(self, name: str) -> bool:
        services: dict[str, LocalKafka | LocalS3 | LocalPostgres | BackgroundCommand] = {
            "worker": self.worker,
            "indexer": self.indexer,
            "postgres": self.postgres,
            "kafka": self.kafka,
            "s3": self.s3,
        }
        return services[name].stop()

    def _ensure_keys(self) -> None:
        """Development signing keys on first use: never overwritten."""
        keys = self.keys_dir
        if not (keys / "signing-key.pem").exists():
            keys.mkdir(parents=True, exist_ok=True)
            generate_key_pair(keys / "signing-key.pem", keys / "keyset.json")

    def status(self) -> list[ServiceStatus]:
        kafka, s3 = self.kafka, self.s3
        return [
            _status(
                "kafka",
                kafka.pid_file.read(),
                kafka.running_pid(),
                kafka.bootstrap_servers,
                self._kafka_answers,
            ),
            _status("s3", s3.pid_file.read(), s3.running_pid(), s3.endpoint_url, self._s3_answers),
            _status(
                "postgres",
                self.postgres.pid_file.read(),
                self.postgres.running_pid(),
                f"{self.postgres.host}:{self.postgres.port}",
                self.postgres.answers,
            ),
            *(
                _status(
                    command.name,
                    command.pid_file.read(),
                    command.running_pid(),
                    str(command.log_path),
                    None,
                )
                for command in (self.indexer, self.worker)
            ),
        ]

    def _kafka_answers(self) -> bool:
        admin = AdminClient({"bootstrap.servers": self.kafka.bootstrap_servers, "log_level": 0})
        try:
            return bool(admin.list_topics(timeout=3).brokers)
        except Exception:
            return False

    def _s3_answers(self) -> bool:
        try:
            self.s3.client().list_buckets()
        except Exception:
            return False
        return True


def _status(
    name: str,
    recorded: int | None,
    running: int | None,
    address: str,
    probe: Callable[[], bool] | None,
) -> ServiceStatus:
    if running is not None:
        responding = True if probe is None else bool(probe())
        return ServiceStatus(name, "running", running, address, responding, probe is not None)
    if recorded is not None:
        return ServiceStatus(name, "stale", recorded, address, False)
    return ServiceStatus(name, "stopped", None, address, False)
