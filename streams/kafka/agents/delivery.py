"""Publication the broker has confirmed: an agent acknowledges its input only after it.

Also the loop of the agents that turn each record into one output (`prove`, `credentials`):
records taken one at a time, and what each became published and timed the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from faust.types import Message, TopicT

from streams.core.dead_letters import SourceMessage
from streams.core.errors import TransientError
from streams.core.observing import PipelineObserver, Stage
from streams.core.retry import RetryPolicy, retry_async

__all__ = ["deliver", "publish_output", "source_of", "take_each"]

log = logging.getLogger(__name__)


async def deliver(
    topic: TopicT,
    key: bytes | None,
    value: Callable[[], bytes],
    retry: RetryPolicy,
    observer: PipelineObserver,
) -> None:
    """Encode (`value()`), publish and wait for the broker's acknowledgement, retrying until it
    comes: the input event is acknowledged only after this returns, so a failed publication is
    never lost. Encoding is retried with the sending: with a schema registry, it needs the
    registry (`TransientError` while that is unreachable), so it runs in a thread: asking the
    registry from the event loop would hold the loop."""

    async def publish() -> None:
        sent = await topic.send(key=key, value=await asyncio.to_thread(value))
        await sent

    def retrying(error: BaseException, attempt: int, delay: float) -> None:
        observer.retrying(error, attempt, delay)
        log.warning(
            "encoding or publishing to %s failed (attempt %d), retrying in %.1f s: %r",
            topic.get_topic_name(),
            attempt,
            delay,
            error,
        )

    await retry_async(
        publish, retry, retry_on=(KafkaError, ProducerSendError, TransientError), on_retry=retrying
    )


async def take_each(
    stream: faust.StreamT[bytes],
    observer: PipelineObserver,
    handle: Callable[[Message], Awaitable[None]],
) -> None:
    """Hand each record of `stream` to `handle`, one at a time: the next record is taken (and
    the previous one acknowledged) only once `handle` returns."""
    async for event in stream.events():
        observer.consumed()
        try:
            await handle(event.message)
        finally:
            observer.finished()


def source_of(message: Message) -> SourceMessage:
    """The consumed record as the domain sees it."""
    return SourceMessage(
        message.topic, message.partition, message.offset, message.key, message.value
    )


async def publish_output(
    source: Message,
    topic: TopicT,
    value: Callable[[], bytes],
    retry: RetryPolicy,
    observer: PipelineObserver,
) -> None:
    """`deliver` what `source` became (encoded by `value()`), under `source`'s key, timed as the
    publish stage, and tell `observer` the time since `source`'s timestamp."""
    started = time.perf_counter()
    await deliver(topic, source.key, value, retry, observer)
    observer.stage_finished(Stage.PUBLISH, time.perf_counter() - started, None)
    age = time.time() - source.timestamp if source.timestamp else None
    observer.published(topic.get_topic_name(), age)
