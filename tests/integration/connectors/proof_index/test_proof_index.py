"""The proof index: proof and credential events consumed into PostgreSQL idempotently, offsets
committed after the write, bad records skipped and counted, a database outage survived without
loss."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner

from connectors.proof_index import (
    IndexedCredential,
    IndexStats,
    IndexUnavailable,
    ProofIndex,
    ProofIndexService,
)
from streams.cli.index import app
from streams.core.codecs.records import CredentialIssued, ProofCreated, ProofLocation
from streams.core.image_fingerprint import ISCC_ALGORITHM
from streams.core.retry import RetryPolicy
from streams.devtools.devstack.processes import stop_pid
from streams.devtools.devstack.worker import credlink_env
from streams.kafka.clients import confluent_config
from streams.kafka.serde import codec_for
from streams.kafka.topics import (
    CREDENTIALS_CREATED,
    PROOFS_CREATED,
    ensure_topics,
    pipeline_topics,
)
from streams.settings import Settings
from tests.support.index_proofs import ISSUED_AT, TENANTS, at, credential, proof, proofs
from tests.support.kafka_io import produce, wait_until_consumed
from tests.support.postgres_server import postgres_server
from tests.support.stacks import free_port

FAST_RETRY = RetryPolicy(base_seconds=0.05, max_seconds=0.5)


@pytest.mark.integration
def test_upserts_insert_new_proofs_and_a_replay_writes_nothing(index: ProofIndex) -> None:
    batch = proofs(12)
    positions = [at(offset) for offset in range(12)]

    assert index.upsert_many(batch, positions) == 12
    assert index.upsert_many(batch, [at(100 + offset) for offset in range(12)]) == 0
    assert index.count() == 12
    replayed = index.by_proof_id(batch[4].proof_id)
    assert replayed is not None
    assert replayed.source == at(4), "a replay must not move the recorded source position"


@pytest.mark.integration
def test_a_changed_proof_is_rewritten_with_its_new_source_position(index: ProofIndex) -> None:
    first = proof(1)
    index.upsert_many([first], [at(1)])
    before = index.by_proof_id(first.proof_id)
    moved = ProofCreated(
        **{**first.__dict__, "location": ProofLocation(bucket="b2", key="k2", version_id="v2")}
    )

    assert index.upsert_many([moved], [at(50)]) == 1

    after = index.by_proof_id(first.proof_id)
    assert before is not None
    assert after is not None
    assert after.proof == moved
    assert after.source == at(50)
    assert after.indexed_at >= before.indexed_at
    assert index.count() == 1


@pytest.mark.integration
def test_the_same_proof_twice_in_one_batch_is_one_row(index: ProofIndex) -> None:
    twice = [proof(1), proof(2), proof(1)]

    assert index.upsert_many(twice, [at(0), at(1), at(2)]) == 2
    assert index.count() == 2


@pytest.mark.integration
def test_proofs_are_found_by_id_by_image_and_counted_per_tenant(index: ProofIndex) -> None:
    batch = proofs(9)
    resubmitted = ProofCreated(
        **{
            **batch[0].__dict__,
            "proof_id": "resubmitted",
            "event_id": "event-again",
            "issued_at": ISSUED_AT + 1000,
        }
    )
    index.upsert_many([*batch, resubmitted], [at(offset) for offset in range(10)])

    found = index.by_proof_id(batch[3].proof_id)
    assert found is not None
    assert found.proof == batch[3]
    assert index.by_proof_id("no-such-proof") is None
    same_image = index.by_image("acme", batch[0].sha256.upper())
    assert [hit.proof.proof_id for hit in same_image] == [batch[0].proof_id, "resubmitted"]
    assert index.by_image("globex", batch[0].sha256) == []
    assert {tenant: index.count(tenant) for tenant in TENANTS} == {
        "acme": 4,
        "globex": 3,
        "Zürich-株式会社": 3,
    }
    assert index.count() == 10


@pytest.mark.integration
def test_credentials_are_upserted_idempotently_and_keep_a_soft_binding_a_replay_lacks(
    index: ProofIndex,
) -> None:
    fingerprint = bytes(range(34))
    batch = [credential(proof(1), fingerprint), credential(proof(2, tenant="globex"), fingerprint)]

    assert index.upsert_credentials(batch, [at(0), at(1)]) == 2
    assert index.upsert_credentials(batch, [at(5), at(6)]) == 0
    assert index.upsert_credentials([credential(proof(1))], [at(7)]) == 0

    found = index.credentials_by_soft_binding("acme", ISCC_ALGORITHM, fingerprint, 10)
    assert [item.manifest_id for item in found] == [batch[0].manifest_id]


@pytest.mark.integration
def test_credentials_are_found_by_manifest_id_by_proof_and_by_soft_binding(
    index: ProofIndex,
) -> None:
    fingerprint = bytes(range(34))
    acme = [credential(proof(number), fingerprint) for number in range(3)]
    globex = credential(proof(9, tenant="globex"), fingerprint)
    index.upsert_credentials([*acme, globex], [at(offset) for offset in range(4)])
    first = IndexedCredential(
        acme[0].manifest_id, acme[0].proof_id, "acme", acme[0].manifest_store.key
    )

    assert index.credential(acme[0].manifest_id) == first
    assert index.credential("urn:c2pa:00000000-0000-4000-8000-000000000000") is None
    assert index.credential_of_proof(acme[0].proof_id) == first
    assert set(
        index.credentials_of_proofs("acme", [acme[0].proof_id, acme[1].proof_id, globex.proof_id])
    ) == {acme[0].proof_id, acme[1].proof_id}
    by_binding = index.credentials_by_soft_binding("acme", ISCC_ALGORITHM, fingerprint, 2)
    assert [item.manifest_id for item in by_binding] == [acme[0].manifest_id, acme[1].manifest_id]
    assert index.credentials_by_soft_binding("acme", ISCC_ALGORITHM, b"other", 10) == []


@pytest.mark.integration
def test_creating_the_schema_again_keeps_the_table_and_its_indexes(
    index: ProofIndex, index_dsn: str
) -> None:
    index.upsert_many([proof(1)], [at(0)])

    with ProofIndex(index_dsn) as again:
        again.create_schema()
        assert again.count() == 1

    with psycopg.connect(index_dsn) as connection:
        names = {
            row[0]
            for row in connection.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'proofs'"
            )
        }
    assert names == {
        "proofs_pkey",
        "proofs_tenant_sha256",
        "proofs_tenant_issued_at",
        "proofs_sha256",
    }


@pytest.mark.integration
def test_an_unreachable_index_is_unavailable_not_broken() -> None:
    with (
        ProofIndex(f"host=127.0.0.1 port={free_port()} user=x dbname=x") as index,
        pytest.raises(IndexUnavailable, match="unavailable"),
    ):
        index.count()


@pytest.mark.integration
def test_querying_a_database_without_the_index_says_how_to_create_it(index_dsn: str) -> None:
    result = CliRunner().invoke(
        app, ["query", "--dsn", index_dsn, "--tenant", "acme", "--sha256", "00"]
    )

    assert result.exit_code == 1
    assert "`credlink index run` creates it" in result.output


def create_topics(settings: Settings) -> None:
    ensure_topics(AdminClient(confluent_config(settings)), pipeline_topics(settings))


def produce_proofs(settings: Settings, batch: Sequence[ProofCreated]) -> None:
    topic = settings.kafka.topic(PROOFS_CREATED)
    codec = codec_for(
        ProofCreated.SCHEMA, topic=topic, registry_url=settings.kafka.schema_registry_url
    )
    produce(
        settings, topic, [(item.proof_id.encode(), codec.encode(item.to_avro())) for item in batch]
    )


def committed_and_end_offsets(
    settings: Settings, group: str
) -> tuple[dict[int, int], dict[int, int]]:
    """The offsets `group` committed on `proofs.created` (0 where it committed none) and the
    topic's end offsets, per partition."""
    topic = settings.kafka.topic(PROOFS_CREATED)
    consumer = Consumer(confluent_config(settings, {"group.id": group}))
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        committed = consumer.committed(
            [TopicPartition(topic, partition) for partition in partitions], timeout=10
        )
        ends = {
            partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[
                1
            ]
            for partition in partitions
        }
    finally:
        consumer.close()
    return {tp.partition: max(tp.offset, 0) for tp in committed}, ends


