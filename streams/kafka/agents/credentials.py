"""The `credentials` agent: each proof event becomes a credential event or a dead letter, and the
proof event is acknowledged only after the broker has confirmed that publication (and the table
entry counting the credential)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import faust
from faust.types import Message, TopicT

from streams.core.codecs.records import CredentialIssued, ProofCreated
from streams.core.observing import PipelineObserver
from streams.core.processor import DeadLettered, RecordProcessor
from streams.core.retry import RetryPolicy
from streams.core.tally import ProofTally
from streams.kafka.agents.codecs import Codecs
from streams.kafka.agents.delivery import publish_output, source_of, take_each
from streams.kafka.confirmed_table import ConfirmedTable

__all__ = ["CredentialsAgent"]


@dataclass(frozen=True)
class CredentialsAgent:
    processor: RecordProcessor[ProofCreated, CredentialIssued]
    codecs: Codecs
    credentials: TopicT
    dead_letters: TopicT
    recorded: ConfirmedTable
    tally: ProofTally
    retry: RetryPolicy
    observer: PipelineObserver

    async def __call__(self, stream: faust.StreamT[bytes]) -> None:
        await take_each(stream, self.observer, self._issue_one)

    async def _issue_one(self, message: Message) -> None:
        result = await self.processor.process(source_of(message))
        # Published under the proof event's key, so a proof and its credential (or its dead
        # letter) share a partition number.
        if isinstance(result, DeadLettered):
            value = partial(self.codecs.dead_letters.encode, result.failure.to_avro())
            await publish_output(message, self.dead_letters, value, self.retry, self.observer)
            return
        self.observer.credential_issued(result)
        value = partial(self.codecs.credentials.encode, result.to_avro())
        await publish_output(message, self.credentials, value, self.retry, self.observer)
        # The proof event is acknowledged when the next one is taken: not before the entry
        # counting its credential is on the broker.
        self.tally.record(result, shard=message.partition)
        await self.recorded.confirm(self.retry, self.observer.retrying)
