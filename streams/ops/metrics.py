"""Prometheus metrics of a worker: per-agent counters and histograms, lag, tables, S3.

Names follow Prometheus conventions (base units, `_total`, `_seconds`, `_bytes`). Label values
are bounded: agents, stages, formats and error classes are fixed by the code; tenants get a
label of their own only when listed in `CREDLINK_METRICS_TENANTS`, the rest share `other`.
`deploy/monitoring/` holds the scrape config, alerts and dashboard built on these names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.core.codecs.records import CredentialIssued, ProcessingFailed, ProofCreated
from streams.core.dead_letters import InputEvent
from streams.core.observing import PipelineObserver, Stage

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "OTHER",
    "PipelineMetrics",
    "ServiceMetrics",
    "TableMetrics",
    "WorkerMetrics",
    "new_registry",
]

OTHER = "other"
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# End to end includes time queued behind a backlog or an outage: minutes, not milliseconds.
_EVENT_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# A read of a key that is not there yet is how the store learns a proof is new: not an error.
_EXPECTED_MISSES = {"NoSuchKey", "NotFound", "404"}
_BYTES = tuple(float(4**power * 1024) for power in range(0, 10))  # 1 KiB .. 256 MiB
_PIXELS = tuple(float(4**power * 10_000) for power in range(0, 9))  # 10 kpx .. 655 Mpx


def new_registry() -> CollectorRegistry:
    """A registry of one worker, with the process (RSS, CPU), platform and GC collectors."""
    # `*_created` timestamp series double the series count and no alert or panel uses them.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


class ServiceMetrics:
    """The verify service's requests, by route (the route's pattern, never the path asked
    for, so ids do not become labels), method and status, registered once in `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "credlink_verify_requests_total",
            "Requests answered, by route, method and status (503: busy or a dependency down).",
            ["route", "method", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "credlink_verify_request_duration_seconds",
            "Time from a request's headers to its answer.",
            ["route", "method"],
            buckets=_SECONDS,
            registry=registry,
        )

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route, method).observe(seconds)


class WorkerMetrics:
    """Every metric family of a worker, registered once in `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.consumed = Counter(
            "credlink_events_consumed",
            "Input records taken for processing.",
            ["agent"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "credlink_events_in_flight",
            "Input records being processed now.",
            ["agent"],
            registry=registry,
        )
        self.proofs = Counter(
            "credlink_proofs_created",
            "Proofs stored and published.",
            ["agent", "format"],
            registry=registry,
        )
        self.credentials = Counter(
            "credlink_credentials_issued",
            "C2PA manifests issued and stored (or found stored by an earlier run) and published.",
            ["agent", "media_type"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "credlink_dead_letters",
            "Inputs rejected to the dead-letter topic.",
            ["agent", "stage", "error_class"],
            registry=registry,
        )
        self.failures = Counter(
            "credlink_failures",
            "Failed stage attempts, retried ones included.",
            ["agent", "stage", "error_class"],
            registry=registry,
        )
        self.retries = Counter(
            "credlink_retries",
            "Transient failures retried with backoff.",
            ["agent", "error_class"],
            registry=registry,
        )
        self.stage_seconds = Histogram(
            "credlink_stage_duration_seconds",
            "Duration of one stage of one event.",
            ["agent", "stage"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.event_seconds = Histogram(
            "credlink_event_duration_seconds",
            "From the input record's timestamp to the broker's acknowledgement of its output.",
            ["agent", "outcome"],
            buckets=_EVENT_SECONDS,
            registry=registry,
        )
        self.image_bytes = Histogram(
            "credlink_image_bytes",
            "Size of proved images.",
            ["agent"],
            buckets=_BYTES,
            registry=registry,
        )
        self.image_pixels = Histogram(
            "credlink_image_pixels",
            "Pixel count of proved images.",
            ["agent"],
            buckets=_PIXELS,
            registry=registry,
        )
        self.lag = Gauge(
            "credlink_consumer_lag_records",
            "High-water mark minus committed offset, per partition held by this worker.",
            ["group", "topic", "partition"],
            registry=registry,
        )
        self.ready = Gauge(
            "credlink_worker_ready",
            "1 once the worker's partitions are assigned and its tables recovered.",
            registry=registry,
        )
        self.s3_seconds = Histogram(
            "credlink_s3_request_duration_seconds",
            "Duration of S3 requests.",
            ["operation"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.s3_errors = Counter(
            "credlink_s3_errors",
            "S3 requests that failed.",
            ["operation", "error"],
            registry=registry,
        )

    def set_lag(self, group: str, lags: Mapping[tuple[str, int], int]) -> None:
        """Replace the lag series with `lags` ((topic, partition) -> records)."""
        self.lag.clear()
        for (topic, partition), records in lags.items():
            self.lag.labels(group, topic, str(partition)).set(max(records, 0))

    def instrument_s3(self, client: S3Client) -> None:
        """Time every request `client` makes and count its failures, via botocore's events."""
        started: dict[int, float] = {}

        def before(context: dict[str, Any], **_: object) -> None:
            started[id(context)] = time.perf_counter()

        def after(context: dict[str, Any], model: Any, **kwargs: Any) -> None:
            begin = started.pop(id(context), None)
            if begin is not None:
                self.s3_seconds.labels(model.name).observe(time.perf_counter() - begin)
            parsed = kwargs.get("parsed") or {}
            status = parsed.get("ResponseMetadata", {}).get("HTTPStatusCode", 200)
            if status >= 400:
                code = str(parsed.get("Error", {}).get("Code") or f"HTTP{status}")
                if not (status == 404 and code in _EXPECTED_MISSES):
                    self.s3_errors.labels(model.name, code[:64]).inc()

        # botocore passes no operation model with this event: the operation is the last part of
        # the event's name (`after-call-error.s3.PutObject`).
        def failed(
            context: dict[str, Any], exception: Exception, event_name: str, **_: object
        ) -> None:
            started.pop(id(context), None)
            operation = event_name.rsplit(".", 1)[-1]
            self.s3_errors.labels(operation, type(exception).__name__).inc()

        events = client.meta.events
        events.register("before-parameter-build.s3", before)
        events.register("after-call.s3", after)
        events.register("after-call-error.s3", failed)


class PipelineMetrics(PipelineObserver):
    """An agent's observer (`prove`, `count`, `credentials`): turns its events into metrics."""

    def __init__(self, metrics: WorkerMetrics, agent: str = "prove") -> None:
        self._m = metrics
        self._agent = agent

    def consumed(self) -> None:
        self._m.consumed.labels(self._agent).inc()
        self._m.in_flight.labels(self._agent).inc()

    def finished(self) -> None:
        self._m.in_flight.labels(self._agent).dec()

    def stage_finished(self, stage: Stage, seconds: float, error: BaseException | None) -> None:
        self._m.stage_seconds.labels(self._agent, stage).observe(seconds)
        if error is not None:
            self._m.failures.labels(self._agent, stage, type(error).__name__).inc()

    def retrying(self, error: BaseException, attempt: int, delay: float) -> None:
        self._m.retries.labels(self._agent, type(error).__name__).inc()

    def proved(self, proof: ProofCreated) -> None:
        self._m.proofs.labels(self._agent, proof.format).inc()
        self._m.image_bytes.labels(self._agent).observe(proof.byte_size)
        self._m.image_pixels.labels(self._agent).observe(proof.width * proof.height)

    def credential_issued(self, credential: CredentialIssued) -> None:
        self._m.credentials.labels(self._agent, credential.media_type).inc()

    def dead_lettered(
        self, failure: ProcessingFailed, error: BaseException, event: InputEvent | None
    ) -> None:
        self._m.dead_letters.labels(self._agent, failure.stage, failure.error_class).inc()

    def published(self, topic: str, seconds_since_event: float | None) -> None:
        if seconds_since_event is not None:
            outcome = (
                "dead_letter"
                if topic.endswith("images.dlq")
                else "credential"
                if topic.endswith("credentials.created")
                else "proof"
            )
            self._m.event_seconds.labels(self._agent, outcome).observe(max(seconds_since_event, 0))


class TableMetrics(Collector):
    """Proof (or credential) counts read from the worker's tally at scrape time:
    `credlink_table_{counted}` and `credlink_table_{counted}_by_format`.

    The tally counts only the partitions assigned to this worker, so summing a series over all
    workers gives the total.
    """

    def __init__(
        self,
        by_tenant: Callable[[], Iterable[tuple[str, int]]],
        by_format: Callable[[], Iterable[tuple[str, int]]],
        tenants: frozenset[str],
        counted: Literal["proofs", "credentials"] = "proofs",
    ) -> None:
        self._by_tenant = by_tenant
        self._by_format = by_format
        self._tenants = tenants
        self._counted = counted

    def collect(self) -> Iterable[GaugeMetricFamily]:
        tenants = GaugeMetricFamily(
            f"credlink_table_{self._counted}",
            f"Distinct {self._counted} counted, per tenant.",
            labels=["tenant"],
        )
        totals: dict[str, int] = {}
        for tenant, count in self._by_tenant():
            label = tenant if tenant in self._tenants else OTHER
            totals[label] = totals.get(label, 0) + count
        for label, count in sorted(totals.items()):
            tenants.add_metric([label], count)
        formats = GaugeMetricFamily(
            f"credlink_table_{self._counted}_by_format",
            f"Distinct {self._counted} counted, per image format (a credential's media type).",
            labels=["format"],
        )
        for image_format, count in sorted(self._by_format()):
            formats.add_metric([image_format], count)
        yield tenants
        yield formats
