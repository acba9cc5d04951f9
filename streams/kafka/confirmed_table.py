"""A Faust table whose changelog writes an agent can wait for.

Faust sends a table's changelog writes in the background, not tied to the offset of the event
that made them, and may commit that offset before the writes reach the broker: a worker killed
in between comes back without them. An agent that awaits `confirm()` before it takes its next
event acknowledges each event only once the writes made for it are on the broker.

A write sent again after a failure reaches the broker after any later write already sent, so
this suits tables whose keys are each written once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from faust.types import TP, FutureMessage

from streams.core.retry import OnRetry, RetryPolicy, retry_async

__all__ = ["ConfirmedTable"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Write:
    sent: FutureMessage
    partition: int | None
    key: Any
    value: Any
    key_serializer: Any
    value_serializer: Any


class ConfirmedTable(faust.Table):  # type: ignore[type-arg]
    """A `faust.Table` that remembers its unconfirmed changelog writes and the partitions it
    holds after each recovery (`active_partitions`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unconfirmed: deque[_Write] = deque()
        # Concurrent actors of one agent share the table: each pops what it awaited, so only
        # one of them may be confirming at a time.
        self._confirming = asyncio.Lock()
        self.active_partitions: frozenset[int] = frozenset()

    def send_changelog(
        self,
        partition: int | None,
        key: Any,
        value: Any,
        key_serializer: Any = None,
        value_serializer: Any = None,
    ) -> FutureMessage:
        sent = super().send_changelog(partition, key, value, key_serializer, value_serializer)
        self._unconfirmed.append(
            _Write(sent, partition, key, value, key_serializer, value_serializer)
        )
        return sent

    async def confirm(self, retry: RetryPolicy, on_retry: OnRetry) -> None:
        """Return once every changelog write made so far is acknowledged by the broker; a write
        the producer gave up on is sent again, with backoff, until it is."""
        # Set when a write failed, so that the next attempt, after the backoff, sends it again.
        failed_first = False

        async def confirm_all() -> None:
            nonlocal failed_first
            while self._unconfirmed:
                if failed_first:
                    self._send_first_again()
                    failed_first = False
                await self._unconfirmed[0].sent
                self._unconfirmed.popleft()

        def retrying(error: BaseException, attempt: int, delay: float) -> None:
            nonlocal failed_first
            failed_first = True
            on_retry(error, attempt, delay)
            log.warning(
                "writing to %s failed (attempt %d), retrying in %.1f s: %r",
                self.changelog_topic_name,
                attempt,
                delay,
                error,
            )

        async with self._confirming:
            await retry_async(
                confirm_all, retry, retry_on=(KafkaError, ProducerSendError), on_retry=retrying
            )

    def _send_first_again(self) -> None:
        write = self._unconfirmed.popleft()
        self.send_changelog(
            write.partition, write.key, write.value, write.key_serializer, write.value_serializer
        )
        self._unconfirmed.appendleft(self._unconfirmed.pop())  # still first to confirm

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        self.active_partitions = frozenset(tp.partition for tp in active_tps)
        await super().on_recovery_completed(active_tps, standby_tps)
