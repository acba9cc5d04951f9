"""Publication the broker has confirmed: an agent acknowledges its input only after it."""

from __future__ import annotations

import logging

from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from faust.types import TopicT

from streams.core.observing import PipelineObserver
from streams.core.retry import RetryPolicy, retry_async

__all__ = ["deliver"]

log = logging.getLogger(__name__)


async def deliver(
    topic: TopicT,
    key: bytes | None,
    value: bytes,
    retry: RetryPolicy,
    observer: PipelineObserver,
) -> None:
    """Publish and wait for the broker's acknowledgement, retrying until it comes: the input
    event is acknowledged only after this returns, so a failed publication is never lost."""

    async def publish() -> None:
        sent = await topic.send(key=key, value=value)
        await sent

    def retrying(error: BaseException, attempt: int, delay: float) -> None:
        observer.retrying(error, attempt, delay)
        log.warning(
            "publishing to %s failed (attempt %d), retrying in %.1f s: %r",
            topic.get_topic_name(),
            attempt,
            delay,
            error,
        )

    await retry_async(publish, retry, retry_on=(KafkaError, ProducerSendError), on_retry=retrying)
