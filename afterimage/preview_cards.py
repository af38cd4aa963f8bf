"""Link-preview cards: a 1200×630 PNG for each item, list, tag and person page, rendered with Pillow.

Facebook, X, Slack, Discord and iMessage show only raster images, so the SVG placeholders cannot be used.
An item's card carries her uploaded cover when there is one, else a drawn poster in its tag family's colour
(the same colours as afterimage/catalog/covers.py); lists, tags and people show their first items' posters. Text is set
in Noto CJK (Debian's fonts-noto-cjk), which covers Latin, Hangul and Kana/Kanji; DejaVu, then Pillow's own
font, only when it is missing. A card is described by a small frozen PreviewCard; its digest names the PNG in
the page's URL, so a changed title is a new URL and an unchanged one may be kept for a year.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import url_for
from PIL import Image, ImageDraw, ImageFont, ImageOps

from afterimage.catalog.cover_images import cover_src
from afterimage.catalog.covers import DEFAULT_FAMILY, FAMILY_COLOURS, family_of
from afterimage.catalog.models import CoverImage, Creator, CuratedList, Item, Tag
from afterimage.catalog.people import works_by_role
from afterimage.catalog.rules import is_http_url
from afterimage.extensions import db

SIZE = (1200, 630)
POSTER_SIZE = (400, 600)
MARGIN = 70
MAX_POSTERS = 3
# Bump when the drawing changes: the digest (and so every card's URL) changes with it.
RENDER_VERSION = 1
FONT_DIRS = (Path("/usr/share/fonts"),)
# Noto CJK first (every face holds Latin, Hangul, Kana and Han), DejaVu when it is not installed.
FONT_FILES = {
    "serif": ("NotoSerifCJK-Bold.ttc", "DejaVuSerif-Bold.ttf"),
    "sans": ("NotoSansCJK-Regular.ttc", "DejaVuSans.ttf"),
}
# Face of the .ttc for the text's script: Korean Hanja and Japanese Kanji differ in shape.
TTC_FACES = {"ja": 0, "ko": 1}
HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
# Scripts written without spaces, which may break between any two characters.
UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Poster:
    """One cover on a card: her upload (by digest) or a poster drawn with the title on its family colour."""

    title: str
    kind: str
    background: str
    ink: str
    cover_digest: str | None = None

    @property
    def digest(self) -> str:
        """A short hash of what the poster shows (see content_digest)."""
        return content_digest(self)


@dataclass(frozen=True)
class PreviewCard:
    """Everything a card shows; equal cards render the same bytes, which is what the cache and the URL rely on."""

    eyebrow: str
    title: str
    subtitle: str  # the original title, when it differs
    byline: str
    background: str
    ink: str
    posters: tuple[Poster, ...]

    @property
    def digest(self) -> str:
        """A short hash of what the card shows (see content_digest)."""
        return content_digest(self)


def content_digest(drawing: Poster | PreviewCard) -> str:
    """A short hash of a drawing's content, the fonts it is set in and the drawing code's version."""
    content = json.dumps([RENDER_VERSION, font_files(), asdict(drawing)], sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(content.encode(), digest_size=8).hexdigest()


# --- What each page's card shows ---------------------------------------------------------------------------

def colours(family: str | None) -> tuple[str, str]:
    """The background and ink of a tag family, the default family's for any other."""
    return FAMILY_COLOURS.get(family or DEFAULT_FAMILY, FAMILY_COLOURS[DEFAULT_FAMILY])


def poster_of(item: Item) -> Poster:
    """The item's poster: her upload if any (a pasted URL is not fetched), else drawn in its family's colour."""
    background, ink = colours(family_of(item))
    return Poster(item.title, item.kind, background, ink, item.cover_digest)


def count_label(items: list[Item], total: int) -> str:
    """"12 films", "3 books" or "15 films and books"."""
    kinds = {i.kind for i in items}
    noun = "film" if kinds == {"film"} else "book" if kinds == {"book"} else "film and book"
    noun = noun if total == 1 else {"film and book": "films and books"}.get(noun, noun + "s")
    return f"{total} {noun}"


