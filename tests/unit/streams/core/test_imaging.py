"""Specification of `streams.core.imaging`: what is hashed, and what is refused before decoding."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageDraw

from streams.core import perceptual_hash
from streams.core.errors import ImageRejected, ImageTooLarge, InputRejected
from streams.core.imaging import (
    DECODE_BYTES_PER_PIXEL,
    JPEG_COEFFICIENT_BYTES,
    MAX_JPEG_SCANS,
    STILL_WEBP_DECODE_BYTES_PER_PIXEL,
    ImageFacts,
    decode_cost,
    decoded_picture,
    hamming_distance,
    inspect_image,
    inspect_image_luma,
)
from streams.core.jpeg_structure import read_jpeg_structure
from streams.core.memory_budget import MemoryBudget
from tests.support.images import (
    encode,
    gif_declaring,
    photo,
    png_declaring,
    progressive_jpeg,
    tiff_declaring,
    webp_declaring,
    with_repeated_scans,
)

LIMITS = {"max_bytes": 64 * 1024 * 1024, "max_pixels": 40_000_000}

# Bits out of 64 within which two hashes are taken to show the same picture. Copies in these
# tests stay within 2; unrelated pictures differ by 20 or more (docs/hashing.md).
SAME_PICTURE = 8


def png16(samples: np.ndarray[Any, np.dtype[np.uint16]], colour_type: int) -> bytes:
    """A PNG of 16-bit `samples` (height x width x channels), which Pillow cannot write."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    height, width = samples.shape[:2]
    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in samples)
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def inspect(data: bytes, **overrides: Any) -> ImageFacts:
    return inspect_image(data, **{**LIMITS, **overrides})


def distances(a: ImageFacts, b: ImageFacts) -> tuple[int, int]:
    return hamming_distance(a.phash, b.phash), hamming_distance(a.dhash, b.dhash)


@pytest.fixture(scope="module")
def original() -> Image.Image:
    return photo(640, 480, seed=1)


@pytest.fixture(scope="module")
def original_facts(original: Image.Image) -> ImageFacts:
    return inspect(encode(original, "PNG"))


def test_facts_describe_the_exact_bytes(original: Image.Image) -> None:
    data = encode(original, "PNG")

    facts = inspect(data)

    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    assert facts.byte_size == len(data)
    assert (facts.width, facts.height, facts.format) == (640, 480, "PNG")
    assert re.fullmatch("[0-9a-f]{16}", facts.phash)
    assert re.fullmatch("[0-9a-f]{16}", facts.dhash)


def test_same_bytes_always_give_the_same_facts(original: Image.Image) -> None:
    data = encode(original, "JPEG", quality=85)

    assert inspect(data) == inspect(data)


@pytest.mark.parametrize(
    ("image_format", "params"),
    [
        ("JPEG", {"quality": 90}),
        ("PNG", {}),
        ("WEBP", {"quality": 90}),
        ("GIF", {}),
        ("TIFF", {}),
        ("BMP", {}),
        ("AVIF", {"quality": 90}),
    ],
)
def test_each_accepted_format_hashes_like_the_original_picture(
    original: Image.Image,
    original_facts: ImageFacts,
    image_format: str,
    params: dict[str, Any],
) -> None:
    facts = inspect(encode(original, image_format, **params))

    assert facts.format == image_format
    assert (facts.width, facts.height) == (640, 480)
    assert max(distances(facts, original_facts)) <= SAME_PICTURE


@pytest.mark.parametrize("image_format", ["PNG", "TIFF", "BMP"])
def test_lossless_formats_give_identical_perceptual_hashes(
    original: Image.Image, original_facts: ImageFacts, image_format: str
) -> None:
    facts = inspect(encode(original, image_format))

    assert distances(facts, original_facts) == (0, 0)


