"""Perceptual hashes of canonical windows of a picture: what still matches after a CDN crops it
to a fixed aspect ratio, pads it with bars, trims its edges or burns a logo into a corner.

A proof hashes its picture whole and in the windows a CDN commonly cuts out of it (`Window`);
a copy is hashed whole, in its central 90 % and 80 % and in its four corner 80 % windows (one
of which leaves out a logo burned into the opposite corner). Both sides first trim uniform bars
(letterbox, pillarbox, padding), so a padded copy hashes like its picture. The windows and the
acceptance rule were chosen by measurement on real photographs: docs/verification.md.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image

from streams.core import perceptual_hash

__all__ = [
    "ASPECT_RATIOS",
    "CANDIDATE_DISTANCE",
    "GEOMETRIC_CANDIDATES",
    "WINDOW_DHASH_THRESHOLD",
    "WINDOW_MIN_SIDE",
    "WINDOW_PHASH_THRESHOLD",
    "Box",
    "Window",
    "WindowComparison",
    "WindowHash",
    "comparable_windows",
    "compare_windows",
    "geometric_candidates",
    "hash_hex",
    "proof_windows",
    "query_windows",
    "trim_box",
]

# A pair of windows this close in both hashes shows the same picture. The thresholds of the
# global hashes (`streams.core.image_verifier`): among 2,423 proofs no copy or unrelated
# picture came within them of a wrong proof's window (docs/verification.md).
WINDOW_PHASH_THRESHOLD = 8
WINDOW_DHASH_THRESHOLD = 12
# A copy that matches no window is checked geometrically (`streams.core.local_features`)
# against the few proofs nearest to it, by the sum of the pHash and dHash distances of their
# closest pair of windows, within this many bits of 128. The sum ranks better than either
# hash: near-uniform skies and screenshots come close in pHash to anything plain, not in both.
CANDIDATE_DISTANCE = 40
GEOMETRIC_CANDIDATES = 5

# A line of pixels is part of a bar when this share of its pixels lies within
# `_BAR_TOLERANCE` grey levels of the bar's first line; at most `_MAX_BAR_SHARE` of a side is
# trimmed, and a trim leaving less than `_MIN_KEPT_SHARE` of a side is not applied (the picture
# is itself uniform).
_BAR_TOLERANCE = 10
_BAR_LINE_SHARE = 0.97
_MAX_BAR_SHARE = 0.45
_MIN_KEPT_SHARE = 0.1
# Lines trimmed beyond a bar's edge, where JPEG ringing blurs bar and picture together.
_BAR_EDGE_LINES = 2

# Windows are cut from the trimmed picture box-reduced to a shortest side of at least this
# many pixels: the hashes' own downscales to 32x32 and 9x8 then start from about a hundred
# pixels a side, so that the dozen windows cost about what two hashes of the full luminance do.
WINDOW_MIN_SIDE = 96

# The fit=cover aspect ratios of common previews and feeds, width over height. A ratio within
# `_SAME_ASPECT` (in natural log) of the picture's own is its global window already.
ASPECT_RATIOS: dict[str, float] = {
    "16:9": 16 / 9,
    "1:1": 1.0,
    "4:5": 4 / 5,
    "9:16": 9 / 16,
    "3:2": 3 / 2,
    "4:3": 4 / 3,
    "2:3": 2 / 3,
}
_SAME_ASPECT = 0.04


class Window(enum.StrEnum):
    """A canonical window of a picture, named by what a CDN would leave of it.

    A proof hashes them in this order. `UNTRIMMED` is the picture before trimming, hashed only
    when trimming removed something (a picture whose own edge is uniform still matches a copy
    that trims differently); a cover window is skipped when the picture has that aspect ratio.
    """

    GLOBAL = "global"
    UNTRIMMED = "untrimmed"
    COVER_16_9 = "16:9"
    COVER_1_1 = "1:1"
    COVER_4_5 = "4:5"
    COVER_9_16 = "9:16"
    COVER_3_2 = "3:2"
    COVER_4_3 = "4:3"
    COVER_2_3 = "2:3"
    CENTRE_90 = "c90"
    CENTRE_80 = "c80"
    TOP_LEFT_90 = "tl90"
    TOP_RIGHT_90 = "tr90"
    BOTTOM_LEFT_90 = "bl90"
    BOTTOM_RIGHT_90 = "br90"
    TOP_LEFT_80 = "tl80"
    TOP_RIGHT_80 = "tr80"
    BOTTOM_LEFT_80 = "bl80"
    BOTTOM_RIGHT_80 = "br80"


_CENTRE_SHARES = {Window.CENTRE_90: 0.9, Window.CENTRE_80: 0.8}
# Each corner window: its share of the picture's sides, and where it is anchored, as a fraction
# of the free space left of and above it.
_CORNERS = {
    Window.TOP_LEFT_90: (0.9, 0.0, 0.0),
    Window.TOP_RIGHT_90: (0.9, 1.0, 0.0),
    Window.BOTTOM_LEFT_90: (0.9, 0.0, 1.0),
    Window.BOTTOM_RIGHT_90: (0.9, 1.0, 1.0),
    Window.TOP_LEFT_80: (0.8, 0.0, 0.0),
    Window.TOP_RIGHT_80: (0.8, 1.0, 0.0),
    Window.BOTTOM_LEFT_80: (0.8, 0.0, 1.0),
    Window.BOTTOM_RIGHT_80: (0.8, 1.0, 1.0),
}
# The windows a copy is hashed in besides its whole picture.
_QUERY_WINDOWS = (
    Window.CENTRE_90,
    Window.CENTRE_80,
    Window.TOP_LEFT_80,
    Window.TOP_RIGHT_80,
    Window.BOTTOM_LEFT_80,
    Window.BOTTOM_RIGHT_80,
)


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle of pixels, left and top inclusive, right and bottom exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def size(self) -> tuple[int, int]:
        return self.right - self.left, self.bottom - self.top

    def as_tuple(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.right, self.bottom


@dataclass(frozen=True, slots=True)
class WindowHash:
    """The 64-bit pHash and dHash (`imagehash`, as integers) of one window of a picture."""

    window: Window
    phash: int
    dhash: int


@dataclass(frozen=True, slots=True)
class WindowComparison:
    """How close a copy comes to a proof over their comparable pairs of windows.

    `nearest` (pHash plus dHash distance of the closest pair, in bits) ranks proofs worth a
    geometric check; `matching_window` is a window of the proof that the copy matches within
    both thresholds, which alone shows it is that picture.
    """

    nearest: int
    matching_window: Window | None


def proof_windows(luma: Image.Image) -> tuple[WindowHash, ...]:
    """The hashes a proof records of its picture: one per applicable `Window`, in its order.

    `luma` is the 8-bit luminance the pipeline hashes (`streams.core.imaging`): decoded within
    the pixel bounds, oriented, box-reduced; `hashing_luma` gives it for a decoded picture.
    """
    _require_luma(luma)
    trim = trim_box(luma)
    trimmed = _reduced(luma.crop(trim.as_tuple()))
    hashes = [_hash(trimmed, Window.GLOBAL)]
    if trim.size != luma.size:
        hashes.append(_hash(_reduced(luma), Window.UNTRIMMED))
    width, height = trimmed.size
    for window, ratio in zip(_COVER_WINDOWS, ASPECT_RATIOS.values(), strict=True):
        if abs(math.log(width / height / ratio)) >= _SAME_ASPECT:
            hashes.append(_hash(trimmed.crop(_cover_box(width, height, ratio).as_tuple()), window))
    for window in (*_CENTRE_SHARES, *_CORNERS):
        hashes.append(_hash(trimmed.crop(_window_box(width, height, window).as_tuple()), window))
    return tuple(hashes)


def query_windows(luma: Image.Image) -> tuple[WindowHash, ...]:
    """The hashes of a copy being verified: its trimmed picture whole, its central 90 % and
    80 %, and its corner 80 % windows."""
    _require_luma(luma)
    trimmed = _reduced(luma.crop(trim_box(luma).as_tuple()))
    width, height = trimmed.size
    return (
        _hash(trimmed, Window.GLOBAL),
        *(_hash(trimmed.crop(_window_box(width, height, w).as_tuple()), w) for w in _QUERY_WINDOWS),
    )


def hash_hex(value: int) -> str:
    """A 64-bit hash as 16 lowercase hex digits, the way `imagehash` writes one."""
    return f"{value:016x}"


def comparable_windows(copy: Window, proof: Window) -> bool:
    """Whether a copy's window is compared with a proof's: the copy's global window with every
    window, its central windows with the proof's window of the same name."""
    return copy is Window.GLOBAL or copy is proof


