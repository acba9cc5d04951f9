"""Replay: re-publishing a range of a topic, record for record, so that the pipeline processes it
again (proofs are deterministic, so a replayed event yields the same proof, byte for byte).

Each record goes back with its key, value and headers unchanged, to the partition it was read
from, through one idempotent acks=all producer: the order within each partition is kept. The
end of every partition is captured when the replay starts, so a replay into its own topic ends.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from connectors.reader import offsets_at, watermarks
from streams.core.errors import SetupError
from streams.kafka.clients import ClientConfig, confluent_config, produce_with_backpressure
from streams.settings import Settings

__all__ = [
    "AtOffset",
    "AtTime",
    "Bound",
    "PartitionRange",
    "PartitionReplay",
    "ReplayReport",
    "replay",
]

_PRODUCER: ClientConfig = {"enable.idempotence": True, "acks": "all", "linger.ms": 20}
_METADATA_TIMEOUT = 10.0
_MAX_ERRORS_KEPT = 20
_FATAL = (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.TOPIC_AUTHORIZATION_FAILED)


@dataclass(frozen=True)
class AtOffset:
    """A position in each partition: this offset."""

    offset: int


@dataclass(frozen=True)
class AtTime:
    """A position in each partition: its first record stamped at or after this time (ms since
    the epoch), as Kafka's offsets-for-times lookup finds it."""

    timestamp_ms: int


Bound = AtOffset | AtTime


@dataclass(frozen=True)
class PartitionRange:
    """The offsets of one partition a replay covers: from `start` up to, not including, `end`."""

    partition: int
    start: int
    end: int


@dataclass(frozen=True)
class PartitionReplay:
    """What was read from one partition's range, and how many of those records the broker
    acknowledged on the target (0 in a dry run)."""

    range: PartitionRange
    read: int
    delivered: int


@dataclass(frozen=True)
class ReplayReport:
    """What a replay read and published; `failed` counts the records read but not acknowledged,
    `errors` says why (the first few)."""

    source: str
    target: str
    dry_run: bool
    partitions: tuple[PartitionReplay, ...]
    failed: int
    errors: tuple[str, ...]

    @property
    def read(self) -> int:
        return sum(partition.read for partition in self.partitions)

    @property
    def delivered(self) -> int:
        return sum(partition.delivered for partition in self.partitions)


def replay(
    settings: Settings,
    topic: str,
    *,
    start: Bound,
    until: Bound | None = None,
    partitions: Collection[int] | None = None,
    target_topic: str | None = None,
    dry_run: bool = False,
    idle_timeout: float = 60.0,
) -> ReplayReport:
    """Re-publish the records of `topic` from `start` through `until` (inclusive: the record at
    that offset, or the last stamped at or before that time; default: the end each partition
    has when the replay starts) of `partitions` (default: all) to `target_topic` (default:
    `topic`), each to the partition it came from. A dry run reads the range and publishes
    nothing. Topic names are full names, prefix included."""
    target = target_topic or topic
    consumer = Consumer(
        confluent_config(
            settings,
            {
                # A group of its own that never commits: no real group's offsets move.
                "group.id": f"credlink-replay-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
            },
        )
    )
    try:
        ranges = _ranges(consumer, settings, topic, start, until, partitions)
        if not dry_run:
            _require_partitions(consumer, settings, target, [r.partition for r in ranges])
        records = _records(consumer, topic, ranges, idle_timeout)
        if dry_run:
            read = Counter(message.partition() or 0 for message in records)
            return ReplayReport(
                source=topic,
                target=target,
                dry_run=True,
                partitions=_per_partition(ranges, read, Counter()),
                failed=0,
                errors=(),
            )
        return _republish(settings, topic, target, ranges, records)
    finally:
        consumer.close()


def _republish(
    settings: Settings,
    source: str,
    target: str,
    ranges: list[PartitionRange],
    records: Iterator[Message],
) -> ReplayReport:
    producer = Producer(confluent_config(settings, dict(_PRODUCER)))
    read: Counter[int] = Counter()
    delivered: Counter[int] = Counter()
    errors: list[str] = []

    def on_delivery(error: KafkaError | None, message: Message) -> None:
        if error is None:
            delivered[message.partition() or 0] += 1
        else:
            errors.append(f"partition {message.partition()}: {error.str()}")

    for message in records:
        partition = message.partition() or 0
        read[partition] += 1
        produce_with_backpressure(
            producer,
            target,
            key=message.key(),
            value=message.value(),
            headers=message.headers(),
            partition=partition,
            on_delivery=on_delivery,
        )
    undelivered = producer.flush(30.0)
    if undelivered:
        errors.append(f"{undelivered} records still undelivered after 30 s")
    return ReplayReport(
        source=source,
        target=target,
        dry_run=False,
        partitions=_per_partition(ranges, read, delivered),
        failed=sum(read.values()) - sum(delivered.values()),
        errors=tuple(errors[:_MAX_ERRORS_KEPT]),
    )


