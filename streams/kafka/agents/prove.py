"""The `prove` agent: each image reference becomes a proof event or a dead letter, and the
reference is acknowledged only after the broker has confirmed that publication (at-least-once)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import faust
from faust.types import Message, TopicT

from streams.core.dead_letters import SourceMessage
from streams.core.observing import PipelineObserver, Stage
from streams.core.processor import EventProcessor, Proved
from streams.core.retry import RetryPolicy
from streams.kafka.agents.codecs import Codecs
from streams.kafka.agents.delivery import deliver

__all__ = ["ProveAgent"]


@dataclass(frozen=True)
class ProveAgent:
    processor: EventProcessor
    codecs: Codecs
    proofs: TopicT
    dead_letters: TopicT
    retry: RetryPolicy
    observer: PipelineObserver

    async def __call__(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            self.observer.consumed()
            try:
                await self._prove_one(event.message)
            finally:
                self.observer.finished()

    async def _prove_one(self, message: Message) -> None:
        result = await self.processor.process(
            SourceMessage(
                message.topic, message.partition, message.offset, message.key, message.value
            )
        )
        if isinstance(result, Proved):
            topic, value = self.proofs, self.codecs.proofs.encode(result.proof.to_avro())
        else:
            topic = self.dead_letters
            value = self.codecs.dead_letters.encode(result.failure.to_avro())
        started = time.perf_counter()
        await deliver(topic, result.key, value, self.retry, self.observer)
        self.observer.stage_finished(Stage.PUBLISH, time.perf_counter() - started, None)
        age = time.time() - message.timestamp if message.timestamp else None
        self.observer.published(topic.get_topic_name(), age)
