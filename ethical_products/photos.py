"""Product and shop photos: type checked by magic bytes, size ≤ 5 MB, decoded by Pillow,
resized and re-encoded as JPEG without metadata under ``instance/uploads/products/``."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from portal import uploads

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 1600
THUMB_SIDE = 480
#: Pillow refuses larger images (decompression bombs): 40 megapixels.
MAX_PIXELS = 40_000_000

SIGNATURES = {
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "webp": (b"RIFF",),  # and "WEBP" at offset 8
}


class PhotoError(ValueError):
    pass


@dataclass
class StoredPhoto:
    filename: str
    thumb_filename: str
    width: int
    height: int


def upload_dir() -> Path:
    return uploads.upload_dir("products", "SHOP_UPLOAD_DIR")


def sniff(head: bytes) -> str | None:
    """The image type from the first bytes, whatever the file name or Content-Type say."""
    if head.startswith(SIGNATURES["jpeg"]):
        return "jpeg"
    if head.startswith(SIGNATURES["png"]):
        return "png"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    return None


def store(data: bytes) -> StoredPhoto:
    """Validate, resize and save; raises PhotoError with a message for people."""
    if len(data) > MAX_BYTES:
        raise PhotoError(_("The photo is larger than 5 MB."))
    if not data or sniff(data[:16]) is None:
        raise PhotoError(_("Upload a JPEG, PNG or WebP photo."))
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise PhotoError(_("The photo has too many pixels."))
        image.load()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as error:
        raise PhotoError(_("The file is not a valid image.")) from error
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    image = image.convert("RGB")
    name = secrets.token_hex(12)
    large = image.copy()
    large.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    directory = upload_dir()
    large.save(directory / f"{name}.jpg", "JPEG", quality=85, optimize=True)
    thumb.save(directory / f"{name}-t.jpg", "JPEG", quality=80, optimize=True)
    return StoredPhoto(f"{name}.jpg", f"{name}-t.jpg", large.width, large.height)


def delete(filename: str, thumb_filename: str) -> None:
    directory = upload_dir()
    for name in (filename, thumb_filename):
        (directory / Path(name).name).unlink(missing_ok=True)
