"""Specification of `streams.kafka.confirmed_table`: an agent can wait until its table writes are on
the broker, and a write the producer gave up on is sent again."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from aiokafka.errors import KafkaTimeoutError
from faust.types import TP

from streams.core.retry import RetryPolicy
from streams.kafka.confirmed_table import ConfirmedTable

NO_WAIT = RetryPolicy(base_seconds=0.0, max_seconds=0.0)


class Producer:
    """Stands in for Faust's background changelog producer: every write is a future the test
    resolves."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, Any, asyncio.Future[Any]]] = []

    def send_changelog(self, partition: Any, key: Any, value: Any, *_: Any) -> Any:
        sent: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((key, value, sent))
        return sent


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> Producer:
    producer = Producer()
    monkeypatch.setattr(faust.Table, "send_changelog", producer.send_changelog)
    return producer


def new_table() -> ConfirmedTable:
    app = faust.App("confirmed-table-spec", broker="kafka://127.0.0.1:1", autodiscover=False)
    return ConfirmedTable(app, name="entries", key_type=str, value_type=str)


def test_confirm_returns_only_once_every_write_is_acknowledged(producer: Producer) -> None:
    async def scenario() -> None:
        table = new_table()
        table.send_changelog(0, "a", "1")
        table.send_changelog(0, "b", "2")

        confirming = asyncio.create_task(table.confirm(NO_WAIT, lambda *_: None))
        producer.sent[0][2].set_result("metadata")
        await asyncio.sleep(0.01)
        assert not confirming.done()

        producer.sent[1][2].set_result("metadata")
        await asyncio.wait_for(confirming, timeout=1)

    asyncio.run(scenario())


def test_agents_confirming_at_once_each_return_once_every_write_is_acknowledged(
    producer: Producer,
) -> None:
    async def scenario() -> None:
        table = new_table()
        table.send_changelog(0, "a", "1")
        table.send_changelog(1, "b", "2")
        agents = [asyncio.create_task(table.confirm(NO_WAIT, lambda *_: None)) for _ in range(3)]

        producer.sent[0][2].set_result("metadata")
        await asyncio.sleep(0.01)
        assert not any(agent.done() for agent in agents)

        producer.sent[1][2].set_result("metadata")
        await asyncio.wait_for(asyncio.gather(*agents), timeout=1)

    asyncio.run(scenario())


def test_a_write_the_producer_gave_up_on_is_sent_again(producer: Producer) -> None:
    async def scenario() -> None:
        table = new_table()
        retries: list[tuple[BaseException, int]] = []
        table.send_changelog(2, "a", "1")
        producer.sent[0][2].set_exception(KafkaTimeoutError())

        confirming = asyncio.create_task(
            table.confirm(NO_WAIT, lambda error, attempt, _delay: retries.append((error, attempt)))
        )

        async def resent() -> None:
            while len(producer.sent) < 2:
                await asyncio.sleep(0.001)

        await asyncio.wait_for(resent(), timeout=1)
        assert not confirming.done()
        assert producer.sent[1][:2] == ("a", "1")

        producer.sent[1][2].set_result("metadata")
        await asyncio.wait_for(confirming, timeout=1)
        assert [(type(error), attempt) for error, attempt in retries] == [(KafkaTimeoutError, 1)]

    asyncio.run(scenario())


def test_confirming_nothing_returns_at_once(producer: Producer) -> None:
    async def scenario() -> None:
        await asyncio.wait_for(new_table().confirm(NO_WAIT, lambda *_: None), timeout=1)
        assert producer.sent == []

    asyncio.run(scenario())


def test_the_partitions_held_are_known_after_a_recovery(producer: Producer) -> None:
    async def scenario() -> None:
        table = new_table()
        changelog = table.changelog_topic_name

        await table.on_recovery_completed({TP(changelog, 0), TP(changelog, 3)}, {TP(changelog, 1)})

        assert table.active_partitions == {0, 3}

    asyncio.run(scenario())
