"""The Faust application of a worker: broker, tables, agents, metrics and endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import faust

from streams.core.assembly import build_pipeline, build_worker_pools
from streams.core.observing import CompositeObserver, PipelineObserver
from streams.core.processor import EventProcessor
from streams.core.retry import RetryPolicy
from streams.core.tally import ProofTally
from streams.kafka.agents import Codecs, register_agents
from streams.kafka.clients import faust_broker_credentials, faust_broker_url
from streams.kafka.lag import LagProbe
from streams.kafka.topics import PROOFS_CREATED, SUBMITTED, TopicSpec, tenant_repartition_topic
from streams.kafka.transport import Transport
from streams.kafka.web import is_ready, register_endpoints
from streams.ops.error_reporting import (
    RELEASE,
    SentryObserver,
    init_error_reporting,
    settings_secrets,
)
from streams.ops.metrics import PipelineMetrics, TableMetrics, WorkerMetrics, new_registry
from streams.settings import Settings

__all__ = ["create_app", "internal_topics"]


def create_app(settings: Settings) -> faust.App:
    """A Faust app for `settings` with the pipeline's agents, tables, metrics and endpoints."""
    app = faust.App(
        settings.kafka.app_id,
        broker=faust_broker_url(settings),
        broker_credentials=faust_broker_credentials(settings),
        store="memory://",
        autodiscover=False,
        topic_partitions=settings.kafka.topic_partitions,
        topic_replication_factor=settings.kafka.topic_replication_factor,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.worker.consumer_session_timeout_seconds,
        # No standby copies: a takeover recovers the partition's entries from the changelog.
        # (The tally counts only the active partitions either way.)
        table_standby_replicas=0,
        web_enabled=True,
        # Faust binds `web_bind` (default 0.0.0.0); `web_host` only names the host in URLs.
        web_bind=settings.worker.web_host,
        web_host=settings.worker.web_host,
        web_port=settings.worker.web_port,
        # Only /metrics, /healthz and /readyz: Faust's table pages would serve any tenant's
        # entries, and its router, graph and statistics pages the worker's internals, to
        # whoever reaches the port.
        web_tables_enabled=False,
        web_router_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
    )
    app.transport = Transport(app.conf.broker_consumer, app)
    registry = new_registry()
    metrics = WorkerMetrics(registry)
    observers: list[PipelineObserver] = [PipelineMetrics(metrics, "prove")]
    if init_error_reporting(
        settings.monitoring.sentry_dsn.get_secret_value()
        if settings.monitoring.sentry_dsn
        else None,
        environment=settings.monitoring.sentry_environment,
        release=RELEASE,
        secrets=settings_secrets(settings),
    ):
        observers.append(SentryObserver("prove"))
    observer = CompositeObserver(observers)
    codecs = Codecs.for_settings(settings)
    retry = RetryPolicy(max_seconds=settings.worker.transient_retry_max_seconds)
    pools = build_worker_pools(settings)
    # Shut down when the app stops: its exit stack closes after its agents have stopped.
    app.add_context(pools)
    processor = EventProcessor(
        pipeline=build_pipeline(settings, pools.hashing, observer, metrics.instrument_s3),
        input_codec=codecs.submitted,
        executor=pools.prove,
        retry=retry,
        observer=observer,
    )
    tally = register_agents(
        app, settings, processor, codecs, retry, observer, PipelineMetrics(metrics, "count")
    )
    registry.register(
        TableMetrics(
            by_tenant=lambda: tally.by_tenant().items(),
            by_format=lambda: _by_format(tally),
            tenants=settings.monitoring.metrics_tenants,
        )
    )
    register_endpoints(app, registry)
    _measure_lag_periodically(app, settings, metrics)
    return app


def internal_topics(app: faust.App, settings: Settings) -> list[TopicSpec]:
    """The topics Faust keeps for `app`: each table's changelog (compacted) and the tenant
    repartition topic.

    Created before the worker starts, like the pipeline's own topics: Faust would create them
    itself, but a consumer that looks at a changelog topic created a moment earlier can see it
    with no partitions yet, and a table then stops its agent (`PartitionsMismatch`).
    """

    def spec(name: str, cleanup_policy: str) -> TopicSpec:
        return TopicSpec(
            name=name,
            partitions=settings.kafka.topic_partitions,
            replication_factor=settings.kafka.topic_replication_factor,
            config={"cleanup.policy": cleanup_policy},
        )

    changelogs = [table.changelog_topic.get_topic_name() for table in app.tables.values()]
    return [
        *(spec(name, "compact") for name in sorted(changelogs)),
        spec(tenant_repartition_topic(settings), "delete"),
    ]


def _by_format(tally: ProofTally) -> Iterable[tuple[str, int]]:
    totals: dict[str, int] = {}
    for (_, image_format), count in tally.by_format().items():
        totals[image_format] = totals.get(image_format, 0) + count
    return totals.items()


def _measure_lag_periodically(app: faust.App, settings: Settings, metrics: WorkerMetrics) -> None:
    sources = {
        settings.kafka.topic(SUBMITTED),
        settings.kafka.topic(PROOFS_CREATED),
        tenant_repartition_topic(settings),
    }
    probe = LagProbe(settings, settings.kafka.app_id)

    async def measure_lag() -> None:
        metrics.ready.set(1 if is_ready(app) else 0)
        held = [(tp.topic, tp.partition) for tp in app.consumer.assignment() if tp.topic in sources]
        lags = await asyncio.get_running_loop().run_in_executor(None, probe.measure, held)
        metrics.set_lag(settings.kafka.app_id, lags)

    app.timer(interval=settings.monitoring.lag_interval_seconds)(measure_lag)