def new_group() -> str:
    return f"proof-index-{uuid.uuid4().hex[:8]}"


def run_service(settings: Settings, dsn: str, group: str, stop_after: int) -> IndexStats:
    service = ProofIndexService(settings, dsn, group, batch_size=25, poll_timeout=0.5)
    return service.run(stop_after=stop_after, idle_timeout=30)


def assert_indexed(index: ProofIndex, batch: Sequence[ProofCreated]) -> None:
    for item in batch:
        found = index.by_proof_id(item.proof_id)
        assert found is not None, f"proof {item.proof_id} is not indexed"
        assert found.proof == item


def eventually(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


@pytest.mark.integration
def test_every_proof_is_indexed_and_the_group_commits_to_the_end_offsets(
    settings: Settings, index_dsn: str
) -> None:
    create_topics(settings)
    batch = proofs(60)
    produce_proofs(settings, batch)
    group = new_group()

    stats = run_service(settings, index_dsn, group, stop_after=60)

    assert (stats.consumed, stats.written, stats.skipped) == (60, 60, 0)
    committed, ends = committed_and_end_offsets(settings, group)
    assert sum(ends.values()) == 60
    assert committed == ends
    with ProofIndex(index_dsn) as index:
        assert_indexed(index, batch)
        assert {tenant: index.count(tenant) for tenant in TENANTS} == {
            "acme": 20,
            "globex": 20,
            "Zürich-株式会社": 20,
        }
        assert index.by_image("globex", batch[1].sha256)[0].proof == batch[1]


@pytest.mark.integration
def test_credential_events_are_indexed_from_their_own_topic_with_the_proofs(
    settings: Settings, index_dsn: str
) -> None:
    create_topics(settings)
    batch = proofs(6)
    credentials = [credential(item, bytes([number]) * 34) for number, item in enumerate(batch)]
    produce_proofs(settings, batch)
    topic = settings.kafka.topic(CREDENTIALS_CREATED)
    codec = codec_for(
        CredentialIssued.SCHEMA, topic=topic, registry_url=settings.kafka.schema_registry_url
    )
    produce(
        settings,
        topic,
        [(item.proof_id.encode(), codec.encode(item.to_avro())) for item in credentials],
    )

    stats = run_service(settings, index_dsn, new_group(), stop_after=12)

    assert (stats.consumed, stats.written, stats.skipped) == (12, 12, 0)
    with ProofIndex(index_dsn) as index:
        assert_indexed(index, batch)
        for item in credentials:
            found = index.credential_of_proof(item.proof_id)
            assert found is not None
            assert (found.manifest_id, found.object_key) == (
                item.manifest_id,
                item.manifest_store.key,
            )
            assert item.fingerprint is not None
            by_binding = index.credentials_by_soft_binding(
                item.tenant, ISCC_ALGORITHM, item.fingerprint, 10
            )
            assert by_binding == [found]


@pytest.mark.integration
def test_a_replayed_topic_leaves_the_index_unchanged(settings: Settings, index_dsn: str) -> None:
    create_topics(settings)
    batch = proofs(30)
    produce_proofs(settings, batch)
    group = new_group()
    run_service(settings, index_dsn, group, stop_after=30)
    with ProofIndex(index_dsn) as index:
        before = {item.proof_id: index.by_proof_id(item.proof_id) for item in batch}

    produce_proofs(settings, batch)
    replay = run_service(settings, index_dsn, group, stop_after=30)

    assert (replay.consumed, replay.written, replay.skipped) == (30, 0, 0)
    committed, ends = committed_and_end_offsets(settings, group)
    assert sum(ends.values()) == 60
    assert committed == ends
    with ProofIndex(index_dsn) as index:
        assert index.count() == 30
        assert {item.proof_id: index.by_proof_id(item.proof_id) for item in batch} == before


@pytest.mark.integration
def test_records_that_are_no_indexable_proof_are_skipped_counted_and_committed(
    settings: Settings, index_dsn: str
) -> None:
    create_topics(settings)
    good = proofs(10)
    topic = settings.kafka.topic(PROOFS_CREATED)
    codec = codec_for(
        ProofCreated.SCHEMA, topic=topic, registry_url=settings.kafka.schema_registry_url
    )
    nul = ProofCreated(**{**proof(99).__dict__, "tenant": "ac\x00me"})
    produce_proofs(settings, good[:5])
    produce(
        settings,
        topic,
        [
            (b"garbage", b"not an avro record"),
            (b"tombstone", None),
            (b"nul", codec.encode(nul.to_avro())),
        ],
    )
    produce_proofs(settings, good[5:])
    group = new_group()

    stats = run_service(settings, index_dsn, group, stop_after=13)

    assert (stats.consumed, stats.written, stats.skipped) == (13, 10, 3)
    committed, ends = committed_and_end_offsets(settings, group)
    assert committed == ends
    with ProofIndex(index_dsn) as index:
        assert index.count() == 10
        assert_indexed(index, good)


@contextmanager
def running(service: ProofIndexService) -> Iterator[list[BaseException]]:
    """`service.run()` in a thread, stopped at the end; yields the errors it raised."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            service.run()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, name="proof-index")
    thread.start()
    try:
        yield errors
    finally:
        service.stop()
        thread.join(30)
        assert not thread.is_alive(), "the service did not stop"


@pytest.mark.integration
def test_a_database_outage_commits_nothing_past_the_last_write_and_loses_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    create_topics(settings)
    group = new_group()
    before, during = proofs(20, batch="before"), proofs(20, batch="during")
    with postgres_server(tmp_path) as server:
        dsn = server.create_database()
        service = ProofIndexService(
            settings, dsn, group, batch_size=7, poll_timeout=0.2, retry=FAST_RETRY
        )
        with running(service) as errors:
            produce_proofs(settings, before)
            wait_until_consumed(settings, group, settings.kafka.topic(PROOFS_CREATED), timeout=60)
            committed_before, ends_before = committed_and_end_offsets(settings, group)
            assert committed_before == ends_before
            with ProofIndex(dsn) as index:
                assert index.count() == 20

            server.stop(fast=True)
            produce_proofs(settings, during)
            eventually(lambda: service.stats.retries >= 3, "the service retried the write")

            committed_during, ends_during = committed_and_end_offsets(settings, group)
            assert sum(ends_during.values()) == 40
            assert committed_during == ends_before, "committed past the last successful write"
            assert service.stats.consumed > 20

            server.start()
            wait_until_consumed(settings, group, settings.kafka.topic(PROOFS_CREATED), timeout=60)
        assert not errors
        with ProofIndex(dsn) as index:
            assert index.count() == 40
            assert_indexed(index, before + during)
        assert service.stats.written == 40
        committed, ends = committed_and_end_offsets(settings, group)
        assert committed == ends


@pytest.mark.integration
def test_the_service_process_stops_on_sigterm_with_its_offsets_committed(
    settings: Settings, index_dsn: str, tmp_path: Path
) -> None:
    create_topics(settings)
    batch = proofs(15)
    produce_proofs(settings, batch)
    group = new_group()
    env = {**credlink_env(settings), "CREDLINK_INDEX_DSN": index_dsn}
    command = "from streams.cli.index import app; app()"
    log_path = tmp_path / "proof-index.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", command, "run", "--group", group],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    (tmp_path / "proof-index.pid").write_text(f"{process.pid}\n")
    try:
        wait_until_consumed(settings, group, settings.kafka.topic(PROOFS_CREATED), timeout=60)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log_path.read_text()
    finally:
        stop_pid(process.pid, timeout=10)

    output = log_path.read_text()
    assert "SIGTERM received" in output
    assert "consumed 15 records: 15 rows written, 0 skipped" in output
    committed, ends = committed_and_end_offsets(settings, group)
    assert committed == ends

    result = CliRunner().invoke(
        app, ["query", "--dsn", index_dsn, "--tenant", "globex", "--sha256", batch[4].sha256]
    )
    assert result.exit_code == 0, result.output
    assert [found["proof_id"] for found in json.loads(result.output)] == [batch[4].proof_id]
