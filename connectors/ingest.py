"""Publishing image-reference events: an idempotent, acks=all producer with delivery reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer

from streams.codecs import codec_for
from streams.codecs.records import ImageReference
from streams.kafka_clients import ClientConfig, confluent_config
from streams.settings import Settings
from streams.topics import SUBMITTED

__all__ = ["DeliveryReport", "ImageReferencePublisher"]

_PRODUCER: ClientConfig = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 20,
    "compression.type": "zstd",
}


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    errors: tuple[str, ...]


class ImageReferencePublisher:
    """Publishes `ImageReference` events to `images.submitted`, keyed by event id by default,
    so that all events of one key stay in order on one partition."""

    def __init__(self, settings: Settings) -> None:
        self._topic = settings.topic(SUBMITTED)
        self._codec = codec_for(
            ImageReference.SCHEMA, topic=self._topic, registry_url=settings.schema_registry_url
        )
        self._producer = Producer(confluent_config(settings, dict(_PRODUCER)))
        self._sent = 0
        self._errors: list[str] = []

    def publish(self, reference: ImageReference, key: bytes | None = None) -> None:
        self._producer.produce(
            self._topic,
            key=key if key is not None else reference.event_id.encode("utf-8"),
            value=self._codec.encode(reference.to_avro()),
            on_delivery=self._delivered,
        )
        self._producer.poll(0)

    def publish_all(self, references: Iterable[ImageReference]) -> DeliveryReport:
        for reference in references:
            self.publish(reference)
        return self.flush()

    def flush(self, timeout: float = 30.0) -> DeliveryReport:
        """Wait for every delivery report; what is still pending after `timeout` failed."""
        pending = self._producer.flush(timeout)
        errors = [*self._errors, *([f"{pending} records undelivered"] if pending else [])]
        return DeliveryReport(
            sent=self._sent, failed=len(self._errors) + pending, errors=tuple(errors)
        )

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self._sent += 1
        else:
            self._errors.append(f"{message.key()!r}: {error.str()}")
