"""The Faust applications of a worker: broker, tables, agents, metrics and endpoints.

`create_app` proves image references; `create_credentials_app`, a group of its own, issues the
Content Credentials of the proofs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import faust
from prometheus_client import CollectorRegistry

from streams.core.assembly import (
    WorkerPools,
    build_credential_pipeline,
    build_pipeline,
    build_worker_pools,
)
from streams.core.codecs.records import ProofCreated
from streams.core.errors import SetupError
from streams.core.observing import CompositeObserver, PipelineObserver
from streams.core.processor import EventProcessor, RecordProcessor
from streams.core.retry import RetryPolicy
from streams.core.tally import ProofTally
from streams.kafka.agents import Codecs, register_agents, register_credentials_agent
from streams.kafka.clients import faust_broker_credentials, faust_broker_url
from streams.kafka.lag import LagProbe
from streams.kafka.topics import PROOFS_CREATED, SUBMITTED, TopicSpec, tenant_repartition_topic
from streams.kafka.transport import Transport
from streams.kafka.web import is_ready, register_endpoints
from streams.ops.metrics import PipelineMetrics, TableMetrics, WorkerMetrics, new_registry
from streams.settings import Settings

__all__ = ["create_app", "create_credentials_app", "credentials_app_id", "internal_topics"]


def create_app(settings: Settings) -> faust.App:
    """A Faust app for `settings` with the pipeline's agents, tables, metrics and endpoints."""
    worker = _worker(settings, settings.kafka.app_id, "prove")
    processor = EventProcessor(
        pipeline=build_pipeline(
            settings, worker.pools.hashing, worker.observer, worker.metrics.instrument_s3
        ),
        input_codec=worker.codecs.submitted,
        executor=worker.pools.prove,
        retry=worker.retry,
        observer=worker.observer,
    )
    tally = register_agents(
        worker.app,
        settings,
        processor,
        worker.codecs,
        worker.retry,
        worker.observer,
        PipelineMetrics(worker.metrics, "count"),
    )
    sources = {
        settings.kafka.topic(SUBMITTED),
        settings.kafka.topic(PROOFS_CREATED),
        tenant_repartition_topic(settings),
    }
    return worker.served(settings, tally, "proofs", sources)


def credentials_app_id(settings: Settings) -> str:
    """The application id, and consumer group, of the credentials workers."""
    return f"{settings.kafka.app_id}-credentials"


def create_credentials_app(settings: Settings) -> faust.App:
    """A Faust app issuing a C2PA manifest for every proof event: a consumer group of its own
    on `proofs.created`, so credential workers scale apart from the proving ones."""
    if not settings.c2pa.enabled:
        raise SetupError(
            "Content Credentials are off: set CREDLINK_C2PA_ENABLED=true (and "
            "CREDLINK_C2PA_CERTIFICATE_CHAIN_FILE) to run a credentials worker"
        )
    worker = _worker(settings, credentials_app_id(settings), "credentials")
    stage = build_credential_pipeline(
        settings, worker.pools.hashing, worker.observer, worker.metrics.instrument_s3
    )
    processor = RecordProcessor(
        read=ProofCreated.from_avro,
        work=stage.issue,
        record_name="a proof event",
        input_codec=worker.codecs.proofs,
        executor=worker.pools.prove,
        retry=worker.retry,
        observer=worker.observer,
    )
    tally = register_credentials_agent(
        worker.app, settings, processor, worker.codecs, worker.retry, worker.observer
    )
    return worker.served(settings, tally, "credentials", {settings.kafka.topic(PROOFS_CREATED)})


@dataclass(frozen=True)
class _Worker:
    """What a worker's app is built from: its metrics, observer, codecs, retry policy and
    thread pools."""

    app: faust.App
    registry: CollectorRegistry
    metrics: WorkerMetrics
    observer: PipelineObserver
    codecs: Codecs
    retry: RetryPolicy
    pools: WorkerPools

    def served(
        self,
        settings: Settings,
        tally: ProofTally,
        counted: Literal["proofs", "credentials"],
        sources: set[str],
    ) -> faust.App:
        """The app, with the tally's metrics, the endpoints, and the lag on `sources`."""
        self.registry.register(
            TableMetrics(
                by_tenant=lambda: tally.by_tenant().items(),
                by_format=lambda: _by_format(tally),
                tenants=settings.monitoring.metrics_tenants,
                counted=counted,
            )
        )
        register_endpoints(self.app, self.registry)
        _measure_lag_periodically(self.app, settings, self.metrics, self.app.conf.id, sources)
        return self.app


def _worker(settings: Settings, app_id: str, agent: str) -> _Worker:
    app = _faust_app(settings, app_id)
    registry = new_registry()
    metrics = WorkerMetrics(registry)
    pools = build_worker_pools(settings)
    # Shut down when the app stops: its exit stack closes after its agents have stopped.
    app.add_context(pools)
    return _Worker(
        app=app,
        registry=registry,
        metrics=metrics,
        observer=_observer(settings, metrics, agent),
        codecs=Codecs.for_settings(settings),
        retry=RetryPolicy(max_seconds=settings.worker.transient_retry_max_seconds),
        pools=pools,
    )


def _faust_app(settings: Settings, app_id: str) -> faust.App:
    app = faust.App(
        app_id,
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
    return app


def _observer(settings: Settings, metrics: WorkerMetrics, agent: str) -> PipelineObserver:
    """The metrics of `agent`, and its Sentry reports when a DSN is set."""
    observers: list[PipelineObserver] = [PipelineMetrics(metrics, agent)]
    dsn = settings.monitoring.sentry_dsn
    if dsn:
        # The Sentry SDK is loaded by the workers that report to Sentry only.
        from streams.ops.error_reporting import (
            RELEASE,
            SentryObserver,
            init_error_reporting,
            settings_secrets,
        )

        init_error_reporting(
            dsn.get_secret_value(),
            environment=settings.monitoring.sentry_environment,
            release=RELEASE,
            secrets=settings_secrets(settings),
        )
        observers.append(SentryObserver(agent))
    return CompositeObserver(observers)


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


def _measure_lag_periodically(
    app: faust.App, settings: Settings, metrics: WorkerMetrics, group: str, sources: set[str]
) -> None:
    probe = LagProbe(settings, group)

    async def measure_lag() -> None:
        metrics.ready.set(1 if is_ready(app) else 0)
        held = [(tp.topic, tp.partition) for tp in app.consumer.assignment() if tp.topic in sources]
        lags = await asyncio.get_running_loop().run_in_executor(None, probe.measure, held)
        metrics.set_lag(group, lags)

    app.timer(interval=settings.monitoring.lag_interval_seconds)(measure_lag)
