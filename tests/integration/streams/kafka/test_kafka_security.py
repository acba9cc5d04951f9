"""Every Kafka client of the project on a broker that demands security: SASL_SSL with
SCRAM-SHA-512 users, and an SSL listener requiring client certificates of a test CA."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from connectors.ingest import ImageReferencePublisher
from connectors.output_topics import read_proofs
from connectors.reader import read_topic
from streams.devtools.devstack.kafka import LocalKafka, SecuredListeners
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import settings_env
from streams.kafka.clients import confluent_config
from streams.kafka.topics import SUBMITTED, ensure_topics, pipeline_topics
from streams.settings import Settings
from tests.support.images import encode, photo
from tests.support.kafka_io import produce
from tests.support.paths import DEPLOY_LOCAL_BIN
from tests.support.pipeline_scenarios import Scenario, new_scenario, running_worker
from tests.support.stacks import free_port
from tests.support.tls import TlsFiles, make_pki

pytestmark = pytest.mark.integration

BIN = DEPLOY_LOCAL_BIN
CREDLINK = str(Path(sys.executable).parent / "credlink")

SCRAM_USER = "credlink-worker"
# Random per run: a secret found in a log can only have come from this run's settings.
SCRAM_PASSWORD = f"scram-{secrets.token_hex(12)}"
KEY_PASSWORD = f"key-{secrets.token_hex(12)}"
REFUSAL_TIMEOUT = 5.0


@dataclass(frozen=True)
class SecuredBroker:
    kafka: LocalKafka
    listeners: SecuredListeners
    tls: TlsFiles

    def sasl_ssl(self, settings: Settings, password: str = SCRAM_PASSWORD) -> Settings:
        """`settings` reaching this broker over SASL_SSL as the SCRAM-SHA-512 test user."""
        return settings.updated(
            kafka={
                "bootstrap_servers": f"127.0.0.1:{self.listeners.sasl_ssl_port}",
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_username": SCRAM_USER,
                "sasl_password": SecretStr(password),
                "ssl_ca_file": self.tls.ca_file,
            }
        )

    def mtls(self, settings: Settings, with_certificate: bool = True) -> Settings:
        """`settings` reaching this broker over TLS with the test client certificate."""
        certificate = {
            "ssl_cert_file": self.tls.client_cert_file,
            "ssl_key_file": self.tls.client_key_file,
            "ssl_key_password": SecretStr(KEY_PASSWORD),
        }
        return settings.updated(
            kafka={
                "bootstrap_servers": f"127.0.0.1:{self.listeners.ssl_port}",
                "security_protocol": "SSL",
                "ssl_ca_file": self.tls.ca_file,
                **(certificate if with_certificate else {}),
            }
        )


@pytest.fixture(scope="module")
def secured_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    home = tmp_path_factory.mktemp("secured-kafka")
    tls = make_pki(home / "tls", KEY_PASSWORD)
    listeners = SecuredListeners(
        sasl_ssl_port=free_port(),
        ssl_port=free_port(),
        keystore_file=tls.broker_keystore_file,
        truststore_file=tls.ca_file,
        scram_users=((SCRAM_USER, SecretStr(SCRAM_PASSWORD)),),
    )
    kafka = LocalKafka(
        home=home / "kafka",
        port=free_port(),
        controller_port=free_port(),
        cache_dir=Settings(_env_file=None).dev.kafka_cache_dir,
        secured=listeners,
    )
    kafka.start()
    try:
        yield SecuredBroker(kafka, listeners, tls)
    finally:
        kafka.stop()


def _base_settings() -> Settings:
    return Settings(_env_file=None).updated(
        kafka={"topic_prefix": f"t{uuid.uuid4().hex[:10]}.", "topic_partitions": 2}
    )


@pytest.mark.parametrize("listener", ["sasl_ssl", "mtls"])
def test_admin_producer_and_consumer_work_over_the_secured_listener(
    secured_broker: SecuredBroker, listener: str
) -> None:
    settings = getattr(secured_broker, listener)(_base_settings())
    report = ensure_topics(AdminClient(confluent_config(settings)), pipeline_topics(settings))
    assert settings.kafka.topic(SUBMITTED) in report.created
    records = [(f"k{index}".encode(), f"v{index}".encode()) for index in range(5)]
    produce(settings, settings.kafka.topic(SUBMITTED), records)
    read = read_topic(
        settings, settings.kafka.topic(SUBMITTED), until=lambda got: len(got) >= 5, timeout=30
    )
    assert sorted((record.key, record.value) for record in read) == records


def _refusal(settings: Settings) -> tuple[str, list[KafkaError], float]:
    """How a metadata request with `settings` fails: the exception's text, the errors the client
    reported, and the seconds until it gave up."""
    errors: list[KafkaError] = []
    # The client's own error events carry the reason; the exception only says it gave up.
    config: dict[str, Any] = {**confluent_config(settings), "error_cb": errors.append}
    admin = AdminClient(config)
    started = time.monotonic()
    with pytest.raises(KafkaException) as refused:
        admin.list_topics(timeout=REFUSAL_TIMEOUT)
    seconds = time.monotonic() - started
    admin.poll(0)  # serves the error callbacks
    # Text only: the exception's traceback would keep the client, and its retries, alive.
    return str(refused.value), errors, seconds


def test_a_wrong_scram_password_is_refused_as_an_authentication_failure(
    secured_broker: SecuredBroker,
) -> None:
    wrong = f"wrong-{secrets.token_hex(8)}"
    refused, errors, seconds = _refusal(secured_broker.sasl_ssl(_base_settings(), wrong))
    assert seconds < REFUSAL_TIMEOUT + 5
    assert any(error.code() == KafkaError._AUTHENTICATION for error in errors), errors
    assert any("Authentication failed" in error.str() for error in errors), errors
    for text in (refused, *(error.str() for error in errors)):
        assert wrong not in text
        assert SCRAM_PASSWORD not in text


def test_a_client_without_certificate_is_refused_by_the_mutual_tls_listener(
    secured_broker: SecuredBroker,
) -> None:
    refused, errors, seconds = _refusal(
        secured_broker.mtls(_base_settings(), with_certificate=False)
    )
    assert seconds < REFUSAL_TIMEOUT + 5
    assert any("certificate" in error.str() for error in errors), errors
    assert "Failed to get metadata" in refused


def _inline_events(scenario: Scenario, count: int) -> list[str]:
    """`count` inline images published with the ingest library; their event ids."""
    references = [
        scenario.reference(
            index,
            "acme",
            f"https://images.internal.test/sec-{index}.png",
            inline_bytes=encode(photo(40 + index, 32, seed=index), "PNG"),
        )
        for index in range(count)
    ]
    publisher = ImageReferencePublisher(scenario.settings)
    try:
        report = publisher.publish_all(references)
    finally:
        publisher.close()
    assert (report.sent, report.failed) == (count, 0), report.errors
    return [reference.event_id for reference in references]


@pytest.mark.slow
@pytest.mark.parametrize("listener", ["sasl_ssl", "mtls"])
def test_a_worker_proves_events_over_the_secured_listener_without_leaking_secrets(
    secured_broker: SecuredBroker, local_stack: LocalStack, tmp_path: Path, listener: str
) -> None:
    scenario = new_scenario(local_stack, tmp_path)
    scenario = replace(scenario, settings=getattr(secured_broker, listener)(scenario.settings))
    with running_worker(scenario.settings, tmp_path) as worker:
        event_ids = _inline_events(scenario, 3)
        proofs = read_proofs(scenario.settings, count=len(event_ids), timeout=60)
        assert sorted(proof.event_id for proof in proofs) == sorted(event_ids), worker.log_tail()
    log = worker.log_path.read_text(errors="replace")
    if listener == "sasl_ssl":
        assert f"Authenticated as {SCRAM_USER} via SCRAM-SHA-512" in log
    key_pem_body = secured_broker.tls.client_key_file.read_text().splitlines()[1]
    for secret in (SCRAM_PASSWORD, KEY_PASSWORD, key_pem_body):
        assert secret not in log


def _run(argv: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    result = subprocess.run(
        argv, input=stdin, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _properties_file(settings: Settings, path: Path) -> str:
    """`credlink dev kafka-properties` run as an operator would, with `settings` in the
    environment; what it printed."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CREDLINK_")}
    return _run([CREDLINK, "dev", "kafka-properties", str(path)], {**env, **settings_env(settings)})


