"""The frame and scan structure of a JPEG, read from its markers without decoding a pixel.

What libjpeg holds while decoding depends on the structure, not on the declared size alone: a
single-scan sequential JPEG is decoded a band of rows at a time (and at 1/8 of its size in draft
mode), while a progressive or multi-scan one keeps every DCT coefficient of the full image
until its last scan. The number of scans is also what a decode's CPU time grows with. Both are
read here, from the marker segments, before a decoder sees the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["JpegStructure", "MalformedJpeg", "read_jpeg_structure"]

_SOI = b"\xff\xd8"
_SOS = 0xDA
_EOI = 0xD9
# SOF markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Frames whose data is coded in several passes over the whole image (progressive, DCT).
_PROGRESSIVE_SOF = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
# Markers without a length field: TEM and the restart markers.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# Inside entropy-coded data a 0xFF is followed by 0x00 (stuffing), a restart marker or a fill
# byte; any other byte after it is the next marker.
_NEXT_MARKER = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")


class MalformedJpeg(ValueError):
    """The marker structure is not that of a JPEG: truncated, or a segment overruns the data."""


@dataclass(frozen=True, slots=True)
class JpegStructure:
    """What the markers of a JPEG say about its first frame and its scans."""

    width: int
    height: int
    components: int
    progressive: bool
    scans: int

    @property
    def buffers_coefficients(self) -> bool:
        """Whether libjpeg keeps the whole image's DCT coefficients while decoding it."""
        return self.progressive or self.scans > 1


def read_jpeg_structure(data: bytes) -> JpegStructure:
    """The frame header and scan count of the JPEG `data`, walking its markers.

    Raises `MalformedJpeg` when `data` has no frame header before its first scan, a segment
    runs past the end, or the bytes do not start as a JPEG.
    """
    if not data.startswith(_SOI):
        raise MalformedJpeg("no JPEG start-of-image marker")
    frame: tuple[int, int, int, bool] | None = None
    scans = 0
    position = len(_SOI)
    end = len(data)
    while position < end:
        if data[position] != 0xFF:
            raise MalformedJpeg(f"expected a marker at byte {position}")
        while position < end and data[position] == 0xFF:  # fill bytes before a marker
            position += 1
        if position >= end:
            break
        marker = data[position]
        position += 1
        if marker == _EOI:
            break
        if marker in _STANDALONE:
            continue
        if position + 2 > end:
            raise MalformedJpeg("truncated marker segment")
        length = int.from_bytes(data[position : position + 2], "big")
        if length < 2 or position + length > end:
            raise MalformedJpeg(f"marker segment 0x{marker:02X} overruns the data")
        if marker in _SOF_MARKERS and frame is None:
            frame = _frame_header(data[position + 2 : position + length], marker)
        position += length
        if marker == _SOS:
            if frame is None:
                raise MalformedJpeg("scan before any frame header")
            scans += 1
            following = _NEXT_MARKER.search(data, position)
            position = following.start() if following is not None else end
    if frame is None:
        raise MalformedJpeg("no frame header")
    height, width, components, progressive = frame
    return JpegStructure(
        width=width,
        height=height,
        components=components,
        progressive=progressive,
        scans=scans,
    )


def _frame_header(segment: bytes, marker: int) -> tuple[int, int, int, bool]:
    if len(segment) < 6:
        raise MalformedJpeg("truncated frame header")
    height = int.from_bytes(segment[1:3], "big")
    width = int.from_bytes(segment[3:5], "big")
    return height, width, segment[5], marker in _PROGRESSIVE_SOF
