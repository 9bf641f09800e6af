"""Uploaded photos (capture evidence, shop items): only images, resized on the server and
re-encoded as JPEG.

Photos are stored under ``<instance>/uploads/YYYY-MM/<random>.jpg``; the database keeps the
path relative to ``uploads``.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
import warnings
from pathlib import Path

from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_SIDE = 1600
JPEG_QUALITY = 85
# Pixel limits, checked from the file's header before anything is decoded. A JPEG is decoded
# at a reduced scale (Pillow's draft mode: 1/2, 1/4 or 1/8), so a 48-megapixel phone photo
# costs what a 12-megapixel one does; other formats decode at full size, so their limit is
# lower (16 Mpx ≈ 64 MB as RGBA). A 7745 × 7745 PNG is refused before decoding.
MAX_PIXELS = 64_000_000
MAX_PIXELS_FULL_DECODE = 16_000_000
DRAFT_FORMATS = {"JPEG", "MPO"}
ALLOWED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "MPO"}
# Pillow's own bomb check (a warning above this, an error above twice this), for every image
# the process opens.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class PhotoError(ValueError):
    """A photo was refused; the message is translated and names the problem."""


def uploads_dir(instance_path: str) -> Path:
    return Path(instance_path) / "uploads"


def prepare_photo(storage):
    """Check and resize an uploaded photo in memory. Returns a Pillow image, or None if no file.

    Raises :class:`PhotoError` with a clear message for anything that is not a usable image.
    """
    if storage is None or not getattr(storage, "filename", ""):
        return None
    data = storage.read()
    if not data:
        raise PhotoError(_("The photo file %(name)s is empty.", name=storage.filename))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))  # reads the header only
            fmt = probe.format
            limit = MAX_PIXELS if fmt in DRAFT_FORMATS else MAX_PIXELS_FULL_DECODE
            if probe.width * probe.height > limit:
                raise PhotoError(
                    _(
                        "The photo %(name)s has too many pixels (%(w)s × %(h)s). Please send a smaller photo.",
                        name=storage.filename,
                        w=probe.width,
                        h=probe.height,
                    )
                )
            probe.verify()
            image = Image.open(io.BytesIO(data))
            if fmt in DRAFT_FORMATS:
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode at the smallest scale still >= MAX_SIDE
            image.load()
    except PhotoError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise PhotoError(
            _("The file %(name)s is not a picture. Please choose a JPEG or PNG photo.", name=storage.filename)
        ) from None
    if fmt not in ALLOWED_FORMATS:
        raise PhotoError(
            _(
                "The file %(name)s is not a supported picture (%(fmt)s). Please choose a JPEG or PNG photo.",
                name=storage.filename,
                fmt=fmt or "?",
            )
        )
    try:
        from PIL import ImageOps

        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block must not stop the upload
        pass
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.split()[-1])
        image = background
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    return image.convert("RGB")


def store_photo(image, instance_path: str, rel: str) -> str:
    """Write a prepared image as JPEG at ``uploads/<rel>``; returns ``rel``."""
    target = uploads_dir(instance_path) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return rel


def save_photo(storage, instance_path: str, *, today: dt.date) -> str | None:
    """Check, resize and store an uploaded photo under a random name (in a folder per local month of
    ``today``, the village's date); the relative path or None."""
    image = prepare_photo(storage)
    if image is None:
        return None
    return store_photo(image, instance_path, f"{today:%Y-%m}/{secrets.token_hex(12)}.jpg")


def capture_photo_rel(village_id: int, batch_id: int) -> str:
    """Where the evidence photo of one capture batch is kept (one per capture)."""
    return f"captures/{village_id}/{batch_id}.jpg"


def photo_path(instance_path: str, rel: str) -> Path | None:
    """The file of a stored photo, or None if the path is unsafe or missing."""
    base = uploads_dir(instance_path).resolve()
    try:
        path = (base / rel).resolve()
    except (OSError, ValueError):
        return None
    if base not in path.parents or not path.is_file():
        return None
    return path
