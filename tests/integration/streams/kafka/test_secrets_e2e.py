"""No secret of the configuration shows up in anything the pipeline writes or prints.

A real worker runs with distinctive secret values: S3 credentials, the Ed25519 signing key as
PEM text and a Sentry DSN pointing at a loopback envelope server. Valid events go through it,
and so do hostile ones, including some that make the fetcher fail (a missing S3 object, an
allowed bucket that does not exist, an unreachable host) and some that are refused. Then every
output is searched for every secret, in the forms it could leak in (the value, its JSON
escaping, the key's PEM lines, its base64 body, the raw private key in hex and base64): the
worker's log, its `/metrics`, every record (keys, values, header names and values) on every
topic of the deployment, every stored proof object and its metadata, every Sentry envelope, and
what `credlink proofs export`, `credlink proofs get` and `credlink verify` print and write.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import uuid
from dataclasses import dataclass

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from connectors.output_topics import read_dead_letters, read_proofs
from connectors.proof_index import ProofIndexService
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import CREDLINK, credlink_env
from streams.kafka.clients import confluent_config
from streams.kafka.topics import SUBMITTED
from streams.settings import Settings
from tests.support.images import png_declaring
from tests.support.kafka_io import produce
from tests.support.pipeline_scenarios import (
    IMAGES_BUCKET,
    Scenario,
    running_worker,
    scenario_settings,
)
from tests.support.postgres_server import postgres_server
from tests.support.sentry_stand_in import SentryStandIn

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VALID = 9
MISSING_BUCKET = "credlink-no-such-bucket"


@dataclass(frozen=True)
class Secret:
    name: str
    value: str


def secret_forms(settings: Settings) -> list[Secret]:
    """Each secret of `settings`, and the forms in which it could leak.

    The DSN is a secret as a whole; its key alone is not, by Sentry's design (it is sent in
    every request's auth header and in each envelope's trace context)."""
    assert settings.signing.key_pem is not None
    assert settings.s3.access_key_id is not None
    assert settings.s3.secret_access_key is not None
    assert settings.monitoring.sentry_dsn is not None
    pem = settings.signing.key_pem.get_secret_value()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    body = "".join(pem.strip().splitlines()[1:-1])
    forms = [
        Secret("S3 access key id", settings.s3.access_key_id.get_secret_value()),
        Secret("S3 secret access key", settings.s3.secret_access_key.get_secret_value()),
        Secret("Sentry DSN", settings.monitoring.sentry_dsn.get_secret_value()),
        Secret("signing key PEM", pem),
        Secret("signing key PEM body", body),
        Secret("signing key raw, hex", raw.hex()),
        Secret("signing key raw, base64", base64.b64encode(raw).decode().rstrip("=")),
        Secret("signing key raw, base64url", base64.urlsafe_b64encode(raw).decode().rstrip("=")),
        # The PKCS#8 body ends with the raw key: its last characters are the most specific.
        Secret("signing key PEM body, tail", body[-24:]),
    ]
    forms += [Secret("signing key PEM line", line) for line in pem.strip().splitlines()[1:-1]]
    return forms


def leaks(text: bytes, secrets: list[Secret]) -> list[str]:
    """The names of the secrets `text` holds, as they are or JSON-escaped."""
    found = []
    for secret in secrets:
        needles = {secret.value.encode(), json.dumps(secret.value)[1:-1].encode()}
        if any(needle in text for needle in needles):
            found.append(secret.name)
    return found


def deployment_records(settings: Settings) -> list[bytes]:
    """Every record of every topic of this deployment (its prefix and its app id's internal
    topics), from the beginning to the current end: key, value, header names and values."""
    admin = AdminClient(confluent_config(settings))
    metadata = admin.list_topics(timeout=30)
    topics = [
        name
        for name in metadata.topics
        if name.startswith(settings.kafka.topic_prefix) or name.startswith(settings.kafka.app_id)
    ]
    assert settings.kafka.topic(SUBMITTED) in topics
    consumer = Consumer(
        confluent_config(
            settings,
            {"group.id": f"secrets-{uuid.uuid4().hex}", "enable.auto.commit": False},
        )
    )
    records: list[bytes] = []
    try:
        for topic in topics:
            for partition in metadata.topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=30
                )
                if high <= low:
                    continue
                consumer.assign([TopicPartition(topic, partition, low)])
                position = low
                while position < high:
                    message = consumer.poll(10)
                    assert message is not None, f"{topic}[{partition}] stopped at {position}"
                    assert message.error() is None, message.error()
                    parts = [message.key() or b"", message.value() or b""]
                    headers = message.headers() or []
                    pairs = headers.items() if isinstance(headers, dict) else headers
                    for name, value in pairs:
                        text = value.encode() if isinstance(value, str) else value or b""
                        parts += [name.encode(), text]
                    records.append(b"\0".join(parts))
                    position = (message.offset() or position) + 1
    finally:
        consumer.close()
    return records


def credlink(settings: Settings, *args: str) -> bytes:
    """What `credlink args...` prints, stdout and stderr, run with `settings` in its env."""
    result = subprocess.run(
        [CREDLINK, *args],
        env={**credlink_env(settings), "NO_PROXY": "127.0.0.1"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    return result.stdout + b"\n" + result.stderr


@dataclass
class Run:
    scenario: Scenario
    secrets: list[Secret]
    outputs: dict[str, bytes]
    proofs: int
    dead_letters: dict[str, str]  # key -> error class


@pytest.fixture(scope="module")
def run(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Run:
    workdir = tmp_path_factory.mktemp("secrets")
    settings = scenario_settings(local_stack, workdir)
    assert settings.signing.key_file is not None
    pem = settings.signing.key_file.read_text()
    settings.signing.key_file.unlink()  # the worker has the key only from the environment
    server = SentryStandIn()
    sentry_key = uuid.uuid4().hex
    settings = settings.updated(
        signing={"key_file": None, "key_pem": SecretStr(pem)},
        s3={
            "access_key_id": SecretStr(f"AKIA{uuid.uuid4().hex[:16].upper()}"),
            "secret_access_key": SecretStr(f"s3-secret-{uuid.uuid4().hex}"),
        },
        monitoring={
            "sentry_dsn": SecretStr(f"http://{sentry_key}@127.0.0.1:{server.server_address[1]}/1")
        },
        fetch={
            "allowed_buckets": frozenset({IMAGES_BUCKET, MISSING_BUCKET}),
            "timeout_seconds": 2.0,
        },
    )
    secrets = secret_forms(settings)
    scenario = Scenario(settings=settings, workdir=workdir, stack=local_stack)
    for index in range(VALID):
        scenario.add_valid(index)
    scenario.add_bad("not-avro", b"\x00\x01 not avro", "DecodeFailed")
    hostile: list[tuple[str, dict[str, object]]] = [
        ("FetchFailed", {"uri": f"s3://{IMAGES_BUCKET}/missing.png"}),
        ("FetchFailed", {"uri": f"s3://{MISSING_BUCKET}/image.png"}),
        ("FetchFailed", {"uri": "https://images.internal.test/unreachable.png"}),
        ("FetchFailed", {"uri": (scenario.image_root / "missing.png").as_uri()}),
        ("UriNotAllowed", {"uri": "https://169.254.169.254/latest/meta-data/iam/"}),
        ("UriNotAllowed", {"uri": "file:///etc/passwd"}),
        ("ImageRejected", {"uri": "inline:text", "inline_bytes": b"not an image"}),
        ("ImageTooLarge", {"uri": "inline:bomb", "inline_bytes": png_declaring(10**5, 10**5)}),
        ("InvalidEvent", {"uri": "inline:x", "tenant": "ac\x00me", "inline_bytes": b"x"}),
    ]
    for offset, (error_class, fields) in enumerate(hostile):
        scenario.add_bad_reference(100 + offset, error_class, **fields)

    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    outputs: dict[str, bytes] = {}
    try:
        with running_worker(settings, workdir, extra_env={"NO_PROXY": "127.0.0.1"}) as worker:
            produce(settings, settings.kafka.topic(SUBMITTED), scenario.events)
            proofs = read_proofs(settings, count=VALID, timeout=180)
            failures = read_dead_letters(settings, count=len(scenario.bad), timeout=180)
            metrics = httpx.get(f"http://127.0.0.1:{settings.worker.web_port}/metrics")
            outputs["/metrics"] = metrics.content
        outputs["worker log"] = worker.log_path.read_bytes()
    finally:
        server.shutdown()
        server.server_close()
    outputs["Sentry envelopes"] = b"\n".join(envelope.body for envelope in server.received())

    s3 = local_stack.s3.client()
    for proof in proofs:
        stored = s3.get_object(Bucket=proof.location.bucket, Key=proof.location.key)
        outputs[f"proof object {proof.proof_id}"] = stored["Body"].read()
        outputs[f"proof metadata {proof.proof_id}"] = json.dumps(stored["Metadata"]).encode()
    for number, record in enumerate(deployment_records(settings)):
        outputs[f"record {number}"] = record

    export = workdir / "export.jsonl"
    outputs["credlink proofs export"] = credlink(settings, "proofs", "export", "-o", str(export))
    outputs["exported proofs"] = export.read_bytes()
    outputs["credlink proofs get"] = credlink(
        settings, "proofs", "get", proofs[0].proof_id, "--with-document"
    )
    with postgres_server(tmp_path_factory.mktemp("postgres")) as database:
        dsn = database.create_database()
        indexer = ProofIndexService(
            settings, dsn, f"index-{uuid.uuid4().hex[:8]}", poll_timeout=0.5
        )
        assert indexer.run(stop_after=len(proofs), idle_timeout=30).written == len(proofs)
        image = next(scenario.image_root.glob("img-*"))
        outputs["credlink verify (proved)"] = credlink(settings, "verify", str(image), "--dsn", dsn)
        outputs["credlink verify (missing object)"] = credlink(
            settings, "verify", f"s3://{IMAGES_BUCKET}/missing.png", "--dsn", dsn
        )
        outputs["credlink verify (missing bucket)"] = credlink(
            settings, "verify", f"s3://{MISSING_BUCKET}/image.png", "--dsn", dsn
        )
    dead_letters = {
        (failure.original_key or b"").decode(): failure.error_class for failure in failures
    }
    return Run(scenario, secrets, outputs, len(proofs), dead_letters)


def test_the_run_exercised_proofs_dead_letters_error_reports_and_every_output(run: Run) -> None:
    assert run.proofs == VALID
    assert run.dead_letters == run.scenario.bad
    assert b"credlink_" in run.outputs["/metrics"]
    assert run.outputs["Sentry envelopes"].count(b'"error_class"') >= len(run.scenario.bad)
    assert b"verified" in run.outputs["credlink verify (proved)"]
    assert run.outputs["exported proofs"].count(b"\n") == VALID
    assert sum(name.startswith("record ") for name in run.outputs) > VALID + len(run.scenario.bad)


def test_no_output_holds_any_secret(run: Run) -> None:
    found = {
        name: leaked for name, text in run.outputs.items() if (leaked := leaks(text, run.secrets))
    }

    searched = sum(len(text) for text in run.outputs.values())
    print(f"searched {len(run.outputs)} outputs, {searched} bytes, for {len(run.secrets)} forms")
    assert found == {}
