"""Rules for catalog rows, written once and used by the studio forms, the importers and the demo loader."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.catalog.models import KINDS, ROLES, STATUSES, Creator, Credit, CuratedList, Item, Tag, item_tags
from afterimage.catalog.slugs import item_slug_base, slugify, unique_slug
from afterimage.extensions import db
from recs.text import fold_accents

# Films begin with the first moving pictures; books may be as old as writing (negative years are BC).
EARLIEST_YEAR = {"film": 1870, "book": -3000}
TEXT_FIELDS = (
    "title", "original_title", "country", "language", "description", "note",
    "cover_url", "blog_url", "letterboxd_uri", "goodreads_id", "isbn13", "where_to_find",
)
URL_FIELDS = ("cover_url", "blog_url", "letterboxd_uri")
# Column lengths, so that an over-long value is a message, not a database error.
MAX_LENGTHS = {
    "title": 300, "original_title": 300, "country": 100, "language": 100, "cover_url": 500,
    "blog_url": 500, "letterboxd_uri": 500, "goodreads_id": 32, "where_to_find": 300,
}


# Shelves in each kind's own words: she watched a film, she read a book.
STATUS_LABELS = {
    "film": {"seen": "Watched", "current": "Watching", "want": "Want to watch"},
    "book": {"seen": "Read", "current": "Reading", "want": "Want to read"},
}
# What readers may see: what she has watched or read. Her watchlist, to-read shelf and what she is in the
# middle of stay hers (the studio lists them); every public query goes through published_items().
PUBLISHED_STATUSES = ("seen",)


def published_items() -> sa.ColumnElement[bool]:
    """The condition an item meets to be shown to readers (pages, feeds, search, API, widget, recommendations)."""
    return Item.status.in_(PUBLISHED_STATUSES)


def published_count() -> int:
    """How many items readers may see: every item less those kept back, each counted on a small index (counting
    the published ones directly reads every row of a table that holds her descriptions and notes)."""
    every = db.session.scalar(sa.select(sa.func.count()).select_from(Item))
    kept = db.session.scalar(sa.select(sa.func.count()).select_from(Item).where(
        sa.and_(*(Item.status != status for status in PUBLISHED_STATUSES))))
    return every - kept


def up_next_items() -> sa.ColumnElement[bool]:
    """The items on her "Up next" page, when she publishes it: her watchlist and to-read shelf."""
    return Item.status == "want"


def is_published(item: Item) -> bool:
    """True when readers may see this item: published_items() for one loaded row."""
    return item.status in PUBLISHED_STATUSES


def tag_is_published(tag: Tag) -> bool:
    """Whether readers may see a tag: not when only private items carry it (its name alone would tell them),
    as a person credited only on private items has no page either. A tag on nothing yet stays visible."""
    public, carried = db.session.execute(
        sa.select(sa.func.count(Item.id), sa.func.count(item_tags.c.item_id))
        .select_from(item_tags)
        .outerjoin(Item, sa.and_(Item.id == item_tags.c.item_id, published_items()))
        .where(item_tags.c.tag_id == tag.id)
    ).one()
    return public > 0 or carried == 0


def readers_may_see(row: Item | Tag | CuratedList) -> bool:
    """Whether a row has a public page: a published list, an item she has watched or read, a tag not carried
    only by private items."""
    if isinstance(row, CuratedList):
        return row.published
    return is_published(row) if isinstance(row, Item) else tag_is_published(row)


def status_label(item: Item) -> str:
    """The item's shelf in its kind's words: "Watched", "Reading", "Want to watch"."""
    return STATUS_LABELS.get(item.kind, STATUS_LABELS["film"]).get(item.status, item.status)


class CatalogError(ValueError):
    """Invalid data for a catalog row; `errors` maps each field to a message a person understands."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class ItemFields:
    """Everything the author can say about an item, as plain values."""

    kind: str
    title: str
    year: int | None = None
    original_title: str | None = None
    creators: list[tuple[str, str]] = field(default_factory=list)  # (name, role)
    tags: list[str] = field(default_factory=list)
    country: str | None = None
    language: str | None = None
    description: str = ""
    note: str = ""
    rating: float | None = None
    status: str = "seen"
    cover_url: str | None = None
    blog_url: str | None = None
    letterboxd_uri: str | None = None
    goodreads_id: str | None = None
    isbn13: str | None = None
    where_to_find: str | None = None


def latest_year() -> int:
    """Next year: announced books and festival films may carry it."""
    return date.today().year + 1


def earliest_year(kind: str) -> int:
    """The oldest year an item of this kind may carry: 1870 for films, 3000 BC (-3000) for books."""
    return EARLIEST_YEAR.get(kind, EARLIEST_YEAR["film"])


