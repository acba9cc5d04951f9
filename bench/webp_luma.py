"""Check that a still WebP's luminance, decoded by libwebp into BGR and reduced with Pillow's
formula (`streams.core.imaging`), equals Pillow's own decode bit for bit on real photographs,
and compare the CPU of the two decodes.

Every photograph of `credlink bench --photographs` (bench/corpus.py's photographs/) is scaled to
at most `--side` pixels a side and encoded as a still WebP at qualities 50 and 85 and lossless.
Each is inspected as a worker does (`inspect_image_luma`, at its decoded size) and decoded by
Pillow (`Image.convert("L")`); the two luminances must be equal. CPU is the least of three
inspections, with the still-WebP decode and with Pillow's (the same function, told the picture
is not a still WebP).

    .venv/bin/python bench/webp_luma.py --photographs ~/.cache/credlink/cdn-corpus/photographs
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from streams.core import imaging
from streams.devtools.benchmarking.corpus import photographs_in
from streams.devtools.benchmarking.limit import least_cpu_seconds

ENCODINGS: dict[str, dict[str, object]] = {
    "q50": {"quality": 50},
    "q85": {"quality": 85},
    "lossless": {"lossless": True},
}
PASSES = 3
UNBOUNDED = 1 << 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photographs", type=Path, required=True)
    parser.add_argument("--side", type=int, default=2048)
    args = parser.parse_args()

    still_test = imaging._is_still_webp
    checked = differing = 0
    cpu = {"still": 0.0, "pillow": 0.0}
    for path in photographs_in(args.photographs):
        with Image.open(path) as opened:
            picture = opened.convert("RGB")
        picture.thumbnail((args.side, args.side))
        for params in ENCODINGS.values():
            out = io.BytesIO()
            picture.save(out, "WEBP", **params)
            data = out.getvalue()
            _, luma = imaging.inspect_image_luma(
                data, max_bytes=UNBOUNDED, max_pixels=UNBOUNDED, hash_min_side=None
            )
            with Image.open(io.BytesIO(data)) as through_pillow:
                expected = np.asarray(through_pillow.convert("L"))
            checked += 1
            differing += not np.array_equal(np.asarray(luma), expected)

            def inspect(data: bytes = data) -> object:
                return imaging.inspect_image(data, max_bytes=UNBOUNDED, max_pixels=UNBOUNDED)

            cpu["still"] += least_cpu_seconds(inspect, PASSES)
            imaging._is_still_webp = lambda image, data: False
            try:
                cpu["pillow"] += least_cpu_seconds(inspect, PASSES)
            finally:
                imaging._is_still_webp = still_test
    print(f"{checked} still WebPs of real photographs (at most {args.side} px a side)")
    print(f"luminance differing from Pillow's decode: {differing}")
    print(
        f"CPU of inspect_image: {cpu['still']:.2f} s through libwebp's BGR decode, "
        f"{cpu['pillow']:.2f} s through Pillow's ({cpu['still'] / cpu['pillow']:.2f}x)"
    )


if __name__ == "__main__":
    main()
