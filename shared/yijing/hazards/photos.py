"""Hazard photos: what an upload really is (read from its content by decoding it, never from its name or
declared type), and the same picture without its GPS position when the uploader asks."""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image
from pillow_heif import register_heif_opener

from yijing.errors import InvalidInput

register_heif_opener()
# Every decoder now, at import: Pillow would otherwise import them during the first upload that is not a
# JPEG or PNG, holding the interpreter for a good part of a second while requests wait.
Image.init()

# Pillow's format name → the media type stored and served.
# MPO is a JPEG with further pictures after the first (phones add depth maps and HDR gain maps that way).
MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
}
ACCEPTED = "JPEG, PNG, WebP or HEIC"
# Larger pictures are refused from their header, before decoding (a 200 KB file can claim a huge size: a
# decompression bomb). 40 Mpx is above any phone camera's main picture (a 48 Mpx sensor saves 12 Mpx by
# default) and decodes to at most 160 MB, two at a time per process (yijing.uploads.off_loop).
MAX_PIXELS = 40_000_000
_TOO_MANY_PIXELS = f"the picture has more than {MAX_PIXELS:,} pixels"
GPS_IFD = 0x8825
# What Pillow's decoders raise for a file that is not (or not wholly) an image they read
# (UnidentifiedImageError is an OSError).
_DECODING_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


class NotAnImage(InvalidInput):
    code = "unsupported_media_type"


@dataclass(frozen=True)
class Photo:
    data: bytes
    media_type: str
    width: int
    height: int
    gps_stripped: bool


def _refuse(message: str) -> NotAnImage:
    return NotAnImage(message, errors=[{"field": "body.file", "message": message, "code": "not_an_image"}])


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise _refuse(_TOO_MANY_PIXELS) from exc
        except _DECODING_ERRORS as exc:
            raise _refuse(f"the file is not a {ACCEPTED} image") from exc
    if image.format not in MEDIA_TYPES:
        raise _refuse(f"{image.format} images are not accepted: send {ACCEPTED}")
    if image.width * image.height > MAX_PIXELS:
        raise _refuse(_TOO_MANY_PIXELS)
    return image


# Where XMP metadata (which can repeat the position, e.g. exif:GPSLatitude) sits in Pillow's info.
_XMP_KEYS = ("xmp", "XML:com.adobe.xmp")


def _without_position(image: Image.Image) -> bytes | None:
    """The picture re-saved without its GPS block and without XMP, or None when it has neither (the
    original is kept, byte for byte)."""
    exif = image.getexif()
    has_gps = GPS_IFD in exif or bool(exif.get_ifd(GPS_IFD))
    if not has_gps and not any(key in image.info for key in _XMP_KEYS):
        return None
    exif.pop(GPS_IFD, None)
    for key in _XMP_KEYS:
        image.info.pop(key, None)  # some writers (HEIF) copy XMP from here unless it is gone
    options: dict[str, object] = {"exif": exif.tobytes()}
    if "icc_profile" in image.info:
        options["icc_profile"] = image.info["icc_profile"]
    # An MPO is a JPEG with more pictures after the first: only the main picture is kept.
    format = "JPEG" if image.format == "MPO" else str(image.format)
    if image.format == "JPEG":
        options["quality"] = "keep"  # the original's quantisation: no visible loss
    elif format in ("JPEG", "WEBP", "HEIF"):
        options["quality"] = 95
    output = io.BytesIO()
    try:
        image.save(output, format=format, **options)
    except _DECODING_ERRORS as exc:
        raise _refuse(f"the {image.format} image could not be saved without its position: {exc}") from exc
    return output.getvalue()


def read_photo(data: bytes, *, strip_gps: bool) -> Photo:
    """The upload as a photo to store, or NotAnImage (422) when it is anything else: the whole image is
    decoded, so a truncated or disguised file is refused here rather than served later."""
    image = _open(data)
    try:
        image.load()
    except _DECODING_ERRORS as exc:
        raise _refuse(f"the {image.format} image is damaged or incomplete") from exc
    stored = _without_position(image) if strip_gps else None
    media_type = MEDIA_TYPES[str(image.format)]
    return Photo(
        data=stored if stored is not None else data,
        media_type=media_type,
        width=image.width,
        height=image.height,
        gps_stripped=strip_gps,
    )