@pytest.mark.parametrize("image_format", ["GIF", "TIFF", "WEBP"])
def test_multi_frame_image_is_hashed_by_its_first_frame(image_format: str) -> None:
    first, second = photo(320, 240, seed=2), photo(320, 240, seed=3)
    lossless = {"lossless": True} if image_format == "WEBP" else {}
    animation = encode(first, image_format, save_all=True, append_images=[second], **lossless)

    facts = inspect(animation)

    assert distances(facts, inspect(encode(first, image_format, **lossless))) == (0, 0)
    assert min(distances(facts, inspect(encode(second, image_format, **lossless)))) > SAME_PICTURE


def test_only_the_first_frame_is_decoded_so_a_huge_later_page_is_not_refused() -> None:
    first = photo(64, 48, seed=2)
    pages = encode(first, "TIFF", save_all=True, append_images=[Image.new("L", (3000, 3000))])

    facts = inspect(pages, max_pixels=1_000_000)

    assert (facts.width, facts.height) == (64, 48)
    assert distances(facts, inspect(encode(first, "TIFF"))) == (0, 0)


def test_an_animation_of_many_frames_costs_one_frame() -> None:
    first = photo(64, 64, seed=2)
    frames = [Image.new("P", (64, 64), shade) for shade in range(250)]
    animation = encode(first, "GIF", save_all=True, append_images=frames)

    started = time.perf_counter()
    facts = inspect(animation)
    elapsed = time.perf_counter() - started

    assert distances(facts, inspect(encode(first, "GIF"))) == (0, 0)
    assert elapsed < 0.5


@pytest.mark.parametrize("image_format", ["JPEG", "TIFF"])
def test_cmyk_image_hashes_like_its_rgb_original(
    original: Image.Image, original_facts: ImageFacts, image_format: str
) -> None:
    facts = inspect(encode(original.convert("CMYK"), image_format))

    assert max(distances(facts, original_facts)) <= SAME_PICTURE


@pytest.mark.parametrize("image_format", ["PNG", "TIFF"])
def test_sixteen_bit_grayscale_is_scaled_to_eight_bits_not_clipped(
    original: Image.Image, image_format: str
) -> None:
    gray = original.convert("L")
    wide = Image.fromarray(np.asarray(gray, dtype=np.uint16) * 257)
    assert wide.mode == "I;16"

    facts = inspect(encode(wide, image_format))

    assert distances(facts, inspect(encode(gray, "PNG"))) == (0, 0)


