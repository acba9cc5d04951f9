"""Consumer lag of a worker: high-water marks minus the group's committed offsets."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Consumer, TopicPartition

from streams.kafka_clients import confluent_config
from streams.settings import Settings

__all__ = ["LagProbe"]


class LagProbe:
    """Measures a consumer group's lag without joining the group (blocking; run it in a
    thread)."""

    def __init__(self, settings: Settings, group: str) -> None:
        self.group = group
        self._consumer = Consumer(
            confluent_config(settings, {"group.id": group, "enable.auto.commit": False})
        )

    def measure(
        self, partitions: Iterable[tuple[str, int]], timeout: float = 10.0
    ) -> dict[tuple[str, int], int]:
        """Records not yet consumed per (topic, partition): from the committed offset, or from
        the earliest retained offset where the group has committed nothing yet."""
        asked = [TopicPartition(topic, partition) for topic, partition in partitions]
        if not asked:
            return {}
        lags = {}
        for tp in self._consumer.committed(asked, timeout=timeout):
            low, high = self._consumer.get_watermark_offsets(tp, timeout=timeout)
            start = tp.offset if tp.offset >= 0 else low
            lags[(tp.topic, tp.partition)] = max(0, high - start)
        return lags

    def close(self) -> None:
        self._consumer.close()
