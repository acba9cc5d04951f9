"""The whole pipeline on the real broker, the local S3 endpoint and a real worker process.

200 events (valid JPEG, PNG and WebP from S3, from files and inline, plus hostile ones) go in;
every valid one must yield exactly one signed, stored proof; every bad one a dead letter with
its reason; the tables must count the proofs; a replay must reproduce identical proofs.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connectors.output_topics import read_dead_letters, read_proofs
from streams.core.codecs.records import ProcessingFailed, ProofCreated
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import WorkerProcess
from streams.kafka.topics import SUBMITTED, tenant_repartition_topic
from tests.support.kafka_io import produce, wait_until_consumed
from tests.support.pipeline_scenarios import (
    Scenario,
    new_scenario,
    running_worker,
    tenant_counts,
)

pytestmark = pytest.mark.integration

VALID = 178


@dataclass
class Run:
    scenario: Scenario
    worker: WorkerProcess
    proofs: list[ProofCreated]
    failures: list[ProcessingFailed]


@pytest.fixture(scope="module")
def run(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    workdir = tmp_path_factory.mktemp("e2e")
    scenario = new_scenario(local_stack, workdir)
    settings = scenario.settings
    for index in range(VALID):
        scenario.add_valid(index)
    scenario.add_hostile_inputs(start=VALID)
    assert len(scenario.events) >= 200
    with running_worker(settings, workdir) as worker:
        produce(settings, settings.kafka.topic(SUBMITTED), scenario.events)
        proofs = read_proofs(settings, count=len(scenario.valid_ids), timeout=180)
        failures = read_dead_letters(settings, count=len(scenario.bad), timeout=180)
        yield Run(scenario, worker, proofs, failures)


def _public_keys(keyset_file: Path) -> dict[str, Ed25519PublicKey]:
    keys = json.loads(keyset_file.read_text())["keys"]
    return {
        key["kid"]: Ed25519PublicKey.from_public_bytes(
            base64.urlsafe_b64decode(key["x"] + "=" * (-len(key["x"]) % 4))
        )
        for key in keys
    }


def test_every_valid_event_yields_exactly_one_proof(run: Run) -> None:
    counts = Counter(proof.event_id for proof in run.proofs)
    assert set(counts) == set(run.scenario.valid_ids), run.worker.log_tail()
    assert max(counts.values()) == 1


def test_every_bad_event_is_dead_lettered_with_its_reason(run: Run) -> None:
    by_key = {
        failure.original_key.decode(): failure for failure in run.failures if failure.original_key
    }
    assert set(by_key) == set(run.scenario.bad), run.worker.log_tail()
    for key, expected in run.scenario.bad.items():
        failure = by_key[key]
        assert failure.error_class == expected, (key, failure.message)
        assert failure.message
        assert failure.stage in {"decode", "validate", "fetch", "hash"}
        assert failure.source_topic == run.scenario.settings.kafka.topic(SUBMITTED)
    original = dict(run.scenario.events)
    assert all(
        failure.original_value == original[failure.original_key or b""] for failure in run.failures
    )


def test_proof_objects_are_in_s3_encrypted_with_their_metadata(run: Run) -> None:
    client = run.scenario.stack.s3.client()
    for proof in run.proofs:
        head = client.head_object(Bucket=proof.location.bucket, Key=proof.location.key)
        assert head["ServerSideEncryption"] == "AES256"
        assert head["Metadata"]["proof-id"] == proof.proof_id
        assert head["Metadata"]["image-sha256"] == proof.sha256
        assert head["Metadata"]["phash"] == proof.phash
        assert head["Metadata"]["created-at"].startswith("2026-01-01T")
        assert head["Metadata"]["expires-at"] > head["Metadata"]["created-at"]
        assert proof.location.key.startswith(f"proofs/2026/01/01/{proof.proof_id}")


def test_signatures_verify_with_only_the_key_set_and_the_documented_canonical_form(
    run: Run,
) -> None:
    keys = _public_keys(run.scenario.settings.signing.keyset_file)
    client = run.scenario.stack.s3.client()
    for proof in run.proofs:
        body = client.get_object(Bucket=proof.location.bucket, Key=proof.location.key)["Body"]
        envelope = json.loads(body.read())
        # docs/proof-format.md: sorted keys, no whitespace, UTF-8.
        signed = json.dumps(
            envelope["proof"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
        value = envelope["signature"]["value"]
        signature = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        keys[envelope["signature"]["key_id"]].verify(signature, signed)  # raises if invalid
        assert envelope["proof"]["image"]["sha256"] == proof.sha256
        assert envelope["signature"]["value"] == proof.signature


def test_table_counts_equal_the_proofs(run: Run) -> None:
    settings = run.scenario.settings
    wait_until_consumed(settings, settings.kafka.app_id, tenant_repartition_topic(settings))
    assert tenant_counts(settings) == dict(Counter(proof.tenant for proof in run.proofs))
    assert sum(tenant_counts(settings).values()) == VALID


def test_replayed_events_yield_byte_identical_proofs_and_leave_the_counts_alone(
    run: Run,
) -> None:
    settings = run.scenario.settings
    client = run.scenario.stack.s3.client()
    replayed_ids = set(run.scenario.valid_ids[:50])
    first = {proof.event_id: proof for proof in run.proofs if proof.event_id in replayed_ids}

    def stored(proof: ProofCreated) -> tuple[bytes, object]:
        response = client.get_object(Bucket=proof.location.bucket, Key=proof.location.key)
        return response["Body"].read(), response["LastModified"]

    stored_before = {event_id: stored(proof) for event_id, proof in first.items()}
    replay = [(key, value) for key, value in run.scenario.events if key.decode() in replayed_ids]

    produce(settings, settings.kafka.topic(SUBMITTED), replay)
    proofs = read_proofs(settings, count=VALID + 50, timeout=180)

    seen = Counter(proof.event_id for proof in proofs)
    assert {event_id for event_id, count in seen.items() if count == 2} == replayed_ids
    again = [proof for proof in proofs if proof.event_id in replayed_ids]
    for proof in again:
        assert proof == first[proof.event_id]
        # Same bytes, and not even rewritten.
        assert stored(proof) == stored_before[proof.event_id]
    wait_until_consumed(settings, settings.kafka.app_id, tenant_repartition_topic(settings))
    assert sum(tenant_counts(settings).values()) == VALID  # a proof's duplicates count once
