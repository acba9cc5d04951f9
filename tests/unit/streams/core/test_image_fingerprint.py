"""Specification of `streams.core.image_fingerprint`: the ISCC image code a Content Credential
carries as its soft binding."""

from __future__ import annotations

import io

import iscc_core
import pytest
from PIL import Image

from streams.core.image_fingerprint import fingerprint_distance, iscc_fingerprint
from tests.support.images import encode, photo


def test_the_fingerprint_is_one_256_bit_iscc_content_code_image() -> None:
    (unit,) = iscc_core.decode_seq(iscc_fingerprint(photo(320, 240, 1)))
    main_type, sub_type, version, _, body = iscc_core.iscc_decode(unit)
    assert (main_type, sub_type, version) == (
        iscc_core.MT.CONTENT,
        iscc_core.ST_CC.IMAGE,
        iscc_core.VS.V0,
    )
    assert len(body) * 8 == 256


def test_unrelated_pictures_are_far_apart_in_fingerprint() -> None:
    near = fingerprint_distance(
        iscc_fingerprint(photo(320, 240, 1)),
        iscc_fingerprint(photo(320, 240, 1).resize((160, 120))),
    )
    far = fingerprint_distance(
        iscc_fingerprint(photo(320, 240, 1)), iscc_fingerprint(photo(320, 240, 2))
    )
    assert near <= 16 < 64 <= far


def test_the_fingerprint_sees_the_picture_as_shown() -> None:
    image = photo(320, 240, 3)
    framed = Image.new("RGB", (360, 280), (250, 250, 250))
    framed.paste(image, (20, 20))
    transparent = image.convert("RGBA")
    transparent.putalpha(0)
    rotated = image.rotate(90, expand=True)
    exif = rotated.getexif()
    exif[0x0112] = 6  # orientation: turn 90 degrees clockwise to display
    tagged = Image.open(io.BytesIO(encode(rotated, "PNG", exif=exif.tobytes())))

    assert iscc_fingerprint(framed) == iscc_fingerprint(image)
    assert iscc_fingerprint(transparent) == iscc_fingerprint(Image.new("RGB", image.size, "white"))
    assert fingerprint_distance(iscc_fingerprint(tagged), iscc_fingerprint(image)) <= 8


def test_fingerprints_of_different_iscc_units_cannot_be_compared() -> None:
    image_code = iscc_fingerprint(photo(64, 64, 1))
    data_code = iscc_core.encode_seq([iscc_core.gen_data_code_v0(io.BytesIO(b"x"), 256)["iscc"]])
    with pytest.raises(ValueError, match="different ISCC unit"):
        fingerprint_distance(image_code, data_code)
    with pytest.raises(ValueError, match="one ISCC unit"):
        fingerprint_distance(image_code + image_code, image_code)
