"""Deterministic test images: photo-like pictures (shared with the demo), hostile headers."""

from __future__ import annotations

import struct
import zlib

from streams.devstack.samples import encode, photo

__all__ = ["encode", "gif_declaring", "photo", "png_declaring"]


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
