"""`credlink bench`: the compute limit, then the pipeline on a local stack of its own."""

from __future__ import annotations

import json
import signal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from streams.cli.output import console, fails_cleanly
from streams.core.clock import utc_now
from streams.devtools.benchmarking.corpus import photographs_in
from streams.devtools.benchmarking.results import (
    MANIFEST_BYTES_TARGET,
    PROOFS_WITH_CREDENTIALS_TARGET,
    BenchResult,
    broker_share,
    cores_used,
    met,
)
from streams.devtools.benchmarking.runner import BenchPlan, run_bench
from streams.settings import get_settings

__all__ = ["bench"]

QUICK_EVENTS = 30
QUICK_IMAGES = 6


class StoreChoice(StrEnum):
    fs = "fs"
    s3 = "s3"
    both = "both"


_STORES = {
    StoreChoice.fs: ("filesystem",),
    StoreChoice.s3: ("s3",),
    StoreChoice.both: ("filesystem", "s3"),
}


@fails_cleanly
def bench(
    events: Annotated[
        int, typer.Option("--events", min=10, help="Events per burst (2,000 or more for a report).")
    ] = 2000,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the image corpus and mix.")
    ] = 20261128,
    store: Annotated[
        StoreChoice, typer.Option("--store", help="Proof store(s) to measure the pipeline with.")
    ] = StoreChoice.both,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Results JSON (default bench/results/<UTC time>.json)."),
    ] = None,
    quick: Annotated[
        bool,
        typer.Option("--quick", help=f"Smoke run: {QUICK_EVENTS} events of tiny images."),
    ] = False,
    photographs: Annotated[
        Path | None,
        typer.Option(
            "--photographs",
            help="Directory of real photographs to make the images of (bench/corpus.py fetches "
            "some into photographs/ of its cache); without it, synthetic pictures.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Measure the compute limit and the pipeline's throughput, latency, CPU and memory, and
    what Content Credentials cost it."""
    # SIGTERM (a job's timeout, `kill`) unwinds like Ctrl-C, so that the stack's broker, S3
    # server and workers are stopped by PID on the way out instead of outliving the run.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    plan = BenchPlan(
        events=QUICK_EVENTS if quick else events,
        seed=seed,
        stores=_STORES[store],  # type: ignore[arg-type]
        distinct_images=QUICK_IMAGES if quick else BenchPlan.distinct_images,
        tiny=quick,
        photographs=tuple(photographs_in(photographs)) if photographs else (),
    )
    path = output or Path("bench/results") / f"{utc_now():%Y%m%dT%H%M%SZ}.json"
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, object] = {}

        def advance(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done)  # type: ignore[arg-type]

        result = run_bench(get_settings(), plan, advance)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    _print(result)
    console.print(f"results written to {path}")


def _print(result: BenchResult) -> None:
    limit = result.limit
    console.print(
        f"compute limit: {limit.events_per_second_per_core:.1f} events/s per core, "
        f"{limit.events_per_second:.1f} on {limit.cores} cores "
        f"({limit.cpu_seconds_per_event * 1000:.1f} ms CPU per event; the loop reached "
        f"{1 / limit.wall_seconds_per_event:.1f} events/s of wall-clock time here)"
    )
    console.print(
        f"of the machine's limit: events/s over {limit.events_per_second:.1f}, the limit of the "
        f"{limit.cores} cores available; cores used: each worker's CPU seconds over the burst's"
    )
    table = Table(title=f"Pipeline, {result.parameters['events']} events per burst")
    for column in (
        "store",
        "workers",
        "events/s",
        "of the machine's limit",
        "cores used per worker",
        "CPU efficiency",
        "broker's CPU share",
        "CPU ms/event",
        "peak RSS",
        "latency p50/p95/p99",
        "speed-up",
    ):
        table.add_column(column)
    for store in result.stores:
        latency = store.latency.summary()
        for run in (store.one_worker, store.two_workers):
            one = run is store.one_worker
            table.add_row(
                store.store,
                str(run.workers),
                f"{run.events_per_second:.1f}",
                f"{run.machine_ratio(limit):.2f}",
                cores_used(run),
                f"{run.cpu_efficiency(limit):.2f}",
                broker_share(run, limit),
                f"{run.cpu_seconds_per_event * 1000:.1f}",
                f"{max(run.peak_rss_bytes) / 2**20:.0f} MB",
                f"{latency['p50_ms']:.0f}/{latency['p95_ms']:.0f}/{latency['p99_ms']:.0f} ms"
                f" at {latency['rate_events_per_second']}/s"
                if one
                else "",
                "" if one else f"{store.speed_up:.2f}x",
            )
    console.print(table)
    _print_waiting(result)
    _print_credentials(result)
    load = result.load_average_start, result.load_average_end
    console.print(f"load average at start {load[0][0]:.2f}, at end {load[1][0]:.2f}")


def _print_waiting(result: BenchResult) -> None:
    """Whether small images waited behind large ones at half saturation."""
    for store in result.stores:
        latency = store.latency.summary()
        small, waiting = latency.get("small_images"), latency.get("waiting")
        if small is None or waiting is None:
            continue
        console.print(
            f"{store.store}, at half saturation: images of at most {small['max_megapixels']} MP "
            f"p99 {small['p99_ms']:.0f} ms over {small['events']} events "
            f"(< {small['target_p99_ms']:.0f}: {met(small['met'])}); latency less the image's "
            f"own compute p99 {waiting['p99_ms']:.0f} ms "
            f"(< {waiting['target_p99_ms']:.0f}: {met(waiting['met'])})"
        )


def _print_credentials(result: BenchResult) -> None:
    console.print(
        "Content Credentials on: the 1-worker burst again, through one proving worker and one "
        f"credentials worker, {result.machine.cores_available} cores available"
    )
    table = Table(title="Content Credentials")
    for column in (
        "store",
        "proofs/s",
        f"of proofs/s off (≥ {PROOFS_WITH_CREDENTIALS_TARGET:.2f}x)",
        "credentials/s",
        "credentials/s per core",
        "CPU ms/credential",
        f"manifest bytes min/median/max (≤ {MANIFEST_BYTES_TARGET // 1024} KB)",
    ):
        table.add_column(column)
    for store in result.stores:
        run = store.with_credentials
        sizes = run.manifest_summary()
        table.add_row(
            store.store,
            f"{run.proofs.events_per_second:.1f}",
            f"{store.proofs_with_credentials:.2f}x {met(store.proofs_with_credentials_met)}",
            f"{run.credentials.events_per_second:.1f}",
            f"{run.credentials_per_second_per_core:.1f}",
            f"{run.credentials.cpu_seconds_per_event * 1000:.1f}",
            f"{sizes['min']}/{sizes['median']}/{sizes['max']} {met(run.largest_manifest_met)}",
        )
    console.print(table)
