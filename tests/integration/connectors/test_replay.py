"""Replaying a range of `images.submitted`, with `credlink replay` and with Apache Kafka's console
tools piped into each other: every record comes back with the same key, value and headers, the
worker yields the same proofs, byte for byte and not even rewritten, and no count moves.

The console tools carry binary values through `deploy/local/kafka/base64-codec` (docs/replay.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.output_topics import read_proofs
from streams.core.codecs.records import ProofCreated
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import WorkerProcess, credlink_env
from streams.kafka.clients import confluent_config
from streams.kafka.topics import PROOFS_CREATED, SUBMITTED, tenant_repartition_topic
from streams.settings import Settings
from tests.support.kafka_io import wait_until_consumed
from tests.support.paths import DEPLOY_LOCAL_BIN
from tests.support.pipeline_scenarios import (
    metric_samples,
    new_scenario,
    running_worker,
    tenant_counts,
)

pytestmark = pytest.mark.integration

BIN = DEPLOY_LOCAL_BIN
VALID = 12
PARTITIONS = 3
CODEC = "io.credlink.console"

Headers = list[tuple[str, str | bytes | None]] | None
Fields = tuple[bytes | None, bytes | None, Headers]

# Headers on every other event: what tracing and ingest systems attach, and worse.
HEADERS: Headers = [
    ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ("raw", b"line\nbreak\r\ttab\x00nul\xff\xfe"),
    ("empty", b""),
    ("absent", None),
]

READER = [
    "--line-reader",
    f"{CODEC}.Base64RecordReader",
    *("--property", "parse.partition=true"),
    *("--property", "parse.headers=true"),
    *("--property", "parse.key=true"),
    # One acknowledged send at a time, so that a failed send fails the tool (exit status 1).
    "--sync",
    *("--timeout", "0"),
]


@dataclass
class Original:
    """The events as first published and processed, before any replay."""

    settings: Settings
    stack: LocalStack
    worker: WorkerProcess
    records: dict[int, list[Fields]]  # per partition, from offset 0
    last_timestamp_ms: int
    proofs: dict[str, ProofCreated]  # by event id
    stored: dict[str, tuple[bytes, object]]  # by event id: the stored bytes, LastModified
    counts: dict[str, int]


@pytest.fixture(scope="module")
def original(
    local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Original]:
    workdir = tmp_path_factory.mktemp("replay")
    scenario = new_scenario(local_stack, workdir, kafka={"topic_partitions": PARTITIONS})
    settings = scenario.settings
    for index in range(VALID):
        scenario.add_valid(index)
    events = [
        (key, value, HEADERS if index % 2 else None)
        for index, (key, value) in enumerate(scenario.events)
    ]
    topic = settings.kafka.topic(SUBMITTED)
    with running_worker(settings, workdir) as worker:
        _produce(settings, topic, events)
        messages = {
            p: _messages(settings, topic, p, 0, end) for p, end in _ends(settings, topic).items()
        }
        proofs = read_proofs(settings, count=VALID, timeout=120)
        assert sorted(proof.event_id for proof in proofs) == sorted(scenario.valid_ids)
        _wait_until_counted(settings)
        yield Original(
            settings=settings,
            stack=local_stack,
            worker=worker,
            records={p: [_fields(m) for m in found] for p, found in messages.items()},
            last_timestamp_ms=max(m.timestamp()[1] for found in messages.values() for m in found),
            proofs={proof.event_id: proof for proof in proofs},
            stored={proof.event_id: _stored(local_stack, proof) for proof in proofs},
            counts=tenant_counts(settings),
        )


def test_the_events_hold_bytes_that_line_based_tools_break(original: Original) -> None:
    records = [record for records in original.records.values() for record in records]
    values = [value for _, value, _ in records if value is not None]
    assert len(values) == VALID
    assert any(b"\n" in value for value in values)
    assert any(not _is_utf8(value) for value in values)
    assert sum(headers == HEADERS for _, _, headers in records) == VALID // 2


def test_credlink_replay_yields_identical_proofs_and_leaves_the_counts_alone(
    original: Original, tmp_path: Path
) -> None:
    settings = original.settings
    topic = settings.kafka.topic(SUBMITTED)
    before = _ends(settings, topic)
    last = datetime.fromtimestamp(original.last_timestamp_ms / 1000, UTC)

    result = _credlink_replay(
        settings,
        tmp_path,
        *("--topic", topic),
        *("--from-offset", "0"),
        *("--to-time", last.isoformat(timespec="milliseconds")),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"re-published {VALID} of {VALID} records" in result.stdout, result.stdout
    _assert_replayed_like_the_original(original, before)


def test_console_tools_replay_yields_identical_proofs_and_leaves_the_counts_alone(
    original: Original, tmp_path: Path
) -> None:
    settings = original.settings
    topic = settings.kafka.topic(SUBMITTED)
    before = _ends(settings, topic)

    _console_replay(
        settings,
        tmp_path,
        source=topic,
        target=topic,
        ranges={partition: (0, len(records)) for partition, records in original.records.items()},
        formatter=_formatter_properties(),
    )

    _assert_replayed_like_the_original(original, before)


def test_console_round_trip_is_byte_exact_for_arbitrary_bytes(
    settings: Settings, tmp_path: Path
) -> None:
    source, target = settings.kafka.topic("console.source"), settings.kafka.topic("console.target")
    admin = AdminClient(confluent_config(settings))
    for future in admin.create_topics([NewTopic(t, 2, 1) for t in (source, target)]).values():
        future.result(timeout=30)
    sent: dict[int, list[Fields]] = {
        0: [
            (b"key\n1", b"line one\nline two\n", [("h", b"a\nb")]),
            (b"\r\n", b"\r\n\r\r", [("cr", b"\r")]),
            (b"\t", b"tab\tseparated\tvalue", [("tab\tin name", b"\t\t")]),
            (b"\x00", b"\x00" * 7, [("nul", b"\x00")]),
            (b"\xff\xfe", b"\xc3\x28\xa0\xa1 not UTF-8 \xed\xa0\x80", [("bin", b"\xc0\x80")]),
        ],
        1: [
            (None, b"no key", [("absent", None), ("empty", b"")]),
            (b"tombstone", None, None),
            (b"", b"", [("colon:in:name", b"::"), ("NO_HEADERS", b"")]),
            (b"null", b"null", [("null", b"null")]),
            (b"-", b"-", [("dash", b"-")]),
            (bytes(range(256)), bytes(range(255, -1, -1)) * 9, [("all", bytes(range(256)))]),
        ],
    }
    for partition, records in sent.items():
        _produce(settings, source, records, partition=partition)

    # A null literal no field holds: with it, even a field of the four bytes `null` comes back.
    null_literal = f"credlink-null-{uuid.uuid4().hex}"
    _console_replay(
        settings,
        tmp_path,
        source=source,
        target=target,
        ranges={partition: (0, len(records)) for partition, records in sent.items()},
        formatter=_formatter_properties(null_literal),
    )

    assert _ends(settings, target) == {
        partition: len(records) for partition, records in sent.items()
    }
    for partition, records in sent.items():
        copies = _messages(settings, target, partition, 0, len(records))
        assert [_fields(message) for message in copies] == records


def test_counting_again_from_the_proof_topic_moves_no_count(
    original: Original, tmp_path: Path
) -> None:
    """docs/runbooks.md, "Counting the proofs again": the group moved back on `proofs.created`
    with the console tool while the worker is stopped. Last in this module: it restarts the
    module's worker."""
    settings = original.settings
    proofs_topic, repartition = (
        settings.kafka.topic(PROOFS_CREATED),
        tenant_repartition_topic(settings),
    )
    counts = tenant_counts(settings)
    original.worker.stop()
    rekeyed_before = sum(_ends(settings, repartition).values())

    reset = subprocess.run(
        [
            str(BIN / "kafka-consumer-groups"),
            *("--bootstrap-server", settings.kafka.bootstrap_servers),
            *("--group", settings.kafka.app_id),
            *("--topic", proofs_topic),
            *("--reset-offsets", "--to-earliest", "--execute"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KAFKA_OPTS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"},
        check=False,
    )
    assert reset.returncode == 0, reset.stdout + reset.stderr
    original.worker.start()
    _wait_until_counted(settings)

    # Every proof event was re-keyed again, and none of them counted twice.
    rekeyed = sum(_ends(settings, repartition).values()) - rekeyed_before
    assert rekeyed == sum(_ends(settings, proofs_topic).values())
    assert tenant_counts(settings) == counts == original.counts
    counted = metric_samples(settings, "credlink_table_proofs")
    assert sum(value for _, value in counted) == VALID, original.worker.log_tail()


def _assert_replayed_like_the_original(original: Original, before: Mapping[int, int]) -> None:
    """The records appended since `before` are the original ones, partition for partition and
    in order, and the worker turned them into the original proofs without rewriting a stored
    proof or moving a count."""
    settings = original.settings
    topic = settings.kafka.topic(SUBMITTED)
    after = _ends(settings, topic)
    for partition, records in original.records.items():
        assert after[partition] - before[partition] == len(records)
        copies = _messages(settings, topic, partition, before[partition], len(records))
        assert [_fields(message) for message in copies] == records

    expected = sum(after.values())  # one proof event per input record
    proofs = read_proofs(settings, count=expected, timeout=120)
    assert len(proofs) == expected, original.worker.log_tail()
    assert set(Counter(proof.event_id for proof in proofs).values()) == {expected // VALID}
    assert all(proof == original.proofs[proof.event_id] for proof in proofs)
    for event_id, proof in original.proofs.items():
        # Same bytes, and not even rewritten.
        assert _stored(original.stack, proof) == original.stored[event_id]
    _wait_until_counted(settings)
    assert tenant_counts(settings) == original.counts  # a proof's replays count once


def _formatter_properties(null_literal: str | None = None) -> list[str]:
    """kafka-console-consumer options printing partition, headers, key and value in base64."""
    properties = ["print.partition=true", "print.headers=true", "print.key=true"]
    for field in ("key", "value", "headers"):
        properties.append(f"{field}.deserializer={CODEC}.Base64Deserializer")
        if null_literal is not None:
            properties.append(f"{field}.deserializer.null.literal={null_literal}")
    if null_literal is not None:
        properties.append(f"null.literal={null_literal}")
    return [option for prop in properties for option in ("--property", prop)]


def _console_replay(
    settings: Settings,
    logs: Path,
    *,
    source: str,
    target: str,
    ranges: Mapping[int, tuple[int, int]],
    formatter: Sequence[str],
) -> None:
    """Pipe kafka-console-consumer into kafka-console-producer for each partition's range
    (first offset, record count), all partitions at once; both tools must succeed."""
    bootstrap = ("--bootstrap-server", settings.kafka.bootstrap_servers)
    # Short-lived JVMs: the optimising compiler would cost more than it saves.
    env = {**os.environ, "KAFKA_OPTS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
    pipes: list[tuple[int, int, subprocess.Popen[bytes], subprocess.Popen[bytes]]] = []
    with ExitStack() as files:
        try:
            for partition, (offset, count) in ranges.items():
                consumer_log = files.enter_context((logs / f"consumer-{partition}.log").open("wb"))
                producer_log = files.enter_context((logs / f"producer-{partition}.log").open("wb"))
                consumer = subprocess.Popen(
                    [
                        str(BIN / "kafka-console-consumer"),
                        *bootstrap,
                        *("--topic", source),
                        *("--partition", str(partition)),
                        *("--offset", str(offset)),
                        *("--max-messages", str(count)),
                        *("--timeout-ms", "60000"),
                        *formatter,
                    ],
                    stdout=subprocess.PIPE,
                    stderr=consumer_log,
                    env=env,
                )
                producer = subprocess.Popen(
                    [str(BIN / "kafka-console-producer"), *bootstrap, "--topic", target, *READER],
                    stdin=consumer.stdout,
                    stderr=producer_log,
                    env=env,
                )
                assert consumer.stdout is not None
                consumer.stdout.close()  # the producer holds the read end of the pipe now
                pipes.append((partition, count, consumer, producer))
            for partition, count, consumer, producer in pipes:
                for process in (consumer, producer):
                    process.wait(timeout=120)
                consumed = (logs / f"consumer-{partition}.log").read_text()
                produced = (logs / f"producer-{partition}.log").read_text()
                assert consumer.returncode == 0, consumed
                assert f"Processed a total of {count} messages" in consumed, consumed
                assert producer.returncode == 0, produced
        finally:
            for _, _, consumer, producer in pipes:
                for process in (consumer, producer):
                    if process.poll() is None:
                        process.kill()
                        process.wait()


def _credlink_replay(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The `replay` command in a process of its own, configured like an operator's shell."""
    env = {**credlink_env(settings), "COLUMNS": "200"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "credlink"), "replay", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _produce(
    settings: Settings, topic: str, records: Sequence[Fields], partition: int = -1
) -> None:
    """Publish `records` to `partition`, or where the partitioner puts them (-1)."""
    producer = Producer(confluent_config(settings, {"enable.idempotence": True, "acks": "all"}))
    for key, value, headers in records:
        producer.produce(topic, key=key, value=value, headers=headers, partition=partition)
    assert producer.flush(30) == 0, "records left undelivered"


def _messages(
    settings: Settings, topic: str, partition: int, start: int, count: int
) -> list[Message]:
    """Up to `count` records of one partition from offset `start` (fewer after 30 s)."""
    consumer = Consumer(
        confluent_config(
            settings, {"group.id": f"test-{uuid.uuid4().hex}", "enable.auto.commit": False}
        )
    )
    consumer.assign([TopicPartition(topic, partition, start)])
    messages: list[Message] = []
    deadline = time.monotonic() + 30
    try:
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                messages.append(message)
    finally:
        consumer.close()
    return messages


def _fields(message: Message) -> Fields:
    headers = message.headers()
    assert not isinstance(headers, dict)  # a consumed message has its headers as a list
    return message.key(), message.value(), headers


def _ends(settings: Settings, topic: str) -> dict[int, int]:
    """The end offset of each partition of `topic`."""
    consumer = Consumer(confluent_config(settings, {"group.id": f"test-{uuid.uuid4().hex}"}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def _stored(stack: LocalStack, proof: ProofCreated) -> tuple[bytes, object]:
    response = stack.s3.client().get_object(Bucket=proof.location.bucket, Key=proof.location.key)
    return response["Body"].read(), response["LastModified"]


def _wait_until_counted(settings: Settings) -> None:
    """Wait until the worker has proved every input record and counted every proof event."""
    for topic in (
        settings.kafka.topic(SUBMITTED),
        settings.kafka.topic(PROOFS_CREATED),
        tenant_repartition_topic(settings),
    ):
        wait_until_consumed(settings, settings.kafka.app_id, topic)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
