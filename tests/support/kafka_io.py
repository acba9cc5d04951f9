"""Producing and reading topics with confluent-kafka in integration tests."""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import Consumer, Producer

from connectors.reader import Record
from streams.kafka.clients import confluent_config
from streams.settings import Settings


def produce(
    settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes | None]]
) -> int:
    producer = Producer(confluent_config(settings, {"enable.idempotence": True, "acks": "all"}))
    count = 0
    for key, value in records:
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
        count += 1
    assert producer.flush(30) == 0, "records left undelivered"
    return count


def latest_by_key(records: Iterable[Record]) -> dict[bytes | None, bytes | None]:
    """The last value of each key, as a compacted topic (a table changelog) would keep it."""
    latest: dict[bytes | None, bytes | None] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        latest[record.key] = record.value
    return latest


def wait_until_consumed(settings: Settings, group: str, topic: str, timeout: float = 90.0) -> None:
    """Wait until consumer group `group` has committed every record now in `topic`."""
    from confluent_kafka import TopicPartition

    consumer = Consumer(confluent_config(settings, {"group.id": group}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            number: consumer.get_watermark_offsets(TopicPartition(topic, number), timeout=10)[1]
            for number in partitions
        }
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            committed = consumer.committed(
                [TopicPartition(topic, number) for number in partitions], timeout=10
            )
            if all(max(tp.offset, 0) >= ends[tp.partition] for tp in committed):
                return
            time.sleep(0.5)
        raise AssertionError(f"group {group} did not consume {topic} to {ends} in {timeout} s")
    finally:
        consumer.close()
