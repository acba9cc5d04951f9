"""Specification of `streams.core.window_hashes`: which windows a proof hashes, how bars are
trimmed, and which copies match a proof's windows."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from streams.core.imaging import hashing_luma
from streams.core.window_hashes import (
    CANDIDATE_DISTANCE,
    GEOMETRIC_CANDIDATES,
    Box,
    Window,
    WindowComparison,
    compare_windows,
    geometric_candidates,
    proof_windows,
    query_windows,
    trim_box,
)
from tests.support.images import encode, textured


def served(picture: Image.Image, quality: int = 85) -> Image.Image:
    """`picture` as a CDN serves it: re-encoded as a JPEG and decoded again."""
    return Image.open(io.BytesIO(encode(picture.convert("RGB"), "JPEG", quality=quality)))


def luma(picture: Image.Image) -> Image.Image:
    return hashing_luma(picture.convert("RGB"))


def centre_crop(picture: Image.Image, ratio: float) -> Image.Image:
    width, height = picture.size
    crop_height = round(width / ratio)
    top = (height - crop_height) // 2
    return picture.crop((0, top, width, top + crop_height))


def letterboxed(picture: Image.Image, side: int) -> Image.Image:
    canvas = Image.new("RGB", (side, side), "black")
    canvas.paste(picture, ((side - picture.width) // 2, (side - picture.height) // 2))
    return canvas


PICTURE = textured(1200, 900, seed=1)


def test_a_proof_hashes_every_window_except_the_cover_of_its_own_aspect_ratio() -> None:
    windows = [entry.window for entry in proof_windows(luma(PICTURE))]

    assert windows == [
        Window.GLOBAL,
        Window.COVER_16_9,
        Window.COVER_1_1,
        Window.COVER_4_5,
        Window.COVER_9_16,
        Window.COVER_3_2,
        Window.COVER_2_3,
        Window.CENTRE_90,
        Window.CENTRE_80,
        Window.TOP_LEFT_90,
        Window.TOP_RIGHT_90,
        Window.BOTTOM_LEFT_90,
        Window.BOTTOM_RIGHT_90,
        Window.TOP_LEFT_80,
        Window.TOP_RIGHT_80,
        Window.BOTTOM_LEFT_80,
        Window.BOTTOM_RIGHT_80,
    ]


def test_window_hashes_are_deterministic() -> None:
    assert proof_windows(luma(PICTURE)) == proof_windows(luma(PICTURE))


def test_a_16_9_centre_crop_matches_its_pictures_16_9_window() -> None:
    copy = served(centre_crop(PICTURE, 16 / 9).resize((800, 450)))

    comparison = compare_windows(query_windows(luma(copy)), proof_windows(luma(PICTURE)))

    assert comparison is not None
    assert comparison.matching_window is Window.COVER_16_9


def test_the_same_crop_misses_the_global_hash_alone() -> None:
    copy = served(centre_crop(PICTURE, 16 / 9).resize((800, 450)))
    global_only = [entry for entry in proof_windows(luma(PICTURE)) if entry.window is Window.GLOBAL]

    comparison = compare_windows(query_windows(luma(copy)), global_only)

    assert comparison is not None
    assert comparison.matching_window is None


def test_an_unrelated_picture_matches_no_window() -> None:
    other = served(textured(1200, 900, seed=2))

    comparison = compare_windows(query_windows(luma(other)), proof_windows(luma(PICTURE)))

    assert comparison is not None
    assert comparison.matching_window is None
    assert comparison.nearest > 40


def test_geometric_candidates_are_the_nearest_few_within_the_candidate_distance() -> None:
    comparisons = {
        f"proof-{distance:02d}": WindowComparison(nearest=distance, matching_window=None)
        for distance in (CANDIDATE_DISTANCE + 1, 30, 3, 12, 7, 20, 25, 9)
    }

    candidates = geometric_candidates(comparisons)

    assert len(candidates) == GEOMETRIC_CANDIDATES == 5
    assert candidates == ["proof-03", "proof-07", "proof-09", "proof-12", "proof-20"]


def test_equally_near_candidates_are_taken_in_proof_id_order() -> None:
    tie = WindowComparison(nearest=CANDIDATE_DISTANCE, matching_window=None)

    assert geometric_candidates({"b": tie, "a": tie}) == ["a", "b"]
    assert (
        geometric_candidates(
            {"far": WindowComparison(nearest=CANDIDATE_DISTANCE + 1, matching_window=None)}
        )
        == []
    )


def test_trimming_a_letterboxed_copy_leaves_the_picture() -> None:
    copy = luma(served(letterboxed(PICTURE, 1200)))
    reduction = 1200 // copy.width

    trim = trim_box(copy)

    assert trim.left == 0
    assert trim.right == copy.width
    assert abs(trim.top - 150 // reduction) <= 3
    assert abs(trim.bottom - 1050 // reduction) <= 3


def test_a_letterboxed_copy_matches_the_global_window_closely() -> None:
    copy = served(letterboxed(PICTURE, 1200))

    comparison = compare_windows(query_windows(luma(copy)), proof_windows(luma(PICTURE)))

    assert comparison is not None
    assert comparison.matching_window is Window.GLOBAL
    assert comparison.nearest <= 4


def test_a_padded_picture_is_hashed_trimmed_and_untrimmed() -> None:
    windows = [entry.window for entry in proof_windows(luma(letterboxed(PICTURE, 1200)))]

    assert windows[:2] == [Window.GLOBAL, Window.UNTRIMMED]


def test_a_picture_without_bars_is_not_trimmed() -> None:
    picture = luma(PICTURE)

    assert trim_box(picture) == Box(0, 0, *picture.size)


def test_a_uniform_picture_is_not_trimmed_away() -> None:
    blank = Image.new("L", (400, 300), 128)

    assert trim_box(blank) == Box(0, 0, 400, 300)
    assert len(proof_windows(blank)) == 17


def test_a_one_pixel_picture_still_has_every_window() -> None:
    assert len(proof_windows(Image.new("L", (1, 1), 0))) == 17


def test_only_luminance_is_hashed() -> None:
    with pytest.raises(ValueError, match="luminance"):
        proof_windows(PICTURE)