def item_card(item: Item) -> PreviewCard:
    """A film's or book's card: its cover, title, year and makers."""
    background, ink = colours(family_of(item))
    makers = ", ".join(c.name for c in item.makers[:3])
    byline = " · ".join(str(part) for part in (item.year, makers) if part)
    original = item.original_title if item.original_title and item.original_title != item.title else ""
    return PreviewCard(item.kind_label.upper(), item.title, original, byline, background, ink, (poster_of(item),))


def members_card(eyebrow: str, title: str, items: list[Item], total: int, family: str | None) -> PreviewCard:
    """A card for a group of items (a list, a tag, a person's works): its title, a count and the first posters."""
    if family is None and items:
        family = family_of(items[0])
    background, ink = colours(family)
    byline = count_label(items, total) if total else ""
    return PreviewCard(eyebrow, title, "", byline, background, ink, tuple(poster_of(i) for i in items[:MAX_POSTERS]))


def card_for(row: Item | CuratedList | Tag | Creator) -> PreviewCard:
    """The card of an item, list, tag or person page."""
    if isinstance(row, Item):
        return item_card(row)
    if isinstance(row, CuratedList):
        items = row.items
        return members_card("LIST", row.title, items, len(items), None)
    if isinstance(row, Tag):
        in_tag = sa.select(Item).where(Item.tags.contains(row))
        first = db.session.scalars(in_tag.order_by(Item.year, Item.title_key).limit(MAX_POSTERS)).all()
        total = db.session.scalar(sa.select(sa.func.count()).select_from(in_tag.subquery()))
        family = row.family if row.family in FAMILY_COLOURS else None
        return members_card("TAG", row.name, list(first), total, family)
    works = list({i.id: i for group in works_by_role(row) for i in group.items}.values())
    return members_card("PERSON", row.name, works, len(works), None)


PAGE_KINDS = {Item: "item", CuratedList: "list", Tag: "tag", Creator: "person"}


def preview_card_url(row: Item | CuratedList | Tag | Creator, external: bool = True) -> str:
    """The card's address, versioned by its content digest so it may be cached for a year."""
    return url_for(
        "public.preview_card", kind=PAGE_KINDS[type(row)], slug=row.slug, v=card_for(row).digest, _external=external
    )


def raster_cover_url(item: Item) -> str:
    """An absolute address of the item's cover as a JPEG or PNG, for places that show no SVG (a pasted blog
    post, mail): her upload, her pasted http(s) URL, else the placeholder poster drawn as PNG."""
    if item.cover_digest or (item.cover_url and is_http_url(item.cover_url)):
        return cover_src(item, "page", external=True)
    return url_for("public.preview_card", kind="poster", slug=item.slug, v=poster_of(item).digest, _external=True)


# --- Fonts ---------------------------------------------------------------------------------------------------

@functools.cache
def find_font_file(filename: str) -> Path | None:
    """The first file of this name under the font directories, or None."""
    for folder in FONT_DIRS:
        if folder.is_dir():
            for path in sorted(folder.rglob(filename)):
                return path
    return None


def font_files() -> dict[str, str | None]:
    """The file each role is set in (name only): part of a card's digest, so installing a font renews cards."""
    return {role: (lambda p: p.name if p else None)(font_path(role)) for role in FONT_FILES}


def font_path(role: str) -> Path | None:
    """The best installed file for "serif" or "sans": Noto CJK, else DejaVu, else None (Pillow's own)."""
    for filename in FONT_FILES[role]:
        path = find_font_file(filename)
        if path is not None:
            return path
    return None


def has_cjk_font() -> bool:
    """Whether cards are set in Noto CJK, so Korean and Japanese titles show their glyphs."""
    return all(p is not None and p.suffix == ".ttc" for p in map(font_path, FONT_FILES))


