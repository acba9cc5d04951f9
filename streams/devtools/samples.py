"""Deterministic sample images for the demo and the tests: photo-like, in several formats, and
the copies a CDN makes of them."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    "CDN_QUALITY",
    "CDN_TRANSFORMS",
    "PICTURE_SIZES",
    "camera_exif",
    "camera_jpeg",
    "camera_picture",
    "cdn_copy",
    "decoded",
    "encode",
    "halved",
    "photo",
    "recompressed",
    "resized",
    "stripped",
]

# Landscape, portrait, square and wide pictures, kept small so that hundreds hash in seconds.
PICTURE_SIZES = ((480, 360), (360, 480), (400, 400), (576, 324), (512, 384))

# The JPEG quality CDNs commonly re-encode at.
CDN_QUALITY = 60

_APP1, _APP15, _COMMENT, _START_OF_SCAN = 0xE1, 0xEF, 0xFE, 0xDA


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


def camera_exif(seed: int) -> Image.Exif:
    """The EXIF a camera writes: its maker and a date (orientation left at 1)."""
    exif = Image.Exif()
    exif[0x010F] = "Example Optics"
    exif[0x0132] = f"2024:06:{seed % 28 + 1:02d} 12:00:00"
    return exif


def camera_jpeg(width: int, height: int, seed: int) -> bytes:
    """A photo as a camera saves it: JPEG quality 90 with EXIF."""
    return encode(photo(width, height, seed), "JPEG", quality=90, exif=camera_exif(seed).tobytes())


def camera_picture(seed: int) -> bytes:
    """`camera_jpeg` of seed `seed` in one of `PICTURE_SIZES`."""
    width, height = PICTURE_SIZES[seed % len(PICTURE_SIZES)]
    return camera_jpeg(width, height, seed)


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def halved(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


def cdn_copy(data: bytes, image_format: str = "JPEG", quality: int = CDN_QUALITY) -> bytes:
    """Resized to 50 %, re-encoded (JPEG quality 60 unless told otherwise), metadata gone: what
    a CDN serves."""
    return encode(halved(decoded(data)), image_format, quality=quality)


def resized(data: bytes) -> bytes:
    """Resized to 50 % (Lanczos) and saved losslessly, so that only the resize shows."""
    return encode(halved(decoded(data)), "PNG")


def recompressed(data: bytes) -> bytes:
    """Re-encoded as JPEG quality 60 at full size, metadata kept, so that only the loss shows."""
    image = decoded(data)
    return encode(image, "JPEG", quality=CDN_QUALITY, exif=image.info.get("exif", b""))


def stripped(jpeg: bytes) -> bytes:
    """The same JPEG without its APP1-APP15 and comment segments; the pixel data is untouched.

    What `jpegtran -copy none` or `exiftool -all=` do: EXIF (APP1), ICC and XMP go, the
    entropy-coded scan is copied byte for byte.
    """
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    kept, position = [jpeg[:2]], 2
    while jpeg[position] == 0xFF and jpeg[position + 1] != _START_OF_SCAN:
        marker = jpeg[position + 1]
        end = position + 2 + int.from_bytes(jpeg[position + 2 : position + 4], "big")
        if not (_APP1 <= marker <= _APP15 or marker == _COMMENT):
            kept.append(jpeg[position:end])
        position = end
    return b"".join([*kept, jpeg[position:]])


# The copies a CDN may serve of a camera JPEG, each transformation alone and all three at once.
CDN_TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    "resized 50%": resized,
    "JPEG q60": recompressed,
    "metadata stripped": stripped,
    "all three": cdn_copy,
}
