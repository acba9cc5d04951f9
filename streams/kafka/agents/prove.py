"""The `prove` agent: each image reference becomes a proof event or a dead letter, and the
reference is acknowledged only after the broker has confirmed that publication (at-least-once)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import faust
from faust.types import Message, TopicT

from streams.core.observing import PipelineObserver
from streams.core.processor import EventProcessor, Proved
from streams.core.retry import RetryPolicy
from streams.kafka.agents.codecs import Codecs
from streams.kafka.agents.delivery import publish_output, source_of, take_each

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
        await take_each(stream, self.observer, self._prove_one)

    async def _prove_one(self, message: Message) -> None:
        result = await self.processor.process(source_of(message))
        if isinstance(result, Proved):
            topic, value = self.proofs, partial(self.codecs.proofs.encode, result.proof.to_avro())
        else:
            topic = self.dead_letters
            value = partial(self.codecs.dead_letters.encode, result.failure.to_avro())
        await publish_output(message, topic, value, self.retry, self.observer)
