"""Configuration of every Kafka client of the project (confluent-kafka and Faust), from settings:
the brokers, how to reach them securely (TLS, mutual TLS, SASL), where librdkafka logs, and the
check a command makes before it relies on the cluster."""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from cryptography.hazmat.primitives import serialization

from streams.core.errors import DependencyUnavailable, SetupError
from streams.core.retry import RetryPolicy, retry_call
from streams.settings import Settings

if TYPE_CHECKING:
    from confluent_kafka import Producer
    from faust.types.auth import CredentialsT

__all__ = [
    "CLIENT_LOGGER",
    "ClientConfig",
    "OncePerInterval",
    "confluent_config",
    "faust_broker_credentials",
    "faust_broker_url",
    "java_client_properties",
    "produce_with_backpressure",
    "require_cluster",
    "ssl_context",
    "wait_for_cluster",
    "write_java_client_properties",
]

_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


ClientConfig = dict[str, str | int | float | bool]

REPEAT_INTERVAL_SECONDS = 60.0


class OncePerInterval(logging.Filter):
    """Lets a message through once per `interval` seconds: a broker that stays down makes
    librdkafka log the same connection failure every second or so."""

    def __init__(self, interval: float, *, now: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._interval = interval
        self._now = now
        self._last_seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        now = self._now()
        with self._lock:
            last = self._last_seen.get(message)
            if last is not None and now - last < self._interval:
                return False
            if len(self._last_seen) > 1000:
                self._last_seen.clear()
            self._last_seen[message] = now
        return True


CLIENT_LOGGER = logging.getLogger("credlink.kafka.client")
"""Where librdkafka's own log lines go (instead of straight to standard error): its errors,
each distinct line at most once a minute. Its warnings are left out: a healthy start logs some
(`Coordinator load in progress: retrying`) that only alarm a reader."""
CLIENT_LOGGER.setLevel(logging.ERROR)
CLIENT_LOGGER.addFilter(OncePerInterval(REPEAT_INTERVAL_SECONDS))


def confluent_config(settings: Settings, extra: ClientConfig | None = None) -> dict[str, Any]:
    """librdkafka configuration for a producer, consumer or admin client, plus `extra`.

    (Typed `Any`: confluent-kafka's type stubs do not know the `logger` entry it accepts.)"""
    return {
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "logger": CLIENT_LOGGER,
        **_confluent_security(settings),
        **(extra or {}),
    }


def wait_for_cluster(
    settings: Settings,
    on_wait: Callable[[BaseException, float], None],
    *,
    report_every_seconds: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.monotonic,
) -> None:
    """Return once the Kafka cluster answers, however long that takes: what a long-running
    service does where a command gives up. `on_wait` hears why and for how many seconds it has
    waited, once when the wait begins and then at most once per `report_every_seconds`."""
    started = now()
    last_report: float | None = None

    def report(error: BaseException, _attempts: int, _delay: float) -> None:
        nonlocal last_report
        moment = now()
        if last_report is not None and moment - last_report < report_every_seconds:
            return
        last_report = moment
        on_wait(error, moment - started)

    retry_call(
        partial(require_cluster, settings),
        RetryPolicy(base_seconds=1.0, max_seconds=10.0),
        retry_on=DependencyUnavailable,
        on_retry=report,
        sleep=sleep,
    )


def require_cluster(settings: Settings) -> None:
    """Return once the Kafka cluster answers a metadata request; `DependencyUnavailable` naming
    the brokers, the setting and the fix if it does not within the connect timeout."""
    timeout = settings.kafka.connect_timeout_seconds
    admin = AdminClient(confluent_config(settings))
    try:
        admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        servers = settings.kafka.bootstrap_servers
        raise DependencyUnavailable(
            f"no Kafka broker answered at {servers} (CREDLINK_KAFKA_BOOTSTRAP_SERVERS) within "
            f"{timeout:g} s: start the local stack with `credlink dev up`, or set "
            "CREDLINK_KAFKA_BOOTSTRAP_SERVERS to your cluster"
        ) from exc


def produce_with_backpressure(producer: Producer, topic: str, **message: Any) -> None:
    """Queue `message` (the keyword arguments of `Producer.produce`) on `topic`; while the
    client's local queue is full, serve delivery reports, which drain it, until there is room."""
    while True:
        try:
            producer.produce(topic, **message)
            break
        except BufferError:
            producer.poll(0.5)
    producer.poll(0)


def _confluent_security(settings: Settings) -> ClientConfig:
    protocol = settings.kafka.security_protocol
    if protocol == "PLAINTEXT":
        return {}
    config: ClientConfig = {"security.protocol": protocol.lower()}
    if protocol.startswith("SASL_"):
        assert settings.kafka.sasl_username is not None  # guaranteed by Settings' validation
        assert settings.kafka.sasl_password is not None
        config["sasl.mechanism"] = settings.kafka.sasl_mechanism
        config["sasl.username"] = settings.kafka.sasl_username
        config["sasl.password"] = settings.kafka.sasl_password.get_secret_value()
    if protocol.endswith("SSL"):
        # librdkafka's bundled OpenSSL does not know where this system keeps its CA
        # certificates; "probe" makes it look in the usual places, like Python's ssl does.
        ca_file = settings.kafka.ssl_ca_file
        config["ssl.ca.location"] = str(ca_file) if ca_file is not None else "probe"
        if settings.kafka.ssl_cert_file is not None and settings.kafka.ssl_key_file is not None:
            config["ssl.certificate.location"] = str(settings.kafka.ssl_cert_file)
            config["ssl.key.location"] = str(settings.kafka.ssl_key_file)
        if settings.kafka.ssl_key_password is not None:
            config["ssl.key.password"] = settings.kafka.ssl_key_password.get_secret_value()
    return config


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of the `SSL`/`SASL_SSL` protocols (None for the others): the brokers'
    certificates checked against the CA file, the client certificate presented if set."""
    if not settings.kafka.security_protocol.endswith("SSL"):
        return None
    ca_file = settings.kafka.ssl_ca_file
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    if settings.kafka.ssl_cert_file is not None and settings.kafka.ssl_key_file is not None:
        password = settings.kafka.ssl_key_password
        context.load_cert_chain(
            settings.kafka.ssl_cert_file,
            settings.kafka.ssl_key_file,
            password=password.get_secret_value() if password is not None else None,
        )
    return context


def faust_broker_credentials(settings: Settings) -> CredentialsT | None:
    """Faust's `broker_credentials` for the security settings; None for `PLAINTEXT`."""
    # Imported here: the connectors use this module without loading Faust.
    from faust.auth import SASLCredentials, SSLCredentials

    protocol = settings.kafka.security_protocol
    context = ssl_context(settings)
    if protocol.startswith("SASL_"):
        assert settings.kafka.sasl_password is not None  # guaranteed by Settings' validation
        return SASLCredentials(
            username=settings.kafka.sasl_username,
            password=settings.kafka.sasl_password.get_secret_value(),
            ssl_context=context,
            mechanism=settings.kafka.sasl_mechanism,
        )
    if context is not None:
        return SSLCredentials(context)
    return None


def faust_broker_url(settings: Settings) -> str:
    """Faust's broker URL list (`kafka://h1:9092;kafka://h2:9092`)."""
    hosts = [host.strip() for host in settings.kafka.bootstrap_servers.split(",") if host.strip()]
    return ";".join(f"kafka://{host}" for host in hosts)


def java_client_properties(settings: Settings) -> dict[str, str]:
    """The security settings as Java client properties, for Kafka's own tools
    (`--command-config`, `--producer.config`, `--consumer.config`)."""
    protocol = settings.kafka.security_protocol
    properties: dict[str, str] = {"security.protocol": protocol}
    if protocol.startswith("SASL_"):
        assert settings.kafka.sasl_password is not None  # guaranteed by Settings' validation
        username = _jaas_quoted(settings.kafka.sasl_username or "")
        password = _jaas_quoted(settings.kafka.sasl_password.get_secret_value())
        properties["sasl.mechanism"] = settings.kafka.sasl_mechanism
        properties["sasl.jaas.config"] = (
            f"{_LOGIN_MODULES[settings.kafka.sasl_mechanism]} required "
            f"username={username} password={password};"
        )
    if protocol.endswith("SSL"):
        if settings.kafka.ssl_ca_file is not None:
            properties["ssl.truststore.type"] = "PEM"
            properties["ssl.truststore.location"] = str(settings.kafka.ssl_ca_file.resolve())
        if settings.kafka.ssl_cert_file is not None and settings.kafka.ssl_key_file is not None:
            properties["ssl.keystore.type"] = "PEM"
            properties["ssl.keystore.certificate.chain"] = settings.kafka.ssl_cert_file.read_text()
            properties["ssl.keystore.key"] = _java_readable_key(settings)
    return properties


def _java_readable_key(settings: Settings) -> str:
    # Java reads only PKCS#8 keys, and no PBES2-encrypted ones (what OpenSSL and `cryptography`
    # write today); the file holding this key would hold its password anyway.
    path = settings.kafka.ssl_key_file
    assert path is not None
    password = settings.kafka.ssl_key_password
    try:
        key = serialization.load_pem_private_key(
            path.read_bytes(),
            password.get_secret_value().encode() if password is not None else None,
        )
    except (OSError, ValueError, TypeError) as error:
        raise SetupError(
            f"cannot read the Kafka client key {path} (CREDLINK_KAFKA_SSL_KEY_FILE, "
            f"CREDLINK_KAFKA_SSL_KEY_PASSWORD): {error}"
        ) from None
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def write_java_client_properties(settings: Settings, path: Path) -> None:
    """Write `java_client_properties` to `path`, readable by its owner only (it may hold the
    SASL password and the client key)."""
    text = "".join(
        f"{key}={_properties_escaped(value)}\n"
        for key, value in java_client_properties(settings).items()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def _jaas_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _properties_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")
