"""A single-node Apache Kafka 4 broker in KRaft mode (combined broker and controller).

The jars come from Maven Central through `deploy/local/fetch-kafka`; storage is formatted with
Kafka's own storage tool; the broker runs with `java` and is ready once it answers a metadata
request.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from streams.core.errors import SetupError
from streams.devtools.devstack.java import require_java
from streams.devtools.devstack.processes import PidFile, require_free_port, spawn, stop_pid

__all__ = [
    "DEPLOY_LOCAL",
    "KAFKA_MAIN",
    "LocalKafka",
    "SecuredListeners",
    "StartReport",
    "cluster_id",
    "fetch_kafka",
]

DEPLOY_LOCAL = Path(__file__).resolve().parents[3] / "deploy" / "local"
KAFKA_MAIN = "kafka.Kafka"
_NODE_ID = 1
_WIPE_HINT = "remove it with `credlink dev down --wipe` (its topics are lost)"


@dataclass(frozen=True)
class StartReport:
    """What `start` did: the PID, and the seconds until the broker answered (None if it was
    already running)."""

    pid: int
    seconds_to_ready: float | None


def fetch_kafka(cache_dir: Path) -> Path:
    """Fetch Apache Kafka's jars into `cache_dir` (once) and return their directory."""
    require_java()
    result = subprocess.run(
        [str(DEPLOY_LOCAL / "fetch-kafka")],
        capture_output=True,
        text=True,
        env={**os.environ, "CREDLINK_KAFKA_CACHE_DIR": str(cache_dir)},
        check=False,
        timeout=1800,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise SetupError(lines[-1].removeprefix("error: ") if lines else "fetch-kafka failed")
    return Path(result.stdout.strip().splitlines()[-1])


def cluster_id() -> str:
    """A cluster id as Kafka's `Uuid.randomUuid()` makes one: URL-safe base64 of 16 random
    bytes, unpadded, never starting with `-` (a command line would take it for an option)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):
            return text


@dataclass(frozen=True)
class SecuredListeners:
    """Client listeners with TLS beside the plaintext one: `SASL_SSL` authenticating SCRAM-SHA-512
    users, and `SSL` requiring a client certificate signed by a CA of `truststore_file`."""

    sasl_ssl_port: int
    ssl_port: int
    keystore_file: Path  # PEM: the broker's PKCS#8 private key, then its certificate chain
    truststore_file: Path  # PEM: the CA certificates trusted for client certificates
    scram_users: tuple[tuple[str, SecretStr], ...] = ()

    def properties(self) -> dict[str, str]:
        """The broker properties of these listeners (the listener list itself aside)."""
        scram_module = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        return {
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore_file.resolve()),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.truststore_file.resolve()),
            "listener.name.ssl.ssl.client.auth": "required",
            "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram_module,
        }

    def listeners(self, host: str) -> list[str]:
        return [f"SASL_SSL://{host}:{self.sasl_ssl_port}", f"SSL://{host}:{self.ssl_port}"]

    def format_arguments(self) -> list[str]:
        """`kafka-storage format` arguments creating the SCRAM users in the new cluster."""
        return [
            argument
            for name, password in self.scram_users
            for argument in (
                "--add-scram",
                f"SCRAM-SHA-512=[name={name},password={password.get_secret_value()}]",
            )
        ]


@dataclass(frozen=True)
class LocalKafka:
    """The local broker whose state lives under `home`; `secured` adds TLS client listeners."""

    home: Path
    port: int
    controller_port: int
    cache_dir: Path
    host: str = "127.0.0.1"
    secured: SecuredListeners | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def config_path(self) -> Path:
        return self.home / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.home / "broker.log"

    @property
    def pid_file(self) -> PidFile:
        return PidFile(self.home / "kafka.pid", marker=KAFKA_MAIN)

    def running_pid(self) -> int | None:
        return self.pid_file.running_pid()

    def start(self, timeout: float = 60.0) -> StartReport:
        """Start the broker unless it runs already; wait until it answers metadata requests."""
        pid = self.running_pid()
        if pid is not None:
            return StartReport(pid=pid, seconds_to_ready=None)
        self.pid_file.remove()  # stale: its process is gone
        java = require_java()
        require_free_port(self.host, self.port, "CREDLINK_DEV_KAFKA_PORT")
        require_free_port(self.host, self.controller_port, "CREDLINK_DEV_CONTROLLER_PORT")
        if self.secured is not None:
            for port in (self.secured.sasl_ssl_port, self.secured.ssl_port):
                require_free_port(self.host, port, "the secured listeners' ports")
        libs = fetch_kafka(self.cache_dir)
        self._write_config()
        self._format_storage(java, libs)
        process = spawn(
            [
                java,
                "-Xms256m",
                "-Xmx768m",
                f"-Dlog4j2.configurationFile={DEPLOY_LOCAL / 'kafka' / 'log4j2.yaml'}",
                "-cp",
                f"{libs}/*",
                KAFKA_MAIN,
                str(self.config_path),
            ],
            self.log_path,
        )
        self.pid_file.write(process.pid)
        started = time.monotonic()
        try:
            self._wait_ready(process, timeout)
        except BaseException:
            stop_pid(process.pid, timeout=10)
            self.pid_file.remove()
            raise
        return StartReport(pid=process.pid, seconds_to_ready=time.monotonic() - started)

    def stop(self) -> bool:
        """Stop the broker by its PID. True if one was running."""
        pid = self.running_pid()
        self.pid_file.remove()
        if pid is None:
            return False
        stop_pid(pid, timeout=30)
        return True

    def _write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        client_listeners = [f"PLAINTEXT://{self.host}:{self.port}"]
        protocol_map = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
        if self.secured is not None:
            client_listeners += self.secured.listeners(self.host)
            protocol_map += ",SASL_SSL:SASL_SSL,SSL:SSL"
        advertised = ",".join(client_listeners)
        properties = {
            "process.roles": "broker,controller",
            "node.id": str(_NODE_ID),
            "controller.quorum.voters": f"{_NODE_ID}@{self.host}:{self.controller_port}",
            "listeners": f"{advertised},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": advertised,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": protocol_map,
            "log.dirs": str(self.data_dir.resolve()),
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "12",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            **(self.secured.properties() if self.secured is not None else {}),
        }
        text = "".join(f"{key}={value}\n" for key, value in properties.items())
        self.config_path.write_text(text)

    def _format_storage(self, java: str, libs: Path) -> None:
        meta = self.data_dir / "meta.properties"
        if meta.exists():
            fields = _read_properties(meta)
            if "cluster.id" not in fields or fields.get("node.id") != str(_NODE_ID):
                raise SetupError(f"Kafka data dir {self.data_dir} is corrupt: {_WIPE_HINT}")
            return
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise SetupError(
                f"Kafka data dir {self.data_dir} holds files but no meta.properties: {_WIPE_HINT}"
            )
        result = subprocess.run(
            [
                java,
                f"-Dlog4j2.configurationFile={DEPLOY_LOCAL / 'kafka' / 'tools-log4j2.yaml'}",
                "-cp",
                f"{libs}/*",
                "kafka.tools.StorageTool",
                "format",
                "--cluster-id",
                cluster_id(),
                "--config",
                str(self.config_path),
                *(self.secured.format_arguments() if self.secured is not None else []),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise SetupError(
                f"Kafka's storage tool could not format {self.data_dir}: "
                f"{detail[-1] if detail else 'no output'}"
            )

    def _wait_ready(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SetupError(
                    f"the Kafka broker exited during start-up ({_last_error(self.log_path)}); "
                    f"see {self.log_path}; if its data dir is damaged, {_WIPE_HINT}"
                )
            try:
                metadata = admin.list_topics(timeout=1.0)
            except Exception:
                time.sleep(0.2)
                continue
            if metadata.brokers:
                return
        raise SetupError(
            f"the Kafka broker did not answer a metadata request within {timeout:.0f} s; "
            f"see {self.log_path}"
        )


def _read_properties(path: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return fields
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            fields[key.strip()] = value.strip()
    return fields


def _last_error(log_path: Path) -> str:
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "no log"
    for line in reversed(lines):
        if " ERROR " in line or "Exception" in line:
            return line.strip()[:300]
    return lines[-1].strip()[:300] if lines else "no log output"
