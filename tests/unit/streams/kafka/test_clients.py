"""Kafka client configuration from settings: librdkafka keys, Faust credentials and the aiokafka
arguments Faust makes of them, Java properties for Kafka's tools, for every security protocol;
and the validation of the security settings."""

from __future__ import annotations

import logging
import re
import ssl
import stat
from itertools import pairwise
from pathlib import Path
from typing import Any, cast

import pytest
from confluent_kafka import Producer
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from faust.auth import SASLCredentials, SSLCredentials
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import SecretStr, ValidationError

from streams.core.errors import DependencyUnavailable, SetupError
from streams.kafka import clients
from streams.kafka.clients import (
    CLIENT_LOGGER,
    OncePerInterval,
    confluent_config,
    faust_broker_credentials,
    faust_broker_url,
    java_client_properties,
    produce_with_backpressure,
    ssl_context,
    wait_for_cluster,
    write_java_client_properties,
)
from streams.settings import Settings
from tests.support.tls import TlsFiles, make_pki

PASSWORD = "pa55-word-never-shown"
KEY_PASSWORD = "key-pa55-never-shown"
BROKERS = "kafka-1:9093,kafka-2:9093"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_pki(tmp_path_factory.mktemp("tls"), KEY_PASSWORD)


def _settings(**kafka: object) -> Settings:
    """Settings with `kafka` as the Kafka group, nothing from the environment or `.env`."""
    return Settings(_env_file=None, kafka={"bootstrap_servers": BROKERS, **kafka})


def _sasl(protocol: str, **values: object) -> Settings:
    return _settings(
        security_protocol=protocol,
        sasl_username="alice",
        sasl_password=PASSWORD,
        **values,
    )


def _mtls(tls: TlsFiles) -> Settings:
    return _settings(
        security_protocol="SSL",
        ssl_ca_file=tls.ca_file,
        ssl_cert_file=tls.client_cert_file,
        ssl_key_file=tls.client_key_file,
        ssl_key_password=KEY_PASSWORD,
    )


def test_plaintext_adds_nothing_but_the_brokers_and_the_log_route() -> None:
    settings = _settings()
    assert confluent_config(settings) == {"bootstrap.servers": BROKERS, "logger": CLIENT_LOGGER}
    assert faust_broker_credentials(settings) is None
    assert ssl_context(settings) is None
    assert faust_broker_url(settings) == "kafka://kafka-1:9093;kafka://kafka-2:9093"


def test_extra_client_settings_come_on_top_of_the_security_ones() -> None:
    config = confluent_config(_sasl("SASL_SSL"), {"group.id": "g", "acks": "all"})
    assert config["group.id"] == "g"
    assert config["acks"] == "all"
    assert config["security.protocol"] == "sasl_ssl"


def test_sasl_ssl_with_scram_sha_512_maps_to_librdkafka_and_aiokafka(tls: TlsFiles) -> None:
    settings = _sasl("SASL_SSL", ssl_ca_file=tls.ca_file)
    assert confluent_config(settings) == {
        "bootstrap.servers": BROKERS,
        "logger": CLIENT_LOGGER,
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": PASSWORD,
        "ssl.ca.location": str(tls.ca_file),
    }
    credentials = faust_broker_credentials(settings)
    assert isinstance(credentials, SASLCredentials)
    auth = dict(credentials_to_aiokafka_auth(credentials))
    context = auth.pop("ssl_context")
    assert auth == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "alice",
        "sasl_plain_password": PASSWORD,
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [ca["subject"] for ca in context.get_ca_certs()] == [
        ((("commonName", "credlink test CA"),),)
    ]
    assert PASSWORD not in repr(credentials)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "PLAIN"])
def test_sasl_plaintext_uses_the_configured_mechanism_without_tls(mechanism: str) -> None:
    settings = _sasl("SASL_PLAINTEXT", sasl_mechanism=mechanism)
    assert confluent_config(settings) == {
        "bootstrap.servers": BROKERS,
        "logger": CLIENT_LOGGER,
        "security.protocol": "sasl_plaintext",
        "sasl.mechanism": mechanism,
        "sasl.username": "alice",
        "sasl.password": PASSWORD,
    }
    credentials = faust_broker_credentials(settings)
    assert isinstance(credentials, SASLCredentials)
    assert credentials_to_aiokafka_auth(credentials) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "alice",
        "sasl_plain_password": PASSWORD,
        "ssl_context": None,
    }


