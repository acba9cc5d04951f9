"""Measure what hashing a box-reduced luminance costs in hash stability and saves in CPU time.

Builds the image corpus of `credlink bench` (a fixed seed: 24 JPEG, PNG and WebP photos from
0.3 to 10 MP), runs `inspect_image` on each with the policy (`HASH_MIN_SIDE`) and with the
luminance hashed at its decoded size, and prints Markdown tables: Hamming distances between the
two and the ratio of CPU seconds, per image and over the event mix the benchmark submits.
docs/hashing.md records the output.

    .venv/bin/python bench/hash_reduce.py [--seed 20261128] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass
from functools import partial

from streams.core.imaging import HASH_MIN_SIDE, ImageFacts, hamming_distance, inspect_image
from streams.devtools.benchmarking.corpus import BenchImage, build_corpus, event_images
from streams.devtools.benchmarking.limit import least_cpu_seconds

IMAGES = 24
EVENTS = 2000
NO_LIMIT = 1 << 30  # the corpus is trusted: no size or pixel limit applies


@dataclass(frozen=True)
class Measurement:
    image: BenchImage
    phash_distance: int
    dhash_distance: int
    full_seconds: float
    reduced_seconds: float


def inspect(data: bytes, hash_min_side: int | None) -> ImageFacts:
    return inspect_image(data, hash_min_side=hash_min_side, max_bytes=NO_LIMIT, max_pixels=NO_LIMIT)


def measure(image: BenchImage, repeats: int) -> Measurement:
    full, reduced = inspect(image.data, None), inspect(image.data, HASH_MIN_SIDE)
    return Measurement(
        image=image,
        phash_distance=hamming_distance(full.phash, reduced.phash),
        dhash_distance=hamming_distance(full.dhash, reduced.dhash),
        full_seconds=least_cpu_seconds(partial(inspect, image.data, None), repeats),
        reduced_seconds=least_cpu_seconds(partial(inspect, image.data, HASH_MIN_SIDE), repeats),
    )


def detail_table(measurements: list[Measurement]) -> str:
    lines = [
        "| image | format | MP | pHash dist | dHash dist | CPU ms, as decoded | CPU ms, reduced "
        "| ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in sorted(measurements, key=lambda m: m.image.megapixels):
        lines.append(
            f"| {m.image.name} | {m.image.format} | {m.image.megapixels:.1f} "
            f"| {m.phash_distance} | {m.dhash_distance} | {m.full_seconds * 1000:.0f} "
            f"| {m.reduced_seconds * 1000:.0f} | {m.reduced_seconds / m.full_seconds:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--repeats", type=int, default=3, help="timings keep the best of N")
    args = parser.parse_args()

    corpus = build_corpus(args.seed, IMAGES)
    inspect(corpus[0].data, None)  # imports and first-call set-up are no image's cost
    measurements = [measure(image, args.repeats) for image in corpus]
    picks = event_images(corpus, EVENTS, args.seed)
    full = sum(measurements[pick].full_seconds for pick in picks)
    reduced = sum(measurements[pick].reduced_seconds for pick in picks)
    dearest = max(measurements, key=lambda m: m.full_seconds)
    print(
        f"Seed {args.seed}, {len(corpus)} images, least CPU time of {args.repeats}; distances "
        f"are bits out of 64, ratios are reduced / as decoded.\n"
    )
    print(
        f"- over the {EVENTS}-event mix of `credlink bench`: {full / EVENTS * 1000:.1f} ms -> "
        f"{reduced / EVENTS * 1000:.1f} ms CPU per event (ratio {reduced / full:.2f})\n"
        f"- dearest image ({dearest.image.name}): {dearest.full_seconds * 1000:.0f} ms -> "
        f"{dearest.reduced_seconds * 1000:.0f} ms\n"
        f"- pHash distance max {max(m.phash_distance for m in measurements)}, mean "
        f"{statistics.mean(m.phash_distance for m in measurements):.2f}; dHash distance max "
        f"{max(m.dhash_distance for m in measurements)}, mean "
        f"{statistics.mean(m.dhash_distance for m in measurements):.2f}\n"
    )
    print(detail_table(measurements))


if __name__ == "__main__":
    main()
