"""The Faust agents: thin wiring from topics to the processor and the tallies.

`prove` consumes image references and publishes a proof event or a dead letter for each, and
acknowledges the input only after the broker has confirmed that publication (at-least-once).
`count` consumes the proof events re-keyed by tenant and counts each distinct proof once, in one
table entry confirmed by the broker before the proof event is acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from faust.types import TopicT

from streams.core.codecs.base import Codec
from streams.core.codecs.records import ImageReference, ProcessingFailed, ProofCreated
from streams.core.dead_letters import SourceMessage
from streams.core.errors import DecodeFailed
from streams.core.observing import PipelineObserver
from streams.core.processor import EventProcessor, RetryPolicy
from streams.core.tally import ProofTally
from streams.kafka.confirmed_table import ConfirmedTable
from streams.kafka.serde import codec_for
from streams.kafka.topics import DLQ, PROOFS_CREATED, SUBMITTED, tenant_repartition_topic
from streams.settings import Settings

__all__ = ["Codecs", "register_agents"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Codecs:
    submitted: Codec
    proofs: Codec
    dead_letters: Codec

    @classmethod
    def for_settings(cls, settings: Settings) -> Codecs:
        def codec(schema: str, topic: str) -> Codec:
            return codec_for(
                schema, topic=settings.topic(topic), registry_url=settings.schema_registry_url
            )

        return cls(
            submitted=codec(ImageReference.SCHEMA, SUBMITTED),
            proofs=codec(ProofCreated.SCHEMA, PROOFS_CREATED),
            dead_letters=codec(ProcessingFailed.SCHEMA, DLQ),
        )


def _raw_topic(
    app: faust.App, name: str, *, partitions: int | None = None, internal: bool = False
) -> TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
        internal=internal,
    )


async def _deliver(
    topic: TopicT,
    key: bytes | None,
    value: bytes,
    retry: RetryPolicy,
    observer: PipelineObserver,
) -> None:
    """Publish and wait for the broker's acknowledgement, retrying until it comes: the input
    event is acknowledged only after this returns, so a failed publication is never lost."""
    attempt = 0
    while True:
        attempt += 1
        try:
            sent = await topic.send(key=key, value=value)
            await sent
            return
        except (KafkaError, ProducerSendError) as error:
            delay = retry.delay(attempt)
            observer.retrying(error, attempt, delay)
            log.warning(
                "publishing to %s failed (attempt %d), retrying in %.1f s: %r",
                topic.get_topic_name(),
                attempt,
                delay,
                error,
            )
            await asyncio.sleep(delay)


def register_agents(
    app: faust.App,
    settings: Settings,
    processor: EventProcessor,
    codecs: Codecs,
    retry: RetryPolicy,
    observer: PipelineObserver,
    count_observer: PipelineObserver,
) -> ProofTally:
    """Declare the topics, tables and agents of the pipeline on `app`; return the tally."""
    submitted = _raw_topic(app, settings.topic(SUBMITTED))
    proofs = _raw_topic(app, settings.topic(PROOFS_CREATED))
    dead_letters = _raw_topic(app, settings.topic(DLQ))

    recorded = ConfirmedTable(
        app,
        name="proofs-counted",
        key_type=str,
        value_type=str,
        partitions=settings.topic_partitions,
        beacon=app.tables.beacon,
        help="One entry per distinct proof counted: (tenant, proof id) -> what it counts.",
    )
    app.tables.add(recorded)
    tally = ProofTally(recorded)

    @recorded.on_recover
    async def rebuild_counts() -> None:
        unreadable = tally.rebuild(recorded.active_partitions)
        if unreadable:
            log.error("%d entries of %s are not counted proofs", len(unreadable), recorded.name)

    @app.agent(submitted, name="prove", concurrency=settings.prove_concurrency)
    async def prove(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            observer.consumed()
            try:
                await _prove_one(event.message)
            finally:
                observer.finished()

    async def _prove_one(message: Any) -> None:
        outcome = await processor.process(
            SourceMessage(
                message.topic, message.partition, message.offset, message.key, message.value
            )
        )
        if outcome.proof is not None:
            topic, value = proofs, codecs.proofs.encode(outcome.proof.to_avro())
        else:
            assert outcome.failure is not None
            topic, value = dead_letters, codecs.dead_letters.encode(outcome.failure.to_avro())
        started = time.perf_counter()
        await _deliver(topic, outcome.key, value, retry, observer)
        observer.stage_finished("publish", time.perf_counter() - started, None)
        age = time.time() - message.timestamp if message.timestamp else None
        observer.published(topic.get_topic_name(), age)

    def proof_of(value: bytes) -> ProofCreated | None:
        try:
            return ProofCreated.from_avro(codecs.proofs.decode(value))
        except DecodeFailed as error:
            # Not written by this pipeline; counting it is impossible, stopping would be worse.
            log.error("skipping a record on %s that is not a proof event: %s", proofs, error)
            return None

    def tenant_of(value: bytes) -> bytes:
        proof = proof_of(value)
        return proof.tenant.encode("utf-8") if proof is not None else b""

    by_tenant = _raw_topic(
        app,
        tenant_repartition_topic(settings),
        partitions=settings.topic_partitions,
        internal=True,
    )

    @app.agent(proofs, name="count")
    async def count(stream: faust.StreamT[bytes]) -> None:
        grouped = stream.group_by(tenant_of, name="by-tenant", topic=by_tenant)
        async for event in grouped.events():
            count_observer.consumed()
            try:
                proof = proof_of(event.value)
                if proof is not None:
                    tally.record(proof, shard=event.message.partition)
                    # The event is acknowledged when the next one is taken: not before its
                    # entry is on the broker, or a crash could lose the count.
                    await recorded.confirm(retry, count_observer.retrying)
            finally:
                count_observer.finished()

    return tally
