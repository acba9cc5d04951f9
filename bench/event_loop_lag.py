"""Measure how much hashing in the worker's thread pool delays the asyncio event loop.

The `prove` agent runs fetch → hash → sign → store in a thread pool so that decoding does not
starve the event loop (heartbeats, fetches, publications). This hashes a deterministic set of
large JPEGs and PNGs in a pool of `--threads` threads while a ticker on the event loop sleeps
5 ms at a time, and prints how late the ticker woke up.

    .venv/bin/python bench/event_loop_lag.py [--threads 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from streams.core.imaging import inspect_image
from streams.devtools.samples import encode, photo

TICK = 0.005


async def measure(images: list[bytes], threads: int) -> tuple[float, list[float]]:
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(TICK)
            lags.append(time.perf_counter() - start - TICK)

    with ThreadPoolExecutor(threads) as pool:
        task = asyncio.create_task(ticker())
        start = time.perf_counter()
        hash_one = partial(inspect_image, max_bytes=2**31, max_pixels=2**31)
        await asyncio.gather(*(loop.run_in_executor(pool, hash_one, data) for data in images))
        elapsed = time.perf_counter() - start
        done.set()
        await task
    return elapsed, sorted(lags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    images = [encode(photo(4000, 3000, seed=seed), "JPEG") for seed in range(2)]
    images += [encode(photo(2000, 1500, seed=seed), "PNG") for seed in range(2)]
    elapsed, lags = asyncio.run(measure(images * args.rounds, args.threads))

    def pick(quantile: float) -> float:
        return lags[min(len(lags) - 1, int(len(lags) * quantile))] * 1000

    print(f"hashed {len(images) * args.rounds} images in {elapsed:.2f} s on {args.threads} threads")
    print(
        f"event-loop lag over {len(lags)} ticks: p50 {pick(0.5):.1f} ms, "
        f"p99 {pick(0.99):.1f} ms, max {lags[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