@pytest.mark.slow
def test_kafka_console_tools_connect_with_the_properties_file_written_from_the_settings(
    secured_broker: SecuredBroker, tmp_path: Path
) -> None:
    base = _base_settings()
    sasl, mtls = secured_broker.sasl_ssl(base), secured_broker.mtls(base)
    topic = sasl.kafka.topic(SUBMITTED)
    ensure_topics(AdminClient(confluent_config(sasl)), pipeline_topics(sasl))
    printed = _properties_file(sasl, tmp_path / "sasl.properties")
    printed += _properties_file(mtls, tmp_path / "mtls.properties")
    for secret in (SCRAM_PASSWORD, KEY_PASSWORD, "PRIVATE KEY"):
        assert secret not in printed

    _run(
        [
            str(BIN / "kafka-console-producer"),
            "--bootstrap-server",
            sasl.kafka.bootstrap_servers,
            "--producer.config",
            str(tmp_path / "sasl.properties"),
            "--topic",
            topic,
        ],
        stdin="over SASL_SSL\n",
    )
    consumed = _run(
        [
            str(BIN / "kafka-console-consumer"),
            "--bootstrap-server",
            mtls.kafka.bootstrap_servers,
            "--consumer.config",
            str(tmp_path / "mtls.properties"),
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            "1",
            "--timeout-ms",
            "30000",
        ],
    )
    assert consumed.splitlines() == ["over SASL_SSL"]
