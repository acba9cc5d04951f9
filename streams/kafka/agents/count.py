"""The `count` agent: the proof events re-keyed by tenant, each distinct proof counted once, in one
table entry confirmed by the broker before the proof event is acknowledged."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import faust
from faust.types import TopicT

from streams.core.codecs.records import ProofCreated
from streams.core.errors import DecodeFailed, TransientError
from streams.core.observing import PipelineObserver
from streams.core.retry import RetryPolicy, retry_async
from streams.core.tally import ProofTally
from streams.kafka.agents.codecs import Codecs
from streams.kafka.confirmed_table import ConfirmedTable

__all__ = ["CountAgent", "counted_table", "rebuild_counts"]

log = logging.getLogger(__name__)


def counted_table(app: faust.App, name: str, partitions: int) -> ConfirmedTable:
    """A table of counted proofs (or credentials) `name`, declared on `app`."""
    recorded = ConfirmedTable(
        app,
        name=name,
        key_type=str,
        value_type=str,
        partitions=partitions,
        beacon=app.tables.beacon,
        help="One entry per distinct proof counted: (tenant, proof id) -> what it counts.",
    )
    app.tables.add(recorded)
    return recorded


async def rebuild_counts(tally: ProofTally, recorded: ConfirmedTable) -> None:
    """Derive `tally`'s counts again from `recorded`, for the partitions held now."""
    unreadable = tally.rebuild(recorded.active_partitions)
    if unreadable:
        log.error("%d entries of %s are not counted proofs", len(unreadable), recorded.name)


@dataclass(frozen=True)
class CountAgent:
    codecs: Codecs
    proofs: TopicT
    by_tenant: TopicT
    recorded: ConfirmedTable
    tally: ProofTally
    retry: RetryPolicy
    observer: PipelineObserver

    async def rebuild_counts(self) -> None:
        await rebuild_counts(self.tally, self.recorded)

    async def __call__(self, stream: faust.StreamT[bytes]) -> None:
        grouped = stream.group_by(self._tenant_of, name="by-tenant", topic=self.by_tenant)
        async for event in grouped.events():
            self.observer.consumed()
            try:
                proof = await self._proof_of(event.value)
                if proof is not None:
                    self.tally.record(proof, shard=event.message.partition)
                    # The event is acknowledged when the next one is taken: not before its
                    # entry is on the broker, or a crash could lose the count.
                    await self.recorded.confirm(self.retry, self.observer.retrying)
            finally:
                self.observer.finished()

    async def _proof_of(self, value: bytes) -> ProofCreated | None:
        """The proof event in `value`, waiting out a schema registry its decoding needs but
        cannot reach (re-keying would otherwise drop the record, counting crash the agent).
        Decoded in a thread: asking the registry would hold the event loop."""

        async def decode() -> ProofCreated:
            return ProofCreated.from_avro(await asyncio.to_thread(self.codecs.proofs.decode, value))

        try:
            return await retry_async(
                decode, self.retry, retry_on=TransientError, on_retry=self.observer.retrying
            )
        except DecodeFailed as error:
            # Not written by this pipeline; counting it is impossible, stopping would be worse.
            log.error("skipping a record on %s that is not a proof event: %s", self.proofs, error)
            return None

    async def _tenant_of(self, value: bytes) -> bytes:
        proof = await self._proof_of(value)
        return proof.tenant.encode("utf-8") if proof is not None else b""
