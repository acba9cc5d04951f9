"""Specification of the `count` agent: proof events are re-keyed by tenant and each distinct proof
is counted once, its table entry confirmed before the next event is taken; a decoding that needs
an unreachable schema registry waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from faust.types import Message

from streams.core.codecs.base import Codec
from streams.core.errors import TransientError
from streams.core.observing import PipelineObserver
from streams.core.retry import RetryPolicy
from streams.core.tally import ProofTally
from streams.kafka.agents.codecs import Codecs
from streams.kafka.agents.count import CountAgent
from tests.support.agent_fakes import CODECS, Recorded, Retries
from tests.support.codec_samples import PROOF_CREATED
from tests.support.event_loop import BlockingCodec, TimerLateness

PROOF = CODECS.proofs.encode(PROOF_CREATED.to_avro())


@dataclass
class Event:
    value: bytes
    message: Message


@dataclass
class Stream:
    """Hands out `values` re-keyed by the agent's key function, noting when each is taken."""

    values: list[bytes]
    log: list[str]
    key: Callable[[bytes], Awaitable[bytes]] | None = None

    def group_by(
        self, key: Callable[[bytes], Awaitable[bytes]], *, name: str, topic: object
    ) -> Stream:
        self.key = key
        return self

    async def events(self) -> AsyncIterator[Event]:
        assert self.key is not None, "the agent did not re-key its stream"
        for value in self.values:
            self.log.append(f"re-keyed by {await self.key(value)!r}")
        for offset, value in enumerate(self.values):
            self.log.append(f"took offset {offset}")
            yield Event(value, Message("by-tenant", 0, offset, 0.0, 0, None, None, value, None))


class FlakyRegistry(Codec):
    """The proof codec behind a schema registry that every other decoding cannot reach."""

    def __init__(self) -> None:
        self.schema = CODECS.proofs.schema
        self.decodes = 0

    def encode(self, record: Mapping[str, Any]) -> bytes:
        return CODECS.proofs.encode(record)

    def decode(self, data: bytes) -> dict[str, Any]:
        self.decodes += 1
        if self.decodes % 2:
            raise TransientError("schema registry unavailable to decode")
        return CODECS.proofs.decode(data)


def run(
    values: list[bytes],
    codecs: Codecs = CODECS,
    observer: PipelineObserver | None = None,
    lateness: TimerLateness | None = None,
) -> tuple[ProofTally, list[str]]:
    """Count `values`; `lateness`, if given, watches the event loop meanwhile."""
    log: list[str] = []
    recorded = Recorded(log)
    tally = ProofTally(recorded)
    agent = CountAgent(
        codecs=codecs,
        proofs="proofs",  # type: ignore[arg-type]
        by_tenant="by-tenant",  # type: ignore[arg-type]
        recorded=recorded,  # type: ignore[arg-type]
        tally=tally,
        retry=RetryPolicy(base_seconds=0.0),
        observer=observer or PipelineObserver(),
    )

    async def counting() -> None:
        async with lateness or TimerLateness():
            await agent(Stream(values, log))  # type: ignore[arg-type]

    asyncio.run(counting())
    return tally, log


def test_a_proof_event_is_counted_once_and_confirmed_before_the_next_is_taken() -> None:
    tally, log = run([PROOF, PROOF])

    assert tally.by_tenant() == {PROOF_CREATED.tenant: 1}
    tenant = PROOF_CREATED.tenant.encode()
    assert log == [
        f"re-keyed by {tenant!r}",
        f"re-keyed by {tenant!r}",
        "took offset 0",
        "confirmed 1 entries",
        "took offset 1",
        "confirmed 1 entries",
    ]


def test_a_record_that_is_not_a_proof_event_is_skipped_and_counts_nothing() -> None:
    tally, log = run([b"not a proof event"])

    assert tally.by_tenant() == {}
    assert log == ["re-keyed by b''", "took offset 0"]


def test_a_proof_event_the_registry_cannot_decode_yet_is_retried_not_skipped() -> None:
    observer = Retries()
    tally, log = run([PROOF], replace(CODECS, proofs=FlakyRegistry()), observer=observer)

    assert tally.by_tenant() == {PROOF_CREATED.tenant: 1}
    assert log == [
        f"re-keyed by {PROOF_CREATED.tenant.encode()!r}",
        "took offset 0",
        "confirmed 1 entries",
    ]
    assert observer.attempts == [1, 1], "one retry when re-keying, one when counting"


def test_a_decoding_that_blocks_leaves_the_event_loop_free() -> None:
    """As one waiting on a schema registry does: the worker's timers and endpoints run on the
    loop meanwhile."""
    lateness = TimerLateness()
    blocking = replace(CODECS, proofs=BlockingCodec(CODECS.proofs, seconds=0.5))

    tally, _ = run([PROOF], blocking, lateness=lateness)

    assert tally.by_tenant() == {PROOF_CREATED.tenant: 1}
    assert lateness.worst < 0.25