@functools.cache
def card_font(role: str, size: int, language: str = "ja") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font of the role at a pixel size, loaded once per process (the .ttc files are 20 MB)."""
    path = font_path(role)
    if path is None:
        return ImageFont.load_default(size)
    index = TTC_FACES[language] if path.suffix == ".ttc" else 0
    return ImageFont.truetype(str(path), size, index=index)


def font_for(role: str, size: int, text: str):
    """The role's font at a size, in the Korean face for text with Hangul."""
    return card_font(role, size, "ko" if HANGUL.search(text) else "ja")


# --- Drawing -------------------------------------------------------------------------------------------------

def wrap(text: str, font, width: float, max_lines: int) -> list[str]:
    """Lines of at most `width` pixels, broken at spaces (anywhere in Kana and Han), the last cut with "…"."""
    tokens: list[str] = []
    for word in re.findall(r"\S+\s*", text):
        if UNSPACED.search(word) or font.getlength(word.rstrip()) > width:
            tokens.extend(word)
        else:
            tokens.append(word)
    lines: list[str] = []
    line = ""
    for token in tokens:
        if not line or font.getlength((line + token).rstrip()) <= width:
            line += token
        else:
            lines.append(line.rstrip())
            line = token.lstrip()
    if line.strip():
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines = lines[: max_lines - 1] + [last.rstrip() + "…"]
    return lines


# Title sizes tried in turn, each with the lines it may take: the largest that fits uncut wins.
TITLE_SIZES = ((76, 3), (64, 3), (54, 3), (46, 4))


