"""The seek after a rebalance: committed offsets, or the reset policy where there are none."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kafka.transport import seek_to_committed_or_reset, seek_with_flow_stopped

INPUT = "images.submitted"
CHANGELOG = "credlink-proofs-seen-changelog"


class RecordingConsumer:
    """The part of `AIOKafkaConsumer` the seek uses, recording where it was asked to go."""

    def __init__(self, committed: dict[TopicPartition, int | None]) -> None:
        self.committed = committed
        self.seeks: dict[TopicPartition, int | str] = {}

    async def seek_to_committed(self) -> dict[TopicPartition, int | None]:
        for tp, offset in self.committed.items():
            if offset and offset > 0:  # aiokafka's own rule: nothing below 1 is sought
                self.seeks[tp] = offset
        return dict(self.committed)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset

    async def seek_to_beginning(self, *tps: TopicPartition) -> None:
        self.seeks.update(dict.fromkeys(tps, "beginning"))

    async def seek_to_end(self, *tps: TopicPartition) -> None:
        self.seeks.update(dict.fromkeys(tps, "end"))


def _seek(committed: dict[TopicPartition, int | None], reset: str) -> dict[Any, Any]:
    consumer = RecordingConsumer(committed)
    asyncio.run(seek_to_committed_or_reset(cast(AIOKafkaConsumer, consumer), {INPUT}, reset))
    return consumer.seeks


def test_a_partition_the_group_never_committed_restarts_where_the_reset_policy_says() -> None:
    never, zero, some = (TopicPartition(INPUT, number) for number in range(3))

    seeks = _seek({never: None, zero: 0, some: 42}, "earliest")

    assert seeks == {never: "beginning", zero: 0, some: 42}


def test_the_latest_policy_moves_an_uncommitted_partition_to_its_end() -> None:
    never = TopicPartition(INPUT, 0)

    assert _seek({never: None}, "latest") == {never: "end"}


def test_changelog_partitions_stay_where_table_recovery_left_them() -> None:
    changelog = TopicPartition(CHANGELOG, 0)

    assert _seek({changelog: None}, "earliest") == {}


class FlowingConsumer:
    """A consumer whose drain loop delivers a record each turn of the loop while the flow is
    active, as Faust's does."""

    def __init__(self) -> None:
        self.flow_active = True
        self.seeking = False
        self.delivered_during_seek = 0

    def stop_flow(self) -> None:
        self.flow_active = False

    async def drain(self, finished: asyncio.Event) -> None:
        while not finished.is_set():
            if self.flow_active and self.seeking:
                self.delivered_during_seek += 1
            await asyncio.sleep(0)


def test_no_record_is_delivered_while_the_consumer_seeks() -> None:
    async def scenario() -> FlowingConsumer:
        consumer = FlowingConsumer()
        finished = asyncio.Event()
        drain = asyncio.create_task(consumer.drain(finished))

        async def seek() -> None:
            consumer.seeking = True
            for _ in range(10):  # the seek's own round trips to the consumer thread
                await asyncio.sleep(0)
            consumer.seeking = False

        await asyncio.sleep(0)
        await seek_with_flow_stopped(cast(Any, consumer), seek)
        finished.set()
        await drain
        return consumer

    consumer = asyncio.run(scenario())
    assert not consumer.flow_active
    assert consumer.delivered_during_seek == 0
