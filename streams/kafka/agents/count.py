"""The `count` agent: the proof events re-keyed by tenant, each distinct proof counted once, in one
table entry confirmed by the broker before the proof event is acknowledged."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import faust
from faust.types import TopicT

from streams.core.codecs.records import ProofCreated
from streams.core.errors import DecodeFailed
from streams.core.observing import PipelineObserver
from streams.core.retry import RetryPolicy
from streams.core.tally import ProofTally
from streams.kafka.agents.codecs import Codecs
from streams.kafka.confirmed_table import ConfirmedTable

__all__ = ["CountAgent", "counted_proofs_table"]

log = logging.getLogger(__name__)


def counted_proofs_table(app: faust.App, partitions: int) -> ConfirmedTable:
    """The table of the proofs counted, declared on `app`."""
    recorded = ConfirmedTable(
        app,
        name="proofs-counted",
        key_type=str,
        value_type=str,
        partitions=partitions,
        beacon=app.tables.beacon,
        help="One entry per distinct proof counted: (tenant, proof id) -> what it counts.",
    )
    app.tables.add(recorded)
    return recorded


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
        unreadable = self.tally.rebuild(self.recorded.active_partitions)
        if unreadable:
            log.error(
                "%d entries of %s are not counted proofs", len(unreadable), self.recorded.name
            )

    async def __call__(self, stream: faust.StreamT[bytes]) -> None:
        grouped = stream.group_by(self._tenant_of, name="by-tenant", topic=self.by_tenant)
        async for event in grouped.events():
            self.observer.consumed()
            try:
                proof = self._proof_of(event.value)
                if proof is not None:
                    self.tally.record(proof, shard=event.message.partition)
                    # The event is acknowledged when the next one is taken: not before its
                    # entry is on the broker, or a crash could lose the count.
                    await self.recorded.confirm(self.retry, self.observer.retrying)
            finally:
                self.observer.finished()

    def _proof_of(self, value: bytes) -> ProofCreated | None:
        try:
            return ProofCreated.from_avro(self.codecs.proofs.decode(value))
        except DecodeFailed as error:
            # Not written by this pipeline; counting it is impossible, stopping would be worse.
            log.error("skipping a record on %s that is not a proof event: %s", self.proofs, error)
            return None

    def _tenant_of(self, value: bytes) -> bytes:
        proof = self._proof_of(value)
        return proof.tenant.encode("utf-8") if proof is not None else b""
