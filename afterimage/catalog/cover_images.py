"""Covers the author uploads: checked by decoding, re-encoded without metadata, stored in sizes in the database.

The file's name and declared type are never trusted: Pillow must decode it as a JPEG, PNG or WebP of sane
dimensions, and what is stored is a fresh JPEG drawn from the decoded pixels (no EXIF, no location, no
comments, no trailing bytes). Items without an upload keep their pasted URL or the generated placeholder.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from flask import url_for
from PIL import Image, ImageOps, UnidentifiedImageError

from afterimage.catalog.models import CoverImage, Item

MAX_COVER_BYTES = 5 * 1024 * 1024
MAX_SIDE = 6000
MAX_PIXELS = 24_000_000
MIN_SIDE = 32
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# Largest box of each size, never enlarged: the item page, cards and widgets, link previews.
SIZES = {"page": (600, 900), "card": (300, 450)}
PREVIEW = (1200, 630)
# The order the sizes are stored and hashed in.
SIZE_ORDER = (*SIZES, "preview")
MIMETYPE = "image/jpeg"
JPEG_QUALITY = 85


class CoverRefused(ValueError):
    """An upload that is not a cover we can show; the message says why, for the form."""


@dataclass(frozen=True)
class CoverSize:
    """One re-encoded size of an upload."""

    size: str
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class ProcessedCover:
    """Every size of an upload and the content hash that names them."""

    digest: str
    sizes: list[CoverSize]


def decode_upload(data: bytes) -> Image.Image:
    """The upload's pixels as RGB, upright; CoverRefused for anything that is not a sane JPEG, PNG or WebP."""
    if not data:
        raise CoverRefused("The file is empty.")
    if len(data) > MAX_COVER_BYTES:
        raise CoverRefused(f"The file is larger than {MAX_COVER_BYTES // 1_048_576} MB; use a smaller image.")
    try:
        with warnings.catch_warnings():
            # Pillow warns before it refuses a decompression bomb; here the warning is the refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                width, height = image.size
                if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                    raise CoverRefused(
                        f"The image is {width}×{height} pixels; covers may be at most {MAX_SIDE} pixels a side "
                        f"and {MAX_PIXELS // 1_000_000} megapixels."
                    )
                if width < MIN_SIDE or height < MIN_SIDE:
                    raise CoverRefused(f"The image is {width}×{height} pixels, too small for a cover.")
                image.seek(0)  # the first frame of an animation
                image.load()
                upright = ImageOps.exif_transpose(image)
                return flatten(upright)
    except CoverRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise CoverRefused("The image declares more pixels than a cover needs (a decompression bomb?).") from None
    except UnidentifiedImageError:
        raise CoverRefused(
            "This is not a JPEG, PNG or WebP image, whatever its name says (SVG, GIF and other formats are not accepted)."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise CoverRefused("The image could not be read: the file is damaged or not really an image.") from None


def flatten(image: Image.Image) -> Image.Image:
    """A new RGB image of the same pixels (transparency on white), carrying none of the file's metadata."""
    rgba = image.convert("RGBA")
    clean = Image.new("RGB", rgba.size, (255, 255, 255))
    clean.paste(rgba, mask=rgba.getchannel("A"))
    return clean


def jpeg_bytes(image: Image.Image) -> bytes:
    """The image as a baseline JPEG with nothing but pixels in it."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def preview_image(image: Image.Image) -> Image.Image:
    """A 1200×630 link preview: the poster at full height, centred on its own average colour."""
    poster = image.copy()
    poster.thumbnail(PREVIEW, Image.Resampling.LANCZOS)
    background = image.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    canvas = Image.new("RGB", PREVIEW, background)
    canvas.paste(poster, ((PREVIEW[0] - poster.width) // 2, (PREVIEW[1] - poster.height) // 2))
    return canvas


def process_cover(data: bytes) -> ProcessedCover:
    """Decode an upload and make its sizes; CoverRefused with a message when it is not an acceptable image."""
    image = decode_upload(data)
    sizes = []
    for name, box in SIZES.items():
        resized = image.copy()
        resized.thumbnail(box, Image.Resampling.LANCZOS)
        sizes.append(CoverSize(name, resized.width, resized.height, jpeg_bytes(resized)))
    preview = preview_image(image)
    sizes.append(CoverSize("preview", preview.width, preview.height, jpeg_bytes(preview)))
    return ProcessedCover(digest_of(sizes), sizes)


def digest_of(sizes: list[CoverSize]) -> str:
    """The content hash that names a cover's sizes (in SIZE_ORDER) and so their URLs."""
    return hashlib.sha256(b"".join(s.data for s in sizes)).hexdigest()


def attach_cover(item: Item, cover: ProcessedCover) -> None:
    """Make this upload the item's cover, replacing any earlier upload."""
    item.cover_images = [
        CoverImage(size=s.size, digest=cover.digest, mimetype=MIMETYPE, width=s.width, height=s.height, data=s.data)
        for s in cover.sizes
    ]
    item.cover_digest = cover.digest


def stored_cover(digest: str, sizes: list[CoverSize]) -> ProcessedCover:
    """A cover read back from a backup, checked as strictly as an upload; CoverRefused says what is wrong.

    The sizes are kept byte for byte (re-encoding would change the digest in every page's URL), so each must
    be the JPEG of the size it claims, and together they must hash to the digest that names them.
    """
    names = [s.size for s in sizes]
    if sorted(names) != sorted(SIZE_ORDER):
        raise CoverRefused(f"the cover must have the sizes page, card and preview, not {', '.join(names) or 'none'}.")
    ordered = sorted(sizes, key=lambda s: SIZE_ORDER.index(s.size))
    for size in ordered:
        try:
            with Image.open(io.BytesIO(size.data), formats=("JPEG",)) as image:
                image.verify()
                if image.size != (size.width, size.height):
                    raise CoverRefused(f"the {size.size} cover is {image.size[0]}×{image.size[1]} pixels, "
                                       f"not the {size.width}×{size.height} the backup says.")
        except CoverRefused:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise CoverRefused(f"the {size.size} cover is not a readable JPEG image.") from None
    if digest_of(ordered) != digest:
        raise CoverRefused("the cover's images do not match its digest: the file was changed after it was written.")
    return ProcessedCover(digest, ordered)


def remove_cover(item: Item) -> None:
    """Go back to the pasted URL or the placeholder."""
    item.cover_images = []
    item.cover_digest = None


def cover_src(item: Item, size: str = "card", external: bool = False) -> str:
    """Where a page finds the item's cover: her upload in this size, else her pasted URL, else the placeholder."""
    if item.cover_digest:
        return url_for("public.uploaded_cover", digest=item.cover_digest, size=size, _external=external)
    if item.cover_url:
        return item.cover_url
    return url_for("public.cover", slug=item.slug, _external=external)