def year_problem(kind: str, year: int) -> str | None:
    """Why a year cannot be an item's, or None: the one year rule for forms, importers, backups and the API."""
    low, high = earliest_year(kind), latest_year()
    if year == 0:
        return "There is no year 0: write 1 BC as -1."
    if not low <= year <= high:
        oldest = f"{low} ({year_label(low)})" if low < 0 else str(low)
        return f"The year must be between {oldest} and {high}."
    return None


def year_label(year: int | None) -> str:
    """A year as readers write it: "1959", or "c. 700 BC" for -700 (ancient dates are rarely exact); "" for none."""
    if year is None:
        return ""
    return f"c. {-year} BC" if year < 0 else str(year)


def is_http_url(value: str) -> bool:
    """True for absolute http(s) URLs with a host; never javascript: or data: URLs."""
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value.strip()


def normalise_isbn13(value: str) -> str:
    """Digits only, as stored: "978-0-385-49300-0" -> "9780385493000"."""
    return re.sub(r"[\s-]", "", value)


def isbn13_is_valid(value: str) -> bool:
    """Thirteen digits with a correct EAN-13 check digit."""
    if not re.fullmatch(r"\d{13}", value):
        return False
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(value[:12]))
    return (10 - total % 10) % 10 == int(value[12])


def rating_is_valid(value: float) -> bool:
    """Half stars from 0.5 to 5."""
    return 0.5 <= value <= 5 and float(value * 2).is_integer()


def validate_item_fields(f: ItemFields) -> dict[str, str]:
    """Every problem with the fields, by field name; empty when they can be saved."""
    errors: dict[str, str] = {}
    if f.kind not in KINDS:
        errors["kind"] = "Choose film or book."
    if not (f.title or "").strip():
        errors["title"] = "A title is required."
    if f.year is not None and f.kind in KINDS and (problem := year_problem(f.kind, f.year)):
        errors["year"] = problem
    if f.rating is not None and not rating_is_valid(f.rating):
        errors["rating"] = "Ratings go from 0.5 to 5 stars in half-star steps."
    if f.status not in STATUSES:
        errors["status"] = "Choose a shelf: watched or read, watching or reading, or want to watch or read."
    for name in URL_FIELDS:
        value = getattr(f, name)
        if value and not is_http_url(value):
            errors[name] = "Enter a full web address starting with http:// or https://."
    if f.isbn13 and not isbn13_is_valid(normalise_isbn13(f.isbn13)):
        errors["isbn13"] = "This is not a valid ISBN-13 (13 digits with a correct check digit)."
    for name, limit in MAX_LENGTHS.items():
        value = getattr(f, name)
        if value and len(value) > limit and name not in errors:
            errors[name] = f"Keep this under {limit} characters."
    for name, role in f.creators:
        if role not in ROLES:
            errors["creators"] = f"Unknown role {role!r} for {name}: use one of {', '.join(ROLES)}."
        elif not name.strip():
            errors["creators"] = "A creator needs a name."
    for tag in f.tags:
        if len(tag) > 100:
            errors["tags"] = f"Tag names stay under 100 characters ({tag[:20]}…)."
    return errors


def find_duplicate(kind: str, title: str, year: int | None, exclude_id: int | None = None) -> Item | None:
    """An existing item of the same kind, title (ignoring accents and case) and year."""
    query = sa.select(Item).where(
        Item.kind == kind, Item.title_key == fold_accents(title.strip()), Item.year.is_(None) if year is None else Item.year == year
    )
    if exclude_id is not None:
        query = query.where(Item.id != exclude_id)
    return db.session.scalars(query.limit(1)).first()


def find_by_name(model: type[Tag] | type[Creator], name: str) -> Tag | Creator | None:
    """The tag or creator with this name ignoring case, accents and spacing, saved or still pending."""
    key = fold_accents(" ".join(name.split()))
    found = db.session.scalar(sa.select(model).where(model.name_key == key))
    # Look in the session too: an import may name the same tag twice before a flush.
    return found or next((o for o in db.session.new if isinstance(o, model) and o.name_key == key), None)


def get_or_create_tag(name: str, family: str | None = None) -> Tag:
    """The tag with this name ignoring case and accents, created if new."""
    name = " ".join(name.split())
    tag = find_by_name(Tag, name)
    if tag is None:
        tag = Tag(name=name, name_key=fold_accents(name), slug=unique_slug(Tag, slugify(name) or "tag"), family=family)
        db.session.add(tag)
    elif family and not tag.family:
        tag.family = family
    return tag


def get_or_create_creator(name: str) -> Creator:
    """The creator with this name ignoring case and accents, created if new (with a page address)."""
    name = " ".join(name.split())
    creator = find_by_name(Creator, name)
    if creator is None:
        creator = Creator(name=name, name_key=fold_accents(name), slug=unique_creator_slug(name))
        db.session.add(creator)
    return creator


