"""The figures of a benchmark run, the ratios between them, and their JSON and table forms.

Pure functions and dataclasses: the runner fills them in, `credlink bench` writes them out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "BenchResult",
    "ComputeLimit",
    "Latency",
    "Machine",
    "StoreResult",
    "Throughput",
    "percentile",
    "summary_table",
]


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
class StoreResult:
    store: str
    one_worker: Throughput
    two_workers: Throughput
    latency: Latency

    @property
    def speed_up(self) -> float:
        return self.two_workers.events_per_second / self.one_worker.events_per_second


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
    }


def _round(value: float, digits: int = 2) -> float:
    return round(value, digits)
