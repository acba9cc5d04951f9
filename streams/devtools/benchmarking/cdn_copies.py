"""What CDNs and platforms serve of a picture: the copy families bench/robustness.py verifies.

Every copy ends encoded, as it would be served (JPEG, WebP or AVIF bytes). Random choices
(which corner a logo sits in, how an off-centre crop splits, the bar colour, the rotation's
sign) come from the family and a seed, so a run is reproducible.
"""

from __future__ import annotations

import enum
import io
import math
import random

from PIL import Image, ImageDraw, ImageFont, ImageOps

from streams.devtools.samples import encode

__all__ = ["CopyFamily", "cdn_copy"]

THUMBNAIL_SIDE = 320
COVER_WIDTH = 800
LOGO_SHARE = 0.035
CAPTION_SHARE = 0.04
ROTATION_DEGREES = 2.0
_EXIF_ORIENTATION = 0x0112
_ROTATED_CLOCKWISE = 6


class CopyFamily(enum.StrEnum):
    """A kind of copy: what was done to the picture before it was served."""

    THUMBNAIL_WEBP = "thumb320_webp70"
    THUMBNAIL_AVIF = "thumb320_avif"
    JPEG_Q30 = "jpeg_q30"
    COVER_16_9 = "cover_16x9"
    COVER_1_1 = "cover_1x1"
    COVER_4_5 = "cover_4x5"
    PAD_1_1 = "pad_1x1"
    PAD_16_9 = "pad_16x9"
    CROP_5 = "crop5_offc"
    CROP_10 = "crop10_offc"
    ROTATE_CROP = "rot2_crop"
    ROTATE_FILL = "rot2_fill"
    CAPTION = "caption_band4"
    CORNER_LOGO = "corner_logo3.5"
    GREYSCALE = "greyscale"
    EXIF_BAKED = "exif_baked"
    COVER_16_9_THUMBNAIL = "combo_cover16x9_webp320"
    CROP_LOGO_JPEG = "combo_crop5_logo_jpeg50"


def cdn_copy(picture: Image.Image, family: CopyFamily, seed: int) -> bytes:
    """The bytes a CDN serves of `picture` (RGB) for `family`."""
    rng = random.Random(f"{family}:{seed}")  # noqa: S311 - reproducible choices, not secrets
    picture = picture.convert("RGB")
    bar = "black" if rng.random() < 0.5 else "white"
    angle = ROTATION_DEGREES if rng.random() < 0.5 else -ROTATION_DEGREES
    match family:
        case CopyFamily.THUMBNAIL_WEBP:
            return encode(_thumbnail(picture), "WEBP", quality=70)
        case CopyFamily.THUMBNAIL_AVIF:
            return encode(_thumbnail(picture), "AVIF", quality=50)
        case CopyFamily.JPEG_Q30:
            return _jpeg(picture, 30)
        case CopyFamily.COVER_16_9:
            return _jpeg(_cover(picture, 16 / 9))
        case CopyFamily.COVER_1_1:
            return _jpeg(_cover(picture, 1.0))
        case CopyFamily.COVER_4_5:
            return _jpeg(_cover(picture, 4 / 5))
        case CopyFamily.PAD_1_1:
            return _jpeg(_pad(picture, 1.0, bar))
        case CopyFamily.PAD_16_9:
            # A 16:9 picture padded to 16:9 would be unchanged: it is pillarboxed to 4:3.
            own = picture.width / picture.height
            return _jpeg(_pad(picture, 4 / 3 if abs(own - 16 / 9) <= 0.05 else 16 / 9, bar))
        case CopyFamily.CROP_5:
            return _jpeg(_crop_off_centre(picture, 0.05, rng))
        case CopyFamily.CROP_10:
            return _jpeg(_crop_off_centre(picture, 0.10, rng))
        case CopyFamily.ROTATE_CROP:
            return _jpeg(_rotate_cropped(picture, angle))
        case CopyFamily.ROTATE_FILL:
            return _jpeg(
                picture.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=bar)
            )
        case CopyFamily.CAPTION:
            return _jpeg(_caption_band(picture, rng))
        case CopyFamily.CORNER_LOGO:
            return _jpeg(_corner_logo(picture, rng))
        case CopyFamily.GREYSCALE:
            return _jpeg(picture.convert("L"))
        case CopyFamily.EXIF_BAKED:
            return _jpeg(_exif_baked(picture))
        case CopyFamily.COVER_16_9_THUMBNAIL:
            cover = _cover(picture, 16 / 9, width=picture.width)
            return encode(_thumbnail(cover), "WEBP", quality=70)
        case CopyFamily.CROP_LOGO_JPEG:
            logo = _corner_logo(_crop_off_centre(picture, 0.05, rng), rng)
            return _jpeg(_to_width(logo, 640), 50)


def _jpeg(picture: Image.Image, quality: int = 85) -> bytes:
    return encode(picture, "JPEG", quality=quality)


def _to_width(picture: Image.Image, width: int) -> Image.Image:
    height = max(1, round(picture.height * width / picture.width))
    return picture.resize((width, height), Image.Resampling.LANCZOS)


