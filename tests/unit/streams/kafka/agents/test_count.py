"""Specification of the `count` agent: proof events are re-keyed by tenant and each distinct proof
is counted once, its table entry confirmed before the next event is taken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from faust.types import Message

from streams.core.observing import PipelineObserver
from streams.core.retry import RetryPolicy
from streams.core.tally import ProofTally
from streams.kafka.agents.count import CountAgent
from tests.support.agent_fakes import CODECS, Recorded
from tests.support.codec_samples import PROOF_CREATED

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

    def group_by(self, key: Callable[[bytes], bytes], *, name: str, topic: object) -> Stream:
        self.log.extend(f"re-keyed by {key(value)!r}" for value in self.values)
        return self

    async def events(self) -> AsyncIterator[Event]:
        for offset, value in enumerate(self.values):
            self.log.append(f"took offset {offset}")
            yield Event(value, Message("by-tenant", 0, offset, 0.0, 0, None, None, value, None))


def run(values: list[bytes]) -> tuple[ProofTally, list[str]]:
    log: list[str] = []
    recorded = Recorded(log)
    tally = ProofTally(recorded)
    agent = CountAgent(
        codecs=CODECS,
        proofs="proofs",  # type: ignore[arg-type]
        by_tenant="by-tenant",  # type: ignore[arg-type]
        recorded=recorded,  # type: ignore[arg-type]
        tally=tally,
        retry=RetryPolicy(),
        observer=PipelineObserver(),
    )
    asyncio.run(agent(Stream(values, log)))  # type: ignore[arg-type]
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
