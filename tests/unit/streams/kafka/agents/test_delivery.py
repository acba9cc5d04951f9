"""Specification of `streams.kafka.agents.delivery`: a publication, its encoding included, is
retried until the broker confirms it."""

from __future__ import annotations

import asyncio
import time

from aiokafka.errors import KafkaTimeoutError

from streams.core.errors import TransientError
from streams.core.retry import RetryPolicy
from streams.kafka.agents.delivery import deliver
from tests.support.agent_fakes import Retries
from tests.support.event_loop import TimerLateness

NO_WAIT = RetryPolicy(base_seconds=0.0, max_seconds=0.0)


class Topic:
    """A topic whose first `failures` publications the broker never confirms."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[tuple[bytes | None, bytes]] = []

    def get_topic_name(self) -> str:
        return "proofs"

    async def send(self, *, key: bytes | None, value: bytes) -> asyncio.Future[None]:
        self.sent.append((key, value))
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if len(self.sent) <= self.failures:
            sent.set_exception(KafkaTimeoutError())
        else:
            sent.set_result(None)
        return sent


def test_an_unconfirmed_publication_is_sent_again_until_the_broker_confirms_it() -> None:
    topic, observer = Topic(failures=2), Retries()

    asyncio.run(deliver(topic, b"key", lambda: b"value", NO_WAIT, observer))  # type: ignore[arg-type]

    assert topic.sent == [(b"key", b"value")] * 3
    assert observer.attempts == [1, 2]


def test_an_encoding_that_needs_an_unreachable_registry_is_retried_not_dropped() -> None:
    topic, observer = Topic(failures=0), Retries()
    outcomes = iter([TransientError("schema registry unavailable to register"), None, None])

    def encode() -> bytes:
        failure = next(outcomes)
        if failure is not None:
            raise failure
        return b"value"

    asyncio.run(deliver(topic, b"key", encode, NO_WAIT, observer))  # type: ignore[arg-type]

    assert topic.sent == [(b"key", b"value")]
    assert observer.attempts == [1]


def test_an_encoding_that_blocks_leaves_the_event_loop_free() -> None:
    """As one waiting on a schema registry does: the worker's timers and endpoints run on the
    loop meanwhile."""
    topic = Topic(failures=0)

    def encode() -> bytes:
        time.sleep(0.5)
        return b"value"

    async def delivering() -> float:
        async with TimerLateness() as lateness:
            await deliver(topic, b"key", encode, NO_WAIT, Retries())  # type: ignore[arg-type]
        return lateness.worst

    assert asyncio.run(delivering()) < 0.25
    assert topic.sent == [(b"key", b"value")]
