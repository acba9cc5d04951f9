"""A deterministic, realistic image mix: distinct images of 0.3 to 12 megapixels in JPEG, PNG
and WebP, and a seeded sequence of which image each event submits.

The pictures are real photographs when a directory of them is given (`bench/corpus.py` fetches
some from Debian's packages): each is scaled down to its slot's size and encoded in its slot's
format. Without one they are synthetic photo-like pictures, enough for a smoke run.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from streams.core.errors import SetupError
from streams.devtools.samples import camera_exif, camera_jpeg, encode, photo

__all__ = ["BenchImage", "build_corpus", "describe_mix", "event_images", "photographs_in"]

# Share of each format among the distinct images: mostly camera JPEGs, some PNG and WebP.
_FORMAT_WEIGHTS = {"JPEG": 0.7, "PNG": 0.15, "WEBP": 0.15}
_ASPECTS = (4 / 3, 3 / 2, 16 / 9, 1.0, 3 / 4, 2 / 3)
_MIN_MEGAPIXELS, _MAX_MEGAPIXELS = 0.3, 12.0
# Lossless PNGs of photos are large; above this they would approach the default byte limit.
_MAX_PNG_MEGAPIXELS = 6.0
_TINY_SIDES = (48, 160)
_PHOTOGRAPH_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@dataclass(frozen=True)
class BenchImage:
    name: str
    format: str
    width: int
    height: int
    data: bytes
    source: str = "synthetic"
    """The photograph's file name, or "synthetic"."""

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


def build_corpus(
    seed: int, images: int, *, tiny: bool = False, photographs: Sequence[Path] = ()
) -> list[BenchImage]:
    """`images` distinct images, evenly spaced in log-megapixels from 0.3 to 12 MP (PNGs capped
    at 6 MP) with formats drawn by weight; `tiny` keeps every side under 160 pixels, for a
    smoke run. With `photographs`, each image is one of them (a different one while any is
    left), scaled down to the slot's size, never up; without, a synthetic photo-like picture."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not a secret
    formats = list(_FORMAT_WEIGHTS)
    sources = _Photographs(photographs, rng) if photographs else None
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
        source = "synthetic"
        if sources is not None:
            source, picture = sources.scaled_to(width * height)
            width, height = picture.size
            data = _encoded(picture, image_format, image_seed)
        elif image_format == "JPEG":
            data = camera_jpeg(width, height, image_seed)
        else:
            data = _encoded(photo(width, height, image_seed), image_format, image_seed)
        name = f"bench-{index:03d}-{width}x{height}.{image_format.lower()}"
        corpus.append(BenchImage(name, image_format, width, height, data, source))
    return corpus


def photographs_in(directory: Path) -> list[Path]:
    """The JPEG, PNG and WebP files under `directory`, in a stable order; `SetupError` if none."""
    found = sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and path.suffix.lower() in _PHOTOGRAPH_SUFFIXES
    )
    if not found:
        raise SetupError(f"no JPEG, PNG or WebP photographs under {directory}")
    return found


class _Photographs:
    """Photographs handed out for slots of a size: one large enough, at random, unused first."""

    def __init__(self, paths: Sequence[Path], rng: random.Random) -> None:
        self._pixels = {path: _pixels(path) for path in paths}
        self._unused = list(paths)
        self._rng = rng

    def scaled_to(self, pixels: int) -> tuple[str, Image.Image]:
        """A photograph's file name and its picture of at most `pixels` pixels, aspect kept,
        in RGB."""
        path = self._pick(pixels)
        with Image.open(path) as opened:
            picture = ImageOps.exif_transpose(opened).convert("RGB")
        scale = math.sqrt(pixels / (picture.width * picture.height))
        if scale < 1:
            size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
            picture = picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        return path.name, picture

    def _pick(self, pixels: int) -> Path:
        pool = self._unused or list(self._pixels)
        covering = [path for path in pool if self._pixels[path] >= pixels]
        # None large enough: the largest there is, which the slot then takes at its own size.
        path = (
            self._rng.choice(covering)
            if covering
            else max(pool, key=lambda candidate: self._pixels[candidate])
        )
        if path in self._unused:
            self._unused.remove(path)
        return path


def _pixels(path: Path) -> int:
    try:
        with Image.open(path) as opened:
            return opened.width * opened.height
    except (OSError, Image.DecompressionBombError) as error:
        raise SetupError(f"{path} is not a picture Pillow can open: {error}") from error


def _encoded(picture: Image.Image, image_format: str, seed: int) -> bytes:
    """`picture` as the mix encodes its format: JPEG as a camera saves it, WebP at quality 85."""
    if image_format == "JPEG":
        return encode(picture, "JPEG", quality=90, exif=camera_exif(seed).tobytes())
    params: dict[str, Any] = {"quality": 85} if image_format == "WEBP" else {}
    return encode(picture, image_format, **params)


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
        "sources": sorted({image.source for image in corpus}),
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
