"""Error reports of a real worker, received by a Sentry stand-in on loopback.

A worker with `SENTRY_DSN` pointing at a local HTTP server that accepts Sentry envelopes proves
valid events and dead-letters bad ones (an undecodable inline image, disallowed URIs, a record
that is no Avro): each dead letter must arrive as an event tagged with its event, stage and
agent, and no envelope may carry a secret of the settings, an image's bytes or a record value.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.output_topics import read_proofs
from streams.core.codecs.records import ImageReference, ProofCreated
from streams.devtools.devstack.stack import LocalStack
from streams.kafka.serde import codec_for
from streams.kafka.topics import SUBMITTED
from streams.ops.error_reporting import RELEASE
from tests.support.images import encode, photo
from tests.support.kafka_io import produce
from tests.support.pipeline_scenarios import Scenario, running_worker, scenario_settings
from tests.support.sentry_stand_in import SentryStandIn

pytestmark = pytest.mark.integration

ENVIRONMENT = "e2e-test"
FIRST_VALID = 6
LATER_VALID = 3


@dataclass
class Run:
    scenario: Scenario
    server: SentryStandIn
    proofs: list[ProofCreated]
    worker_log: str
    secrets: list[str] = field(default_factory=list)
    blobs: list[bytes] = field(default_factory=list)


def _wait_for(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.fixture(scope="module")
def run(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Run:
    workdir = tmp_path_factory.mktemp("sentry")
    settings = scenario_settings(local_stack, workdir)
    assert settings.signing.key_file is not None
    pem = settings.signing.key_file.read_text()
    access_key, secret_key = f"AKIA{uuid.uuid4().hex[:16].upper()}", f"s3-{uuid.uuid4().hex}"
    settings = settings.updated(
        signing={"key_file": None, "key_pem": SecretStr(pem)},
        s3={"access_key_id": SecretStr(access_key), "secret_access_key": SecretStr(secret_key)},
        monitoring={"sentry_environment": ENVIRONMENT},
    )
    scenario = Scenario(settings=settings, workdir=workdir, stack=local_stack)
    for index in range(FIRST_VALID):
        scenario.add_valid(index)
    marker = f"image-marker-{uuid.uuid4().hex}".encode()
    broken_png = b"\x89PNG\r\n\x1a\n" + marker + os.urandom(4000)
    jpeg = encode(photo(96, 80, seed=3), "JPEG")
    record_value = b"\x00\x01record-marker-" + uuid.uuid4().hex.encode() + os.urandom(200)
    scenario.add_bad_reference(100, "ImageRejected", uri="inline:broken", inline_bytes=broken_png)
    scenario.add_bad_reference(
        101, "ImageRejected", uri="inline:cut", inline_bytes=jpeg[: len(jpeg) // 2]
    )
    scenario.add_bad_reference(102, "UriNotAllowed", uri=f"https://evil.test/{secret_key}/a.jpg")
    scenario.add_bad_reference(
        103, "UriNotAllowed", tenant="globex", uri="http://169.254.169.254/latest/meta-data/"
    )
    scenario.add_bad("not-avro", record_value, "DecodeFailed")

    server = SentryStandIn()
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        sentry_env = {"SENTRY_DSN": server.dsn, "NO_PROXY": "127.0.0.1"}
        with running_worker(settings, workdir, extra_env=sentry_env) as worker:
            produce(settings, settings.kafka.topic(SUBMITTED), scenario.events)
            _wait_for(lambda: len(_dead_letter_events(server)) >= len(scenario.bad), 120)
            read_proofs(settings, count=FIRST_VALID, timeout=120)
            for index in range(FIRST_VALID, FIRST_VALID + LATER_VALID):
                scenario.add_valid(index)
            produce(settings, settings.kafka.topic(SUBMITTED), scenario.events[-LATER_VALID:])
            proofs = read_proofs(settings, count=FIRST_VALID + LATER_VALID, timeout=120)
        log = worker.log_tail(200_000)
    finally:
        server.shutdown()
        server.server_close()
    codec = codec_for(ImageReference.SCHEMA, topic=settings.kafka.topic(SUBMITTED))
    images = [
        reference.inline_bytes
        for reference in (
            ImageReference.from_avro(codec.decode(value))
            for key, value in scenario.events
            if value is not None and key != b"not-avro"
        )
        if reference.inline_bytes
    ]
    return Run(
        scenario=scenario,
        server=server,
        proofs=proofs,
        worker_log=log,
        secrets=[access_key, secret_key, pem, *pem.splitlines()[1:-1], server.dsn],
        blobs=[record_value, marker, *images],
    )


def _dead_letter_events(server: SentryStandIn) -> list[dict[str, Any]]:
    return [event for event in server.events() if "stage" in event.get("tags", {})]


def _leak_forms(blob: bytes) -> list[bytes]:
    """How `blob` would show in an envelope: raw, repr, base64, hex (a slice of each)."""
    if len(blob) < 64:
        return [blob]
    middle = blob[len(blob) // 2 : len(blob) // 2 + 24]
    return [
        middle,
        json.dumps(repr(middle)[2:-1])[1:-1].encode(),
        base64.b64encode(blob)[40:100],
        base64.urlsafe_b64encode(blob)[40:100],
        blob.hex()[40:100].encode(),
    ]


def test_each_dead_letter_arrives_as_an_event_tagged_with_its_event_stage_and_agent(
    run: Run,
) -> None:
    assert run.server.rejected == []
    events = _dead_letter_events(run.server)
    by_event_id = {event["tags"].get("event_id"): event for event in events}
    expected = {
        "evt-0100": ("acme", "hash", "ImageRejected"),
        "evt-0101": ("acme", "hash", "ImageRejected"),
        "evt-0102": ("acme", "fetch", "UriNotAllowed"),
        "evt-0103": ("globex", "fetch", "UriNotAllowed"),
    }
    assert set(expected) <= set(by_event_id), run.worker_log[-4000:]
    for event_id, (tenant, stage, error_class) in expected.items():
        tags = by_event_id[event_id]["tags"]
        assert tags["tenant"] == tenant
        assert tags["stage"] == stage
        assert tags["agent"] == "prove"
        assert tags["error_class"] == error_class
        exception = by_event_id[event_id]["exception"]["values"][-1]
        assert exception["type"] == error_class
        assert exception["stacktrace"]["frames"]
        kafka = by_event_id[event_id]["contexts"]["kafka"]
        assert kafka["topic"] == run.scenario.settings.kafka.topic(SUBMITTED)
        assert kafka["offset"] >= 0
    (undecodable,) = [e for e in events if e["tags"]["error_class"] == "DecodeFailed"]
    assert undecodable["tags"]["stage"] == "decode"
    assert undecodable["tags"]["agent"] == "prove"
    assert "event_id" not in undecodable["tags"]


def test_events_carry_the_environment_and_release(run: Run) -> None:
    events = run.server.events()
    assert events
    assert {event["environment"] for event in events} == {ENVIRONMENT}
    assert {event["release"] for event in events} == {RELEASE}


def test_envelopes_are_sent_to_the_dsn_project_with_its_public_key(run: Run) -> None:
    envelopes = run.server.received()
    assert envelopes
    assert {envelope.project for envelope in envelopes} == {"1"}
    assert all("sentry_key=publickey" in envelope.auth for envelope in envelopes)


def test_a_secret_in_an_error_message_is_redacted(run: Run) -> None:
    (event,) = [
        e for e in _dead_letter_events(run.server) if e["tags"].get("event_id") == "evt-0102"
    ]
    value = event["exception"]["values"][-1]["value"]
    assert "https://evil.test/[redacted]/a.jpg" in value


def test_no_envelope_carries_a_secret_an_image_or_a_record_value(run: Run) -> None:
    bodies = [envelope.body for envelope in run.server.received()]
    assert bodies
    for secret in run.secrets:
        needles = {secret.encode(), json.dumps(secret)[1:-1].encode()}
        assert not any(needle in body for body in bodies for needle in needles), secret[:12]
    for blob in run.blobs:
        for needle in _leak_forms(blob):
            assert not any(needle in body for body in bodies), needle[:40]


def test_the_worker_keeps_proving_after_reporting(run: Run) -> None:
    assert {proof.event_id for proof in run.proofs} == set(run.scenario.valid_ids)
    assert len(run.scenario.valid_ids) == FIRST_VALID + LATER_VALID