@pytest.mark.parametrize(("colour_type", "mode"), [(2, "RGB"), (6, "RGBA"), (4, "LA")])
def test_sixteen_bit_colour_png_is_hashed_by_the_high_byte_of_each_sample(
    original: Image.Image, colour_type: int, mode: str
) -> None:
    eight = np.asarray(original.convert(mode)).astype(np.uint16)
    if mode != "RGB":
        eight[..., -1] = np.where(np.arange(eight.shape[1]) < eight.shape[1] // 2, 255, 90)
    sixteen = eight * 256 + 0x5A  # a low byte that a high-byte reading ignores

    facts = inspect(png16(sixteen, colour_type))

    assert (facts.width, facts.height, facts.format) == (640, 480, "PNG")
    high_byte = Image.fromarray(eight.astype(np.uint8), mode)
    assert distances(facts, inspect(encode(high_byte, "PNG"))) == (0, 0)


def test_palette_image_hashes_like_its_rgb_original(
    original: Image.Image, original_facts: ImageFacts
) -> None:
    facts = inspect(encode(original.quantize(colors=64), "PNG"))

    assert max(distances(facts, original_facts)) <= SAME_PICTURE


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparent_pixels_are_hashed_as_if_over_white(original: Image.Image, mode: str) -> None:
    picture = original.convert(mode[:-1])
    alpha = Image.new("L", original.size, 255)
    ImageDraw.Draw(alpha).ellipse((100, 80, 500, 400), fill=0)
    transparent = picture.copy()
    transparent.putalpha(alpha)  # the colour values under the hole stay, as in real files
    flattened = Image.composite(picture, Image.new(picture.mode, picture.size, "white"), alpha)

    facts = inspect(encode(transparent, "PNG"))

    assert distances(facts, inspect(encode(flattened, "PNG"))) == (0, 0)
    assert min(distances(facts, inspect(encode(picture, "PNG")))) > 0


def test_palette_transparency_is_hashed_as_if_over_white(original: Image.Image) -> None:
    palette = original.quantize(colors=64)
    opaque = Image.fromarray((np.asarray(palette) != 0).astype(np.uint8) * 255)
    flattened = Image.composite(
        palette.convert("RGB"), Image.new("RGB", palette.size, "white"), opaque
    )

    facts = inspect(encode(palette, "PNG", transparency=0))

    assert distances(facts, inspect(encode(flattened, "PNG"))) == (0, 0)


def test_exif_orientation_is_applied_before_hashing(original: Image.Image) -> None:
    # Orientation 6 means "rotate 90 degrees clockwise to display"; store the pixels turned
    # the other way so that the displayed picture is the original.
    stored = original.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6

    facts = inspect(encode(stored, "JPEG", quality=95, exif=exif))

    assert (facts.width, facts.height) == (480, 640)
    assert max(distances(facts, inspect(encode(original, "JPEG", quality=95)))) <= 2


def test_resized_and_reencoded_copy_stays_within_hamming_threshold(
    original_facts: ImageFacts,
) -> None:
    picture = photo(1200, 900, seed=1)
    cdn_copies = [
        encode(picture.resize((600, 450), Image.Resampling.LANCZOS), "JPEG", quality=75),
        encode(picture.resize((300, 225), Image.Resampling.BILINEAR), "JPEG", quality=60),
        encode(picture.resize((400, 300), Image.Resampling.BICUBIC), "WEBP", quality=70),
    ]
    source = inspect(encode(picture, "PNG"))

    for copy in cdn_copies:
        assert max(distances(inspect(copy), source)) <= SAME_PICTURE
    unrelated = inspect(encode(photo(1200, 900, seed=99), "PNG"))
    assert min(distances(unrelated, source)) > SAME_PICTURE


@pytest.mark.parametrize(
    ("width", "height", "seed"), [(1600, 1200, 4), (2000, 900, 5), (900, 1400, 6), (3000, 2000, 7)]
)
def test_jpeg_draft_decode_keeps_hashes_within_a_few_bits_of_full_decode(
    width: int, height: int, seed: int
) -> None:
    data = encode(photo(width, height, seed), "JPEG", quality=85)

    drafted, full = inspect(data), inspect(data, jpeg_draft_min_side=None)

    assert (drafted.width, drafted.height) == (full.width, full.height) == (width, height)
    phash_distance, dhash_distance = distances(drafted, full)
    assert phash_distance <= 2
    assert dhash_distance <= 6


@pytest.mark.parametrize(
    ("image_format", "width", "height", "hashed_side"),
    [
        ("PNG", 2000, 1500, 300),  # reduced by 5
        ("WEBP", 3000, 2000, 286),  # by 7; the last, partial box counts too
        ("PNG", 511, 400, 400),  # no integer factor keeps 256: as decoded
        ("JPEG", 4000, 3000, 375),  # draft decode at 1/8; nothing left to reduce
    ],
)
def test_the_hashes_see_the_luminance_reduced_to_a_shortest_side_of_at_least_256_pixels(
    monkeypatch: pytest.MonkeyPatch, image_format: str, width: int, height: int, hashed_side: int
) -> None:
    seen: list[tuple[int, int]] = []

    def spying(real: Callable[[Image.Image], Any]) -> Callable[[Image.Image], Any]:
        def hash_function(image: Image.Image) -> Any:
            seen.append(image.size)
            return real(image)

        return hash_function

    monkeypatch.setattr(perceptual_hash, "phash", spying(perceptual_hash.phash))
    monkeypatch.setattr(imagehash, "dhash", spying(imagehash.dhash))

    facts = inspect(encode(photo(width, height, seed=3), image_format))

    assert (facts.width, facts.height) == (width, height)
    assert len(seen) == 2
    assert all(min(size) == hashed_side for size in seen)


@pytest.mark.parametrize(
    ("image_format", "width", "height", "seed"),
    [
        ("PNG", 2000, 1500, 4),
        ("WEBP", 1200, 1800, 5),
        ("WEBP", 3000, 2000, 6),
        ("PNG", 900, 900, 7),
    ],
)
def test_hashing_the_reduced_luminance_keeps_hashes_within_a_few_bits_of_full_size(
    image_format: str, width: int, height: int, seed: int
) -> None:
    data = encode(photo(width, height, seed), image_format)

    reduced, full = inspect(data), inspect(data, hash_min_side=None)

    phash_distance, dhash_distance = distances(reduced, full)
    assert phash_distance <= 2
    assert dhash_distance <= 6


@pytest.mark.parametrize(
    ("image_format", "width", "height", "decoded"),
    [
        ("PNG", 1200, 900, (1200, 900)),
        ("JPEG", 4000, 3000, (500, 375)),
    ],
)
def test_the_decode_reserves_its_estimated_cost_at_the_decoded_size(
    image_format: str, width: int, height: int, decoded: tuple[int, int]
) -> None:
    reserved: list[int] = []

    @contextmanager
    def reserve(amount: int) -> Iterator[None]:
        reserved.append(amount)
        yield

    inspect(encode(photo(width, height, seed=8), image_format), reserve=reserve)

    assert reserved == [decode_cost(*decoded, image_format)]
    assert reserved[0] == decoded[0] * decoded[1] * DECODE_BYTES_PER_PIXEL[image_format]


def full_size_luma(data: bytes) -> Image.Image:
    """The luminance `inspect_image` hashes, at its decoded size."""
    _, luma = inspect_image_luma(
        data, max_bytes=LIMITS["max_bytes"], max_pixels=LIMITS["max_pixels"], hash_min_side=None
    )
    return luma


def still_webps() -> dict[str, bytes]:
    picture = photo(333, 250, seed=9)
    return {
        "lossy q50": encode(picture, "WEBP", quality=50),
        "lossy q90": encode(picture, "WEBP", quality=90),
        "lossless": encode(picture, "WEBP", lossless=True),
    }


@pytest.mark.parametrize("kind", ["lossy q50", "lossy q90", "lossless"])
def test_a_still_webp_gives_the_luminance_pillow_decodes_bit_for_bit(kind: str) -> None:
    data = still_webps()[kind]
    # The simple file format: one bitstream, no extended header.
    assert data[12:16] in (b"VP8 ", b"VP8L")

    luma = full_size_luma(data)

    with Image.open(io.BytesIO(data)) as through_pillow:
        expected = np.asarray(through_pillow.convert("L"))
    assert np.array_equal(np.asarray(luma), expected)


def test_a_still_webp_reserves_its_bgr_and_luminance_and_an_extended_one_pillows_decode() -> None:
    picture = photo(800, 600, seed=8)
    exif = Image.Exif()
    exif[0x010F] = "Example Optics"
    reserved: list[int] = []

    @contextmanager
    def reserve(amount: int) -> Iterator[None]:
        reserved.append(amount)
        yield

    inspect(encode(picture, "WEBP"), reserve=reserve)
    inspect(encode(picture, "WEBP", exif=exif.tobytes()), reserve=reserve)

    assert reserved == [
        800 * 600 * STILL_WEBP_DECODE_BYTES_PER_PIXEL,
        decode_cost(800, 600, "WEBP"),
    ]
    assert DECODE_BYTES_PER_PIXEL["WEBP"] > STILL_WEBP_DECODE_BYTES_PER_PIXEL


def test_an_oriented_webp_is_still_decoded_upright() -> None:
    upright = photo(320, 240, seed=4)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: shown after a quarter turn clockwise
    stored = encode(upright.transpose(Image.Transpose.ROTATE_90), "WEBP", exif=exif.tobytes())

    luma = full_size_luma(stored)

    assert luma.size == (320, 240)
    assert max(distances(inspect(stored), inspect(encode(upright, "WEBP")))) <= SAME_PICTURE


def test_a_still_webp_whose_bitstream_is_garbage_is_rejected() -> None:
    data = still_webps()["lossless"]
    noise = np.random.default_rng(1).integers(0, 256, len(data) - 100, dtype=np.uint8)

    with pytest.raises(ImageRejected, match="WEBP image cannot be decoded"):
        inspect(data[:100] + noise.tobytes())


def test_a_progressive_jpeg_reserves_the_coefficients_of_its_full_frame() -> None:
    # libjpeg keeps every DCT coefficient of a progressive image, whatever the draft scale.
    reserved: list[int] = []

    @contextmanager
    def reserve(amount: int) -> Iterator[None]:
        reserved.append(amount)
        yield

    inspect(progressive_jpeg(4000, 3000, "CMYK"), reserve=reserve)

    assert reserved == [decode_cost(500, 375, "JPEG") + 4000 * 3000 * 4 * JPEG_COEFFICIENT_BYTES]


def test_a_jpeg_of_more_scans_than_the_limit_is_rejected_before_decoding() -> None:
    original = progressive_jpeg(256, 256, "L")
    decoded: list[int] = []

    @contextmanager
    def reserve(amount: int) -> Iterator[None]:
        decoded.append(amount)
        yield

    with pytest.raises(ImageRejected, match=rf"scans, above the limit of {MAX_JPEG_SCANS}"):
        inspect(with_repeated_scans(original, MAX_JPEG_SCANS + 1), reserve=reserve)

    assert decoded == []


def test_a_jpeg_at_the_scan_limit_is_hashed_like_its_original() -> None:
    original = progressive_jpeg(256, 256, "L")
    scans = read_jpeg_structure(original).scans
    at_limit = with_repeated_scans(original, MAX_JPEG_SCANS - scans)

    assert inspect(at_limit).phash == inspect(original).phash


def test_pictures_decoded_at_once_stay_within_the_memory_budget() -> None:
    pictures = [encode(photo(1000, 1000, seed=seed), "PNG") for seed in range(6)]
    one = decode_cost(1000, 1000, "PNG")
    budget = MemoryBudget(2 * one)  # room for two at once
    peak = 0

    @contextmanager
    def reserve(amount: int) -> Iterator[None]:
        nonlocal peak
        with budget.reserve(amount):
            peak = max(peak, budget.held)
            yield

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda data: inspect(data, reserve=reserve), pictures))

    assert peak == 2 * one
    assert budget.held == 0


