"""Reading topics without disturbing anyone: fresh consumers that commit nothing.

`scan_topic` assigns partitions itself (it joins no consumer group's rebalances) and starts at
the beginning, the end or a point in time; `read_topic` follows a topic from its beginning as a
throwaway group. Neither ever commits an offset.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from streams.core.clock import to_epoch_millis
from streams.core.errors import SetupError
from streams.kafka.clients import confluent_config
from streams.settings import Settings

__all__ = [
    "Record",
    "Start",
    "offsets_at",
    "parse_instant",
    "read_topic",
    "scan_topic",
    "watermarks",
]

Start = Literal["beginning", "end"] | int
"""Where a scan starts in each partition: its first record, its end (only records produced
after the scan started), or the first record whose timestamp (ms since the epoch) is at or
after the given one."""

_METADATA_TIMEOUT = 10.0


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int


def parse_instant(text: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 date or date-time; one without a UTC offset
    is taken as UTC. Raises `ValueError` naming the problem."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_epoch_millis(moment)


def read_topic(
    settings: Settings,
    topic: str,
    *,
    until: Callable[[list[Record]], bool],
    timeout: float,
) -> list[Record]:
    """Records of `topic` from the beginning, read until `until(records)` holds or `timeout`
    seconds have passed. Subscribes, so it also waits for a topic that does not exist yet."""
    consumer = _throwaway_consumer(settings)
    consumer.subscribe([topic])
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not until(records):
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            records.append(_record(message, topic))
    finally:
        consumer.close()
    return records


def scan_topic(
    settings: Settings,
    topic: str,
    *,
    start: Start = "beginning",
    until_time: int | None = None,
    follow: bool = False,
    stop: Callable[[], bool] = lambda: False,
    poll_seconds: float = 0.5,
) -> Generator[Record, None, None]:
    """Records of every partition of `topic` from `start`, in order within each partition.

    Without `follow` the scan ends at the end offsets captured when it starts, so it terminates
    however busy the topic is; `until_time` (ms, inclusive) ends each partition earlier, before
    its first record stamped later (the same lookup Kafka's offsets-by-time does for `start`).
    With `follow` it waits for new records until `stop()` holds, checked every `poll_seconds`.
    A topic that does not exist is a `SetupError`.
    """
    consumer = _throwaway_consumer(settings)
    try:
        partitions = _partitions(consumer, topic, settings)
        lows, ends = watermarks(consumer, topic, partitions)
        if start == "beginning":
            begins = lows
        elif start == "end":
            begins = ends
        else:
            begins = offsets_at(consumer, topic, start, fallback=ends)
        limits = ends
        if until_time is not None:
            later = offsets_at(consumer, topic, until_time + 1, fallback=ends)
            limits = {number: min(ends[number], later[number]) for number in partitions}
        pending = {number for number in partitions if follow or begins[number] < limits[number]}
        if not pending:
            return
        consumer.assign([TopicPartition(topic, number, begins[number]) for number in pending])
        while pending and not stop():
            message = consumer.poll(poll_seconds)
            if message is None:
                if not follow:
                    pending -= _reached(consumer, topic, pending, limits)
                continue
            _raise_if_fatal(message)
            if message.error():
                continue
            record = _record(message, topic)
            if not follow:
                if record.offset >= limits[record.partition]:
                    _finish(consumer, topic, record.partition, pending)
                    continue
                if record.offset + 1 >= limits[record.partition]:
                    _finish(consumer, topic, record.partition, pending)
            yield record
    finally:
        consumer.close()


def _throwaway_consumer(settings: Settings) -> Consumer:
    # A group id of its own and no commits: whatever this reader does, no real group's
    # committed offsets move.
    return Consumer(
        confluent_config(
            settings,
            {
                "group.id": f"credlink-reader-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
            },
        )
    )


def _partitions(consumer: Consumer, topic: str, settings: Settings) -> list[int]:
    metadata = consumer.list_topics(topic, timeout=_METADATA_TIMEOUT).topics.get(topic)
    if metadata is None or metadata.error is not None or not metadata.partitions:
        raise SetupError(
            f"topic {topic} does not exist on {settings.kafka.bootstrap_servers}; "
            "check CREDLINK_KAFKA_BOOTSTRAP_SERVERS and CREDLINK_TOPIC_PREFIX"
        )
    return sorted(metadata.partitions)


def watermarks(
    consumer: Consumer, topic: str, partitions: Iterable[int]
) -> tuple[dict[int, int], dict[int, int]]:
    """The low and high watermark (first retained offset, end offset) of each partition."""
    lows: dict[int, int] = {}
    highs: dict[int, int] = {}
    for number in partitions:
        lows[number], highs[number] = consumer.get_watermark_offsets(
            TopicPartition(topic, number), timeout=_METADATA_TIMEOUT
        )
    return lows, highs


def offsets_at(
    consumer: Consumer, topic: str, timestamp_ms: int, *, fallback: dict[int, int]
) -> dict[int, int]:
    """Per partition of `fallback`, the first offset stamped at or after `timestamp_ms`; the
    partition's `fallback` offset (normally its end) where no record is that late."""
    found = consumer.offsets_for_times(
        [TopicPartition(topic, number, timestamp_ms) for number in fallback],
        timeout=_METADATA_TIMEOUT,
    )
    offsets = dict(fallback)
    for partition in found:
        if partition.error is not None:
            raise KafkaException(partition.error)
        if partition.offset >= 0:
            offsets[partition.partition] = partition.offset
    return offsets


def _reached(consumer: Consumer, topic: str, pending: set[int], limits: dict[int, int]) -> set[int]:
    """Partitions whose position is at their limit: skipped offsets (transaction markers,
    compacted or expired records) mean the last record before a limit may never arrive."""
    positions = consumer.position([TopicPartition(topic, number) for number in pending])
    reached = {tp.partition for tp in positions if tp.offset >= limits[tp.partition]}
    for number in reached:
        consumer.pause([TopicPartition(topic, number)])
    return reached


def _finish(consumer: Consumer, topic: str, partition: int, pending: set[int]) -> None:
    pending.discard(partition)
    consumer.pause([TopicPartition(topic, partition)])


def _raise_if_fatal(message: Message) -> None:
    error = message.error()
    if error is None:
        return
    if error.fatal() or error.code() in (
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
    ):
        raise KafkaException(error)


def _record(message: Message, topic: str) -> Record:
    return Record(
        topic=message.topic() or topic,
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        key=message.key(),
        value=message.value(),
        timestamp_ms=message.timestamp()[1],
    )