def _per_partition(
    ranges: list[PartitionRange], read: Counter[int], delivered: Counter[int]
) -> tuple[PartitionReplay, ...]:
    return tuple(PartitionReplay(r, read[r.partition], delivered[r.partition]) for r in ranges)


def _ranges(
    consumer: Consumer,
    settings: Settings,
    topic: str,
    start: Bound,
    until: Bound | None,
    selected: Collection[int] | None,
) -> list[PartitionRange]:
    """The range of each selected partition, its end captured now."""
    numbers = _require_partitions(consumer, settings, topic, selected)
    lows, highs = watermarks(consumer, topic, numbers)
    starts = _offsets(consumer, topic, start, highs)
    ends = highs if until is None else _offsets(consumer, topic, until, highs, past=True)
    return [
        PartitionRange(
            partition=number,
            start=max(starts[number], lows[number]),  # what retention deleted is gone
            end=min(ends[number], highs[number]),
        )
        for number in numbers
    ]


def _offsets(
    consumer: Consumer, topic: str, bound: Bound, highs: dict[int, int], *, past: bool = False
) -> dict[int, int]:
    """The offset of `bound` in each partition, or with `past` the offset just after it; a time
    later than every record is the end."""
    step = 1 if past else 0
    if isinstance(bound, AtOffset):
        return dict.fromkeys(highs, bound.offset + step)
    return offsets_at(consumer, topic, bound.timestamp_ms + step, fallback=highs)


def _require_partitions(
    consumer: Consumer, settings: Settings, topic: str, selected: Collection[int] | None
) -> list[int]:
    """The partitions `selected` (default: all) of `topic`; a SetupError if any is missing."""
    metadata = consumer.list_topics(topic, timeout=_METADATA_TIMEOUT).topics.get(topic)
    if metadata is None or metadata.error is not None or not metadata.partitions:
        raise SetupError(
            f"topic {topic} does not exist on {settings.kafka.bootstrap_servers}; "
            "give its full name, prefix included (`kafka-topics --list` shows them)"
        )
    existing = sorted(metadata.partitions)
    missing = sorted(set(selected or ()) - set(existing))
    if missing:
        raise SetupError(
            f"topic {topic} has no partition {', '.join(str(number) for number in missing)} "
            f"(its partitions are 0 to {existing[-1]})"
        )
    return sorted(set(selected)) if selected else existing


def _records(
    consumer: Consumer, topic: str, ranges: list[PartitionRange], idle_timeout: float
) -> Iterator[Message]:
    """The records of each range, in offset order within each partition."""
    active = [r for r in ranges if r.start < r.end]
    if not active:
        return
    consumer.assign([TopicPartition(topic, r.partition, r.start) for r in active])
    pending = {r.partition: r.end for r in active}
    deadline = time.monotonic() + idle_timeout
    while pending:
        message = consumer.poll(0.5)
        if message is None:
            if time.monotonic() > deadline:
                raise SetupError(
                    f"nothing read from {topic} for {idle_timeout:.0f} s with partitions "
                    f"{sorted(pending)} unfinished; is the broker reachable?"
                )
            continue
        deadline = time.monotonic() + idle_timeout
        partition = message.partition() or 0
        error = message.error()
        if error is not None:
            # At the end of a partition, its end is at or past the captured one (an end only
            # grows): this also ends ranges whose last offsets hold no record (transaction
            # markers), which no message would.
            if error.code() == KafkaError._PARTITION_EOF:
                _finish(consumer, topic, partition, pending)
            elif error.fatal() or error.code() in _FATAL:
                raise KafkaException(error)
            continue
        end = pending.get(partition)
        offset = message.offset() or 0
        if end is None or offset >= end:
            _finish(consumer, topic, partition, pending)
            continue
        yield message
        if offset + 1 >= end:
            _finish(consumer, topic, partition, pending)


def _finish(consumer: Consumer, topic: str, partition: int, pending: dict[int, int]) -> None:
    if pending.pop(partition, None) is not None:
        consumer.pause([TopicPartition(topic, partition)])