def fit_title(title: str, width: float, room: float):
    """The largest title size whose lines fit uncut in `room` pixels of height (else the smallest, cut to fit),
    with its font and lines."""
    for size, max_lines in TITLE_SIZES:
        font = font_for("serif", size, title)
        lines = wrap(title, font, width, max_lines + 1)
        if len(lines) <= max_lines and len(lines) * line_height(size) <= room:
            return size, font, lines
    return size, font, wrap(title, font, width, max(1, min(max_lines, int(room // line_height(size)))))


def line_height(size: int) -> int:
    """The distance from one title line to the next."""
    return int(size * 1.25)


def cover_bytes(digest: str) -> bytes | None:
    """The page size of an uploaded cover (600×900 at most), by its digest."""
    return db.session.scalar(
        sa.select(CoverImage.data).where(CoverImage.digest == digest, CoverImage.size == "page").limit(1)
    )


def draw_poster(poster: Poster, size: tuple[int, int]) -> Image.Image:
    """The poster at a size: her upload cropped to fill it, else the title on the family colour."""
    data = cover_bytes(poster.cover_digest) if poster.cover_digest else None
    if data is not None:
        with Image.open(io.BytesIO(data)) as cover:
            return ImageOps.fit(cover.convert("RGB"), size, Image.Resampling.LANCZOS)
    width, height = size
    image = Image.new("RGB", size, poster.background)
    draw = ImageDraw.Draw(image)
    inset = width // 20
    draw.rectangle((inset, inset, width - inset, height - inset), outline=blend(poster.ink, poster.background, 0.35))
    small = font_for("sans", max(12, width // 18), "")
    draw.text((width - 2 * inset, 2 * inset), poster.kind.upper(), font=small, fill=poster.ink, anchor="ra")
    title_size = max(14, width // 9)
    font = font_for("serif", title_size, poster.title)
    y = height // 5
    for line in wrap(poster.title, font, width - 4 * inset, 5):
        draw.text((2 * inset, y), line, font=font, fill=poster.ink)
        y += int(title_size * 1.3)
    return image


def blend(colour: str, background: str, opacity: float) -> tuple[int, int, int]:
    """`colour` laid over `background` at an opacity, as RGB."""
    fore, back = Image.new("RGB", (1, 1), colour).getpixel((0, 0)), Image.new("RGB", (1, 1), background).getpixel((0, 0))
    return tuple(round(f * opacity + b * (1 - opacity)) for f, b in zip(fore, back))


def place_posters(card: PreviewCard, canvas: Image.Image) -> tuple[int, int]:
    """Draw the card's posters and return the left and right edges left for its text.

    One cover stands on the left at full height, the way a film or book page shows it; several fan out on
    the right, the first in front.
    """
    width, height = SIZE
    if not card.posters:
        return MARGIN, width - MARGIN
    if len(card.posters) == 1:
        box = (340, 510)
        canvas.paste(draw_poster(card.posters[0], box), (MARGIN, (height - box[1]) // 2))
        return MARGIN + box[0] + 60, width - MARGIN
    box, step = (220, 330), 130
    span = box[0] + step * (len(card.posters) - 1)
    left = width - MARGIN - span
    edge = blend(card.ink, card.background, 0.5)
    for i in reversed(range(len(card.posters))):
        x, y = left + i * step, (height - box[1]) // 2 + (len(card.posters) - 1 - i) * 12
        framed = ImageOps.expand(draw_poster(card.posters[i], box), border=3, fill=edge)
        canvas.paste(framed, (x - 3, y - 3))
    return MARGIN, left - 50


def render_card(card: PreviewCard) -> Image.Image:
    """The card as a 1200×630 RGB image."""
    width, height = SIZE
    canvas = Image.new("RGB", SIZE, card.background)
    draw = ImageDraw.Draw(canvas)
    text_left, text_right = place_posters(card, canvas)
    text_width = text_right - text_left
    title = CONTROL.sub(" ", card.title).strip() or "Untitled"
    muted = blend(card.ink, card.background, 0.75)
    draw.text((text_left, MARGIN), card.eyebrow, font=font_for("sans", 26, ""), fill=muted)
    subtitle = CONTROL.sub(" ", card.subtitle).strip()
    subtitle_font = font_for("serif", 40, subtitle)
    subtitle_lines = wrap(subtitle, subtitle_font, text_width, 1)
    byline = CONTROL.sub(" ", card.byline).strip()
    byline_font = font_for("sans", 34, byline)
    byline_lines = wrap(byline, byline_font, text_width, 2)
    # The title takes what the original title, the byline and the site name leave.
    top, bottom = MARGIN + 60, height - MARGIN - 60
    room = bottom - top - 56 * len(subtitle_lines) - (20 + 46 * len(byline_lines) if byline_lines else 0)
    size, font, lines = fit_title(title, text_width, room)
    y = top
    for line in lines:
        draw.text((text_left, y), line, font=font, fill=card.ink)
        y += line_height(size)
    for line in subtitle_lines:
        draw.text((text_left, y + 4), line, font=subtitle_font, fill=muted)
        y += 56
    y += 20
    for line in byline_lines:
        draw.text((text_left, y), line, font=byline_font, fill=card.ink)
        y += 46
    draw.text((text_left, height - MARGIN), "Afterimage", font=font_for("sans", 28, ""), fill=muted, anchor="ls")
    return canvas


@functools.lru_cache(maxsize=64)
def card_png(card: PreviewCard) -> bytes:
    """The card as PNG bytes, kept in memory by content.

    An lru_cache keyed by the card itself (see docs/architecture.md for the figures): equal content is equal
    bytes, so an entry is never stale and needs no clear_*() call, and a card (~40 ms, ten times a page) is
    drawn once per process per version; the versioned URL's year-long Cache-Control lets nginx keep it after.
    """
    out = io.BytesIO()
    # Not optimize=True: it takes six times as long for 4 % fewer bytes.
    render_card(card).save(out, "PNG")
    return out.getvalue()


@functools.lru_cache(maxsize=256)
def poster_png(poster: Poster) -> bytes:
    """A drawn poster as PNG bytes, kept in memory by content like the cards."""
    out = io.BytesIO()
    draw_poster(poster, POSTER_SIZE).save(out, "PNG")
    return out.getvalue()
