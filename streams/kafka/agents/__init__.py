"""The Faust agents: thin wiring from topics to the processor and the tallies.

`prove` (`prove.py`) consumes image references and publishes a proof event or a dead letter for
each, and acknowledges the input only after the broker has confirmed that publication
(at-least-once). `count` (`count.py`) consumes the proof events re-keyed by tenant and counts
each distinct proof once, in one table entry confirmed by the broker before the proof event is
acknowledged.
"""

from __future__ import annotations

import faust
from faust.types import TopicT

from streams.core.observing import PipelineObserver
from streams.core.processor import EventProcessor
from streams.core.retry import RetryPolicy
from streams.core.tally import ProofTally
from streams.kafka.agents.codecs import Codecs
from streams.kafka.agents.count import CountAgent, counted_proofs_table
from streams.kafka.agents.prove import ProveAgent
from streams.kafka.topics import DLQ, PROOFS_CREATED, SUBMITTED, tenant_repartition_topic
from streams.settings import Settings

__all__ = ["Codecs", "register_agents"]


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
    submitted = _raw_topic(app, settings.kafka.topic(SUBMITTED))
    proofs = _raw_topic(app, settings.kafka.topic(PROOFS_CREATED))
    dead_letters = _raw_topic(app, settings.kafka.topic(DLQ))

    recorded = counted_proofs_table(app, settings.kafka.topic_partitions)
    tally = ProofTally(recorded)

    prove = ProveAgent(processor, codecs, proofs, dead_letters, retry, observer)
    app.agent(submitted, name="prove", concurrency=settings.worker.prove_concurrency)(prove)

    by_tenant = _raw_topic(
        app,
        tenant_repartition_topic(settings),
        partitions=settings.kafka.topic_partitions,
        internal=True,
    )
    count = CountAgent(codecs, proofs, by_tenant, recorded, tally, retry, count_observer)
    recorded.on_recover(count.rebuild_counts)
    app.agent(proofs, name="count")(count)

    return tally
