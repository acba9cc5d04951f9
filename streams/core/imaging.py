"""What a proof records about an image: exact and perceptual hashes of untrusted bytes.

The bytes are hostile until proven otherwise: they are size-checked, their declared dimensions
are checked before any pixel is decoded, and they are decoded once, by an allow-listed decoder.
The hashing policy (orientation, transparency, 16-bit data, JPEG draft mode) is described in
docs/hashing.md.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

import cv2
import imagehash
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.JpegImagePlugin import JpegImageFile
from PIL.WebPImagePlugin import WebPImageFile

from streams.core import perceptual_hash
from streams.core.errors import ImageRejected, ImageTooLarge
from streams.core.jpeg_structure import JpegStructure, MalformedJpeg, read_jpeg_structure

__all__ = [
    "ACCEPTED_FORMATS",
    "DECODE_BYTES_PER_PIXEL",
    "HASH_MIN_SIDE",
    "JPEG_COEFFICIENT_BYTES",
    "JPEG_DRAFT_MIN_SIDE",
    "MAX_JPEG_SCANS",
    "STILL_WEBP_DECODE_BYTES_PER_PIXEL",
    "ImageFacts",
    "decode_cost",
    "decoded_picture",
    "hamming_distance",
    "hashing_luma",
    "inspect_image",
    "inspect_image_luma",
]

# Formats whose decoders are worth exposing to untrusted input. Everything else Pillow can read
# (EPS hands the bytes to Ghostscript, for one) is refused before a decoder sees the data.
ACCEPTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "AVIF")

# JPEGs are decoded at a libjpeg scale (1/2, 1/4 or 1/8) that keeps the shortest side at least
# this many pixels: 8x the 32x32 pHash input. bench/draft_mode.py measures what it costs.
JPEG_DRAFT_MIN_SIDE = 256

# Every picture is hashed from its luminance box-reduced by the largest integer factor that keeps
# the shortest side at least this many pixels (a JPEG decoded in draft mode is already there):
# the hashes' own Lanczos downscales then run over a few hundred pixels a side, not thousands.
# bench/hash_reduce.py measures what it costs.
HASH_MIN_SIDE = 256

# What decoding a picture and reducing it to luminance holds at its peak, in bytes per pixel of
# the decoded size (a JPEG's after draft scaling). JPEG, PNG and WebP are measured by
# bench/decode_memory.py (a WebP that is not a still one goes through Pillow and libwebp's
# animation decoder: canvas, previous frame and picture), with room for alpha and colour
# conversions; the others are set high.
DECODE_BYTES_PER_PIXEL: dict[str, int] = {
    "JPEG": 3,
    "PNG": 10,
    "GIF": 4,
    "BMP": 10,
    "TIFF": 16,
    "WEBP": 18,
    "AVIF": 18,
}

# An opaque still WebP in the simple file format (one VP8 or VP8L bitstream, no extended header:
# so no alpha, animation, EXIF or ICC profile), the form encoders and CDNs write, is decoded by
# libwebp straight into one BGR array and reduced to luminance band by band with Pillow's own
# integer formula (the same luminance, bit for bit, as decoding it through Pillow):
# bench/decode_memory.py measures 6.3 to 7.4 bytes per pixel at its peak (3 of them the BGR).
STILL_WEBP_DECODE_BYTES_PER_PIXEL = 7
_SIMPLE_WEBP_CHUNKS = (b"VP8 ", b"VP8L")
# Rows of BGR widened to 32 bits at a time while reducing to luminance: a few MB at most.
_LUMA_BAND_ROWS = 64
# Pillow's ITU-R 601-2 luma in 16-bit fixed point (`L = R*299/1000 + G*587/1000 + B*114/1000`):
# the weights of B, G and R, and the rounding half.
_LUMA_WEIGHTS_BGR = (np.uint32(7471), np.uint32(38470), np.uint32(19595))
_LUMA_ROUNDING = np.uint32(0x8000)

# A progressive or multi-scan JPEG makes libjpeg keep every DCT coefficient of the full image
# (16 bits each, one per pixel and component before subsampling) whatever the draft scale.
JPEG_COEFFICIENT_BYTES = 2

# Each scan is another pass of the decoder over the whole image; libjpeg's progressive
# encodings use about ten. docs/hashing.md gives the measured cost of many more.
MAX_JPEG_SCANS = 100

# Transparent pixels are hashed as if laid over white, which is what most CDNs do when they
# flatten an image into a format without alpha.
_ALPHA_BACKGROUND = 255

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})

# What Pillow raises on bytes it cannot decode (the set its own fuzzing harness expects).
_DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    NotImplementedError,
    struct.error,
    IndexError,
    KeyError,
)

# `warnings.catch_warnings` swaps process-wide state and is not thread-safe, so the scope where
# Pillow's bomb warning is promoted to an error is kept to the header read and serialised.
_HEADER_READ_LOCK = threading.Lock()

_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """The facts about one image that a proof records.

    `width` and `height` are the dimensions the file declares (before EXIF orientation), not
    those of any reduced decode. `format` is Pillow's format name (`JPEG`, `PNG`, `WEBP`, ...).
    """

    sha256: str
    phash: str
    dhash: str
    width: int
    height: int
    format: str
    byte_size: int

    def to_dict(self) -> dict[str, str | int]:
        """The facts as a JSON object, field name to value (the `image` of a proof)."""
        return {
            "sha256": self.sha256,
            "phash": self.phash,
            "dhash": self.dhash,
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "byte_size": self.byte_size,
        }


def inspect_image(
    data: bytes,
    *,
    max_bytes: int,
    max_pixels: int,
    jpeg_draft_min_side: int | None = JPEG_DRAFT_MIN_SIDE,
    hash_min_side: int | None = HASH_MIN_SIDE,
    reserve: Callable[[int], AbstractContextManager[object]] | None = None,
) -> ImageFacts:
    """Hash `data` and read its dimensions, refusing anything hostile or unsupported.

    Raises `ImageTooLarge` when the bytes exceed `max_bytes` or the declared pixel count exceeds
    `max_pixels` (or Pillow's own decompression-bomb limit), and `ImageRejected` when the bytes
    are not a decodable image of an accepted format. `jpeg_draft_min_side=None` decodes JPEGs at
    full size and `hash_min_side=None` hashes the luminance at its decoded size; they exist for
    measurement, the defaults are the policy. With `reserve`, the decode runs inside
    `reserve(decode_cost(...))`, for example `MemoryBudget.reserve`.
    """
    facts, _ = inspect_image_luma(
        data,
        max_bytes=max_bytes,
        max_pixels=max_pixels,
        jpeg_draft_min_side=jpeg_draft_min_side,
        hash_min_side=hash_min_side,
        reserve=reserve,
    )
    return facts


def inspect_image_luma(
    data: bytes,
    *,
    max_bytes: int,
    max_pixels: int,
    jpeg_draft_min_side: int | None = JPEG_DRAFT_MIN_SIDE,
    hash_min_side: int | None = HASH_MIN_SIDE,
    reserve: Callable[[int], AbstractContextManager[object]] | None = None,
) -> tuple[ImageFacts, Image.Image]:
    """`inspect_image`'s facts, and the 8-bit luminance it hashed (decoded within the bounds,
    oriented, reduced): what window hashes and local features are taken of."""
    image, jpeg = _bounded_header(data, max_bytes, max_pixels)
    try:
        width, height = image.size
        image_format = str(image.format)
        if jpeg_draft_min_side is not None and isinstance(image, JpegImageFile):
            image.draft("L", (jpeg_draft_min_side, jpeg_draft_min_side))
        still_webp = _is_still_webp(image, data)
        cost = (
            width * height * STILL_WEBP_DECODE_BYTES_PER_PIXEL
            if still_webp
            else _holding_cost(image, jpeg)
        )
    except BaseException:
        image.close()
        raise
    with reserve(cost) if reserve is not None else nullcontext():
        with image:
            luma = (
                _still_webp_luma(data, image.size)
                if still_webp
                else _decode_luma(image, image_format)
            )
        # Hashed after the decoded picture is closed: only the reduced luminance stays.
        if hash_min_side is not None:
            luma = _reduced(luma, hash_min_side)
    phash, dhash = str(perceptual_hash.phash(luma)), str(imagehash.dhash(luma))

    facts = ImageFacts(
        sha256=hashlib.sha256(data).hexdigest(),
        phash=phash,
        dhash=dhash,
        width=width,
        height=height,
        format=image_format,
        byte_size=len(data),
    )
    return facts, luma


@contextmanager
def decoded_picture(
    data: bytes,
    *,
    max_bytes: int,
    max_pixels: int,
    reserve: Callable[[int], AbstractContextManager[object]] | None = None,
) -> Iterator[Image.Image]:
    """`data` decoded at full size, for work that needs every pixel (a C2PA fingerprint): its
    first frame as stored, EXIF orientation not applied, open for the block.

    Bounded and refused as `inspect_image` bounds and refuses bytes. With `reserve`, the block
    runs inside `reserve` of the decode's cost; copies the block makes are its own to budget.
    """
    image, jpeg = _bounded_header(data, max_bytes, max_pixels)
    with image, reserve(_holding_cost(image, jpeg)) if reserve is not None else nullcontext():
        with _decoding(str(image.format)):
            image.load()
        yield image


def decode_cost(width: int, height: int, image_format: str) -> int:
    """Bytes that decoding a `width` x `height` picture of `image_format` holds at its peak."""
    return (
        width
        * height
        * DECODE_BYTES_PER_PIXEL.get(image_format, max(DECODE_BYTES_PER_PIXEL.values()))
    )


def hamming_distance(hex_a: str, hex_b: str) -> int:
    """The number of differing bits between two hashes written as hex of equal length."""
    if len(hex_a) != len(hex_b):
        raise ValueError(f"hashes differ in length: {len(hex_a)} vs {len(hex_b)} hex digits")
    if not (_HEX.fullmatch(hex_a.lower()) and _HEX.fullmatch(hex_b.lower())):
        raise ValueError("hashes must be non-empty hexadecimal strings")
    return (int(hex_a, 16) ^ int(hex_b, 16)).bit_count()


def hashing_luma(image: Image.Image, min_side: int = HASH_MIN_SIDE) -> Image.Image:
    """The luminance `inspect_image` hashes, of a picture already decoded and oriented.

    For pictures that are not untrusted bytes (a benchmark's corpus, a test's): the same 8-bit
    reduction and box-reduction, without the bounds and the decode.
    """
    return _reduced(_to_luma(image), min_side)


def _bounded_header(
    data: bytes, max_bytes: int, max_pixels: int
) -> tuple[Image.Image, JpegStructure | None]:
    """The parsed header of `data` (a JPEG's structure too), refused when it breaks a bound."""
    if len(data) > max_bytes:
        raise ImageTooLarge(f"image is {len(data)} bytes, above the limit of {max_bytes} bytes")
    if not data:
        raise ImageRejected("image is empty (0 bytes)")
    image = _open_header(data)
    try:
        width, height = image.size
        if width * height > max_pixels:
            raise ImageTooLarge(
                f"image declares {width}x{height} = {width * height} pixels, "
                f"above the limit of {max_pixels} pixels"
            )
        jpeg = _jpeg_structure(data) if isinstance(image, JpegImageFile) else None
    except BaseException:
        image.close()
        raise
    return image, jpeg


def _holding_cost(image: Image.Image, jpeg: JpegStructure | None) -> int:
    """What decoding `image` at its current (draft) size holds, with a JPEG's coefficients."""
    cost = decode_cost(image.size[0], image.size[1], str(image.format))
    if jpeg is not None and jpeg.buffers_coefficients:
        cost += jpeg.width * jpeg.height * jpeg.components * JPEG_COEFFICIENT_BYTES
    return cost


def _open_header(data: bytes) -> Image.Image:
    """Identify the format and parse the header; no pixel data is decoded yet."""
    try:
        with _HEADER_READ_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"image dimensions exceed the decompression-bomb limit: {exc}") from exc
    except UnidentifiedImageError:
        raise ImageRejected(
            f"not an image of an accepted format ({', '.join(ACCEPTED_FORMATS)})"
        ) from None
    except _DECODE_ERRORS as exc:
        raise ImageRejected(f"unreadable image header: {exc}") from exc


