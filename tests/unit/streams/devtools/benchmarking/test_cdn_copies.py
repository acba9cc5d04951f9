"""The copy families of bench/robustness.py: each serves what its name promises, reproducibly."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from streams.devtools.benchmarking.cdn_copies import CopyFamily, cdn_copy
from streams.devtools.samples import decoded, photo

PICTURE = photo(480, 360, seed=4)


def served(family: CopyFamily, picture: Image.Image = PICTURE, seed: int = 1) -> Image.Image:
    return decoded(cdn_copy(picture, family, seed))


def aspect(picture: Image.Image) -> float:
    return picture.width / picture.height


@pytest.mark.parametrize("family", list(CopyFamily))
def test_every_family_serves_decodable_bytes_reproducibly(family: CopyFamily) -> None:
    copy = cdn_copy(PICTURE, family, seed=3)

    assert copy == cdn_copy(PICTURE, family, seed=3)
    assert min(decoded(copy).size) > 0


@pytest.mark.parametrize(
    ("family", "image_format"),
    [(CopyFamily.THUMBNAIL_WEBP, "WEBP"), (CopyFamily.THUMBNAIL_AVIF, "AVIF")],
)
def test_thumbnails_are_320_pixels_on_their_long_side(
    family: CopyFamily, image_format: str
) -> None:
    thumbnail = served(family)

    assert thumbnail.format == image_format
    assert thumbnail.size == (320, 240)


@pytest.mark.parametrize(
    ("family", "ratio"),
    [(CopyFamily.COVER_16_9, 16 / 9), (CopyFamily.COVER_1_1, 1.0), (CopyFamily.COVER_4_5, 0.8)],
)
def test_cover_copies_have_the_aspect_ratio_at_800_pixels_wide(
    family: CopyFamily, ratio: float
) -> None:
    copy = served(family)

    assert copy.width == 800
    assert aspect(copy) == pytest.approx(ratio, rel=0.01)


def test_a_padded_copy_is_square_with_uniform_bars_above_and_below() -> None:
    copy = np.asarray(served(CopyFamily.PAD_1_1).convert("L"), dtype=np.int16)

    assert copy.shape == (800, 800)
    top_bar, bottom_bar = copy[:80], copy[-80:]
    assert np.ptp(top_bar) < 30
    assert np.ptp(bottom_bar) < 30
    assert np.ptp(copy[300:500]) > 30


def test_a_16_9_picture_is_pillarboxed_to_4_3_rather_than_left_as_it_is() -> None:
    wide = photo(640, 360, seed=5)

    assert aspect(served(CopyFamily.PAD_16_9, wide)) == pytest.approx(4 / 3, rel=0.01)
    assert aspect(served(CopyFamily.PAD_16_9)) == pytest.approx(16 / 9, rel=0.01)


@pytest.mark.parametrize(("family", "kept"), [(CopyFamily.CROP_5, 0.95), (CopyFamily.CROP_10, 0.9)])
def test_crops_keep_the_stated_share_of_each_side(family: CopyFamily, kept: float) -> None:
    assert served(family).size == (round(480 * kept), round(360 * kept))


def test_a_rotated_and_cropped_copy_has_no_corner_fill() -> None:
    white = Image.new("RGB", (480, 360), "white")
    copy = np.asarray(served(CopyFamily.ROTATE_CROP, white).convert("L"))

    assert copy.shape[0] < 360
    assert copy.shape[1] < 480
    assert copy.min() > 200


def test_a_rotated_and_filled_copy_grows_to_hold_the_turned_picture() -> None:
    copy = served(CopyFamily.ROTATE_FILL)

    assert copy.width > 480
    assert copy.height > 360


def test_a_caption_band_darkens_a_strip_across_the_top_or_bottom() -> None:
    white = Image.new("RGB", (480, 360), "white")
    copy = np.asarray(served(CopyFamily.CAPTION, white).convert("L"), dtype=np.float64)
    rows = copy.mean(axis=1)

    assert rows[0] < 150 or rows[-1] < 150
    assert (rows < 150).sum() == pytest.approx(360 * 0.04, abs=3)


def test_a_corner_logo_covers_about_3_5_percent_in_one_corner() -> None:
    black = Image.new("RGB", (480, 360), "black")
    copy = np.asarray(served(CopyFamily.CORNER_LOGO, black).convert("L"))
    covered = copy > 100

    assert covered.mean() == pytest.approx(0.035, abs=0.01)
    rows, columns = np.nonzero(covered)
    assert rows.max() < 180 or rows.min() >= 180
    assert columns.max() < 240 or columns.min() >= 240


def test_a_greyscale_copy_is_a_single_channel_jpeg() -> None:
    assert served(CopyFamily.GREYSCALE).mode == "L"


def test_an_exif_baked_copy_is_upright_and_carries_no_orientation() -> None:
    copy = served(CopyFamily.EXIF_BAKED)
    difference = np.abs(
        np.asarray(copy.convert("L"), dtype=np.int16)
        - np.asarray(PICTURE.convert("L"), dtype=np.int16)
    )

    assert copy.size == PICTURE.size
    assert copy.getexif().get(0x0112) in (None, 1)
    assert difference.mean() < 8


def test_combined_copies_apply_both_transforms() -> None:
    thumbnail = served(CopyFamily.COVER_16_9_THUMBNAIL)
    logo_crop = served(CopyFamily.CROP_LOGO_JPEG)

    assert thumbnail.format == "WEBP"
    assert thumbnail.size == (320, 180)
    assert logo_crop.width == 640
    assert aspect(logo_crop) == pytest.approx(480 / 360, rel=0.02)