def compare_windows(
    query: Iterable[WindowHash], proof: Iterable[WindowHash]
) -> WindowComparison | None:
    """Compare the windows of a copy (`query_windows`) with those of a proof.

    The copy's global window is compared with every window of the proof and its central windows
    with the proof's window of the same name: a copy whose corner is hidden by a logo still
    shows the centre of the proof's picture. None when no pair is comparable.
    """
    query = tuple(query)
    nearest: int | None = None
    matching: Window | None = None
    for window in proof:
        for entry in query:
            if not comparable_windows(entry.window, window.window):
                continue
            phash = (entry.phash ^ window.phash).bit_count()
            dhash = (entry.dhash ^ window.dhash).bit_count()
            nearest = phash + dhash if nearest is None else min(nearest, phash + dhash)
            if (
                matching is None
                and phash <= WINDOW_PHASH_THRESHOLD
                and dhash <= WINDOW_DHASH_THRESHOLD
            ):
                matching = window.window
    return None if nearest is None else WindowComparison(nearest, matching)


def geometric_candidates(comparisons: Mapping[str, WindowComparison]) -> list[str]:
    """The proofs (by id) worth a geometric check, nearest first, equal distances by id: at
    most GEOMETRIC_CANDIDATES, each within CANDIDATE_DISTANCE of the copy."""
    ranked = sorted(
        (comparison.nearest, proof_id)
        for proof_id, comparison in comparisons.items()
        if comparison.nearest <= CANDIDATE_DISTANCE
    )
    return [proof_id for _, proof_id in ranked[:GEOMETRIC_CANDIDATES]]


