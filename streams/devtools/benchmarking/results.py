"""The figures of a benchmark run, the ratios between them, and their JSON and table forms.

Pure functions and dataclasses: the runner fills them in, `credlink bench` writes them out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "MANIFEST_BYTES_TARGET",
    "PROOFS_WITH_CREDENTIALS_TARGET",
    "SMALL_IMAGE_MEGAPIXELS",
    "SMALL_IMAGE_P99_TARGET_MS",
    "WAITING_P99_TARGET_MS",
    "BenchResult",
    "ComputeLimit",
    "CredentialsResult",
    "Latency",
    "Machine",
    "StoreResult",
    "Throughput",
    "broker_share",
    "cores_used",
    "credentials_table",
    "met",
    "percentile",
    "summary_table",
]

PROOFS_WITH_CREDENTIALS_TARGET = 0.95
"""Proof throughput with Content Credentials on, at least this share of it with them off."""
MANIFEST_BYTES_TARGET = 16 * 1024
"""The largest manifest store of an image, without an embedded thumbnail."""
SMALL_IMAGE_MEGAPIXELS = 1.0
"""Images of at most this size must not wait behind the large ones they share partitions with."""
SMALL_IMAGE_P99_TARGET_MS = 150.0
"""p99 end-to-end latency of the small images at half saturation."""
WAITING_P99_TARGET_MS = 100.0
"""p99 of each event's latency less its image's own compute time, at half saturation."""


def met(reached: bool) -> str:
    """How a figure is marked against its target."""
    return "met" if reached else "missed"


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `fraction` of the values
    at or below it. Raises `ValueError` on no values or a fraction outside (0, 1]."""
    if not values:
        raise ValueError("no values to take a percentile of")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores_available: int
    cores_total: int
    python: str
    platform: str


@dataclass(frozen=True)
class ComputeLimit:
    """What one core does when it only hashes and signs images held in memory.

    The limit is taken from CPU time, which other load on the machine does not stretch: a core
    given to the loop alone proves `1 / cpu_seconds_per_event` events a second. The wall-clock
    rate the loop reached on this machine at the time is kept beside it, and each distinct
    image's own CPU seconds (in corpus order).
    """

    cpu_seconds_per_event: float
    cores: int
    wall_seconds_per_event: float
    cpu_seconds_by_image: tuple[float, ...] = ()

    @property
    def events_per_second_per_core(self) -> float:
        return 1 / self.cpu_seconds_per_event

    @property
    def events_per_second(self) -> float:
        return self.events_per_second_per_core * self.cores


@dataclass(frozen=True)
class Throughput:
    """A burst of `events` through `workers` workers, from the first event submitted to the
    last proof published, with the CPU seconds each worker and the broker used meanwhile
    (`broker_cpu_seconds` is None when the broker's process could not be read)."""

    workers: int
    events: int
    seconds: float
    worker_cpu_seconds: tuple[float, ...]
    peak_rss_bytes: tuple[int, ...]
    broker_cpu_seconds: float | None = None

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_seconds(self) -> float:
        return sum(self.worker_cpu_seconds)

    @property
    def cpu_seconds_per_event(self) -> float:
        return self.cpu_seconds / self.events

    @property
    def cores_used_per_worker(self) -> tuple[float, ...]:
        """The cores each worker kept busy on average: its CPU seconds over the burst's."""
        return tuple(cpu / self.seconds for cpu in self.worker_cpu_seconds)

    @property
    def broker_cores_used(self) -> float | None:
        if self.broker_cpu_seconds is None:
            return None
        return self.broker_cpu_seconds / self.seconds

    def machine_ratio(self, limit: ComputeLimit) -> float:
        """Throughput over the compute limit of every core available: the share of what the
        machine could prove that the workers prove, whatever the number of workers."""
        return self.events_per_second / limit.events_per_second

    def ratio_to(self, limit: ComputeLimit) -> float:
        """Throughput over the compute limit of one core per worker (at most the cores
        available); above 1 when a worker proves on more than one core."""
        cores = min(self.workers, limit.cores)
        return self.events_per_second / (limit.events_per_second_per_core * cores)

    def broker_cpu_share(self, limit: ComputeLimit) -> float | None:
        """The share of the available cores the broker kept busy during the burst."""
        broker = self.broker_cores_used
        return None if broker is None else broker / limit.cores

    def cpu_efficiency(self, limit: ComputeLimit) -> float:
        """The limit's CPU seconds per event over the pipeline's: how much of the CPU a worker
        burns goes into hashing and signing (less sensitive to other load on the machine)."""
        return limit.cpu_seconds_per_event / self.cpu_seconds_per_event


