"""Measure how far CDN-style copies drift in pHash and dHash, to choose the match threshold.

Generates a deterministic corpus (a fixed seed) of distinct photo-like pictures of varied sizes
and aspect ratios, saved as JPEGs carrying EXIF metadata, and four copies of each, as a CDN
makes them: resized to 50 %, re-encoded as JPEG quality 60, metadata stripped, and all three
at once. Compares the copies' hashes with their original's, and a second set of unrelated
pictures with every original, then prints Markdown tables: the distance distributions, the
recall and false-positive rate at each threshold, and what a query at each threshold costs in
a `PerceptualIndex` of random pHash-like hashes. docs/verification.md records the output.

    .venv/bin/python bench/perceptual_threshold.py [--seed 20250301] [--images 200]
        [--unrelated 200] [--index-entries 10000 100000 1000000]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from streams.core.image_verifier import DHASH_THRESHOLD, PERCEPTUAL_THRESHOLD
from streams.core.imaging import ImageFacts, hamming_distance, inspect_image
from streams.core.perceptual_index import IndexEntry, PerceptualIndex
from streams.devtools.samples import CDN_TRANSFORMS, encode, photo

# (width, height): landscape, portrait, square and panoramic, 0.1 to 0.8 megapixels.
SIZES = (
    (640, 480),
    (480, 640),
    (800, 600),
    (600, 800),
    (512, 512),
    (960, 540),
    (540, 960),
    (1024, 683),
    (400, 300),
    (1200, 400),
)
THRESHOLDS = tuple(range(17))
# Unrelated pairs this close in pHash are the ones a second check has to turn away.
NEAR_MISSES = (14, 16)
INDEX_THRESHOLDS = (4, 6, 8, 10, 12)
INDEX_QUERIES = 500
TIMING_REPEATS = 3
NO_LIMIT = 1 << 30  # the corpus is trusted: no size or pixel limit applies
ORIGINAL_QUALITY = 90


@dataclass(frozen=True)
class Copy:
    transform: str
    phash: int
    dhash: int
    nearest_other_phash: int


@dataclass(frozen=True)
class Corpus:
    copies: list[Copy]
    # (pHash, dHash) distance of every unrelated picture to every original.
    pairs: list[tuple[int, int]]
    # Per unrelated picture, the nearest original's distances: by pHash alone, and among the
    # originals within the dHash threshold.
    nearest_phash: list[int]
    nearest_phash_dhash_checked: list[int]


def camera_exif(seed: int) -> bytes:
    """EXIF as a camera writes it: make, model, time, software. Orientation stays 1."""
    exif = Image.Exif()
    exif[0x010F] = "Example Optics"
    exif[0x0110] = f"EX-{seed % 7 + 1}"
    exif[0x0132] = f"2024:06:{seed % 28 + 1:02d} 12:{seed % 60:02d}:00"
    exif[0x0131] = "Example Firmware 1.2"
    exif[0x013B] = "A. Photographer"
    return exif.tobytes()


def original(seed: int, size: tuple[int, int]) -> bytes:
    width, height = size
    return encode(
        photo(width, height, seed), "JPEG", quality=ORIGINAL_QUALITY, exif=camera_exif(seed)
    )


def facts_of(data: bytes) -> ImageFacts:
    return inspect_image(data, max_bytes=NO_LIMIT, max_pixels=NO_LIMIT)


def measure(seed: int, images: int, unrelated: int) -> Corpus:
    rng = np.random.default_rng(seed)
    sizes = [SIZES[int(i)] for i in rng.integers(0, len(SIZES), size=images + unrelated)]
    # Seeds of their own, far from the corpus seed, so the corpora of two seeds do not overlap.
    picture_seeds = rng.choice(2**31, size=images + unrelated, replace=False).tolist()
    originals = [original(s, size) for s, size in zip(picture_seeds, sizes, strict=True)]
    indexed = [facts_of(data) for data in originals[:images]]
    strangers = [facts_of(data) for data in originals[images:]]

    copies = []
    for index, data in enumerate(originals[:images]):
        mine = indexed[index]
        for name, transform in CDN_TRANSFORMS.items():
            copy = facts_of(transform(data))
            others = (f for i, f in enumerate(indexed) if i != index)
            copies.append(
                Copy(
                    transform=name,
                    phash=hamming_distance(mine.phash, copy.phash),
                    dhash=hamming_distance(mine.dhash, copy.dhash),
                    nearest_other_phash=min(hamming_distance(f.phash, copy.phash) for f in others),
                )
            )

    by_stranger = [
        [(hamming_distance(s.phash, f.phash), hamming_distance(s.dhash, f.dhash)) for f in indexed]
        for s in strangers
    ]
    return Corpus(
        copies=copies,
        pairs=[pair for pairs in by_stranger for pair in pairs],
        nearest_phash=[min(p for p, _ in pairs) for pairs in by_stranger],
        nearest_phash_dhash_checked=[
            min((p for p, d in pairs if d <= DHASH_THRESHOLD), default=64) for pairs in by_stranger
        ],
    )


def summary_table(corpus: Corpus) -> str:
    lines = [
        "| images compared | count | pHash min | pHash median | pHash p95 | pHash max "
        "| dHash min | dHash median | dHash max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def row(label: str, phashes: Sequence[int], dhashes: Sequence[int] | None) -> str:
        if not phashes:
            return f"| {label} | 0 |" + " |" * 7
        p95 = sorted(phashes)[math.ceil(0.95 * len(phashes)) - 1]  # nearest rank
        dhash_cells = (
            f"{min(dhashes)} | {statistics.median(dhashes):g} | {max(dhashes)}"
            if dhashes is not None
            else " | | "
        )
        return (
            f"| {label} | {len(phashes)} | {min(phashes)} | {statistics.median(phashes):g} "
            f"| {p95:g} | {max(phashes)} | {dhash_cells} |"
        )

    for name in CDN_TRANSFORMS:
        mine = [c for c in corpus.copies if c.transform == name]
        lines.append(
            row(f"{name} vs its original", [c.phash for c in mine], [c.dhash for c in mine])
        )
    others = [c.nearest_other_phash for c in corpus.copies]
    lines.append(row("a copy vs the nearest *other* original", others, None))
    groups = [("unrelated vs every original", corpus.pairs)] + [
        (
            f"unrelated pairs within {near} bits (pHash)",
            [pair for pair in corpus.pairs if pair[0] <= near],
        )
        for near in NEAR_MISSES
    ]
    for label, pairs in groups:
        lines.append(row(label, [p for p, _ in pairs], [d for _, d in pairs]))
    lines.append(row("unrelated vs its nearest original", corpus.nearest_phash, None))
    return "\n".join(lines)


def histogram_table(corpus: Corpus) -> str:
    names = list(CDN_TRANSFORMS)
    limit = max(THRESHOLDS)
    lines = [
        "| pHash distance | " + " | ".join(names) + " | unrelated pairs | unrelated, nearest |",
        "|---:|" + "---:|" * (len(names) + 2),
    ]
    pair_phash = [p for p, _ in corpus.pairs]
    for distance in range(limit + 1):
        counts = [
            sum(1 for c in corpus.copies if c.transform == name and c.phash == distance)
            for name in names
        ]
        lines.append(
            f"| {distance} | "
            + " | ".join(map(str, counts))
            + f" | {pair_phash.count(distance)} | {corpus.nearest_phash.count(distance)} |"
        )
    beyond = [sum(1 for c in corpus.copies if c.transform == n and c.phash > limit) for n in names]
    lines.append(
        f"| > {limit} | "
        + " | ".join(map(str, beyond))
        + f" | {sum(p > limit for p in pair_phash)} "
        f"| {sum(p > limit for p in corpus.nearest_phash)} |"
    )
    return "\n".join(lines)


def threshold_table(corpus: Corpus) -> str:
    names = list(CDN_TRANSFORMS)
    checked = f"dHash <= {DHASH_THRESHOLD} too"
    lines = [
        "| pHash threshold | "
        + " | ".join(f"recall {name}" for name in names)
        + " | recall, all copies | copies nearer another original | false-positive pairs "
        f"| unrelated images matched | recall, {checked} | false-positive pairs, {checked} "
        f"| unrelated images matched, {checked} |",
        "|---:|" + "---:|" * (len(names) + 7),
    ]
    copies, pairs, strangers = len(corpus.copies), len(corpus.pairs), len(corpus.nearest_phash)
    for t in THRESHOLDS:
        recalls = []
        for name in names:
            mine = [c for c in corpus.copies if c.transform == name]
            recalls.append(sum(c.phash <= t for c in mine) / len(mine))
        recalled = sum(c.phash <= t for c in corpus.copies)
        misattributed = sum(
            c.nearest_other_phash <= t and c.nearest_other_phash < c.phash for c in corpus.copies
        )
        false_pairs = sum(p <= t for p, _ in corpus.pairs)
        matched = sum(p <= t for p in corpus.nearest_phash)
        recalled_checked = sum(c.phash <= t and c.dhash <= DHASH_THRESHOLD for c in corpus.copies)
        false_checked = sum(p <= t and d <= DHASH_THRESHOLD for p, d in corpus.pairs)
        matched_checked = sum(p <= t for p in corpus.nearest_phash_dhash_checked)
        lines.append(
            f"| {t} | "
            + " | ".join(f"{r:.3f}" for r in recalls)
            + f" | {recalled / copies:.3f} | {misattributed} | {false_pairs} / {pairs} "
            f"| {matched} / {strangers} | {recalled_checked / copies:.3f} "
            f"| {false_checked} / {pairs} | {matched_checked} / {strangers} |"
        )
    return "\n".join(lines)


class CountingBuckets(dict[str, list[str]]):
    """A dict backend that counts the bucket reads of queries and the records they return."""

    reads = 0
    records = 0

    def get(self, key: str, default: Any = None) -> Any:
        bucket = super().get(key, default)
        self.reads += 1
        self.records += len(bucket) if bucket is not None else 0
        return bucket


def balanced_hashes(rng: np.random.Generator, count: int) -> list[str]:
    """Random 64-bit hashes with 32 bits set, as pHash's median split makes them."""
    order = np.argsort(rng.random((count, 64)), axis=1)[:, :32]
    bits = np.zeros((count, 64), dtype=np.uint64)
    np.put_along_axis(bits, order, np.uint64(1), axis=1)
    values = (bits << np.arange(64, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    return [f"{int(value):016x}" for value in values]


def query_time(index: PerceptualIndex, queries: Sequence[str], radius: int) -> float:
    """Seconds per query, from the best of `TIMING_REPEATS` passes over `queries`."""
    best = math.inf
    for _ in range(TIMING_REPEATS):
        started = time.perf_counter()
        for phash in queries:
            index.nearest(phash, radius)
        best = min(best, time.perf_counter() - started)
    return best / len(queries)


def index_rows(seed: int, entries: int) -> list[str]:
    """One table row per threshold for an index of `entries` random pHash-like hashes."""
    rng = np.random.default_rng(seed)
    hashes = balanced_hashes(rng, entries + INDEX_QUERIES)
    buckets = CountingBuckets()
    index = PerceptualIndex(buckets)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for number, phash in enumerate(hashes[:entries]):
        index.add(IndexEntry(f"{number:032x}", "tenant-a", phash, phash))
    per_entry = (tracemalloc.get_traced_memory()[0] - before) / entries
    tracemalloc.stop()

    rows = []
    # Timed on a plain dict holding the same buckets, without the counting.
    timed = PerceptualIndex(dict(buckets))
    for t in INDEX_THRESHOLDS:
        buckets.reads = buckets.records = 0
        for phash in hashes[entries:]:
            index.nearest(phash, t)
        seconds = query_time(timed, hashes[entries:], t)
        candidates = buckets.records / INDEX_QUERIES
        rows.append(
            f"| {entries} | {len(buckets)} | {per_entry:.0f} | {t} "
            f"| {buckets.reads // INDEX_QUERIES} | {candidates:.1f} | {candidates / entries:.3%} "
            f"| {seconds * 1e6:.0f} µs |"
        )
    return rows


def index_table(seed: int, sizes: Sequence[int]) -> str:
    lines = [
        f"Random 64-bit hashes with 32 bits set, 4 bands of 16 bits, buckets in a dict; memory "
        f"by tracemalloc; {INDEX_QUERIES} queries of hashes not in the index per threshold, best "
        f"of {TIMING_REPEATS} passes.\n",
        "| entries | buckets | bytes per entry | threshold | bucket reads per query "
        "| candidates per query (mean) | share of the index | query time (mean) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entries in sizes:
        lines.extend(index_rows(seed, entries))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20250301)
    parser.add_argument("--images", type=int, default=200, help="originals, each copied 4 ways")
    parser.add_argument("--unrelated", type=int, default=200, help="pictures never indexed")
    parser.add_argument(
        "--index-entries", type=int, nargs="+", default=[10_000, 100_000, 1_000_000]
    )
    args = parser.parse_args()

    corpus = measure(args.seed, args.images, args.unrelated)
    print(
        f"Seed {args.seed}: {args.images} originals (JPEG q{ORIGINAL_QUALITY} with EXIF), "
        f"{len(corpus.copies)} copies, {args.unrelated} unrelated pictures; distances are bits "
        f"out of 64. Current thresholds: pHash {PERCEPTUAL_THRESHOLD}, dHash {DHASH_THRESHOLD}.\n"
    )
    print(summary_table(corpus))
    print("\nHow many images lie at each pHash distance:\n")
    print(histogram_table(corpus))
    print("\nAt each threshold (a match is pHash distance <= threshold):\n")
    print(threshold_table(corpus))
    print("\nWhat a query costs in a PerceptualIndex:\n")
    print(index_table(args.seed, args.index_entries))


if __name__ == "__main__":
    main()
