"""Where a paced event's latency goes: one fresh worker, events at a steady rate, the worker's
stage times from its /metrics before and after, and the latencies in submission order.

Starts `credlink bench`'s stack (a broker on free loopback ports, the filesystem store) under a
temporary directory, one worker, and submits `--events` references at `--rate` per second, of
the image mix `credlink bench --photographs` makes; stops everything by PID at the end. Prints
the latencies of the first events (a fresh worker's first events are slow), the figures of the
steady state (from event `--steady-from` on) and each stage's mean wall time per event.

    .venv/bin/python bench/paced_latency.py --photographs ~/.cache/credlink/cdn-corpus/photographs
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import httpx

from streams.core.assembly import build_signer
from streams.core.certificates import write_development_certificates
from streams.core.pipeline import ImageLimits
from streams.core.signing import generate_key_pair, load_private_key
from streams.devtools.benchmarking import runner
from streams.devtools.benchmarking.corpus import build_corpus, event_images, photographs_in
from streams.devtools.benchmarking.limit import measure_limit
from streams.devtools.benchmarking.results import SMALL_IMAGE_MEGAPIXELS, percentile
from streams.kafka.topics import PROOFS_CREATED, SUBMITTED
from streams.settings import get_settings

STAGE_LINE = re.compile(r"credlink_stage_duration_seconds_(sum|count)\{(.*)\} (\S+)")


def stage_totals(port: int) -> dict[str, tuple[float, float]]:
    """The prove agent's (seconds, count) per stage, from the worker's /metrics."""
    totals: dict[str, list[float]] = {}
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text.splitlines():
        match = STAGE_LINE.match(line)
        if match is None:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2)))
        if labels.get("agent") != "prove":
            continue
        entry = totals.setdefault(labels["stage"], [0.0, 0.0])
        entry[0 if match.group(1) == "sum" else 1] += float(match.group(3))
    return {stage: (seconds, count) for stage, (seconds, count) in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photographs", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=15.0)
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--steady-from", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()

    base = get_settings()
    with tempfile.TemporaryDirectory(prefix="credlink-paced-") as temporary:
        home = Path(temporary)
        stack = runner.stack_under(base, home)
        corpus = build_corpus(args.seed, 24, photographs=photographs_in(args.photographs))
        picks = event_images(corpus, args.events, args.seed)
        keys = home / "keys"
        generate_key_pair(keys / "signing-key.pem", keys / "keyset.json")
        certificates = write_development_certificates(
            load_private_key(keys / "signing-key.pem").public_key(), keys
        )
        (home / "images").mkdir()
        for image in corpus:
            (home / "images" / image.name).write_bytes(image.data)
        settings = base.updated(
            signing={"key_file": keys / "signing-key.pem", "keyset_file": keys / "keyset.json"}
        )
        limits = ImageLimits(settings.fetch.max_image_bytes, settings.fetch.max_image_pixels)
        limit = measure_limit(corpus, picks, build_signer(settings), limits, repeats=1)
        try:
            stack.up()
            bench = runner._Bench(
                stack, settings, certificates, home, corpus, picks, limit, lambda *_: None
            )
            deployment = bench._deployment("filesystem", "paced")
            with bench._workers(deployment, 1) as workers:
                port = workers[0].settings.worker.web_port
                before = stage_totals(port)
                bench._paced(deployment, args.rate, args.events, "paced")
                after = stage_totals(port)
                proofs = bench._collect(deployment, PROOFS_CREATED, "paced", args.events, "")
                submitted = bench._collect(deployment, SUBMITTED, "paced", args.events, "")
        finally:
            stack.down()

    latencies = sorted(
        (int(key.rsplit(b"-", 1)[1]), proofs[key].timestamp_ms - record.timestamp_ms)
        for key, record in submitted.items()
    )
    print(f"{args.events} events at {args.rate}/s through one fresh worker")
    print("first 40 latencies, ms:", [latency for _, latency in latencies[:40]])
    steady = [(index, latency) for index, latency in latencies if index >= args.steady_from]
    small = [
        latency
        for index, latency in steady
        if corpus[picks[index]].megapixels <= SMALL_IMAGE_MEGAPIXELS
    ]
    waiting = [
        latency - limit.cpu_seconds_by_image[picks[index]] * 1000 for index, latency in steady
    ]
    every = [latency for _, latency in steady]
    print(
        f"from event {args.steady_from} on ({len(steady)} events): p50 {percentile(every, 0.5)} "
        f"ms, p99 {percentile(every, 0.99)} ms; images of at most {SMALL_IMAGE_MEGAPIXELS} MP "
        f"({len(small)}) p99 {percentile(small, 0.99)} ms; latency less own compute p50 "
        f"{percentile(waiting, 0.5):.0f} ms, p99 {percentile(waiting, 0.99):.0f} ms"
    )
    print("mean compute per event (the limit's loop):", end=" ")
    print(f"{sum(limit.cpu_seconds_by_image[index] for index in picks) / len(picks) * 1000:.1f} ms")
    for stage, (seconds, count) in sorted(after.items()):
        then_seconds, then_count = before.get(stage, (0.0, 0.0))
        if count > then_count:
            mean = (seconds - then_seconds) / (count - then_count) * 1000
            print(f"stage {stage}: {mean:.1f} ms mean wall time per event")


if __name__ == "__main__":
    main()
