"""A deterministic, realistic image mix: distinct images of 0.3 to 12 megapixels in JPEG, PNG
and WebP, and a seeded sequence of which image each event submits."""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from streams.devtools.samples import camera_jpeg, encode, photo

__all__ = ["BenchImage", "build_corpus", "describe_mix", "event_images"]

# Share of each format among the distinct images: mostly camera JPEGs, some PNG and WebP.
_FORMAT_WEIGHTS = {"JPEG": 0.7, "PNG": 0.15, "WEBP": 0.15}
_ASPECTS = (4 / 3, 3 / 2, 16 / 9, 1.0, 3 / 4, 2 / 3)
_MIN_MEGAPIXELS, _MAX_MEGAPIXELS = 0.3, 12.0
# Lossless PNGs of photos are large; above this they would approach the default byte limit.
_MAX_PNG_MEGAPIXELS = 6.0
_TINY_SIDES = (48, 160)


@dataclass(frozen=True)
class BenchImage:
    name: str
    format: str
    width: int
    height: int
    data: bytes

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


def build_corpus(seed: int, images: int, *, tiny: bool = False) -> list[BenchImage]:
    """`images` distinct images, evenly spaced in log-megapixels from 0.3 to 12 MP (PNGs capped
    at 6 MP) with formats drawn by weight; `tiny` keeps every side under 160 pixels, for a
    smoke run."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not a secret
    formats = list(_FORMAT_WEIGHTS)
    corpus = []
    for index in range(images):
        # Every format at least once, then by weight.
        image_format = (
            formats[index]
            if index < len(formats)
            else rng.choices(formats, weights=list(_FORMAT_WEIGHTS.values()))[0]
        )
        width, height = _dimensions(rng, image_format, index / max(images - 1, 1), tiny)
        image_seed = rng.randrange(2**31)
        if image_format == "JPEG":
            data = camera_jpeg(width, height, image_seed)
        else:
            params: dict[str, Any] = {"quality": 85} if image_format == "WEBP" else {}
            data = encode(photo(width, height, image_seed), image_format, **params)
        name = f"bench-{index:03d}-{width}x{height}.{image_format.lower()}"
        corpus.append(BenchImage(name, image_format, width, height, data))
    return corpus


def event_images(corpus: Sequence[BenchImage], events: int, seed: int) -> list[int]:
    """Which corpus image each of `events` events submits: every image once, then at random."""
    rng = random.Random(seed + 1)  # noqa: S311 - a reproducible mix, not a secret
    picks = list(range(min(events, len(corpus))))
    picks += [rng.randrange(len(corpus)) for _ in range(events - len(picks))]
    return picks


def describe_mix(corpus: Sequence[BenchImage], picks: Sequence[int]) -> dict[str, Any]:
    """The mix the events submit: formats, megapixels and bytes."""
    chosen = [corpus[pick] for pick in picks]
    return {
        "distinct_images": len(corpus),
        "events_by_format": dict(sorted(Counter(image.format for image in chosen).items())),
        "megapixels": {
            "min": round(min(image.megapixels for image in chosen), 3),
            "median": round(statistics.median(image.megapixels for image in chosen), 3),
            "max": round(max(image.megapixels for image in chosen), 3),
        },
        "mean_bytes": round(statistics.mean(len(image.data) for image in chosen)),
    }


def _dimensions(
    rng: random.Random, image_format: str, position: float, tiny: bool
) -> tuple[int, int]:
    aspect = rng.choice(_ASPECTS)
    if tiny:
        longest = rng.randint(*_TINY_SIDES)
        shortest = max(_TINY_SIDES[0] // 2, round(longest / max(aspect, 1 / aspect)))
        return (longest, shortest) if aspect >= 1 else (shortest, longest)
    low, high = math.log(_MIN_MEGAPIXELS), math.log(_MAX_MEGAPIXELS)
    megapixels = math.exp(low + position * (high - low))
    if image_format == "PNG":
        megapixels = min(megapixels, _MAX_PNG_MEGAPIXELS)
    width = round(math.sqrt(megapixels * 1e6 * aspect))
    return width, round(megapixels * 1e6 / width)