def test_mutual_tls_presents_the_client_certificate(tls: TlsFiles) -> None:
    settings = _mtls(tls)
    assert confluent_config(settings) == {
        "bootstrap.servers": BROKERS,
        "logger": CLIENT_LOGGER,
        "security.protocol": "ssl",
        "ssl.ca.location": str(tls.ca_file),
        "ssl.certificate.location": str(tls.client_cert_file),
        "ssl.key.location": str(tls.client_key_file),
        "ssl.key.password": KEY_PASSWORD,
    }
    credentials = faust_broker_credentials(settings)
    assert isinstance(credentials, SSLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SSL"
    assert auth["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_tls_without_a_ca_file_trusts_the_system_store() -> None:
    settings = _settings(security_protocol="SSL")
    assert confluent_config(settings) == {
        "bootstrap.servers": BROKERS,
        "logger": CLIENT_LOGGER,
        "security.protocol": "ssl",
        "ssl.ca.location": "probe",
    }
    context = ssl_context(settings)
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_a_wrong_key_password_fails_without_showing_either_password(tls: TlsFiles) -> None:
    settings = _mtls(tls).updated(kafka={"ssl_key_password": SecretStr("not-it-123")})
    with pytest.raises(ssl.SSLError) as failure:
        ssl_context(settings)
    assert "not-it-123" not in str(failure.value)
    assert KEY_PASSWORD not in str(failure.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"security_protocol": "SASL_SSL"}, "needs CREDLINK_KAFKA_SASL_USERNAME"),
        (
            {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "alice"},
            "needs CREDLINK_KAFKA_SASL_USERNAME and CREDLINK_KAFKA_SASL_PASSWORD",
        ),
        ({"sasl_password": PASSWORD}, "does not use SASL"),
        ({"ssl_ca_file": Path("ca.pem")}, "does not use TLS"),
        (
            {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_username": "alice",
                "sasl_password": PASSWORD,
                "ssl_key_password": KEY_PASSWORD,
            },
            "does not use TLS",
        ),
        (
            {"security_protocol": "SSL", "ssl_cert_file": Path("client.pem")},
            "CREDLINK_KAFKA_SSL_CERT_FILE and CREDLINK_KAFKA_SSL_KEY_FILE go together",
        ),
        (
            {"security_protocol": "SSL", "ssl_key_file": Path("client-key.pem")},
            "go together",
        ),
        (
            {"security_protocol": "SSL", "ssl_key_password": KEY_PASSWORD},
            "CREDLINK_KAFKA_SSL_KEY_PASSWORD is set without CREDLINK_KAFKA_SSL_KEY_FILE",
        ),
        ({"security_protocol": "SASL_TLS"}, "security_protocol"),
        ({"security_protocol": "SSL", "sasl_mechanism": "GSSAPI"}, "mechanism"),
    ],
)
def test_incomplete_or_contradictory_security_settings_are_refused(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        _settings(**values)
    assert PASSWORD not in str(refused.value)
    assert KEY_PASSWORD not in str(refused.value)


def test_security_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tls: TlsFiles
) -> None:
    monkeypatch.setenv("CREDLINK_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("CREDLINK_KAFKA_SASL_USERNAME", "alice")
    monkeypatch.setenv("CREDLINK_KAFKA_SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("CREDLINK_KAFKA_SSL_CA_FILE", str(tls.ca_file))
    settings = Settings(_env_file=None)
    assert confluent_config(settings)["sasl.password"] == PASSWORD
    assert PASSWORD not in repr(settings)


def test_java_tools_get_a_jaas_line_with_the_password_quoted() -> None:
    settings = _sasl("SASL_SSL").updated(kafka={"sasl_password": SecretStr('pa"ss\\word=1')})
    assert java_client_properties(settings) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="alice" password="pa\\"ss\\\\word=1";',
    }
    plain = java_client_properties(_sasl("SASL_PLAINTEXT", sasl_mechanism="PLAIN"))
    assert plain["sasl.jaas.config"].startswith(
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
    )


def test_java_tools_get_the_client_key_decrypted_as_pkcs8(tls: TlsFiles) -> None:
    properties = java_client_properties(_mtls(tls))
    key_pem = properties.pop("ssl.keystore.key")
    assert properties == {
        "security.protocol": "SSL",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(tls.ca_file.resolve()),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.certificate.chain": tls.client_cert_file.read_text(),
    }
    assert key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    certificate = x509.load_pem_x509_certificate(tls.client_cert_file.read_bytes())
    assert key.public_key() == certificate.public_key()


def test_a_wrong_key_password_is_a_setup_error_naming_the_settings(tls: TlsFiles) -> None:
    settings = _mtls(tls).updated(kafka={"ssl_key_password": SecretStr("not-it-456")})
    with pytest.raises(SetupError, match="CREDLINK_KAFKA_SSL_KEY_PASSWORD") as failure:
        java_client_properties(settings)
    assert "not-it-456" not in str(failure.value)


def test_the_properties_file_is_private_and_reads_back_as_written(
    tls: TlsFiles, tmp_path: Path
) -> None:
    path = tmp_path / "client.properties"
    path.write_text("old")
    path.chmod(0o644)
    settings = _mtls(tls)
    write_java_client_properties(settings, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _read_java_properties(path.read_text()) == java_client_properties(settings)


def _read_java_properties(text: str) -> dict[str, str]:
    """`key=value` lines with Java's `\\n` and `\\\\` escapes, as Properties.load reads them."""
    properties = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        properties[key] = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], value)
    return properties


