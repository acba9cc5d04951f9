"""Reading the pipeline's output topics: proof events and dead letters, decoded."""

from __future__ import annotations

from typing import TypeVar

from connectors.reader import read_topic
from streams.codecs import codec_for
from streams.codecs.records import ProcessingFailed, ProofCreated
from streams.settings import Settings
from streams.topics import DLQ, PROOFS_CREATED

__all__ = ["read_dead_letters", "read_proofs"]

R = TypeVar("R", ProofCreated, ProcessingFailed)


def read_proofs(settings: Settings, *, count: int, timeout: float) -> list[ProofCreated]:
    """Proof events from the start of `proofs.created`: `count` of them, or all that arrive
    within `timeout` seconds."""
    return _read(settings, PROOFS_CREATED, ProofCreated, count, timeout)


def read_dead_letters(settings: Settings, *, count: int, timeout: float) -> list[ProcessingFailed]:
    """Dead letters from the start of `images.dlq`, like `read_proofs`."""
    return _read(settings, DLQ, ProcessingFailed, count, timeout)


def _read(settings: Settings, name: str, record: type[R], count: int, timeout: float) -> list[R]:
    topic = settings.topic(name)
    codec = codec_for(record.SCHEMA, topic=topic, registry_url=settings.schema_registry_url)
    records = read_topic(
        settings, topic, until=lambda records: len(records) >= count, timeout=timeout
    )
    return [record.from_avro(codec.decode(r.value)) for r in records if r.value is not None]
