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
    "BenchResult",
    "ComputeLimit",
    "CredentialsResult",
    "Latency",
    "Machine",
    "StoreResult",
    "Throughput",
    "credentials_table",
    "met",
    "percentile",
    "summary_table",
]

PROOFS_WITH_CREDENTIALS_TARGET = 0.95
"""Proof throughput with Content Credentials on, at least this share of it with them off."""
MANIFEST_BYTES_TARGET = 16 * 1024
"""The largest manifest store of an image, without an embedded thumbnail."""


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
    rate the loop reached on this machine at the time is kept beside it.
    """

    cpu_seconds_per_event: float
    cores: int
    wall_seconds_per_event: float

    @property
    def events_per_second_per_core(self) -> float:
        return 1 / self.cpu_seconds_per_event

    @property
    def events_per_second(self) -> float:
        return self.events_per_second_per_core * self.cores


@dataclass(frozen=True)
class Throughput:
    """A burst of `events` through `workers` workers, from the first event submitted to the
    last proof published."""

    workers: int
    events: int
    seconds: float
    cpu_seconds: float
    peak_rss_bytes: tuple[int, ...]

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_seconds_per_event(self) -> float:
        return self.cpu_seconds / self.events

    def ratio_to(self, limit: ComputeLimit) -> float:
        """Throughput over the compute limit of as many cores as there are workers (one core
        each, at most the cores available)."""
        cores = min(self.workers, limit.cores)
        return self.events_per_second / (limit.events_per_second_per_core * cores)

    def cpu_efficiency(self, limit: ComputeLimit) -> float:
        """The limit's CPU seconds per event over the pipeline's: how much of the CPU a worker
        burns goes into hashing and signing (less sensitive to other load on the machine)."""
        return limit.cpu_seconds_per_event / self.cpu_seconds_per_event


@dataclass(frozen=True)
class Latency:
    """End-to-end latency (submitted event timestamp to proof event timestamp) of events
    produced at a steady `rate` per second."""

    rate: float
    milliseconds: tuple[float, ...]

    def summary(self) -> dict[str, float | int]:
        values = self.milliseconds
        return {
            "rate_events_per_second": round(self.rate, 2),
            "events": len(values),
            "p50_ms": percentile(values, 0.50),
            "p95_ms": percentile(values, 0.95),
            "p99_ms": percentile(values, 0.99),
            "max_ms": max(values),
        }


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
        "| store | workers | events/s | of compute limit | CPU s/event | peak RSS/worker "
        "| p50 / p95 / p99 latency at half saturation | speed-up |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    limit = result.limit
    for store in result.stores:
        latency = store.latency.summary()
        for run in (store.one_worker, store.two_workers):
            one = run is store.one_worker
            lines.append(
                f"| {store.store} | {run.workers} | {run.events_per_second:.1f} "
                f"| {run.ratio_to(limit):.0%} | {run.cpu_seconds_per_event:.3f} "
                f"| {max(run.peak_rss_bytes) / 2**20:.0f} MB "
                + (
                    f"| {latency['p50_ms']:.0f} / {latency['p95_ms']:.0f} / "
                    f"{latency['p99_ms']:.0f} ms at {latency['rate_events_per_second']:.1f}/s "
                    if one
                    else "| "
                )
                + ("| |" if one else f"| {store.speed_up:.2f}x |")
            )
    return "\n".join(lines)


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
        "cpu_seconds_per_event": _round(run.cpu_seconds_per_event, 5),
        "cpu_efficiency": _round(run.cpu_efficiency(limit), 3),
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