def trim_box(luma: Image.Image) -> Box:
    """The picture inside the uniform bars along its edges (the whole picture if it has none)."""
    samples = np.asarray(luma, dtype=np.int16)
    height, width = samples.shape
    top = _bar_lines(samples)
    bottom = _bar_lines(samples[::-1])
    left = _bar_lines(samples.T)
    right = _bar_lines(samples.T[::-1])
    if height - top - bottom < height * _MIN_KEPT_SHARE or width - left - right < (
        width * _MIN_KEPT_SHARE
    ):
        return Box(0, 0, width, height)
    return Box(left, top, width - right, height - bottom)


_COVER_WINDOWS: tuple[Window, ...] = (
    Window.COVER_16_9,
    Window.COVER_1_1,
    Window.COVER_4_5,
    Window.COVER_9_16,
    Window.COVER_3_2,
    Window.COVER_4_3,
    Window.COVER_2_3,
)


def _bar_lines(samples: np.ndarray[tuple[int, int], np.dtype[np.int16]]) -> int:
    """How many lines from the start of `samples` (rows) belong to a uniform bar."""
    limit = int(samples.shape[0] * _MAX_BAR_SHARE)
    reference = np.median(samples[0])
    uniform = np.mean(np.abs(samples[:limit] - reference) <= _BAR_TOLERANCE, axis=1)
    not_bar = np.flatnonzero(uniform < _BAR_LINE_SHARE)
    lines = int(not_bar[0]) if not_bar.size else limit
    return lines + _BAR_EDGE_LINES if lines else 0


def _cover_box(width: int, height: int, ratio: float) -> Box:
    """The centred window of aspect `ratio` that fit=cover keeps of a `width` x `height` picture."""
    if width / height > ratio:
        return _centred(width, height, width=height * ratio, height=height)
    return _centred(width, height, width=width, height=width / ratio)


def _window_box(width: int, height: int, window: Window) -> Box:
    """Where a central or corner window lies in a `width` x `height` picture."""
    if window in _CENTRE_SHARES:
        share = _CENTRE_SHARES[window]
        return _centred(width, height, width=width * share, height=height * share)
    share, across, down = _CORNERS[window]
    left = round(across * width * (1 - share))
    top = round(down * height * (1 - share))
    return Box(
        left,
        top,
        max(left + 1, round(left + width * share)),
        max(top + 1, round(top + height * share)),
    )


def _centred(outer_width: int, outer_height: int, *, width: float, height: float) -> Box:
    """A window of `width` x `height` (at least a pixel each way) centred in the picture."""
    left = round((outer_width - width) / 2)
    top = round((outer_height - height) / 2)
    return Box(
        left,
        top,
        max(left + 1, round((outer_width + width) / 2)),
        max(top + 1, round((outer_height + height) / 2)),
    )


def _reduced(picture: Image.Image) -> Image.Image:
    factor = min(picture.size) // WINDOW_MIN_SIDE
    return picture.reduce(factor) if factor >= 2 else picture


def _hash(picture: Image.Image, window: Window) -> WindowHash:
    return WindowHash(
        window=window,
        phash=_as_int(perceptual_hash.phash(picture)),
        dhash=_as_int(imagehash.dhash(picture)),
    )


def _as_int(image_hash: imagehash.ImageHash) -> int:
    """The hash's bits as the integer its hex string spells (`str(image_hash)`), read faster."""
    return int.from_bytes(np.packbits(image_hash.hash.flatten()).tobytes(), "big")


def _require_luma(luma: Image.Image) -> None:
    if luma.mode != "L":
        raise ValueError(f"window hashes are taken of 8-bit luminance, not of mode {luma.mode}")
