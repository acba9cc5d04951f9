"""Dead-letter records: what failed, where, why, with the original bytes kept for replay.

The reason a record carries is one printable line of at most `MAX_MESSAGE_CHARS`. It is the
error's own message for the rejections the pipeline words itself; for an error of no known kind
it names only the exception class and the stage, because such a message may hold anything (a
credential in a library's error text, say). Its full text goes to the error reports, which are
scrubbed of secrets, not to a topic every consumer of the dead letters can read.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.core.codecs.records import ImageReference, ProcessingFailed, ProofCreated
from streams.core.errors import InputRejected, UnexpectedFailure
from streams.core.observing import Stage

__all__ = ["MAX_MESSAGE_CHARS", "InputEvent", "SourceMessage", "dead_letter"]

MAX_MESSAGE_CHARS = 1000

InputEvent = ImageReference | ProofCreated
"""An input record a stage decoded: the image reference of proving, the proof event of issuing
a credential. A dead letter names its event and tenant."""


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
    event: InputEvent | None = None,
) -> ProcessingFailed:
    """The `ProcessingFailed` record of `source`, which failed with `error`."""
    stage = error.stage if isinstance(error, InputRejected) else Stage.PROCESS
    return ProcessingFailed(
        original_key=source.key,
        original_value=source.value,
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        stage=stage,
        error_class=type(error).__name__,
        message=_reason(error, stage)[:MAX_MESSAGE_CHARS],
        attempts=attempts,
        failed_at=failed_at_ms,
        event_id=event.event_id if event else None,
        tenant=event.tenant if event else None,
    )


def _reason(error: BaseException, stage: Stage) -> str:
    if isinstance(error, InputRejected) and not isinstance(error, UnexpectedFailure):
        text = str(error) or type(error).__name__
    else:
        unexpected = error.__cause__ if isinstance(error, UnexpectedFailure) else error
        kind = type(unexpected).__name__ if unexpected is not None else "error"
        text = f"unexpected {kind} in stage {stage}; its details are in the error reports"
    # One line a terminal shows as is: control and invisible characters are escaped.
    return "".join(char if char.isprintable() else _escaped(char) for char in text)


def _escaped(char: str) -> str:
    return char.encode("unicode_escape").decode("ascii")
