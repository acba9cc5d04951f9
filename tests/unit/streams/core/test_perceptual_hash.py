"""Specification of `streams.core.perceptual_hash`: the pHash `imagehash.phash` computes, bit for
bit, on any picture, and a worker that hashes without loading SciPy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import imagehash
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from streams.core.perceptual_hash import phash
from streams.devtools.samples import (
    PICTURE_SIZES,
    camera_picture,
    cdn_copy,
    decoded,
    halved,
    photo,
    recompressed,
    resized,
)
from tests.support.fresh_python import fresh_python_output

MODES = ("RGB", "RGBA", "P", "L", "I;16", "CMYK")
SIZES = ((1, 1), (2, 3), (7, 5), (31, 33), (32, 32), (64, 48), (300, 200))

Samples = npt.NDArray[Any]
Picture = Callable[[np.random.Generator, int, int], Samples]


def noise(rng: np.random.Generator, width: int, height: int) -> Samples:
    return rng.integers(0, 256, (height, width, 4))


def flat(rng: np.random.Generator, width: int, height: int) -> Samples:
    return np.broadcast_to(rng.integers(0, 256, 4), (height, width, 4))


def horizontal_gradient(rng: np.random.Generator, width: int, height: int) -> Samples:
    ramp = np.linspace(rng.integers(0, 128), rng.integers(128, 256), width)
    return np.broadcast_to(ramp[np.newaxis, :, np.newaxis], (height, width, 4))


def vertical_gradient(rng: np.random.Generator, width: int, height: int) -> Samples:
    return horizontal_gradient(rng, height, width).transpose(1, 0, 2)


def stripes(rng: np.random.Generator, width: int, height: int) -> Samples:
    period = int(rng.integers(1, 9))
    lines = (np.arange(height) // period % 2 * 255)[:, np.newaxis, np.newaxis]
    return np.broadcast_to(lines, (height, width, 4))


def checkerboard(rng: np.random.Generator, width: int, height: int) -> Samples:
    square = int(rng.integers(1, 17))
    ys, xs = np.mgrid[0:height, 0:width]
    return np.repeat(((ys // square + xs // square) % 2 * 255)[..., np.newaxis], 4, axis=2)


PICTURES: dict[str, Picture] = {
    picture.__name__: picture
    for picture in (
        noise,
        flat,
        horizontal_gradient,
        vertical_gradient,
        stripes,
        checkerboard,
    )
}


def in_mode(samples: Samples, mode: str) -> Image.Image:
    """`samples` (height x width x 4 values of 0 to 255) as a picture of `mode`."""
    channels = np.ascontiguousarray(samples, dtype=np.uint8)
    if mode == "I;16":
        return Image.fromarray(channels[..., 0].astype(np.uint16) * 257)
    if mode == "CMYK":
        return Image.frombytes("CMYK", channels.shape[1::-1], channels.tobytes())
    rgba = Image.fromarray(channels, "RGBA")
    if mode == "P":
        return rgba.convert("RGB").quantize(colors=int(samples[0, 0, 3]) % 250 + 2)
    return rgba.convert(mode)


def differing(pictures: Iterator[tuple[str, Image.Image]]) -> list[str]:
    """The names of the pictures whose pHash is not imagehash's, with the bits that differ."""
    return [
        f"{name}: {reference - ours} bits"
        for name, picture in pictures
        if (reference := imagehash.phash(picture)) != (ours := phash(picture))
    ]


@pytest.mark.parametrize("kind", PICTURES)
@pytest.mark.parametrize("mode", MODES)
def test_a_generated_picture_hashes_as_imagehash_hashes_it_in_every_mode(
    kind: str, mode: str
) -> None:
    rng = np.random.default_rng(sorted(PICTURES).index(kind) * 100 + MODES.index(mode))

    pictures = (
        (f"{kind} {width}x{height} #{seed}", in_mode(PICTURES[kind](rng, width, height), mode))
        for width, height in SIZES
        for seed in range(2)
    )

    assert differing(pictures) == []


def test_the_sample_pictures_and_their_cdn_copies_hash_as_imagehash_hashes_them() -> None:
    def pictures() -> Iterator[tuple[str, Image.Image]]:
        for seed, (width, height) in enumerate(PICTURE_SIZES):
            original = photo(width, height, seed)
            yield f"photo {seed}", original
            yield f"photo {seed} halved", halved(original)
        for seed in range(10):
            camera = camera_picture(seed)
            yield f"camera {seed}", decoded(camera)
            for copy in (cdn_copy, resized, recompressed):
                yield f"camera {seed} {copy.__name__}", decoded(copy(camera))

    assert differing(pictures()) == []


def test_a_flat_picture_has_the_hash_whose_bits_all_tie_at_the_median() -> None:
    # Every coefficient but the constant one is exactly 0, and so is the median: only the
    # constant term is above it. Rounding noise in the DCT would set about half the bits.
    assert str(phash(Image.new("L", (40, 30), 173))) == "8000000000000000"


def test_hashing_pictures_in_a_worker_never_loads_scipy() -> None:
    probe = """
import sys
import streams.kafka.app
from streams.core.imaging import hashing_luma, inspect_image
from streams.core.window_hashes import proof_windows
from streams.devtools.samples import camera_picture, decoded

picture = camera_picture(1)
inspect_image(picture, max_bytes=1 << 30, max_pixels=1 << 30)
proof_windows(hashing_luma(decoded(picture)))
print(sorted(name for name in sys.modules if name.split(".")[0] == "scipy"))
"""
    loaded = fresh_python_output(probe, timeout=120)

    assert loaded.strip() == "[]"
