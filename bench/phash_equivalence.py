"""Check that `streams.core.perceptual_hash.phash` equals `imagehash.phash` on real photographs,
and measure what leaving SciPy out saves: CPU per hash and a worker's resident memory.

Every picture of the corpus of bench/corpus.py is hashed both ways twice: its luminance as the
worker hashes it (`hashing_luma`) and the picture itself at full size (each hash's own
conversion to luminance and 32x32 downscale). CPU is the least of three passes over all of
them, per hash, of the hashed luminance and of it already at 32x32 (the DCT and threshold
alone, near enough). Resident memory
(VmRSS) is read in fresh processes that import the worker's modules and inspect a picture,
once hashing with the module and once with imagehash, which loads `scipy.fftpack`.

    .venv/bin/python bench/phash_equivalence.py [--corpus ~/.cache/credlink/cdn-corpus]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import imagehash
from PIL import Image

from streams.core import perceptual_hash
from streams.core.imaging import hashing_luma

DEFAULT_CORPUS = Path.home() / ".cache" / "credlink" / "cdn-corpus"
FOLDERS = {"original": "originals", "distractor": "distractors", "hardneg": "hardneg"}
PASSES = 3
RSS_RUNS = 5

RSS_PROBE = """
import json, os, sys
import imagehash
import streams.kafka.app  # everything a worker imports
from streams.core import perceptual_hash
from streams.core.imaging import inspect_image
from streams.devtools.benchmarking.processes import rss_bytes
from streams.devtools.samples import camera_picture, decoded

picture = camera_picture(1)
inspect_image(picture, max_bytes=1 << 30, max_pixels=1 << 30)
phash = imagehash.phash if sys.argv[1] == "imagehash" else perceptual_hash.phash
phash(decoded(picture))
print(json.dumps({"rss_mb": rss_bytes(os.getpid()) / (1024 * 1024),
                  "scipy": "scipy" in sys.modules}))
"""


def pictures(corpus: Path) -> list[tuple[str, Image.Image]]:
    """Each corpus picture twice: the luminance the worker hashes, and the picture as stored."""
    with (corpus / "manifest.csv").open(newline="") as manifest:
        entries = list(csv.DictReader(manifest))
    inputs = []
    for entry in entries:
        with Image.open(corpus / FOLDERS[entry["role"]] / f"{entry['id']}.png") as stored:
            picture = stored.convert("RGB")
        inputs.append((f"{entry['id']} luma", hashing_luma(picture)))
        inputs.append((f"{entry['id']} full", picture))
    return inputs


def least_cpu_per_call(function: Callable[[Any], object], inputs: Sequence[Any]) -> float:
    """The least CPU seconds per call of PASSES passes of `function` over `inputs`."""
    passes = []
    for _ in range(PASSES):
        start = time.process_time()
        for item in inputs:
            function(item)
        passes.append((time.process_time() - start) / len(inputs))
    return min(passes)


def resident_mb(hasher: str) -> tuple[float, bool]:
    """The median VmRSS, in MiB, of RSS_RUNS fresh worker processes hashing with `hasher`,
    and whether SciPy was loaded in them."""
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", RSS_PROBE, hasher],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(RSS_RUNS)
    ]
    return statistics.median(run["rss_mb"] for run in runs), all(run["scipy"] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()

    inputs = pictures(args.corpus)
    differing: Counter[int] = Counter()
    for name, picture in inputs:
        bits = imagehash.phash(picture) - perceptual_hash.phash(picture)
        if bits:
            differing[bits] += 1
            print(f"{name}: {bits} bits differ")
    print(
        f"{len(inputs)} hashes of {len(inputs) // 2} pictures ({args.corpus}): "
        f"{sum(differing.values())} differ"
        + "".join(f", {count} by {bits} bits" for bits, count in sorted(differing.items()))
    )

    lumas = [picture for name, picture in inputs if name.endswith(" luma")]
    # At 32x32 the downscale is a copy: what is left is mostly the DCT and the threshold.
    small = [luma.resize((32, 32), Image.Resampling.LANCZOS) for luma in lumas]
    for label, images in (("hashed luminance", lumas), ("32x32 luminance", small)):
        scipy_cpu = least_cpu_per_call(imagehash.phash, images)
        numpy_cpu = least_cpu_per_call(perceptual_hash.phash, images)
        print(
            f"pHash of the {label}: imagehash/SciPy {scipy_cpu * 1e6:.0f} us, "
            f"numpy {numpy_cpu * 1e6:.0f} us CPU per hash "
            f"(ratio {numpy_cpu / scipy_cpu:.2f}, least of {PASSES} passes)"
        )

    for hasher in ("perceptual_hash", "imagehash"):
        rss, scipy_loaded = resident_mb(hasher)
        print(
            f"worker process hashing with {hasher}: VmRSS {rss:.1f} MiB "
            f"(median of {RSS_RUNS}), SciPy loaded: {scipy_loaded}"
        )


if __name__ == "__main__":
    main()
