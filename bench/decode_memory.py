"""Measure the memory a worker holds at rest and what inspecting each picture adds at its peak.

Builds the image corpus of `credlink bench` (a fixed seed), then, for each image, starts a fresh
Python process that imports the worker's modules, inspects a tiny picture (what a running
worker has paid once: lazy imports, first-use tables), reads its resident set (VmRSS), inspects
the image with `inspect_image` and reads its high-water mark (VmHWM): the difference is what
that one picture costs at its peak. Prints a Markdown table, largest first.

    .venv/bin/python bench/decode_memory.py [--seed 20261128] [--photographs DIR]

`--photographs` makes the corpus of real photographs, as `credlink bench --photographs` does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from streams.devtools.benchmarking.corpus import build_corpus, photographs_in

IMAGES = 24

PROBE = """
import json, os, sys
import streams.kafka.app  # everything a worker imports
from streams.devtools.benchmarking.processes import peak_rss_bytes, rss_bytes
from streams.core.imaging import inspect_image

def megabytes(read_bytes):
    return read_bytes(os.getpid()) / (1024 * 1024)

def tiny_png():
    import io
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "grey").save(out, "PNG")
    return out.getvalue()

inspect_image(tiny_png(), max_bytes=1 << 30, max_pixels=1 << 30)  # first-use set-up, paid once
data = open(sys.argv[1], "rb").read()
before = megabytes(rss_bytes)
inspect_image(data, max_bytes=1 << 30, max_pixels=1 << 30)
print(json.dumps({"baseline_mb": before, "peak_added_mb": megabytes(peak_rss_bytes) - before}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--photographs", type=Path, default=None)
    args = parser.parse_args()
    photographs = photographs_in(args.photographs) if args.photographs else ()

    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for image in build_corpus(args.seed, IMAGES, photographs=photographs):
            path = Path(directory) / image.name
            path.write_bytes(image.data)
            probe = subprocess.run(
                [sys.executable, "-c", PROBE, str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append((image, json.loads(probe.stdout)))
    baseline = min(measured["baseline_mb"] for _, measured in rows)
    source = "real photographs" if photographs else "synthetic pictures"
    print(f"Seed {args.seed}, {len(rows)} images of {source}; a process with the worker's")
    print("modules imported")
    print(f"holds {baseline:.0f} MB after inspecting one tiny picture.\n")
    print("| image | format | MP | peak added, MB | bytes per pixel |")
    print("|---|---|---:|---:|---:|")
    for image, measured in sorted(rows, key=lambda row: -row[1]["peak_added_mb"]):
        added = measured["peak_added_mb"]
        per_pixel = added * 1024 * 1024 / (image.width * image.height)
        print(
            f"| {image.name} | {image.format} | {image.megapixels:.1f} | {added:.0f} "
            f"| {per_pixel:.1f} |"
        )


if __name__ == "__main__":
    main()
