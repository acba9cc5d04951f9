"""Measure what JPEG draft decoding costs in hash stability and saves in time.

Generates a deterministic corpus of natural-looking JPEGs (gradients, shapes, texture, noise)
from 0.3 to 12 megapixels, hashes each with a full decode and with draft decodes at several
minimum sides, and prints Markdown tables: Hamming distances to the full-decode hashes and the
time ratios. docs/hashing.md records the output.

    .venv/bin/python bench/draft_mode.py [--seed 20240611] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from streams.core.imaging import JPEG_DRAFT_MIN_SIDE, ImageFacts, hamming_distance, inspect_image

DRAFT_SIDES = (128, 256, 512)

# (width, height): 0.3 MP to 12 MP, landscape, portrait, square and panoramic.
SIZES = (
    (640, 480),
    (800, 800),
    (1080, 1350),
    (1280, 960),
    (1920, 1080),
    (1536, 2048),
    (2400, 1600),
    (3000, 2000),
    (4200, 1400),
    (3264, 2448),
    (4000, 3000),
)
IMAGES_PER_SIZE = 3
NO_LIMIT = 1 << 30  # the corpus is trusted: no size or pixel limit applies


@dataclass(frozen=True)
class Sample:
    name: str
    width: int
    height: int
    quality: int
    data: bytes


@dataclass(frozen=True)
class Measurement:
    sample: Sample
    draft_side: int
    scale: int
    phash_distance: int
    dhash_distance: int
    decode_ratio: float
    inspect_ratio: float


def synthetic_photo(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A photo-like RGB image: smooth lighting, overlapping shapes, fine texture and noise."""
    # Compose at a quarter of the size so shapes get soft, camera-like edges once upscaled.
    small_w, small_h = max(width // 4, 16), max(height // 4, 16)
    ys, xs = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    base = np.empty((small_h, small_w, 3), dtype=np.float32)
    for channel in range(3):
        fx, fy = rng.uniform(-1.0, 1.0, size=2)
        phase = rng.uniform(0.0, 2 * np.pi)
        waves = np.sin(xs / small_w * np.pi * fx * 3 + ys / small_h * np.pi * fy * 3 + phase)
        base[..., channel] = 128 + 70 * waves
    canvas = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(6, 18))):
        x0, x1 = sorted(rng.integers(-small_w // 4, small_w + small_w // 4, size=2).tolist())
        y0, y1 = sorted(rng.integers(-small_h // 4, small_h + small_h // 4, size=2).tolist())
        fill = tuple(int(v) for v in rng.integers(0, 256, size=3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse((x0, y0, x1 + 1, y1 + 1), fill=fill)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            points = [
                (int(rng.integers(0, small_w)), int(rng.integers(0, small_h))) for _ in range(5)
            ]
            draw.polygon(points, fill=fill)
    canvas = canvas.filter(ImageFilter.GaussianBlur(radius=1.5))
    full = np.asarray(canvas.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    texture = rng.normal(0.0, 6.0, size=(height, width, 1)).astype(np.int16)
    return Image.fromarray((full + texture).clip(0, 255).astype(np.uint8))


def corpus(seed: int) -> list[Sample]:
    rng = np.random.default_rng(seed)
    samples = []
    for width, height in SIZES:
        for index in range(IMAGES_PER_SIZE):
            quality = int(rng.choice([75, 85, 92]))
            buffer = io.BytesIO()
            synthetic_photo(rng, width, height).save(buffer, "JPEG", quality=quality)
            name = f"{width}x{height}-{index}"
            samples.append(Sample(name, width, height, quality, buffer.getvalue()))
    return samples


def best_time(action: Callable[[], object], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def decode(data: bytes, draft_side: int | None) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if draft_side is not None:
        image.draft("L", (draft_side, draft_side))
    image.load()
    return image


def inspect(data: bytes, draft_side: int | None) -> ImageFacts:
    return inspect_image(
        data, jpeg_draft_min_side=draft_side, max_bytes=NO_LIMIT, max_pixels=NO_LIMIT
    )


def measure(sample: Sample, repeats: int) -> list[Measurement]:
    full = inspect(sample.data, None)
    full_decode = best_time(partial(decode, sample.data, None), repeats)
    full_inspect = best_time(partial(inspect, sample.data, None), repeats)
    results = []
    for side in DRAFT_SIDES:
        drafted = inspect(sample.data, side)
        scale = sample.width // decode(sample.data, side).width
        results.append(
            Measurement(
                sample=sample,
                draft_side=side,
                scale=scale,
                phash_distance=hamming_distance(full.phash, drafted.phash),
                dhash_distance=hamming_distance(full.dhash, drafted.dhash),
                decode_ratio=best_time(partial(decode, sample.data, side), repeats) / full_decode,
                inspect_ratio=best_time(partial(inspect, sample.data, side), repeats)
                / full_inspect,
            )
        )
    return results


def summary_table(measurements: Sequence[Measurement]) -> str:
    lines = [
        "| draft min side | images | pHash max | pHash mean | dHash max | dHash mean "
        "| decode time (median ratio) | inspect time (median ratio) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for side in DRAFT_SIDES:
        rows = [m for m in measurements if m.draft_side == side]
        lines.append(
            f"| {side} | {len(rows)} "
            f"| {max(m.phash_distance for m in rows)} "
            f"| {statistics.mean(m.phash_distance for m in rows):.2f} "
            f"| {max(m.dhash_distance for m in rows)} "
            f"| {statistics.mean(m.dhash_distance for m in rows):.2f} "
            f"| {statistics.median(m.decode_ratio for m in rows):.2f} "
            f"| {statistics.median(m.inspect_ratio for m in rows):.2f} |"
        )
    return "\n".join(lines)


def detail_table(measurements: Sequence[Measurement], side: int) -> str:
    lines = [
        "| image | MP | quality | scale | pHash dist | dHash dist | decode ratio | inspect ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measurements:
        if m.draft_side != side:
            continue
        megapixels = m.sample.width * m.sample.height / 1e6
        lines.append(
            f"| {m.sample.name} | {megapixels:.1f} | {m.sample.quality} | 1/{m.scale} "
            f"| {m.phash_distance} | {m.dhash_distance} "
            f"| {m.decode_ratio:.2f} | {m.inspect_ratio:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--repeats", type=int, default=3, help="timings keep the best of N")
    args = parser.parse_args()

    measurements = [m for sample in corpus(args.seed) for m in measure(sample, args.repeats)]
    print(
        f"Seed {args.seed}, {len(measurements) // len(DRAFT_SIDES)} JPEGs, best of "
        f"{args.repeats} timings; distances are bits out of 64, ratios are draft / full.\n"
    )
    print(summary_table(measurements))
    print(f"\nPer image at the policy's minimum side ({JPEG_DRAFT_MIN_SIDE}):\n")
    print(detail_table(measurements, JPEG_DRAFT_MIN_SIDE))


if __name__ == "__main__":
    main()