def test_a_failed_decode_gives_its_reservation_back() -> None:
    budget = MemoryBudget(1 << 30)
    truncated = encode(photo(640, 480, seed=9), "PNG")[:5000]

    with pytest.raises(ImageRejected):
        inspect(truncated, reserve=budget.reserve)

    assert budget.held == 0


def test_a_decoded_picture_is_every_pixel_held_inside_its_reservation() -> None:
    original = photo(1200, 900, seed=10)
    reserved: list[int] = []
    budget = MemoryBudget(1 << 30)

    @contextmanager
    def reserve(amount: int) -> Iterator[None]:
        with budget.reserve(amount):
            reserved.append(budget.held)
            yield

    with decoded_picture(encode(original, "PNG"), **LIMITS, reserve=reserve) as picture:
        assert picture.size == (1200, 900)
        assert picture.tobytes() == original.tobytes()
        assert budget.held == decode_cost(1200, 900, "PNG")

    assert reserved == [decode_cost(1200, 900, "PNG")]
    assert budget.held == 0


def test_a_decoded_picture_is_refused_as_inspection_refuses_it() -> None:
    budget = MemoryBudget(1 << 30)

    def decode(data: bytes, **overrides: Any) -> None:
        with decoded_picture(data, **{**LIMITS, "reserve": budget.reserve, **overrides}):
            pass

    with pytest.raises(ImageTooLarge, match="above the limit of 1000 pixels"):
        decode(png_declaring(100, 100), max_pixels=1000)
    with pytest.raises(ImageRejected, match="PNG image cannot be decoded"):
        decode(encode(photo(640, 480, seed=9), "PNG")[:5000])
    assert budget.held == 0


