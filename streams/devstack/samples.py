"""Deterministic sample images for the demo and the tests: photo-like, in several formats, and
the copies a CDN makes of them."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["camera_jpeg", "cdn_copy", "decoded", "encode", "halved", "photo"]


def photo(width: int, height: int, seed: int) -> Image.Image:
    """A deterministic photo-like RGB picture: lighting gradient, shapes, sensor noise."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 90 + 80 * np.sin(xs / width * rng.uniform(1, 4) + ys / height * rng.uniform(1, 4))
    image = Image.fromarray(np.dstack([light, light * 0.8, 255 - light]).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(10):
        x0, x1 = sorted(rng.integers(0, width, size=2).tolist())
        y0, y1 = sorted(rng.integers(0, height, size=2).tolist())
        fill = tuple(int(v) for v in rng.integers(0, 256, size=3))
        if rng.integers(0, 2):
            draw.ellipse((x0, y0, x1 + 1, y1 + 1), fill=fill)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
    noisy = np.asarray(image, dtype=np.int16) + rng.normal(0, 4, (height, width, 1))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def encode(image: Image.Image, image_format: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def camera_jpeg(width: int, height: int, seed: int) -> bytes:
    """A photo as a camera saves it: JPEG quality 90 with EXIF (orientation left at 1)."""
    exif = Image.Exif()
    exif[0x010F] = "Example Optics"
    exif[0x0132] = f"2024:06:{seed % 28 + 1:02d} 12:00:00"
    return encode(photo(width, height, seed), "JPEG", quality=90, exif=exif.tobytes())


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def halved(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


def cdn_copy(data: bytes) -> bytes:
    """Resized to 50 %, re-encoded as JPEG quality 60, metadata gone: what a CDN serves."""
    return encode(halved(decoded(data)), "JPEG", quality=60)
