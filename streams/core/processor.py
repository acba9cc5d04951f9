"""From a consumed record to the record to publish: a proof event or a dead letter.

`RecordProcessor` is the loop every stage shares (decode, work, retry, dead-letter);
`EventProcessor` is the proving stage's. Async, but with no Kafka client in it: the Faust
agents hand it a `SourceMessage` and publish what it returns. Decoding (which may wait on a
schema registry) and the CPU-bound and blocking work run in an executor so that they do not
starve the event loop; transient failures are retried with capped exponential backoff, forever,
so an outage delays events but never dead-letters them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypedDict, TypeVar, Unpack

from streams.core.clock import now_millis
from streams.core.codecs.base import Codec
from streams.core.codecs.records import ImageReference, ProcessingFailed, ProofCreated
from streams.core.dead_letters import InputEvent, SourceMessage, dead_letter
from streams.core.errors import DecodeFailed, InputRejected, TransientError
from streams.core.observing import PipelineObserver, Stage
from streams.core.pipeline import ProofPipeline
from streams.core.retry import RetryPolicy, retry_async
from streams.core.stores.base import StoreMisconfigured

__all__ = [
    "DeadLettered",
    "EventProcessor",
    "ProcessingOptions",
    "ProcessingResult",
    "Proved",
    "RecordProcessor",
]

log = logging.getLogger(__name__)

E = TypeVar("E", bound=InputEvent)
R = TypeVar("R")


@dataclass(frozen=True)
class Proved:
    """The record was proven: `proof` is published to the proof topic under `key`."""

    key: bytes | None
    proof: ProofCreated


@dataclass(frozen=True)
class DeadLettered:
    """The record was rejected: `failure` is published to the dead-letter topic under `key`."""

    key: bytes | None
    failure: ProcessingFailed


ProcessingResult = Proved | DeadLettered
"""What to publish for one consumed record."""


class ProcessingOptions(TypedDict, total=False):
    """What a processor may be given besides its work: who observes it, and how it sleeps
    between retries and reads the clock (tests pass their own)."""

    observer: PipelineObserver | None
    sleep: Callable[[float], Awaitable[None]]
    clock_ms: Callable[[], int]


class RecordProcessor(Generic[E, R]):
    """Decodes a consumed record with `input_codec` and `read` and runs `work` on it, both in
    `executor`, retrying transient failures, and says what to publish: `R`, or a dead letter.

    `record_name` names what the records should be, in the dead letter of a tombstone.
    """

    def __init__(
        self,
        *,
        read: Callable[[Mapping[str, Any]], E],
        work: Callable[[E], R],
        record_name: str,
        input_codec: Codec,
        executor: Executor,
        retry: RetryPolicy,
        **options: Unpack[ProcessingOptions],
    ) -> None:
        self._read = read
        self._work = work
        self._record_name = record_name
        self._input_codec = input_codec
        self._executor = executor
        self._retry = retry
        self._observer = options.get("observer") or PipelineObserver()
        self._sleep = options.get("sleep", asyncio.sleep)
        self._clock_ms = options.get("clock_ms", now_millis)

    async def process(self, source: SourceMessage) -> R | DeadLettered:
        event: E | None = None
        attempts = 0

        def decode_and_work() -> R:
            nonlocal event
            if event is None:
                event = self._decode(source)
            return self._work(event)

        async def attempt() -> R:
            nonlocal attempts
            attempts += 1
            # Decoding too: with a schema registry it may wait on the registry.
            return await asyncio.get_running_loop().run_in_executor(self._executor, decode_and_work)

        try:
            return await retry_async(
                attempt,
                self._retry,
                retry_on=(TransientError, StoreMisconfigured),
                on_retry=partial(self._retrying, source),
                sleep=self._sleep,
            )
        except InputRejected as error:
            failure = dead_letter(
                source, error, attempts=attempts, failed_at_ms=self._clock_ms(), event=event
            )
            # The dead letter's reason, not the error's text: the log is not scrubbed, and
            # the text of an unexpected error is reported (scrubbed) to Sentry instead.
            log.warning(
                "dead-lettering %s[%d]@%d: %s: %s",
                source.topic,
                source.partition,
                source.offset,
                failure.error_class,
                failure.message,
            )
            self._observer.dead_lettered(failure, error, event)
            return DeadLettered(source.key, failure)

    def _retrying(
        self, source: SourceMessage, error: BaseException, attempts: int, delay: float
    ) -> None:
        log.warning(
            "retrying %s[%d]@%d in %.1f s after attempt %d: %s: %s",
            source.topic,
            source.partition,
            source.offset,
            delay,
            attempts,
            type(error).__name__,
            error,
        )
        self._observer.retrying(error, attempts, delay)

    def _decode(self, source: SourceMessage) -> E:
        started = time.perf_counter()
        failure: BaseException | None = None
        try:
            if source.value is None:
                raise DecodeFailed(
                    f"the record has no value (a tombstone), not {self._record_name}"
                )
            return self._read(self._input_codec.decode(source.value))
        except BaseException as error:
            failure = error
            raise
        finally:
            self._observer.stage_finished(Stage.DECODE, time.perf_counter() - started, failure)


class EventProcessor:
    """Decodes an image-reference record, proves it, and says what to publish."""

    def __init__(
        self,
        *,
        pipeline: ProofPipeline,
        input_codec: Codec,
        executor: Executor,
        retry: RetryPolicy,
        **options: Unpack[ProcessingOptions],
    ) -> None:
        self._observer = options.get("observer") or PipelineObserver()
        self._records = RecordProcessor(
            read=ImageReference.from_avro,
            work=pipeline.prove,
            record_name="an image reference",
            input_codec=input_codec,
            executor=executor,
            retry=retry,
            **options,
        )

    async def process(self, source: SourceMessage) -> ProcessingResult:
        result = await self._records.process(source)
        if isinstance(result, DeadLettered):
            return result
        self._observer.proved(result)
        return Proved(source.key, result)
