"""Photos (of hazards, of patrol log entries): what an upload really is (read from its content by decoding it,
never from its name or declared type), the same picture without its GPS position when the uploader asks, and
the one way a domain stores a photo row and its file (:func:`store_photo`)."""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from PIL import Image
from pillow_heif import register_heif_opener
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.errors import InvalidInput, TooLarge
from yijing.storage import AttachmentStore
from yijing.uploads import off_loop

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
_ACCEPTED_ZH = "JPEG、PNG、WebP 或 HEIC"
# Larger pictures are refused from their header, before decoding (a 200 KB file can claim a huge size: a
# decompression bomb). 40 Mpx is above any phone camera's main picture (a 48 Mpx sensor saves 12 Mpx by
# default) and decodes to at most 160 MB, two at a time per process (yijing.uploads.off_loop).
MAX_PIXELS = 40_000_000
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


def _refuse(message: str, *, zh: str) -> NotAnImage:
    return NotAnImage(
        message,
        zh=zh,
        errors=[{"field": "body.file", "message": message, "message_zh": zh, "code": "not_an_image"}],
    )


def _too_many_pixels() -> NotAnImage:
    return _refuse(f"the picture has more than {MAX_PIXELS:,} pixels", zh=f"图片超过了 {MAX_PIXELS:,} 像素")


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise _too_many_pixels() from exc
        except _DECODING_ERRORS as exc:
            raise _refuse(
                f"the file is not a {ACCEPTED} image", zh=f"该文件不是 {_ACCEPTED_ZH} 图片"
            ) from exc
    if image.format not in MEDIA_TYPES:
        raise _refuse(
            f"{image.format} images are not accepted: send {ACCEPTED}",
            zh=f"不接受 {image.format} 格式的图片，请上传 {_ACCEPTED_ZH} 图片",
        )
    if image.width * image.height > MAX_PIXELS:
        raise _too_many_pixels()
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
        raise _refuse(
            f"the {image.format} image could not be saved without its position: {exc}",
            zh=f"无法在去除位置信息后保存该 {image.format} 图片",
        ) from exc
    return output.getvalue()


def read_photo(data: bytes, *, strip_gps: bool) -> Photo:
    """The upload as a photo to store, or NotAnImage (422) when it is anything else: the whole image is
    decoded, so a truncated or disguised file is refused here rather than served later."""
    image = _open(data)
    try:
        image.load()
    except _DECODING_ERRORS as exc:
        raise _refuse(
            f"the {image.format} image is damaged or incomplete", zh=f"该 {image.format} 图片已损坏或不完整"
        ) from exc
    stored = _without_position(image) if strip_gps else None
    media_type = MEDIA_TYPES[str(image.format)]
    return Photo(
        data=stored if stored is not None else data,
        media_type=media_type,
        width=image.width,
        height=image.height,
        gps_stripped=strip_gps,
    )


class PhotoRow(Protocol):
    """What a domain's photo table has (``HazardAttachment``, ``PatrolLogPhoto``)."""

    storage_key: str
    media_type: str


Row = TypeVar("Row", bound=PhotoRow)


async def store_photo(
    session: AsyncSession,
    store: AttachmentStore,
    data: bytes,
    *,
    strip_gps: bool,
    max_bytes: int,
    stored: Callable[[str], Awaitable[Row | None]],
    new_row: Callable[[dict[str, Any]], Row],
    write: Callable[[Row], Awaitable[None]],
) -> tuple[Row, bool]:
    """Store one uploaded photo: the row (``new_row`` given the photo's columns, written by ``write``) and
    its file. Returns the row and whether it is new: the same upload sent again (``stored`` finds it by the
    upload's SHA-256), even twice at once, answers the stored row. The row is written first and the file
    last, so a refused or failed upload leaves no file behind; only a commit failing after the file is
    written can leave one that no row names."""
    if len(data) > max_bytes:
        raise TooLarge(
            f"the photo is {len(data):,} bytes; the limit is {max_bytes:,}",
            zh=f"照片大小为 {len(data):,} 字节，上限为 {max_bytes:,} 字节",
            limit_bytes=max_bytes,
        )
    upload_sha256 = hashlib.sha256(data).hexdigest()
    existing = await stored(upload_sha256)
    if existing is not None:
        return existing, False
    # Decoding a large photo takes a while: off the event loop.
    photo = await off_loop(read_photo, data, strip_gps=strip_gps)
    row = new_row(
        {
            "media_type": photo.media_type,
            "size_bytes": len(photo.data),
            "width": photo.width,
            "height": photo.height,
            "upload_sha256": upload_sha256,
            "sha256": hashlib.sha256(photo.data).hexdigest(),
            "gps_stripped": photo.gps_stripped,
        }
    )
    try:
        async with session.begin_nested():
            await write(row)
    except IntegrityError:
        # The same upload sent twice at once: the other request stored it first.
        existing = await stored(upload_sha256)
        if existing is None:
            raise
        return existing, False
    # The file goes last: a failure here rolls the rows back with the request.
    await store.put(row.storage_key, photo.data, row.media_type)
    return row, True
