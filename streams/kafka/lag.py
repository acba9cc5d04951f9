"""Consumer lag of a worker: high-water marks minus the group's committed offsets."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaException, TopicPartition

from streams.kafka.clients import confluent_config
from streams.settings import Settings

__all__ = ["LagProbe"]

log = logging.getLogger(__name__)


class LagProbe:
    """Measures a consumer group's lag without joining the group (blocking; run it in a
    thread)."""

    def __init__(self, settings: Settings, group: str) -> None:
        self.group = group
        self._consumer = Consumer(
            confluent_config(settings, {"group.id": group, "enable.auto.commit": False})
        )
        self._last: dict[tuple[str, int], int] = {}

    def measure(
        self, partitions: Iterable[tuple[str, int]], timeout: float = 10.0
    ) -> dict[tuple[str, int], int]:
        """Records not yet consumed per (topic, partition): from the committed offset, or from
        the earliest retained offset where the group has committed nothing yet.

        While the broker does not answer, the last lags measured for those partitions: a
        measurement that cannot be taken must not stop the worker, which rides out the outage.
        """
        asked = [TopicPartition(topic, partition) for topic, partition in partitions]
        if not asked:
            return {}
        lags = {}
        try:
            for tp in self._consumer.committed(asked, timeout=timeout):
                low, high = self._consumer.get_watermark_offsets(tp, timeout=timeout)
                start = tp.offset if tp.offset >= 0 else low
                lags[(tp.topic, tp.partition)] = max(0, high - start)
        except KafkaException as error:
            log.warning("consumer lag not measured, the broker did not answer: %s", error)
            return {key: self._last[key] for key in map(_key, asked) if key in self._last}
        self._last = lags
        return lags

    def close(self) -> None:
        self._consumer.close()


def _key(tp: TopicPartition) -> tuple[str, int]:
    return (tp.topic, tp.partition)
