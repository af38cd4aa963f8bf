"""Her next post, ready to paste: a list or a tag as a static block of HTML (no script, no iframe) or Markdown.

Blog hosts and plans that forbid embeds still take plain HTML or Markdown, so the block is made of nothing but
headings, paragraphs, links and images, every address absolute: covers (as JPEG or PNG, since some hosts
refuse SVG), and links back to each item's page. The HTML is rendered by templates/paste/block.html with
Jinja's escaping; the Markdown here, escaping every character a title or note could turn into markup.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import render_template, url_for
from werkzeug.datastructures import MultiDict

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.extensions import db
from afterimage.preview_cards import raster_cover_url

# A tag can gather hundreds of items; a post shows its first ones, as the widget does.
MAX_TAG_ITEMS = 100
# Characters Markdown may read as markup anywhere in a line (CommonMark lets any ASCII punctuation be escaped).
MARKDOWN_INLINE = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")
# What starts a list, a heading underline or a rule at the beginning of a line.
MARKDOWN_LINE_START = re.compile(r"^(\d+)([.)])|^([-=])")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class PasteOptions:
    """What the block includes."""

    covers: bool = True
    notes: bool = True

    @classmethod
    def from_args(cls, args: MultiDict) -> PasteOptions:
        """The options of the studio's form: all on by default; once the form is sent, an unticked box is off."""
        if "options" not in args:
            return cls()
        return cls(covers="covers" in args, notes="notes" in args)


@dataclass(frozen=True)
class PasteEntry:
    """One item of the block, with everything it shows as plain text and absolute URLs."""

    number: int
    title: str
    year: int | None
    byline: str
    url: str
    cover_url: str
    note: str

    @property
    def note_paragraphs(self) -> list[str]:
        """Her note split at blank lines."""
        return paragraphs(self.note)


@dataclass(frozen=True)
class PasteBlock:
    """A list or a tag, ready to render as HTML or Markdown."""

    title: str
    url: str | None  # the list's or tag's page; None while a list is a draft (its page is not public yet)
    introduction: str
    entries: list[PasteEntry]
    numbered: bool  # her lists are ranked; a tag's items are not

    @property
    def introduction_paragraphs(self) -> list[str]:
        """The introduction split at blank lines."""
        return paragraphs(self.introduction)


def paragraphs(text: str) -> list[str]:
    """Non-empty paragraphs of a text, each on one line."""
    return [" ".join(p.split()) for p in PARAGRAPH_BREAK.split(text or "") if p.strip()]


def entry_for(number: int, item: Item, note: str) -> PasteEntry:
    """An item as the block shows it: makers and kind under the title, her note below."""
    makers = ", ".join(c.name for c in item.makers)
    return PasteEntry(
        number=number, title=item.title, year=item.year,
        byline=" · ".join(part for part in (makers, item.kind_label) if part),
        url=url_for("public.item", slug=item.slug, _external=True), cover_url=raster_cover_url(item), note=note,
    )


def list_block(curated: CuratedList) -> PasteBlock:
    """A list in her order, each entry with its note on the list (or, without one, her note on the item)."""
    entries = [entry_for(n, e.item, e.note or e.item.note) for n, e in enumerate(curated.entries, 1)]
    url = url_for("public.curated_list", slug=curated.slug, _external=True) if curated.published else None
    return PasteBlock(curated.title, url, curated.introduction, entries, numbered=True)


def tag_block(tag: Tag) -> PasteBlock:
    """A tag's items in the tag page's order (year, then title), with her notes."""
    items = db.session.scalars(
        sa.select(Item).where(Item.tags.contains(tag)).order_by(Item.year, Item.title_key).limit(MAX_TAG_ITEMS)
    ).all()
    entries = [entry_for(n, item, item.note) for n, item in enumerate(items, 1)]
    return PasteBlock(tag.name, url_for("public.tag", slug=tag.slug, _external=True), tag.description, entries,
                      numbered=False)


def block_for(row: CuratedList | Tag) -> PasteBlock:
    """The block of a list or a tag."""
    return list_block(row) if isinstance(row, CuratedList) else tag_block(row)


def paste_html(block: PasteBlock, options: PasteOptions) -> str:
    """The block as static HTML: no script, no iframe, no class the blog would need to style."""
    return render_template("paste/block.html", block=block, options=options).strip() + "\n"


def markdown_text(text: str) -> str:
    """Text that Markdown shows as itself: markup characters escaped, and list or rule starts defused."""
    escaped = MARKDOWN_INLINE.sub(r"\\\1", " ".join(text.split()))
    return MARKDOWN_LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", escaped)


def markdown_url(url: str) -> str:
    """A URL safe inside Markdown's (...): spaces, parentheses and angle brackets percent-encoded."""
    return url.translate({ord(" "): "%20", ord("("): "%28", ord(")"): "%29", ord("<"): "%3C", ord(">"): "%3E"})


def markdown_link(text: str, url: str) -> str:
    """[text](url) with both escaped."""
    return f"[{markdown_text(text)}]({markdown_url(url)})"


def paste_markdown(block: PasteBlock, options: PasteOptions) -> str:
    """The block as Markdown: a heading per item (a heading cannot turn into a nested list), cover, byline, note."""
    title = markdown_link(block.title, block.url) if block.url else markdown_text(block.title)
    parts = [f"## {title}"]
    parts += [markdown_text(p) for p in block.introduction_paragraphs]
    for entry in block.entries:
        number = f"{entry.number}. " if block.numbered else ""
        year = f" ({entry.year})" if entry.year else ""
        parts.append(f"### {number}{markdown_link(entry.title, entry.url)}{year}")
        if options.covers:
            parts.append(f"[![Cover of {markdown_text(entry.title)}]({markdown_url(entry.cover_url)})]"
                         f"({markdown_url(entry.url)})")
        parts.append(markdown_text(entry.byline))
        if options.notes:
            parts += [markdown_text(p) for p in entry.note_paragraphs]
    if block.url:
        parts.append(f"*{markdown_link('More on Afterimage', block.url)}*")
    return "\n\n".join(parts) + "\n"


def paste_codes(row: CuratedList | Tag, options: PasteOptions | None = None) -> dict[str, str]:
    """The HTML and the Markdown of a list or a tag, for the studio's panel."""
    block, options = block_for(row), options or PasteOptions()
    return {"html": paste_html(block, options), "markdown": paste_markdown(block, options)}
