"""`credlink proofs tail|get|export`: proof events read back exactly, by time, by tenant and by
id, without committing any consumer offset."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, Producer
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner, Result

from streams.cli import proofs as proofs_cli
from streams.core.assembly import build_pipeline
from streams.core.clock import from_epoch_millis, iso_utc, now_millis
from streams.core.codecs import ImageReference, ProofCreated
from streams.core.signing import generate_key_pair
from streams.core.stores.filesystem import FilesystemProofStore
from streams.devtools.devstack.worker import credlink_env
from streams.kafka.clients import confluent_config
from streams.kafka.serde import codec_for
from streams.kafka.topics import PROOFS_CREATED, ensure_topics, pipeline_topics
from streams.settings import Settings
from tests.support.images import encode, photo
from tests.support.pipeline_fakes import InlineExecutor

pytestmark = pytest.mark.integration

HOUR_MS = 3_600_000
Proofs = Callable[..., Result]


@dataclass(frozen=True)
class ProofTopic:
    """The test's settings, and proofs of which `older` were published an hour before `newer`."""

    settings: Settings
    older: list[ProofCreated]
    newer: list[ProofCreated]
    newer_from_ms: int

    @property
    def every(self) -> list[ProofCreated]:
        return [*self.older, *self.newer]


@pytest.fixture
def proof_settings(settings: Settings, tmp_path: Path) -> Settings:
    """Settings with topics, a signing key, its key set and a filesystem proof store."""
    ensure_topics(AdminClient(confluent_config(settings)), pipeline_topics(settings))
    keys = tmp_path / "keys"
    generate_key_pair(keys / "signing-key.pem", keys / "keyset.json")
    return settings.updated(
        signing={"key_file": keys / "signing-key.pem", "keyset_file": keys / "keyset.json"},
        store={"backend": "filesystem", "root": tmp_path / "proofs"},
    )