def _jpeg_structure(data: bytes) -> JpegStructure:
    """The JPEG's frame and scans, refusing more scans than a decode should ever pass over."""
    try:
        structure = read_jpeg_structure(data)
    except MalformedJpeg as exc:
        raise ImageRejected(f"malformed JPEG: {exc}") from exc
    if structure.scans > MAX_JPEG_SCANS:
        raise ImageRejected(
            f"JPEG has {structure.scans} scans, above the limit of {MAX_JPEG_SCANS} scans"
        )
    return structure


def _is_still_webp(image: Image.Image, data: bytes) -> bool:
    """Whether `image` is an opaque still WebP in the simple file format."""
    return (
        isinstance(image, WebPImageFile)
        and image.mode == "RGB"
        and not image.is_animated
        and data[12:16] in _SIMPLE_WEBP_CHUNKS
    )


def _still_webp_luma(data: bytes, size: tuple[int, int]) -> Image.Image:
    """The 8-bit luminance of a still WebP of `size`, decoded by libwebp into BGR."""
    bgr = cv2.imdecode(
        np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    )
    if bgr is None or bgr.shape != (size[1], size[0], 3):
        raise ImageRejected("WEBP image cannot be decoded")
    luma = np.empty(bgr.shape[:2], dtype=np.uint8)
    blue, green, red = _LUMA_WEIGHTS_BGR
    for top in range(0, bgr.shape[0], _LUMA_BAND_ROWS):
        band = bgr[top : top + _LUMA_BAND_ROWS]
        total = np.multiply(band[..., 0], blue, dtype=np.uint32)
        total += np.multiply(band[..., 1], green, dtype=np.uint32)
        total += np.multiply(band[..., 2], red, dtype=np.uint32)
        total += _LUMA_ROUNDING
        total >>= 16
        luma[top : top + _LUMA_BAND_ROWS] = total
    return Image.fromarray(luma)


