"""Specification of `streams.core.local_features`: keypoints of a picture, the blob a proof
stores, and the geometric check that confirms a copy and rejects another picture."""

from __future__ import annotations

import dataclasses
import io
import struct

import pytest
from PIL import Image

from streams.core.imaging import hashing_luma
from streams.core.local_features import (
    MAX_FEATURE_BYTES,
    MAX_KEYPOINTS,
    MAX_SIDE,
    MIN_INLIERS,
    GeometricMatch,
    LocalFeatures,
    MalformedFeatures,
    local_features,
    match_geometry,
)
from tests.support.fresh_python import fresh_python_output
from tests.support.images import encode, textured

PICTURE = textured(1200, 900, seed=1)


def features(picture: Image.Image) -> LocalFeatures:
    return local_features(hashing_luma(picture.convert("RGB")))


def served(picture: Image.Image) -> Image.Image:
    return Image.open(io.BytesIO(encode(picture.convert("RGB"), "JPEG", quality=85)))


PROOF = features(PICTURE)


def test_a_picture_keeps_at_most_the_keypoint_limit_within_the_side_limit() -> None:
    large = features(textured(1800, 1200, seed=3))

    assert 100 <= large.count <= MAX_KEYPOINTS
    assert max(large.width, large.height) <= MAX_SIDE


def test_orb_confirms_a_copy_rotated_by_two_degrees() -> None:
    copy = served(PICTURE.rotate(2, resample=Image.Resampling.BICUBIC))

    match = match_geometry(features(copy), PROOF)

    assert match.confirms
    assert match.rotation_degrees == pytest.approx(2, abs=0.5)
    assert match.scale == pytest.approx(1, abs=0.05)


def test_orb_confirms_a_thumbnail_of_an_off_centre_crop() -> None:
    copy = served(PICTURE.crop((90, 20, 1170, 880)).resize((540, 430)))

    assert match_geometry(features(copy), PROOF).confirms


def test_orb_rejects_a_different_picture() -> None:
    match = match_geometry(features(served(textured(1200, 900, seed=2))), PROOF)

    assert not match.confirms


A_COPY = GeometricMatch(
    inliers=40, inlier_ratio=0.8, scale=0.5, rotation_degrees=2.0, hull_share=0.4
)


def test_a_copys_transform_confirms_it() -> None:
    assert A_COPY.plausible
    assert A_COPY.confirms


@pytest.mark.parametrize(
    "implausible",
    [
        dataclasses.replace(A_COPY, scale=0.02),
        dataclasses.replace(A_COPY, scale=12.0),
        dataclasses.replace(A_COPY, rotation_degrees=30.0),
        dataclasses.replace(A_COPY, inlier_ratio=0.1),
        dataclasses.replace(A_COPY, hull_share=0.001),
    ],
    ids=["collapsed", "blown-up", "turned", "mostly-outliers", "piled-on-a-spot"],
)
def test_many_inliers_under_an_implausible_transform_confirm_nothing(
    implausible: GeometricMatch,
) -> None:
    assert not implausible.plausible
    assert not implausible.confirms


def test_a_quarter_turn_is_a_lost_orientation_not_another_picture() -> None:
    assert dataclasses.replace(A_COPY, rotation_degrees=-88.0).confirms


def test_ample_inliers_confirm_however_little_they_span() -> None:
    assert dataclasses.replace(A_COPY, inliers=60, hull_share=0.001).confirms


def test_a_plausible_transform_needs_enough_inliers() -> None:
    few = dataclasses.replace(A_COPY, inliers=MIN_INLIERS - 1)

    assert few.plausible
    assert not few.confirms


def test_a_blank_picture_has_no_keypoints_and_confirms_nothing() -> None:
    blank = local_features(Image.new("L", (300, 200), 90))

    assert blank.count == 0
    assert LocalFeatures.from_bytes(blank.to_bytes()) == blank
    assert not match_geometry(blank, PROOF).confirms


def test_the_blob_reads_back_as_the_same_features() -> None:
    blob = PROOF.to_bytes()

    assert len(blob) <= MAX_FEATURE_BYTES
    assert LocalFeatures.from_bytes(blob) == PROOF


def test_features_read_back_from_a_blob_confirm_like_the_originals() -> None:
    copy = features(served(PICTURE.rotate(2, resample=Image.Resampling.BICUBIC)))

    assert match_geometry(copy, LocalFeatures.from_bytes(PROOF.to_bytes())).confirms


def _header(magic: bytes, width: int, height: int, count: int) -> bytes:
    return struct.pack("<4sHHH", magic, width, height, count)


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "0 bytes"),
        (PROOF.to_bytes()[:-1], "for"),
        (PROOF.to_bytes() + b"\0" * MAX_FEATURE_BYTES, "bytes"),
        (b"XXXX" + PROOF.to_bytes()[4:], "magic"),
        (_header(b"CLF1", 0, 10, 0), "0x10 picture"),
        (_header(b"CLF1", MAX_SIDE + 1, 10, 0), "picture"),
        (_header(b"CLF1", 10, 10, MAX_KEYPOINTS + 1), "keypoints"),
        (_header(b"CLF1", 10, 10, 1) + struct.pack("<HH", 40, 0) + b"\0" * 32, "outside"),
        (_header(b"CLF1", 10, 10, 1) + struct.pack("<HH", 0, 40) + b"\0" * 32, "outside"),
    ],
    ids=[
        "empty",
        "truncated",
        "oversized",
        "wrong-magic",
        "zero-width",
        "too-wide",
        "too-many-keypoints",
        "x-outside",
        "y-outside",
    ],
)
def test_a_malformed_blob_is_refused(blob: bytes, reason: str) -> None:
    with pytest.raises(MalformedFeatures, match=reason):
        LocalFeatures.from_bytes(blob)


def test_features_are_found_on_luminance_only() -> None:
    with pytest.raises(ValueError, match="luminance"):
        local_features(PICTURE)


def test_a_picture_has_the_same_features_in_another_process() -> None:
    """A replayed event on another worker must sign the same feature digest."""
    code = (
        "from tests.unit.streams.core.test_local_features import PROOF;"
        "print(PROOF.to_bytes().hex())"
    )

    elsewhere = fresh_python_output(code, timeout=60).strip()

    assert elsewhere == PROOF.to_bytes().hex()
