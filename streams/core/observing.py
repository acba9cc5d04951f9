"""What the pipeline tells the outside about its work: the seam for metrics and error reports.

The domain and the processor call a `PipelineObserver`; `streams.ops.metrics` turns the calls into
Prometheus metrics and `streams.ops.error_reporting` into Sentry events. The base class does
nothing, so each observer overrides only what it needs. `stage_finished` is called from the
worker's thread pool; every method must be thread-safe and must not raise.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only annotations name the records: `streams.core.errors` imports `Stage` from here, and
    # the codecs import the errors.
    from streams.core.codecs.records import CredentialIssued, ProcessingFailed, ProofCreated
    from streams.core.dead_letters import InputEvent

__all__ = ["CompositeObserver", "PipelineObserver", "Stage"]


class Stage(enum.StrEnum):
    """Where in the work on one event something happened or failed.

    The values are wire text: metric labels, the `stage` of dead letters, Sentry tags.
    """

    # The stages of proving one event, in order; `publish` is timed by the agent.
    DECODE = "decode"
    VALIDATE = "validate"
    FETCH = "fetch"
    HASH = "hash"
    SIGN = "sign"
    STORE = "store"
    PUBLISH = "publish"
    #: A failure of no known stage.
    PROCESS = "process"
    #: Writing a proof event to the proof index (`connectors.proof_index`).
    INDEX = "index"


class PipelineObserver:
    """Receives the pipeline's events. Every method is a no-op here."""

    def consumed(self) -> None:
        """An input record was taken for processing."""

    def finished(self) -> None:
        """Processing of an input record ended: its output was published, or it crashed."""

    def stage_finished(self, stage: Stage, seconds: float, error: BaseException | None) -> None:
        """One stage of one event took `seconds`; `error` is what it raised, if it did."""

    def retrying(self, error: BaseException, attempt: int, delay: float) -> None:
        """A transient failure; the event is tried again after `delay` seconds."""

    def proved(self, proof: ProofCreated) -> None:
        """A proof was stored; its event is about to be published."""

    def credential_issued(self, credential: CredentialIssued) -> None:
        """A credential was issued and stored (or found stored by an earlier run); its event is
        about to be published."""

    def dead_lettered(
        self, failure: ProcessingFailed, error: BaseException, event: InputEvent | None
    ) -> None:
        """An input was rejected; its dead letter is about to be published."""

    def published(self, topic: str, seconds_since_event: float | None) -> None:
        """The broker acknowledged a proof event or dead letter; `seconds_since_event` is the
        time since the input record's timestamp (end-to-end latency), when it had one."""


class CompositeObserver(PipelineObserver):
    """Passes every call on to each of `observers`."""

    def __init__(self, observers: Sequence[PipelineObserver]) -> None:
        self._observers = tuple(observers)

    def consumed(self) -> None:
        for observer in self._observers:
            observer.consumed()

    def finished(self) -> None:
        for observer in self._observers:
            observer.finished()

    def stage_finished(self, stage: Stage, seconds: float, error: BaseException | None) -> None:
        for observer in self._observers:
            observer.stage_finished(stage, seconds, error)

    def retrying(self, error: BaseException, attempt: int, delay: float) -> None:
        for observer in self._observers:
            observer.retrying(error, attempt, delay)

    def proved(self, proof: ProofCreated) -> None:
        for observer in self._observers:
            observer.proved(proof)

    def credential_issued(self, credential: CredentialIssued) -> None:
        for observer in self._observers:
            observer.credential_issued(credential)

    def dead_lettered(
        self, failure: ProcessingFailed, error: BaseException, event: InputEvent | None
    ) -> None:
        for observer in self._observers:
            observer.dead_lettered(failure, error, event)

    def published(self, topic: str, seconds_since_event: float | None) -> None:
        for observer in self._observers:
            observer.published(topic, seconds_since_event)
