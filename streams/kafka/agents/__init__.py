"""The Faust agents: thin wiring from topics to the processor and the tallies.

`prove` (`prove.py`) consumes image references and publishes a proof event or a dead letter for
each, and acknowledges the input only after the broker has confirmed that publication
(at-least-once). `count` (`count.py`) consumes the proof events re-keyed by tenant and counts
each distinct proof once, in one table entry confirmed by the broker before the proof event is
acknowledged. `credentials` (`credentials.py`), on an app of its own, consumes the proof events
and publishes a credential event or a dead letter for each, acknowledging like `prove`.
"""

from __future__ import annotations

from functools import partial

import faust
from faust.types import TopicT

from streams.core.codecs.records import CredentialIssued, ProofCreated
from streams.core.observing import PipelineObserver
from streams.core.processor import EventProcessor, RecordProcessor
from streams.core.retry import RetryPolicy
from streams.core.tally import ProofTally
from streams.kafka.agents.codecs import Codecs
from streams.kafka.agents.count import CountAgent, counted_table, rebuild_counts
from streams.kafka.agents.credentials import CredentialsAgent
from streams.kafka.agents.prove import ProveAgent
from streams.kafka.topics import (
    CREDENTIALS_CREATED,
    DLQ,
    PROOFS_CREATED,
    SUBMITTED,
    tenant_repartition_topic,
)
from streams.settings import Settings

__all__ = ["Codecs", "register_agents", "register_credentials_agent"]


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

    recorded = counted_table(app, "proofs-counted", settings.kafka.topic_partitions)
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


def register_credentials_agent(
    app: faust.App,
    settings: Settings,
    processor: RecordProcessor[ProofCreated, CredentialIssued],
    codecs: Codecs,
    retry: RetryPolicy,
    observer: PipelineObserver,
) -> ProofTally:
    """Declare the topics, the table and the `credentials` agent on `app`; return the tally of
    the credentials issued."""
    proofs = _raw_topic(app, settings.kafka.topic(PROOFS_CREATED))
    credentials = _raw_topic(app, settings.kafka.topic(CREDENTIALS_CREATED))
    dead_letters = _raw_topic(app, settings.kafka.topic(DLQ))
    # Written in the partition of the proof event, which is where a rebalance moves it.
    recorded = counted_table(app, "credentials-counted", settings.kafka.topic_partitions)
    tally = ProofTally(recorded)
    recorded.on_recover(partial(rebuild_counts, tally, recorded))
    agent = CredentialsAgent(
        processor, codecs, credentials, dead_letters, recorded, tally, retry, observer
    )
    app.agent(proofs, name="credentials", concurrency=settings.worker.prove_concurrency)(agent)
    return tally