@pytest.fixture
def proof_topic(proof_settings: Settings) -> ProofTopic:
    """Six real signed proofs, stored, their events published: three an hour ago, three now."""
    pipeline = build_pipeline(proof_settings, InlineExecutor())
    now = now_millis()
    proofs = [
        pipeline.prove(
            ImageReference(
                event_id=f"event-{index}",
                tenant=("newsroom", "archive")[index % 2],
                uri=f"https://cdn.example.com/{index}.png",
                inline_bytes=encode(photo(40 + index, 30, seed=index), "PNG"),
                submitted_at=now - HOUR_MS + index,
            )
        )
        for index in range(6)
    ]
    publish(proof_settings, proofs[:3], timestamp_ms=now - HOUR_MS)
    publish(proof_settings, proofs[3:], timestamp_ms=now)
    return ProofTopic(proof_settings, proofs[:3], proofs[3:], newer_from_ms=now - HOUR_MS // 2)


@pytest.fixture
def proofs(proof_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Proofs:
    """Runs `credlink proofs ...` in-process with the test's settings."""
    monkeypatch.setattr(proofs_cli, "get_settings", lambda: proof_settings)

    def run(*args: str) -> Result:
        return CliRunner().invoke(proofs_cli.app, list(args))

    return run


def publish(settings: Settings, proofs: Iterable[ProofCreated], *, timestamp_ms: int) -> None:
    topic = settings.kafka.topic(PROOFS_CREATED)
    codec = codec_for(ProofCreated.SCHEMA, topic=topic)
    producer = Producer(confluent_config(settings, {"enable.idempotence": True, "acks": "all"}))
    for proof in proofs:
        producer.produce(
            topic,
            key=proof.proof_id.encode(),
            value=codec.encode(proof.to_avro()),
            timestamp=timestamp_ms,
        )
    assert producer.flush(30) == 0


def ids(output: str) -> list[str]:
    return [json.loads(line)["proof_id"] for line in output.splitlines() if line.strip()]


def iso(moment_ms: int) -> str:
    return iso_utc(from_epoch_millis(moment_ms))


def test_tail_from_beginning_prints_exactly_the_published_proofs(
    proof_topic: ProofTopic, proofs: Proofs
) -> None:
    result = proofs("tail", "--from-beginning", "--format", "jsonl")

    assert result.exit_code == 0, result.output
    events = [ProofCreated.from_avro(json.loads(line)) for line in result.stdout.splitlines()]
    assert sorted(events, key=lambda proof: proof.event_id) == proof_topic.every


def test_tail_from_time_skips_older_proofs(proof_topic: ProofTopic, proofs: Proofs) -> None:
    result = proofs("tail", "--from-time", iso(proof_topic.newer_from_ms), "--format", "jsonl")

    assert result.exit_code == 0, result.output
    assert sorted(ids(result.stdout)) == sorted(proof.proof_id for proof in proof_topic.newer)


def test_tail_filters_by_tenant_and_stops_at_the_limit(
    proof_topic: ProofTopic, proofs: Proofs
) -> None:
    archive = proofs("tail", "--from-beginning", "--format", "jsonl", "--tenant", "archive")
    limited = proofs("tail", "--from-beginning", "--format", "jsonl", "--limit", "2")

    assert (archive.exit_code, limited.exit_code) == (0, 0), archive.output + limited.output
    expected = sorted(proof.proof_id for proof in proof_topic.every if proof.tenant == "archive")
    assert sorted(ids(archive.stdout)) == expected
    assert len(ids(limited.stdout)) == 2


def test_tail_as_a_table_shows_each_proof_and_by_default_only_new_ones(
    proof_topic: ProofTopic, proofs: Proofs
) -> None:
    table = proofs("tail", "--from-beginning")
    new_only = proofs("tail")

    assert (table.exit_code, new_only.exit_code) == (0, 0), table.output + new_only.output
    assert table.stdout.count("proof id") == 1
    assert all(proof.proof_id in table.stdout for proof in proof_topic.every)
    assert new_only.stdout == ""
    assert "add --follow" in new_only.stderr


def test_export_writes_every_proof_in_range_and_terminates(
    proof_topic: ProofTopic, proofs: Proofs, tmp_path: Path
) -> None:
    everything = tmp_path / "all.jsonl"
    older = tmp_path / "older.jsonl"

    full = proofs("export", "--output", str(everything))
    ranged = proofs(
        "export",
        "--output",
        str(older),
        "--from-time",
        iso(proof_topic.newer_from_ms - HOUR_MS),
        "--to-time",
        iso(proof_topic.newer_from_ms),
    )

    assert (full.exit_code, ranged.exit_code) == (0, 0), full.output + ranged.output
    assert sorted(ids(everything.read_text())) == sorted(p.proof_id for p in proof_topic.every)
    assert sorted(ids(older.read_text())) == sorted(p.proof_id for p in proof_topic.older)
    assert "exported 6 proof events" in full.stderr
    assert not list(tmp_path.glob(".*.partial"))


def test_get_finds_a_proof_by_id_and_verifies_its_stored_document(
    proof_topic: ProofTopic, proofs: Proofs
) -> None:
    wanted = proof_topic.older[1]

    plain = proofs("get", wanted.proof_id)
    checked = proofs("get", wanted.proof_id, "--with-document")

    assert (plain.exit_code, checked.exit_code) == (0, 0), plain.output + checked.output
    assert json.loads(plain.stdout) == {"event": wanted.to_avro()}
    answer = json.loads(checked.stdout)
    assert answer["signed_proof"]["proof"]["proof_id"] == wanted.proof_id
    assert answer["verification"]["outcome"] == "valid"
    assert answer["verification"]["matches_event"] is True


def test_get_says_not_found_for_an_unknown_id(proof_topic: ProofTopic, proofs: Proofs) -> None:
    result = proofs("get", "0" * 32)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"no proof event with id {'0' * 32}" in result.stderr


def test_get_with_document_fails_when_the_stored_proof_was_tampered_with(
    proof_topic: ProofTopic, proofs: Proofs
) -> None:
    wanted = proof_topic.newer[0]
    store = FilesystemProofStore(proof_topic.settings.store.root)
    genuine = store.get(wanted.location.key)
    store.put(wanted.location.key, genuine.replace(b'"tenant":"', b'"tenant":"x'), {})

    result = proofs("get", wanted.proof_id, "--with-document")

    assert result.exit_code == 1
    assert json.loads(result.stdout)["verification"]["outcome"] == "bad_signature"


def test_readers_leave_no_committed_offset_in_any_group(
    proof_topic: ProofTopic, proofs: Proofs, tmp_path: Path
) -> None:
    runs = [
        proofs("tail", "--from-beginning", "--format", "jsonl"),
        proofs("export", "--output", str(tmp_path / "all.jsonl")),
        proofs("get", proof_topic.newer[0].proof_id),
    ]

    assert [run.exit_code for run in runs] == [0, 0, 0]
    topic = proof_topic.settings.kafka.topic(PROOFS_CREATED)
    admin = AdminClient(confluent_config(proof_topic.settings))
    groups = admin.list_consumer_groups(request_timeout=10).result().valid
    for group in groups:
        request = [ConsumerGroupTopicPartitions(group.group_id)]
        (answer,) = admin.list_consumer_group_offsets(request).values()
        committed = answer.result().topic_partitions or []
        assert not [tp for tp in committed if tp.topic == topic], group.group_id


def test_tail_follow_prints_new_proofs_as_they_come_and_stops_on_sigterm(
    proof_topic: ProofTopic, tmp_path: Path
) -> None:
    env = {**credlink_env(proof_topic.settings), "PYTHONUNBUFFERED": "1"}
    command = "from streams.cli.proofs import app; app()"
    args = ["tail", "--follow", "--format", "jsonl", "--from-time", iso(proof_topic.newer_from_ms)]
    tail = subprocess.Popen(
        [sys.executable, "-c", command, *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(60, tail.kill)  # a hung tail fails the test, not the session
    watchdog.start()
    try:
        assert tail.stdout is not None
        seen = [json.loads(tail.stdout.readline())["proof_id"] for _ in proof_topic.newer]
        publish(proof_topic.settings, proof_topic.older[:1], timestamp_ms=now_millis())
        seen.append(json.loads(tail.stdout.readline())["proof_id"])
        tail.send_signal(signal.SIGTERM)
        assert tail.wait(timeout=15) == 0, tail.stderr.read() if tail.stderr else ""
    finally:
        watchdog.cancel()
        if tail.poll() is None:
            tail.kill()
            tail.wait()
    expected = [*(proof.proof_id for proof in proof_topic.newer), proof_topic.older[0].proof_id]
    assert sorted(seen[:3]) == sorted(expected[:3])
    assert seen[3] == expected[3]
