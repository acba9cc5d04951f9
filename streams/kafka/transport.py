"""The worker's Faust transport: aiokafka's, with the seek after a rebalance made whole.

After each rebalance Faust resumes the input partitions, seeks them to the group's committed
offsets, and then resumes flow, which empties every stream buffer. Records fetched while the
seek was in progress are dropped from the buffers, and only the seek brings them back.
aiokafka's `seek_to_committed` skips a partition whose committed offset is missing (or 0), so
a partition the group never committed stays past the dropped records: the worker then waits
for new input, ready and idle, with a lag that never shrinks. Here such a partition is moved
to where the reset policy says a consumer without a committed offset starts.

And on a worker's first assignment Faust does not stop the flow of records before that seek
(it does so only when partitions are revoked), so records fetched after the seek but delivered
before Faust resets its read offsets were dropped with the buffers while the position had moved
past them; Faust then took the jump in offsets for a gap (compaction, transaction markers) and
committed over those records. Here the flow stops before every seek; Faust resumes it once
the buffers are emptied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

__all__ = ["Transport", "seek_to_committed_or_reset", "seek_with_flow_stopped"]


async def seek_to_committed_or_reset(
    consumer: AIOKafkaConsumer, streamed_topics: Collection[str], reset: str
) -> dict[TopicPartition, int | None]:
    """Seek each assigned partition to its committed offset, as aiokafka does, and those of
    `streamed_topics` without one to where `reset` (`earliest` or `latest`) says; return the
    committed offsets. Other topics (table changelogs) are positioned by Faust's recovery."""
    committed: dict[TopicPartition, int | None] = await consumer.seek_to_committed()
    uncommitted = []
    for tp, offset in committed.items():
        if tp.topic not in streamed_topics:
            continue
        if offset == 0:
            consumer.seek(tp, 0)
        elif offset is None:
            uncommitted.append(tp)
    if uncommitted:
        if reset == "latest":
            await consumer.seek_to_end(*uncommitted)
        else:
            await consumer.seek_to_beginning(*uncommitted)
    return committed


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Mapping[TP, int]:
        result: Mapping[TP, int] = await self.call_thread(
            seek_to_committed_or_reset,
            self._ensure_consumer(),
            self.app.topics.acking_topics,
            self.app.conf.consumer_auto_offset_reset,
        )
        return result


async def seek_with_flow_stopped(
    consumer: faust_aiokafka.Consumer, seek: Callable[[], Awaitable[None]]
) -> None:
    """Stop the delivery of records to the streams, let the record in delivery finish (it
    returns at once once the flow is stopped), then `seek`."""
    consumer.stop_flow()
    await asyncio.sleep(0)
    await seek()


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def perform_seek(self) -> None:
        await seek_with_flow_stopped(self, super().perform_seek)


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with the consumer above; install it on an app with
    `app.transport = Transport(app.conf.broker_consumer, app)` before the app starts."""

    Consumer = _Consumer
