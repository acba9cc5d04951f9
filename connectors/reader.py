"""Reading a topic from its beginning, as a fresh consumer group that commits nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer

from streams.kafka_clients import confluent_config
from streams.settings import Settings

__all__ = ["Record", "read_topic"]


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int


def read_topic(
    settings: Settings,
    topic: str,
    *,
    until: Callable[[list[Record]], bool],
    timeout: float,
) -> list[Record]:
    """Records of `topic` from the beginning, read until `until(records)` holds or `timeout`
    seconds have passed."""
    consumer = Consumer(
        confluent_config(
            settings,
            {
                "group.id": f"credlink-reader-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    consumer.subscribe([topic])
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not until(records):
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            records.append(
                Record(
                    topic=message.topic() or topic,
                    partition=message.partition() or 0,
                    offset=message.offset() or 0,
                    key=message.key(),
                    value=message.value(),
                    timestamp_ms=message.timestamp()[1],
                )
            )
    finally:
        consumer.close()
    return records