def test_bytes_over_the_limit_are_refused_before_parsing() -> None:
    # Garbage, so any parsing would have said "not an image" instead.
    with pytest.raises(ImageTooLarge, match="101 bytes"):
        inspect(b"\xff" * 101, max_bytes=100)


def test_small_file_of_a_real_image_over_the_pixel_limit_is_refused() -> None:
    flat = encode(Image.new("L", (2000, 2000), 128), "PNG")
    assert len(flat) < 20_000

    with pytest.raises(ImageTooLarge, match="2000x2000"):
        inspect(flat, max_pixels=1_000_000)


def test_declared_dimensions_over_the_pixel_limit_are_refused_before_decoding() -> None:
    # The pixel data is a stub: decoding would fail as truncated, not as too large.
    with pytest.raises(ImageTooLarge, match="5000x5000"):
        inspect(png_declaring(5000, 5000), max_pixels=1_000_000)


@pytest.mark.parametrize(
    "bomb",
    [
        png_declaring(100_000, 100_000),
        gif_declaring(65_535, 65_535),
        webp_declaring(100_000, 100_000),
        tiff_declaring(100_000, 100_000),
    ],
    ids=["png", "gif", "webp", "tiff"],
)
def test_header_declaring_enormous_dimensions_is_a_decompression_bomb(bomb: bytes) -> None:
    assert len(bomb) < 100

    with pytest.raises(ImageTooLarge, match="decompression-bomb"):
        inspect(bomb, max_pixels=10**12)


