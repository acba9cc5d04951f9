"""Dead-letter records: what failed, where, why, with the original bytes kept for replay."""

from __future__ import annotations

from dataclasses import dataclass

from streams.codecs.records import ImageReference, ProcessingFailed
from streams.errors import InputRejected

__all__ = ["MAX_MESSAGE_CHARS", "SourceMessage", "dead_letter"]

MAX_MESSAGE_CHARS = 1000


@dataclass(frozen=True)
class SourceMessage:
    """One consumed record, as the pipeline saw it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def dead_letter(
    source: SourceMessage,
    error: BaseException,
    *,
    attempts: int,
    failed_at_ms: int,
    event: ImageReference | None = None,
) -> ProcessingFailed:
    """The `ProcessingFailed` record of `source`, which failed with `error`."""
    stage = getattr(error, "stage", "process") if isinstance(error, InputRejected) else "process"
    message = str(error) or type(error).__name__
    return ProcessingFailed(
        original_key=source.key,
        original_value=source.value,
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        stage=stage,
        error_class=type(error).__name__,
        message=message[:MAX_MESSAGE_CHARS],
        attempts=attempts,
        failed_at=failed_at_ms,
        event_id=event.event_id if event else None,
        tenant=event.tenant if event else None,
    )