def _decode_luma(image: Image.Image, image_format: str) -> Image.Image:
    """Decode the first frame, apply EXIF orientation and reduce it to 8-bit luminance."""
    with _decoding(image_format):
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        return _to_luma(image)


@contextmanager
def _decoding(image_format: str) -> Iterator[None]:
    """Pillow's errors while decoding, as the image's rejection."""
    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"image dimensions exceed the decompression-bomb limit: {exc}") from exc
    except _DECODE_ERRORS as exc:
        raise ImageRejected(f"{image_format} image cannot be decoded: {exc}") from exc


def _reduced(luma: Image.Image, min_side: int) -> Image.Image:
    """`luma` box-reduced by the largest integer factor keeping its shortest side >= `min_side`."""
    factor = min(luma.size) // min_side
    return luma.reduce(factor) if factor >= 2 else luma


def _to_luma(image: Image.Image) -> Image.Image:
    if image.mode in _SIXTEEN_BIT_MODES:
        # Pillow's own conversion clips 16-bit values at 255; keep the high byte instead, as a
        # re-encode to 8 bits would.
        samples = np.clip(np.asarray(image), 0, 0xFFFF)
        return Image.fromarray((samples >> 8).astype(np.uint8))
    if image.has_transparency_data:
        luma, alpha = image.convert("LA").split()
        background = Image.new("L", image.size, _ALPHA_BACKGROUND)
        return Image.composite(luma, background, alpha)
    try:
        return image.convert("L")
    except ValueError:
        raise ImageRejected(f"unsupported pixel mode {image.mode}") from None