def unique_creator_slug(name: str) -> str:
    """The folded name as an address ("Agnès Varda" -> "agnes-varda"), with -2, -3... when two names fold alike."""
    base = slugify(name) or "person"
    pending = {o.slug for o in db.session.new if isinstance(o, Creator)}
    candidate, n = base, 1
    while candidate in pending or db.session.scalar(sa.select(Creator.id).where(Creator.slug == candidate)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


class Lookups:
    """How a save finds tags and creators by name and picks a free item slug: a query each, as one form's save
    needs. An import of thousands of rows passes its own (importers/records.py), which answers from memory."""

    def tag(self, name: str) -> Tag:
        """The tag with this name ignoring case and accents, created if new."""
        return get_or_create_tag(name)

    def creator(self, name: str) -> Creator:
        """The creator with this name ignoring case and accents, created if new."""
        return get_or_create_creator(name)

    def item_slug(self, base: str) -> str:
        """A slug no item or old item address holds yet."""
        return unique_slug(Item, base)


QUERY_EACH = Lookups()


def save_item(f: ItemFields, item: Item | None = None, lookups: Lookups = QUERY_EACH) -> Item:
    """Validate and write an item (new when `item` is None); raises CatalogError and writes nothing if invalid."""
    errors = validate_item_fields(f)
    if errors:
        raise CatalogError(errors)
    if item is None:
        item = Item(kind=f.kind)
        item.slug = lookups.item_slug(item_slug_base(f.title.strip(), f.year))
        db.session.add(item)
    item.kind = f.kind
    item.title = f.title.strip()
    item.year = f.year
    item.rating = f.rating
    item.status = f.status
    for name in TEXT_FIELDS:
        if name == "title":
            continue
        value = getattr(f, name)
        value = value.strip() if isinstance(value, str) else value
        if name == "isbn13" and value:
            value = normalise_isbn13(value)
        if name in ("description", "note"):
            value = value or ""
        setattr(item, name, value or ("" if name in ("description", "note") else None))
    set_credits(item, f.creators, lookups)
    item.tags = unique_tags(lookups.tag(t) for t in f.tags if t.strip())
    return item


def unique_tags(tags: Iterable[Tag]) -> list[Tag]:
    """Tags without repeats, keeping the first of each."""
    seen: set[str] = set()
    return [t for t in tags if not (t.name_key in seen or seen.add(t.name_key))]


def set_credits(item: Item, creators: list[tuple[str, str]], lookups: Lookups = QUERY_EACH) -> None:
    """Replace the item's credits, keeping the order given and dropping repeats."""
    wanted: list[tuple[Creator, str]] = []
    for name, role in creators:
        creator = lookups.creator(name)
        if (creator.name_key, role) not in {(c.name_key, r) for c, r in wanted}:
            wanted.append((creator, role))
    current = {(c.creator.name_key, c.role): c for c in item.credits}
    credits = []
    for position, (creator, role) in enumerate(wanted):
        credit = current.get((creator.name_key, role)) or Credit(creator=creator, role=role)
        credit.position = position
        credits.append(credit)
    item.credits = credits


def item_fields(item: Item) -> ItemFields:
    """The item's current values, for prefilling a form or exporting."""
    return ItemFields(
        kind=item.kind,
        title=item.title,
        year=item.year,
        original_title=item.original_title,
        creators=[(c.creator.name, c.role) for c in item.credits],
        tags=[t.name for t in item.tags],
        **{n: getattr(item, n) for n in TEXT_FIELDS if n not in ("title", "original_title")},
        rating=item.rating,
        status=item.status,
    )


def search_text_for(item: Item) -> str:
    """Folded text of every field a reader may search by."""
    return searchable_text(item.title, item.original_title, item.year, item.country, item.language,
                           item.description, [c.creator.name for c in item.credits], [t.name for t in item.tags])


def searchable_text(title: str, original_title: str | None, year: int | None, country: str | None,
                    language: str | None, description: str | None, creator_names: list[str],
                    tag_names: list[str]) -> str:
    """search_text from the fields themselves (creators in credit order, tags by folded name), for bulk
    inserts that build no ORM objects: a save that changes nothing then leaves it as it was."""
    # Sorted here: a new item's tags are in the order given, a loaded item's in its relationship's order.
    tags = sorted(tag_names, key=fold_accents)
    parts: list[Any] = [title, original_title, year, country, language, description, *creator_names, *tags]
    return fold_accents(" ".join(str(p) for p in parts if p))


def refresh_derived_item_columns(session: so.Session) -> None:
    """Keep title_key and search_text in step with every change, whoever made it (before each flush)."""
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Item):
            obj.title_key = fold_accents(obj.title or "")
            obj.search_text = search_text_for(obj)