@dataclass(frozen=True)
class Latency:
    """End-to-end latency (submitted event timestamp to proof event timestamp) of events
    produced at a steady `rate` per second, with each event's image size and its image's own
    compute time (its CPU seconds in the compute limit's loop), in the same order."""

    rate: float
    milliseconds: tuple[float, ...]
    megapixels: tuple[float, ...] = ()
    compute_milliseconds: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.megapixels and len(self.megapixels) != len(self.milliseconds):
            raise ValueError("one image size per latency")
        if self.compute_milliseconds and len(self.compute_milliseconds) != len(self.milliseconds):
            raise ValueError("one compute time per latency")

    @property
    def small_images(self) -> tuple[float, ...]:
        """The latencies of the images of at most `SMALL_IMAGE_MEGAPIXELS`."""
        return tuple(
            latency
            for latency, megapixels in zip(self.milliseconds, self.megapixels, strict=True)
            if megapixels <= SMALL_IMAGE_MEGAPIXELS
        )

    @property
    def waiting(self) -> tuple[float, ...]:
        """Each event's latency less its image's own compute time: what it waited for (other
        events, the broker, the store), not what it cost."""
        return tuple(
            latency - compute
            for latency, compute in zip(self.milliseconds, self.compute_milliseconds, strict=True)
        )

    def summary(self) -> dict[str, Any]:
        values = self.milliseconds
        summary: dict[str, Any] = {
            "rate_events_per_second": round(self.rate, 2),
            "events": len(values),
            "p50_ms": percentile(values, 0.50),
            "p95_ms": percentile(values, 0.95),
            "p99_ms": percentile(values, 0.99),
            "max_ms": max(values),
        }
        small = self.small_images if self.megapixels else ()
        if small:
            p99 = percentile(small, 0.99)
            summary["small_images"] = {
                "max_megapixels": SMALL_IMAGE_MEGAPIXELS,
                "events": len(small),
                "p50_ms": percentile(small, 0.50),
                "p99_ms": p99,
                "target_p99_ms": SMALL_IMAGE_P99_TARGET_MS,
                "met": p99 < SMALL_IMAGE_P99_TARGET_MS,
            }
        if self.compute_milliseconds:
            waiting = self.waiting
            p99 = percentile(waiting, 0.99)
            summary["waiting"] = {
                "p50_ms": _round(percentile(waiting, 0.50), 1),
                "p99_ms": _round(p99, 1),
                "target_p99_ms": WAITING_P99_TARGET_MS,
                "met": p99 < WAITING_P99_TARGET_MS,
            }
        return summary


@dataclass(frozen=True)
class CredentialsResult:
    """The one-worker burst again, with Content Credentials on: one proving worker and one
    credentials worker (a consumer group of its own on the proof events).

    `proofs` runs from the first event submitted to the last proof, with the proving worker's
    CPU; `credentials` to the last credential, with the credentials worker's CPU.
    """

    proofs: Throughput
    credentials: Throughput
    manifest_bytes: tuple[int, ...]

    @property
    def credentials_per_second_per_core(self) -> float:
        """Credentials a core issues in a second, from the credentials worker's CPU time."""
        return 1 / self.credentials.cpu_seconds_per_event

    @property
    def largest_manifest_met(self) -> bool:
        return max(self.manifest_bytes) <= MANIFEST_BYTES_TARGET

    def manifest_summary(self) -> dict[str, int]:
        sizes = self.manifest_bytes
        return {"min": min(sizes), "median": round(statistics.median(sizes)), "max": max(sizes)}


@dataclass(frozen=True)
class StoreResult:
    store: str
    one_worker: Throughput
    two_workers: Throughput
    latency: Latency
    with_credentials: CredentialsResult

    @property
    def speed_up(self) -> float:
        return self.two_workers.events_per_second / self.one_worker.events_per_second

    @property
    def proofs_with_credentials(self) -> float:
        """Proof throughput with Content Credentials on over the one-worker burst's (off)."""
        return self.with_credentials.proofs.events_per_second / self.one_worker.events_per_second

    @property
    def proofs_with_credentials_met(self) -> bool:
        return self.proofs_with_credentials >= PROOFS_WITH_CREDENTIALS_TARGET


@dataclass(frozen=True)
class BenchResult:
    date: str
    machine: Machine
    load_average_start: tuple[float, float, float]
    load_average_end: tuple[float, float, float]
    parameters: dict[str, Any]
    corpus: dict[str, Any]
    limit: ComputeLimit
    stores: tuple[StoreResult, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "machine": asdict(self.machine),
            "load_average": {
                "start": list(self.load_average_start),
                "end": list(self.load_average_end),
            },
            "parameters": self.parameters,
            "corpus": self.corpus,
            "compute_limit": {
                "events_per_second_per_core": _round(self.limit.events_per_second_per_core),
                "cores": self.limit.cores,
                "events_per_second": _round(self.limit.events_per_second),
                "cpu_seconds_per_event": _round(self.limit.cpu_seconds_per_event, 5),
                "wall_events_per_second_per_core": _round(1 / self.limit.wall_seconds_per_event),
            },
            "stores": {result.store: _store_json(result, self.limit) for result in self.stores},
        }