class FullQueueProducer:
    """Stands in for a confluent-kafka producer whose local queue is full for the first
    `full_for` messages offered."""

    def __init__(self, full_for: int) -> None:
        self.full_for = full_for
        self.produced: list[tuple[str, dict[str, Any]]] = []
        self.polls: list[float] = []

    def produce(self, topic: str, **message: Any) -> None:
        if self.full_for:
            self.full_for -= 1
            raise BufferError("Local: Queue full")
        self.produced.append((topic, message))

    def poll(self, timeout: float) -> int:
        self.polls.append(timeout)
        return 0


def test_a_message_meeting_a_full_queue_waits_for_deliveries_to_make_room() -> None:
    producer = FullQueueProducer(full_for=2)

    produce_with_backpressure(cast(Producer, producer), "images.submitted", key=b"k", value=b"v")

    assert producer.produced == [("images.submitted", {"key": b"k", "value": b"v"})]
    assert producer.polls == [0.5, 0.5, 0]


def test_librdkafka_repeats_one_line_at_most_once_a_minute() -> None:
    clock = [1000.0]
    repeats = OncePerInterval(60.0, now=lambda: clock[0])

    def passes(message: str) -> bool:
        return repeats.filter(logging.LogRecord("kafka", logging.ERROR, "", 0, message, None, None))

    assert passes("FAIL Connect to 127.0.0.1:9092 failed")
    assert not passes("FAIL Connect to 127.0.0.1:9092 failed")
    assert passes("FAIL Connect to 127.0.0.1:9093 failed")
    clock[0] += 59.0
    assert not passes("FAIL Connect to 127.0.0.1:9092 failed")
    clock[0] += 1.0
    assert passes("FAIL Connect to 127.0.0.1:9092 failed")


def test_the_client_logger_passes_errors_once_and_no_warnings() -> None:
    assert CLIENT_LOGGER.isEnabledFor(logging.ERROR)
    assert not CLIENT_LOGGER.isEnabledFor(logging.WARNING)
    assert any(isinstance(f, OncePerInterval) for f in CLIENT_LOGGER.filters)


def test_a_service_waits_for_the_cluster_reporting_once_per_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]
    answers = iter([False] * 40 + [True])

    def require(_: Settings) -> None:
        clock[0] += 1.0  # each metadata request waits out a 1 s connect timeout
        if not next(answers):
            raise DependencyUnavailable("no Kafka broker answered")

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    monkeypatch.setattr(clients, "require_cluster", require)
    reports: list[float] = []

    wait_for_cluster(
        _settings(),
        lambda _, waited: reports.append(waited),
        report_every_seconds=30.0,
        sleep=sleep,
        now=lambda: clock[0],
    )

    assert next(answers, "drained") == "drained", "it stopped waiting before the cluster answered"
    assert reports[0] == 1.0
    assert len(reports) >= 2
    assert all(later - earlier >= 30.0 for earlier, later in pairwise(reports))
    assert len(reports) <= clock[0] / 30.0 + 1
