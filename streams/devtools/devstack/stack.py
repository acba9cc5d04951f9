"""`credlink dev up|down|status`: the local broker, the local S3 endpoint and the topics."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from streams.devtools.devstack.kafka import LocalKafka, StartReport
from streams.devtools.devstack.s3 import LOCAL_CREDENTIALS, LocalS3
from streams.kafka.clients import confluent_config
from streams.kafka.topics import TopicReport, ensure_topics, pipeline_topics
from streams.settings import Settings

__all__ = ["LocalStack", "ServiceStatus", "UpReport"]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # "running", "stopped" or "stale"
    pid: int | None
    address: str
    responding: bool

    def describe(self) -> str:
        if self.state == "running":
            answer = "answering" if self.responding else "NOT answering"
            return f"{self.name}: running (pid {self.pid}) on {self.address}, {answer}"
        if self.state == "stale":
            return f"{self.name}: stopped (stale PID file, process {self.pid} is gone)"
        return f"{self.name}: stopped"


@dataclass(frozen=True)
class UpReport:
    kafka: StartReport
    kafka_was_running: bool
    s3_pid: int
    s3_was_running: bool
    topics: TopicReport


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

    def up(self) -> UpReport:
        """Start what is not running, create the bucket and topics. Idempotent.

        If a step fails, whatever this call started is stopped again.
        """
        kafka, s3 = self.kafka, self.s3
        kafka_was_running = kafka.running_pid() is not None
        s3_was_running = s3.running_pid() is not None
        try:
            kafka_report = kafka.start()
            s3_pid = s3.start(self.settings.s3.bucket)
            admin = AdminClient(confluent_config(self.client_settings()))
            topics = ensure_topics(admin, pipeline_topics(self.settings))
        except BaseException:
            if not s3_was_running:
                s3.stop()
            if not kafka_was_running:
                kafka.stop()
            raise
        return UpReport(kafka_report, kafka_was_running, s3_pid, s3_was_running, topics)

    def down(self, wipe: bool = False) -> list[str]:
        """Stop every service of the stack by PID; with `wipe`, delete its data too."""
        stopped = [
            name for name, service in (("kafka", self.kafka), ("s3", self.s3)) if service.stop()
        ]
        if wipe:
            shutil.rmtree(self.kafka.data_dir, ignore_errors=True)
        return stopped

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
    probe: Callable[[], bool],
) -> ServiceStatus:
    if running is not None:
        return ServiceStatus(name, "running", running, address, bool(probe()))
    if recorded is not None:
        return ServiceStatus(name, "stale", recorded, address, False)
    return ServiceStatus(name, "stopped", None, address, False)
