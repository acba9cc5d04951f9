"""The pHash of a picture, bit for bit as `imagehash.phash` computes it, without SciPy.

imagehash takes its 32x32 DCT-II from `scipy.fftpack`, which would load SciPy into the worker
for one transform. Both SciPy and numpy run pocketfft, so the DCT here is pocketfft's own
algorithm around `numpy.fft.irfft`, with its twiddle factors and its order of operations: every
coefficient is the same double, and a coefficient at the median (a flat or evenly graded
picture has many that are exactly 0) is compared as imagehash compares it. A plain DCT matrix
product leaves such zeros as signed rounding noise and flips their bits. The measured
equivalence is in docs/hashing.md.
"""

from __future__ import annotations

import math

import imagehash
import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = ["phash"]

_HASH_SIDE = 8
# imagehash's `highfreq_factor` of 4: the DCT runs over a 32x32 picture.
_DCT_SIDE = 4 * _HASH_SIDE

_FloatArray = npt.NDArray[np.float64]


def phash(picture: Image.Image) -> imagehash.ImageHash:
    """The 64-bit pHash of `picture`, equal to `imagehash.phash(picture)`.

    Its luminance at 32x32 (Lanczos), the DCT-II of the columns then of the rows, and one bit
    per coefficient of the 8x8 lowest frequencies: set when it is above their median.
    """
    small = picture.convert("L").resize((_DCT_SIDE, _DCT_SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(small, dtype=np.float64)
    # Each 1-D transform is independent, so only the coefficients kept are carried on.
    lowest = _lowest_dct_ii(_lowest_dct_ii(pixels.T).T)
    return imagehash.ImageHash(lowest > np.median(lowest))


def _cosines() -> _FloatArray:
    """cos(2 pi m / 128) for m = 1 .. 32 as pocketfft tabulates them (`sincos_2pibyn(128)`).

    pocketfft multiplies a fine angle (m mod 16 steps of pi/64) by a coarse one (m div 16
    steps of pi/4), which can round differently from `math.cos` of the whole angle.
    """
    step = math.pi / 64
    fine = [(math.cos(i * step), math.sin(i * step)) for i in range(16)]
    eighth = math.pi / 4
    coarse = [(1.0, 0.0), (math.sin(eighth), math.cos(eighth)), (-0.0, 1.0)]
    values = []
    for m in range(1, _DCT_SIDE + 1):
        (fine_cos, fine_sin), (coarse_cos, coarse_sin) = fine[m % 16], coarse[m // 16]
        values.append(fine_cos * coarse_cos - fine_sin * coarse_sin)
    return np.array(values)


_TWIDDLES = _cosines()
# The twiddles pocketfft pairs with the outputs k = 1 .. 7 and 32 - k.
_LOW_TWIDDLES = _TWIDDLES[: _HASH_SIDE - 1]
_HIGH_TWIDDLES = _TWIDDLES[_DCT_SIDE - 2 : _DCT_SIDE - _HASH_SIDE - 1 : -1]


def _lowest_dct_ii(rows: _FloatArray) -> _FloatArray:
    """The first 8 coefficients of the unnormalised DCT-II of each row of 32 values
    (`scipy.fftpack.dct`'s default), computed as pocketfft's `T_dcst23` does: the inputs paired
    up into a half-complex spectrum, an inverse real FFT, the outputs rotated back in pairs."""
    spectrum = np.zeros((rows.shape[0], _DCT_SIDE + 2))
    spectrum[:, 0] = 2 * rows[:, 0]
    spectrum[:, 2:-2:2] = rows[:, 1:-1:2] + rows[:, 2:-1:2]
    spectrum[:, 3:-2:2] = rows[:, 2:-1:2] - rows[:, 1:-1:2]
    spectrum[:, -2] = 2 * rows[:, -1]
    mixed = np.fft.irfft(spectrum.view(np.complex128), n=_DCT_SIDE, norm="forward")
    low = mixed[:, 1:_HASH_SIDE]
    high = mixed[:, _DCT_SIDE - 1 : _DCT_SIDE - _HASH_SIDE : -1]
    sum_part = _LOW_TWIDDLES * high + _HIGH_TWIDDLES * low
    difference_part = _LOW_TWIDDLES * low - _HIGH_TWIDDLES * high
    lowest = np.empty((rows.shape[0], _HASH_SIDE))
    lowest[:, 0] = mixed[:, 0]
    lowest[:, 1:] = 0.5 * (sum_part + difference_part)
    return lowest
