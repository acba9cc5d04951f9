"""The image fingerprint of a Content Credential's soft binding: an ISCC Content-Code Image.

A fingerprint survives what CDNs do to an image (resizing, re-encoding, stripping metadata), so
it finds a credential again for a copy that lost it. `io.iscc.v0` is the algorithm's name on the
C2PA soft-binding algorithm list; docs/content-credentials.md gives the encoding and distances.
"""

from __future__ import annotations

import iscc_core
from PIL import Image, ImageChops, ImageOps

__all__ = ["ISCC_ALGORITHM", "fingerprint_distance", "iscc_fingerprint"]

#: The soft-binding algorithm (C2PA soft-binding algorithm list): ISO 24138 ISCC image code.
ISCC_ALGORITHM = "io.iscc.v0"

_ISCC_BITS = 256
_ISCC_SIDE = 32
_WHITE = (255, 255, 255)


def iscc_fingerprint(image: Image.Image) -> bytes:
    """The `io.iscc.v0` soft-binding value of a decoded picture: its 256-bit ISCC Content-Code
    Image as an ISCC-SEQ (IEP-0020).

    The picture is normalised as iscc-sdk does (EXIF orientation, transparency over white, a
    uniform border trimmed, luminance, 32x32 bicubic), so other ISCC tools compute the same
    code. It works on copies of at most the picture's size in RGB; `image` is not changed.
    """
    picture = _over_white(ImageOps.exif_transpose(image))
    picture = _without_uniform_border(picture)
    small = picture.convert("L").resize((_ISCC_SIDE, _ISCC_SIDE), Image.Resampling.BICUBIC)
    code = iscc_core.gen_image_code_v0(list(small.tobytes()), bits=_ISCC_BITS)["iscc"]
    return bytes(iscc_core.encode_seq([code]))


def fingerprint_distance(a: bytes, b: bytes) -> int:
    """The Hamming distance in bits between the bodies of two fingerprints of one ISCC unit each.

    Raises `ValueError` when either is no ISCC-SEQ of a single unit, or their units differ in
    type or length. Resizing and re-encoding move an image's code by a few bits of 256; a crop,
    or an unrelated image, by dozens to about half of them.
    """
    unit_a, unit_b = _single_unit(a), _single_unit(b)
    if unit_a[:-1] != unit_b[:-1]:
        raise ValueError("fingerprints of different ISCC unit types or lengths")
    return (int.from_bytes(unit_a[-1], "big") ^ int.from_bytes(unit_b[-1], "big")).bit_count()


def _single_unit(fingerprint: bytes) -> tuple[int, int, int, int, bytes]:
    units = iscc_core.decode_seq(fingerprint)
    if len(units) != 1:
        raise ValueError(f"a fingerprint holds one ISCC unit, this one {len(units)}")
    main_type, sub_type, version, length, body = iscc_core.iscc_decode(units[0])
    return int(main_type), int(sub_type), int(version), int(length), bytes(body)


def _over_white(picture: Image.Image) -> Image.Image:
    if not picture.has_transparency_data:
        return picture if picture.mode in ("L", "RGB") else picture.convert("RGB")
    background = Image.new("RGBA", picture.size, _WHITE)
    return Image.alpha_composite(background, picture.convert("RGBA")).convert("RGB")


def _without_uniform_border(picture: Image.Image) -> Image.Image:
    """`picture` cropped to what differs from its top-left pixel, if that leaves anything."""
    background = Image.new(picture.mode, picture.size, picture.getpixel((0, 0)))
    box = ImageChops.difference(picture, background).getbbox()
    return picture.crop(box) if box and box != (0, 0, *picture.size) else picture
