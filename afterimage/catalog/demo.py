"""Loads the demo catalog from its data file; running it twice changes nothing."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, DiaryEntry, ListEntry, Tag
from afterimage.catalog.rules import ItemFields, find_duplicate, get_or_create_tag, save_item
from afterimage.catalog.slugs import slugify, unique_slug
from afterimage.extensions import db
from afterimage.importers.catalog_index import CatalogIndex

DEMO_PATH = Path(__file__).parent / "data" / "demo_catalog.json"


@dataclass
class DemoReport:
    """What a demo load created; all zeros on a second run."""

    items: int = 0
    tags: int = 0
    lists: int = 0


def load_demo_catalog(path: Path = DEMO_PATH) -> DemoReport:
    """Add the demo tags, items and lists that are missing, in one transaction."""
    data = json.loads(path.read_text(encoding="utf-8"))
    report = DemoReport()
    try:
        tags_before = db.session.scalar(sa.select(sa.func.count(Tag.id)))
        for tag in data["tags"]:
            get_or_create_tag(tag["name"], tag.get("family"))
        db.session.flush()
        report.tags = db.session.scalar(sa.select(sa.func.count(Tag.id))) - tags_before
        # Tags and people looked up from memory, read in two queries, not a query for each of each item's.
        index = CatalogIndex()
        index.load_file_names(data)
        # Newest last: the file opens with the showcase, which should head "Recently added".
        for raw in reversed(data["items"]):
            if find_duplicate(raw["kind"], raw["title"], raw.get("year")) is None:
                item = save_item(demo_item_fields(raw), lookups=index)
                item.diary_entries = demo_diary(raw)
                db.session.flush()
                report.items += 1
        for raw in data["lists"]:
            slug = slugify(raw["title"])
            if db.session.scalar(sa.select(CuratedList.id).where(CuratedList.slug == slug)) is None:
                add_demo_list(raw)
                report.lists += 1
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def demo_item_fields(raw: dict) -> ItemFields:
    """The data file's item object as ItemFields."""
    return ItemFields(
        kind=raw["kind"],
        title=raw["title"],
        year=raw.get("year"),
        original_title=raw.get("original_title"),
        creators=[(c["name"], c["role"]) for c in raw.get("creators", [])],
        tags=raw.get("tags", []),
        country=raw.get("country"),
        language=raw.get("language"),
        description=raw.get("description", ""),
        note=raw.get("note", ""),
        rating=raw.get("rating"),
        status=raw.get("status", "seen"),
        where_to_find=raw.get("where_to_find"),
    )


def demo_diary(raw: dict) -> list[DiaryEntry]:
    """The data file's diary of an item: the days she watched or read it, as a backup writes them."""
    return [
        DiaryEntry(seen_on=date.fromisoformat(d["date"]), rewatch=d.get("rewatch", False), rating=d.get("rating"))
        for d in raw.get("diary", [])
    ]


def add_demo_list(raw: dict) -> CuratedList:
    """Add a curated list whose entries name demo items by kind, title and year."""
    curated = CuratedList(
        title=raw["title"], slug=unique_slug(CuratedList, slugify(raw["title"])),
        introduction=raw.get("introduction", ""), published=True,
    )
    db.session.add(curated)
    for entry in raw["entries"]:
        item = find_duplicate(entry["kind"], entry["title"], entry.get("year"))
        if item is None:
            raise ValueError(f"Demo list {raw['title']!r} names a missing item: {entry['title']}")
        curated.entries.append(ListEntry(item=item, note=entry.get("note", "")))
    return curated
