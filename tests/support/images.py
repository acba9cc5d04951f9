"""Deterministic test images: photo-like pictures (shared with the demo), hostile headers and
hostile JPEG structures."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw

from streams.devtools.samples import encode, photo

__all__ = [
    "encode",
    "gif_declaring",
    "photo",
    "png_declaring",
    "progressive_jpeg",
    "textured",
    "tiff_declaring",
    "webp_declaring",
    "with_repeated_scans",
]


def textured(width: int, height: int, seed: int) -> Image.Image:
    """A photo-like picture strewn with small shapes: corners enough for local features."""
    picture = photo(width, height, seed)
    draw = ImageDraw.Draw(picture)
    rng = np.random.default_rng(seed + 1000)
    for _ in range(300):
        x, y = (int(v) for v in rng.integers(0, (width, height)))
        side = int(rng.integers(4, 40))
        fill = tuple(int(v) for v in rng.integers(0, 256, size=3))
        shape = draw.rectangle if rng.integers(0, 2) else draw.ellipse
        shape((x, y, x + side, y + side), fill=fill)
    return picture


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares `width`x`height` but whose pixel data is a stub."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def gif_declaring(width: int, height: int) -> bytes:
    """A tiny GIF whose logical screen is `width`x`height`, with one 1x1 frame."""
    screen = struct.pack("<HHBBB", width, height, 0, 0, 0)
    frame = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + frame + b";"


def tiff_declaring(width: int, height: int) -> bytes:
    """A tiny little-endian TIFF whose one 8-bit grey strip claims `width`x`height` pixels."""
    long_, short = 4, 3
    tags = [  # (tag, type, value): size, bits, compression, photometric, strip offset and size
        (256, long_, width),
        (257, long_, height),
        (258, short, 8),
        (259, short, 1),
        (262, short, 1),
        (273, long_, 8),
        (279, long_, 1),
    ]
    entries = b"".join(
        struct.pack("<HHII", tag, kind, 1, value)
        if kind == long_
        else struct.pack("<HHIHH", tag, kind, 1, value, 0)
        for tag, kind, value in tags
    )
    directory = struct.pack("<H", len(tags)) + entries + struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8) + directory


def webp_declaring(width: int, height: int) -> bytes:
    """A tiny extended-format WebP whose canvas is `width`x`height`, with no frame at all."""
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + bytes(4) + canvas
    return b"RIFF" + struct.pack("<I", len(body)) + body


def progressive_jpeg(width: int, height: int, mode: str = "CMYK") -> bytes:
    """A progressive JPEG of a horizontal gradient: a few hundred KB for tens of megapixels."""
    row = np.linspace(0, 255, width, dtype=np.uint8)
    gradient = Image.fromarray(np.ascontiguousarray(np.broadcast_to(row, (height, width))))
    buffer = io.BytesIO()
    gradient.convert(mode).save(buffer, "JPEG", quality=50, progressive=True)
    return buffer.getvalue()


def with_repeated_scans(jpeg: bytes, extra: int) -> bytes:
    """`jpeg` with its last scan (an SOS segment and its coded data) repeated `extra` more times.

    Each copy refines the same coefficients again: a valid file whose decode passes over the
    whole image once per scan.
    """
    last_scan = jpeg.rindex(b"\xff\xda")
    end_of_image = jpeg.rindex(b"\xff\xd9")
    scan = jpeg[last_scan:end_of_image]
    return jpeg[:end_of_image] + scan * extra + jpeg[end_of_image:]
