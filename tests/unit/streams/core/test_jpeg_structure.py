"""Specification of `streams.core.jpeg_structure`: a JPEG's frame and scans, read from its
markers without decoding."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from streams.core.jpeg_structure import JpegStructure, MalformedJpeg, read_jpeg_structure
from tests.support.images import encode, photo, progressive_jpeg, with_repeated_scans


def test_a_baseline_jpeg_is_one_sequential_scan_of_its_declared_frame() -> None:
    structure = read_jpeg_structure(encode(photo(640, 480, seed=1), "JPEG"))

    assert structure == JpegStructure(
        width=640, height=480, components=3, progressive=False, scans=1
    )
    assert not structure.buffers_coefficients


def test_a_progressive_jpeg_has_many_scans_and_buffers_its_coefficients() -> None:
    structure = read_jpeg_structure(progressive_jpeg(320, 200, "CMYK"))

    assert structure.progressive
    assert structure.components == 4
    assert (structure.width, structure.height) == (320, 200)
    assert structure.scans > 1
    assert structure.buffers_coefficients


def test_every_repeated_scan_is_counted() -> None:
    original = progressive_jpeg(64, 64, "L")
    scans = read_jpeg_structure(original).scans

    assert read_jpeg_structure(with_repeated_scans(original, 500)).scans == scans + 500


def test_marker_bytes_inside_a_metadata_segment_are_not_scans() -> None:
    buffer = io.BytesIO()
    comment = b"\xff\xda\xff\xda not a scan \xff\xc2"
    photo(64, 48, seed=2).save(buffer, "JPEG", comment=comment)

    structure = read_jpeg_structure(buffer.getvalue())

    assert structure.scans == 1
    assert not structure.progressive


def test_a_greyscale_jpeg_has_one_component() -> None:
    buffer = io.BytesIO()
    Image.new("L", (40, 30), 128).save(buffer, "JPEG")

    assert read_jpeg_structure(buffer.getvalue()).components == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a", "start-of-image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "overruns"),
        (b"\xff\xd8\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00", "scan before any frame"),
        (b"\xff\xd8\xff\xd9", "no frame header"),
        (b"\xff\xd8\x00\x00", "expected a marker"),
    ],
    ids=["not-a-jpeg", "truncated-segment", "scan-first", "empty-image", "garbage"],
)
def test_a_broken_marker_structure_is_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedJpeg, match=reason):
        read_jpeg_structure(data)