def test_pillow_bomb_warning_is_refused_without_changing_global_state() -> None:
    max_image_pixels = Image.MAX_IMAGE_PIXELS
    assert max_image_pixels is not None
    side = int((max_image_pixels * 1.5) ** 0.5)  # between Pillow's warning and error limits

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filters = list(warnings.filters)
        with pytest.raises(ImageTooLarge, match="decompression-bomb"):
            inspect(png_declaring(side, side), max_pixels=10**12)
        assert warnings.filters == filters

    assert not caught
    assert max_image_pixels == Image.MAX_IMAGE_PIXELS


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "AVIF"])
def test_truncated_image_is_rejected(original: Image.Image, image_format: str) -> None:
    data = encode(original, image_format)

    with pytest.raises(ImageRejected) as raised:
        inspect(data[: len(data) // 2])

    assert not isinstance(raised.value, ImageTooLarge)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, world", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"<!doctype html><html></html>"],
    ids=["empty", "text", "pdf", "html"],
)
def test_non_image_bytes_are_rejected(data: bytes) -> None:
    with pytest.raises(ImageRejected):
        inspect(data)


@pytest.mark.parametrize("image_format", ["EPS", "PCX", "ICO", "TGA"])
def test_formats_outside_the_allow_list_are_refused_before_any_decoder_runs(
    image_format: str,
) -> None:
    data = encode(Image.new("RGB", (32, 32), "red"), image_format)

    with pytest.raises(ImageRejected, match="not an image of an accepted format"):
        inspect(data)


def test_pixel_mode_without_a_luminance_is_rejected() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's LAB TIFF writer complains about its own EXIF
        data = encode(Image.new("LAB", (16, 16)), "TIFF")

    with pytest.raises(ImageRejected, match="pixel mode LAB"):
        inspect(data)


def test_every_refusal_is_an_input_rejection_for_the_dead_letter_topic() -> None:
    assert issubclass(ImageTooLarge, ImageRejected)
    assert issubclass(ImageRejected, InputRejected)


@pytest.mark.parametrize(
    ("hex_a", "hex_b", "expected"),
    [
        ("c3e1f0b09c8c8e1f", "c3e1f0b09c8c8e1f", 0),
        ("0000000000000000", "0000000000000001", 1),
        ("0000000000000000", "ffffffffffffffff", 64),
        ("ABCD", "abcd", 0),
    ],
)
def test_hamming_distance_counts_differing_bits(hex_a: str, hex_b: str, expected: int) -> None:
    assert hamming_distance(hex_a, hex_b) == expected


@pytest.mark.parametrize(("hex_a", "hex_b"), [("00", "000"), ("zz", "00"), ("", ""), ("-1", "01")])
def test_hamming_distance_refuses_hashes_that_do_not_compare(hex_a: str, hex_b: str) -> None:
    with pytest.raises(ValueError, match="hash"):
        hamming_distance(hex_a, hex_b)
