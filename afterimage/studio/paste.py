"""Her next post, ready to paste: a list, a tag or a set of items she picks, as a static block of HTML (no
script, no iframe) or Markdown.

Blog hosts and plans that forbid embeds still take plain HTML or Markdown, so the block is made of nothing but
headings, paragraphs, links and images, every address absolute: covers (as JPEG or PNG, since some hosts
refuse SVG), and links back to each item's page. Only published items appear: a block is public the moment
she pastes it, so her watchlist and what she is in the middle of never leak through it. The HTML is rendered
by templates/paste/block.html with Jinja's escaping; the Markdown here, escaping every character a title or
note could turn into markup.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from flask import render_template, url_for
from werkzeug.datastructures import MultiDict

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.catalog.rules import is_published, published_items
from afterimage.extensions import db
from afterimage.preview_cards import raster_cover_url
from afterimage.catalog.slugs import find_by_slug

# A tag can gather hundreds of items; a post shows its first ones, as the widget does.
MAX_TAG_ITEMS = 100
# A set she picks by hand is a post's worth: as many as readers' "I liked these" set holds (MAX_LIKED), so that
# the block's link to that page shows the same items.
MAX_PICKED_ITEMS = 20
# How a tag's block may be ordered (a tag has no order of its own): the tag page's order, or her ranking.
TAG_ORDERS = {
    "year": ("By year", (Item.year, Item.title_key)),
    "rating": ("By my rating, best first", (Item.rating.desc().nulls_last(), Item.year, Item.title_key)),
    "title": ("By title", (Item.title_key,)),
}
# What separates the slugs or addresses she pastes: commas, spaces, new lines.
PICK_SEPARATORS = re.compile(r"[\s,]+")
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
    order: str = "year"  # a tag's order (TAG_ORDERS); a list and a set keep hers

    @classmethod
    def from_args(cls, args: MultiDict) -> PasteOptions:
        """The options of the studio's form: all on by default; once the form is sent, an unticked box is off."""
        order = args.get("order", "year") if args.get("order") in TAG_ORDERS else "year"
        if "options" not in args:
            return cls(order=order)
        return cls(covers="covers" in args, notes="notes" in args, order=order)


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


@dataclass(frozen=True)
class PickedItems:
    """A set of items she picked for a post, in her order, with the heading and introduction she gave it."""

    title: str
    introduction: str
    items: list[Item]
    not_found: list[str] = field(default_factory=list)  # what she pasted that names no published item
    over_limit: list[str] = field(default_factory=list)  # what came after the first MAX_PICKED_ITEMS

    @property
    def slugs(self) -> str:
        """The items' slugs, comma-separated, as the form and the readers' "I liked these" link take them."""
        return ",".join(item.slug for item in self.items)


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
    """A list's published entries in her order, numbered as readers see them, each with its note on the list
    (or, without one, her note on the item)."""
    shown = [e for e in curated.entries if is_published(e.item)]
    entries = [entry_for(n, e.item, e.note or e.item.note) for n, e in enumerate(shown, 1)]
    url = url_for("public.curated_list", slug=curated.slug, _external=True) if curated.published else None
    return PasteBlock(curated.title, url, curated.introduction, entries, numbered=True)


def items_block(title: str, url: str | None, introduction: str, items: list[Item], numbered: bool) -> PasteBlock:
    """Items with her notes on them, as a block."""
    entries = [entry_for(n, item, item.note) for n, item in enumerate(items, 1)]
    return PasteBlock(title, url, introduction, entries, numbered=numbered)


def tag_items(tag: Tag, order: str = "year") -> list[Item]:
    """A tag's published items in one of TAG_ORDERS, as many as a block shows."""
    return list(db.session.scalars(
        sa.select(Item).where(Item.tags.contains(tag), published_items())
        .order_by(*TAG_ORDERS.get(order, TAG_ORDERS["year"])[1]).limit(MAX_TAG_ITEMS)
    ))


def tag_block(tag: Tag, order: str = "year") -> PasteBlock:
    """A tag's published items by year (the tag page's order), by her rating or by title, with her notes."""
    url = url_for("public.tag", slug=tag.slug, _external=True)
    return items_block(tag.name, url, tag.description, tag_items(tag, order), numbered=order == "rating")


def picked_slugs(values: list[str]) -> list[str]:
    """The item slugs in what she pasted or ticked: slugs, item page addresses or an "I liked these" link
    (its ?items=a,b), in her order, each once."""
    slugs: list[str] = []
    for token in (t for value in values for t in PICK_SEPARATORS.split(value) if t):
        parts = urlsplit(token)
        path = parts.path.rstrip("/")
        if "/items/" in path:
            slugs.append(path.rsplit("/items/", 1)[1].split("/")[0])
        elif path.endswith("/liked") or parse_qs(parts.query).get("items"):
            slugs += [s for v in parse_qs(parts.query).get("items", []) for s in v.split(",") if s]
        else:
            slugs.append(path.rsplit("/", 1)[-1])
    return list(dict.fromkeys(slugs))


def picked_items(args: MultiDict) -> PickedItems:
    """The set named by the studio's form (`items`, repeated or pasted; `title`; `introduction`): published
    items only, found by current or old slug; anything else is named in `not_found`."""
    items: list[Item] = []
    not_found: list[str] = []
    over_limit: list[str] = []
    for slug in picked_slugs(args.getlist("items")):
        item, _ = find_by_slug(Item, slug)
        if item is None or not is_published(item):
            not_found.append(slug)
        elif len(items) == MAX_PICKED_ITEMS:
            over_limit.append(slug)
        elif item not in items:  # an old slug and the current one name the same item
            items.append(item)
    title = " ".join(args.get("title", "").split()) or "My picks"
    return PickedItems(title, args.get("introduction", "").strip(), items, not_found, over_limit)


def picked_block(picked: PickedItems) -> PasteBlock:
    """A set she picked, in her order and numbered; it links to the readers' "I liked these" page for the set,
    which shows the same items with recommendations for all of them."""
    url = url_for("public.liked", items=picked.slugs, _external=True) if picked.items else None
    return items_block(picked.title, url, picked.introduction, picked.items, numbered=True)


def block_for(row: CuratedList | Tag | PickedItems, options: PasteOptions | None = None) -> PasteBlock:
    """The block of a list, a tag or a set she picked."""
    if isinstance(row, CuratedList):
        return list_block(row)
    if isinstance(row, PickedItems):
        return picked_block(row)
    return tag_block(row, (options or PasteOptions()).order)


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


def paste_codes(row: CuratedList | Tag | PickedItems, options: PasteOptions | None = None) -> dict[str, str]:
    """The HTML and the Markdown of a list, a tag or a set, for the studio's panel."""
    options = options or PasteOptions()
    block = block_for(row, options)
    return {"html": paste_html(block, options), "markdown": paste_markdown(block, options)}
