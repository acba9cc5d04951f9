"""Stand-ins for the Faust objects an agent touches: topics that log what is sent and
confirmed, a stream of records, a table that logs its confirmations, and the codecs; and an
observer of retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field
from typing import Any

from faust.types import Message

from streams.core.codecs.records import (
    CredentialIssued,
    ImageReference,
    ProcessingFailed,
    ProofCreated,
)
from streams.core.observing import PipelineObserver
from streams.core.retry import RetryPolicy
from streams.kafka.agents.codecs import Codecs
from streams.kafka.serde import codec_for

#: The agents' codecs, on topics of these names.
CODECS = Codecs(
    submitted=codec_for(ImageReference.SCHEMA, topic="submitted"),
    proofs=codec_for(ProofCreated.SCHEMA, topic="proofs"),
    dead_letters=codec_for(ProcessingFailed.SCHEMA, topic="dead-letters"),
    credentials=codec_for(CredentialIssued.SCHEMA, topic="credentials"),
)


@dataclass
class Sent:
    """A publication: confirmed by the broker when awaited."""

    topic: Topic

    def __await__(self) -> Generator[Any, None, None]:
        self.topic.log.append(f"confirmed on {self.topic.name}")
        return asyncio.sleep(0).__await__()


@dataclass
class Topic:
    name: str
    log: list[str]
    values: list[bytes] = field(default_factory=list)

    def get_topic_name(self) -> str:
        return self.name

    async def send(self, *, key: bytes | None, value: bytes) -> Sent:
        self.log.append(f"sent {key!r} to {self.name}")
        self.values.append(value)
        return Sent(self)


@dataclass
class Event:
    message: Message


@dataclass
class Stream:
    """Hands out `values` as records of topic `topic`, noting when each is taken."""

    values: list[bytes]
    log: list[str]
    topic: str = "submitted"

    async def events(self) -> AsyncIterator[Event]:
        for offset, value in enumerate(self.values):
            self.log.append(f"took offset {offset}")
            yield Event(Message(self.topic, 0, offset, 0.0, 0, None, b"key", value, None))


class Retries(PipelineObserver):
    """An observer noting the number of each failed attempt about to be retried."""

    def __init__(self) -> None:
        self.attempts: list[int] = []

    def retrying(self, error: BaseException, attempt: int, delay: float) -> None:
        self.attempts.append(attempt)


class Recorded(dict[str, str]):
    """A table of counted proofs, noting each confirmation of its writes."""

    name = "proofs-counted"

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    async def confirm(self, retry: RetryPolicy, on_retry: object) -> None:
        self.log.append(f"confirmed {len(self)} entries")