def summary_table(result: BenchResult) -> str:
    """The figures as a Markdown table, one row per store and worker count."""
    lines = [
        f"| store | workers | events/s | of the machine's limit ({result.limit.cores} cores) "
        "| cores used per worker | CPU efficiency | broker's CPU share | CPU s/event "
        "| peak RSS/worker | p50 / p95 / p99 latency at half saturation | speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    limit = result.limit
    for store in result.stores:
        latency = store.latency.summary()
        for run in (store.one_worker, store.two_workers):
            one = run is store.one_worker
            lines.append(
                f"| {store.store} | {run.workers} | {run.events_per_second:.1f} "
                f"| {run.machine_ratio(limit):.2f} | {cores_used(run)} "
                f"| {run.cpu_efficiency(limit):.2f} | {broker_share(run, limit)} "
                f"| {run.cpu_seconds_per_event:.3f} | {max(run.peak_rss_bytes) / 2**20:.0f} MB "
                + (
                    f"| {latency['p50_ms']:.0f} / {latency['p95_ms']:.0f} / "
                    f"{latency['p99_ms']:.0f} ms at {latency['rate_events_per_second']:.1f}/s "
                    if one
                    else "| "
                )
                + ("| |" if one else f"| {store.speed_up:.2f}x |")
            )
    return "\n".join(lines)


def cores_used(run: Throughput) -> str:
    """The cores each worker of `run` used, as a table shows them: `1.42` or `0.95 / 0.91`."""
    return " / ".join(f"{cores:.2f}" for cores in run.cores_used_per_worker)


def broker_share(run: Throughput, limit: ComputeLimit) -> str:
    """The broker's CPU share during `run` as a table shows it, or `n/a` when unread."""
    share = run.broker_cpu_share(limit)
    return "n/a" if share is None else f"{share:.0%}"


def credentials_table(result: BenchResult) -> str:
    """The Content Credentials figures as a Markdown table, one row per store."""
    lines = [
        "| store | proofs/s, credentials on | of proofs/s off "
        f"(≥ {PROOFS_WITH_CREDENTIALS_TARGET:.2f}x) | credentials/s | credentials/s per core "
        f"| manifest bytes min / median / max (≤ {MANIFEST_BYTES_TARGET // 1024} KB) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for store in result.stores:
        run = store.with_credentials
        sizes = run.manifest_summary()
        lines.append(
            f"| {store.store} | {run.proofs.events_per_second:.1f} "
            f"| {store.proofs_with_credentials:.2f}x ({met(store.proofs_with_credentials_met)}) "
            f"| {run.credentials.events_per_second:.1f} "
            f"| {run.credentials_per_second_per_core:.1f} "
            f"| {sizes['min']} / {sizes['median']} / {sizes['max']} "
            f"({met(run.largest_manifest_met)}) |"
        )
    return "\n".join(lines)


def _throughput_json(run: Throughput, limit: ComputeLimit) -> dict[str, Any]:
    return {
        "workers": run.workers,
        "events": run.events,
        "seconds": _round(run.seconds),
        "events_per_second": _round(run.events_per_second),
        "ratio_to_limit": _round(run.ratio_to(limit), 3),
        "machine_ratio": _round(run.machine_ratio(limit), 3),
        "cpu_seconds_per_event": _round(run.cpu_seconds_per_event, 5),
        "cpu_efficiency": _round(run.cpu_efficiency(limit), 3),
        "cores_used_per_worker": [_round(cores, 3) for cores in run.cores_used_per_worker],
        "broker_cores_used": _optional_round(run.broker_cores_used, 3),
        "broker_cpu_share": _optional_round(run.broker_cpu_share(limit), 3),
        "peak_rss_mb_per_worker": [_round(rss / 2**20, 1) for rss in run.peak_rss_bytes],
    }


def _store_json(result: StoreResult, limit: ComputeLimit) -> dict[str, Any]:
    return {
        "one_worker": _throughput_json(result.one_worker, limit),
        "two_workers": _throughput_json(result.two_workers, limit),
        "speed_up": _round(result.speed_up, 3),
        "latency_at_half_saturation": result.latency.summary(),
        "content_credentials": _credentials_json(result, limit),
    }


def _credentials_json(result: StoreResult, limit: ComputeLimit) -> dict[str, Any]:
    run = result.with_credentials
    return {
        "proofs": _throughput_json(run.proofs, limit),
        "proofs_ratio_to_off": {
            "value": _round(result.proofs_with_credentials, 3),
            "target": PROOFS_WITH_CREDENTIALS_TARGET,
            "met": result.proofs_with_credentials_met,
        },
        "credentials": {
            "events": run.credentials.events,
            "seconds": _round(run.credentials.seconds),
            "events_per_second": _round(run.credentials.events_per_second),
            "cpu_seconds_per_event": _round(run.credentials.cpu_seconds_per_event, 5),
            "events_per_second_per_core": _round(run.credentials_per_second_per_core),
            "peak_rss_mb": _round(max(run.credentials.peak_rss_bytes) / 2**20, 1),
        },
        "manifest_bytes": {
            **run.manifest_summary(),
            "target_max": MANIFEST_BYTES_TARGET,
            "met": run.largest_manifest_met,
        },
    }


def _round(value: float, digits: int = 2) -> float:
    return round(value, digits)


def _optional_round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