def _thumbnail(picture: Image.Image) -> Image.Image:
    scale = THUMBNAIL_SIDE / max(picture.size)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS)


def _cover(picture: Image.Image, ratio: float, width: int = COVER_WIDTH) -> Image.Image:
    """fit=cover: the centred window of aspect `ratio`, scaled to `width`."""
    own_width, own_height = picture.size
    if own_width / own_height > ratio:
        crop_width, crop_height = round(own_height * ratio), own_height
    else:
        crop_width, crop_height = own_width, round(own_width / ratio)
    left, top = (own_width - crop_width) // 2, (own_height - crop_height) // 2
    return _to_width(picture.crop((left, top, left + crop_width, top + crop_height)), width)


def _pad(picture: Image.Image, ratio: float, bar: str) -> Image.Image:
    """fit=pad: the picture centred on bars of colour `bar` to aspect `ratio`."""
    width, height = picture.size
    if width / height > ratio:
        canvas_size = (width, round(width / ratio))
    else:
        canvas_size = (round(height * ratio), height)
    canvas = Image.new("RGB", canvas_size, bar)
    canvas.paste(picture, ((canvas_size[0] - width) // 2, (canvas_size[1] - height) // 2))
    return _to_width(canvas, COVER_WIDTH)


def _crop_off_centre(picture: Image.Image, share: float, rng: random.Random) -> Image.Image:
    """`share` of the width and of the height cut off, split at random between the sides."""
    width, height = picture.size
    cut_x, cut_y = share * width, share * height
    left, top = round(cut_x * rng.random()), round(cut_y * rng.random())
    return picture.crop((left, top, left + round(width - cut_x), top + round(height - cut_y)))


def _rotate_cropped(picture: Image.Image, angle: float) -> Image.Image:
    """Rotated by `angle` degrees and cropped to the largest upright rectangle inside."""
    rotated = picture.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    width, height = _inscribed(picture.width, picture.height, math.radians(abs(angle)))
    centre_x, centre_y = rotated.width / 2, rotated.height / 2
    return rotated.crop(
        (
            round(centre_x - width / 2),
            round(centre_y - height / 2),
            round(centre_x + width / 2),
            round(centre_y + height / 2),
        )
    )


def _inscribed(width: int, height: int, angle: float) -> tuple[float, float]:
    """The largest axis-aligned rectangle inside a `width` x `height` one rotated by `angle`."""
    sin_a, cos_a = math.sin(angle), math.cos(angle)
    long_side, short_side = max(width, height), min(width, height)
    if short_side <= 2 * sin_a * cos_a * long_side:
        half = short_side / 2
        across, along = half / sin_a, half / cos_a
        return (across, along) if width >= height else (along, across)
    cos_2a = cos_a * cos_a - sin_a * sin_a
    return (width * cos_a - height * sin_a) / cos_2a, (height * cos_a - width * sin_a) / cos_2a


def _caption_band(picture: Image.Image, rng: random.Random) -> Image.Image:
    """A dark caption band across the bottom (or the top) with white text."""
    picture = picture.copy()
    width, height = picture.size
    band = max(8, round(height * CAPTION_SHARE))
    top = height - band if rng.random() < 0.7 else 0
    draw = ImageDraw.Draw(picture, "RGBA")
    draw.rectangle((0, top, width, top + band), fill=(0, 0, 0, 200))
    draw.text(
        (band // 2, top + band * 0.1),
        "Photo: Example News Agency / all rights reserved",
        fill=(255, 255, 255, 255),
        font=_font(band * 0.7),
    )
    return picture


def _corner_logo(picture: Image.Image, rng: random.Random) -> Image.Image:
    """A 3:1 white logo over LOGO_SHARE of the picture, in a corner chosen at random."""
    picture = picture.copy()
    width, height = picture.size
    logo_width = round(math.sqrt(LOGO_SHARE * width * height * 3))
    logo_height = round(logo_width / 3)
    margin = round(0.02 * min(width, height))
    corner = rng.randrange(4)
    left = margin if corner in (0, 2) else width - logo_width - margin
    top = margin if corner in (0, 1) else height - logo_height - margin
    draw = ImageDraw.Draw(picture, "RGBA")
    draw.rounded_rectangle(
        (left, top, left + logo_width, top + logo_height),
        radius=logo_height // 5,
        fill=(255, 255, 255, 230),
    )
    draw.text(
        (left + logo_height * 0.3, top + logo_height * 0.2),
        "NEWS24",
        fill=(200, 0, 0, 255),
        font=_font(logo_height * 0.55),
    )
    return picture


def _exif_baked(picture: Image.Image) -> Image.Image:
    """The picture as a camera stores it (pixels turned, Orientation 6), then as a CDN serves
    it: the orientation applied to the pixels and the tag dropped."""
    exif = Image.Exif()
    exif[_EXIF_ORIENTATION] = _ROTATED_CLOCKWISE
    camera = encode(
        picture.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=92, exif=exif.tobytes()
    )
    with Image.open(io.BytesIO(camera)) as stored:
        return ImageOps.exif_transpose(stored)


def _font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(max(6, int(size)))
