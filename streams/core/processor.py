"""From a consumed record to the record to publish: a proof event or a dead letter.

Async, but with no Kafka client in it: the Faust agents hand it a `SourceMessage` and publish
what it returns. The CPU-bound and blocking pipeline runs in an executor so it does not starve
the event loop; transient failures are retried with capped exponential backoff, forever, so an
outage delays events but never dead-letters them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from streams.core.codecs.base import Codec
from streams.core.codecs.records import ImageReference, ProcessingFailed, ProofCreated
from streams.core.dead_letters import SourceMessage, dead_letter
from streams.core.errors import DecodeFailed, InputRejected, TransientError
from streams.core.observing import PipelineObserver
from streams.core.pipeline import ProofPipeline
from streams.core.stores.base import StoreMisconfigured

__all__ = ["EventProcessor", "Outcome", "RetryPolicy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 0.2
    max_seconds: float = 30.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with equal jitter before retry number `attempt` (1-based)."""
        # Retries go on forever, and a float power overflows past 2.0 ** 1023.
        doublings = min(attempt - 1, 1023)
        ceiling = min(self.max_seconds, self.base_seconds * 2.0**doublings)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto


@dataclass(frozen=True)
class Outcome:
    """What to publish for one consumed record: exactly one of `proof` or `failure`."""

    key: bytes | None
    proof: ProofCreated | None = None
    failure: ProcessingFailed | None = None


class EventProcessor:
    """Decodes an image-reference record, proves it, and says what to publish."""

    def __init__(
        self,
        *,
        pipeline: ProofPipeline,
        input_codec: Codec,
        executor: Executor,
        retry: RetryPolicy,
        observer: PipelineObserver | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._pipeline = pipeline
        self._input_codec = input_codec
        self._executor = executor
        self._retry = retry
        self._observer = observer or PipelineObserver()
        self._sleep = sleep
        self._clock_ms = clock_ms

    async def process(self, source: SourceMessage) -> Outcome:
        event: ImageReference | None = None
        attempts = 0
        while True:
            attempts += 1
            try:
                if event is None:
                    event = self._decode(source)
                proof = await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._pipeline.prove, event
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
                return Outcome(key=source.key, failure=failure)
            except (TransientError, StoreMisconfigured) as error:
                delay = self._retry.delay(attempts)
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
                await self._sleep(delay)
                continue
            self._observer.proved(proof)
            return Outcome(key=source.key, proof=proof)

    def _decode(self, source: SourceMessage) -> ImageReference:
        started = time.perf_counter()
        failure: BaseException | None = None
        try:
            if source.value is None:
                raise DecodeFailed("the record has no value (a tombstone), not an image reference")
            return ImageReference.from_avro(self._input_codec.decode(source.value))
        except BaseException as error:
            failure = error
            raise
        finally:
            self._observer.stage_finished("decode", time.perf_counter() - started, failure)
