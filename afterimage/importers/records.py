"""Imported rows as catalog values, and the three-way merge that respects the author's own edits."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item, ListEntry
from afterimage.catalog.rules import (
    CatalogError, ItemFields, find_duplicate, item_fields, save_item, validate_item_fields, year_label,
)
from afterimage.catalog.slugs import slugify, unique_slug
from afterimage.diary import Viewing
from afterimage.extensions import db
from afterimage.importers.report import FieldNote, ImportReport
from recs.text import fold_accents

# Fields an importer can bring; creators and tags are compared as lists, the rest as values.
MERGEABLE = (
    "title", "year", "original_title", "creators", "tags", "note", "rating", "status",
    "letterboxd_uri", "goodreads_id", "isbn13",
)
EMPTY = (None, "", [])
_MISSING = object()


@dataclass
class ImportedItem:
    """One film or book as a file describes it, with the fields that file actually carries."""

    row: str
    fields: ItemFields
    provided: set[str]
    # ("letterboxd_uri" | "goodreads_id", value): the service's own id, matched before the title.
    source_key: tuple[str, str] | None = None
    # Days she watched or read it (Letterboxd diary rows, Goodreads' Date Read): importers/diary.py.
    diary: list[Viewing] = field(default_factory=list)


@dataclass
class ImportedListEntry:
    """A list position: the item it names and the note beside it."""

    item: ImportedItem
    note: str = ""


@dataclass
class ImportedList:
    """A curated list from a file, in the file's order."""

    row: str
    title: str
    introduction: str = ""
    entries: list[ImportedListEntry] = field(default_factory=list)


@dataclass
class ImportPlan:
    """A file read and understood, not yet written: the importer's records, or a backup to restore."""

    source: str
    items: list[ImportedItem] = field(default_factory=list)
    lists: list[ImportedList] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    backup: dict[str, Any] | None = None

    @property
    def steps(self) -> int:
        """How many units of work applying the plan takes, for a progress bar."""
        if self.backup is not None:
            return len(self.backup.get("items", [])) + len(self.backup.get("lists", []))
        return len(self.items) + len(self.lists)


def comparable(fields: ItemFields, name: str) -> Any:
    """A field's value in a form that compares and serialises to JSON the same way every time."""
    value = getattr(fields, name)
    if name == "creators":
        return [[n.strip(), r] for n, r in value]
    if name == "tags":
        return sorted({fold_accents(" ".join(t.split())): " ".join(t.split()) for t in value}.values(), key=fold_accents)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def find_existing(record: ImportedItem) -> Item | None:
    """The catalog item a record stands for: by the service's id first, then kind, title and year."""
    if record.source_key:
        column, value = record.source_key
        item = db.session.scalar(sa.select(Item).where(getattr(Item, column) == value).limit(1))
        if item is not None:
            return item
    f = record.fields
    item = find_duplicate(f.kind, f.title, f.year)
    if item is not None and record.source_key and record.source_key[0] == "goodreads_id":
        # Same title and year but another Goodreads book id: two different works. (Letterboxd
        # writes one film under several URL forms, boxd.it and letterboxd.com/film, so not there.)
        if item.goodreads_id not in (None, "", record.source_key[1]):
            return None
    return item


def merge_imported_item(record: ImportedItem, report: ImportReport) -> Item | None:
    """Create, update or leave the record's item; the author's hand edits since the last import win."""
    errors = validate_item_fields(record.fields)
    if errors:
        report.skip(record.row, " ".join(errors.values()))
        return None
    imported = {name: comparable(record.fields, name) for name in record.provided}
    item = find_existing(record)
    if item is None:
        item = save_item(record.fields)
        item.import_snapshot = imported
        report.created += 1
        return item

    snapshot = dict(item.import_snapshot or {})
    current = item_fields(item)
    updated = replace(current, creators=list(current.creators), tags=list(current.tags))
    label = f"{item.title}" + (f" ({year_label(item.year)})" if item.year else "")
    changed: list[str] = []
    for name in sorted(record.provided):
        new, cur = imported[name], comparable(current, name)
        last = snapshot.get(name, _MISSING)
        if name == "tags":
            merged = merge_tags(cur, new, [] if last is _MISSING else last)
            if [fold_accents(t) for t in merged] != [fold_accents(t) for t in cur]:
                updated.tags = merged
                changed.append(name)
            continue
        if new == cur or (last is not _MISSING and new == last):
            # Same value, or the file has not changed since last time: whatever she typed stands.
            continue
        if cur in EMPTY or (last is not _MISSING and cur == last):
            setattr(updated, name, record_value(record.fields, name))
            changed.append(name)
            if cur not in EMPTY:
                report.overwritten.append(FieldNote(label, name))
        elif item.import_snapshot is None:
            report.left_alone.append(FieldNote(label, name, "the item was entered by hand and its value differs"))
        else:
            report.left_alone.append(FieldNote(label, name))
    if changed:
        try:
            save_item(updated, item)
        except CatalogError as error:  # a merged value the rules refuse
            report.skip(record.row, " ".join(error.errors.values()))
            return item
        report.updated += 1
    else:
        report.unchanged += 1
    if snapshot != {**snapshot, **imported}:
        item.import_snapshot = {**snapshot, **imported}
    return item


def record_value(fields: ItemFields, name: str) -> Any:
    """The raw imported value of a field, as ItemFields holds it."""
    value = getattr(fields, name)
    if name == "creators":
        return list(value)
    return value


def merge_tags(current: list[str], imported: list[str], last: list[str]) -> list[str]:
    """Tags new in the file are added, tags dropped from the file go, tags she added or removed stay so."""
    key = fold_accents
    cur, new, old = ({key(t) for t in tags} for tags in (current, imported, last))
    result = [t for t in current if not (key(t) in old and key(t) not in new)]
    result += [t for t in imported if key(t) not in old and key(t) not in cur]
    return result


def merge_imported_list(imported: ImportedList, report: ImportReport, on_item: Callable[[ImportedItem], Item | None]) -> None:
    """Create the list (as a draft), or add the entries new in the file; her order, notes and removals stay."""
    # Lists are few; comparing folded titles in Python also matches accents in any case ("Écrans").
    wanted = fold_accents(imported.title.strip())
    curated = next((c for c in db.session.scalars(sa.select(CuratedList).order_by(CuratedList.id))
                    if fold_accents(c.title.strip()) == wanted), None)
    created = curated is None
    if created:
        curated = CuratedList(
            title=imported.title, introduction=imported.introduction, published=False,
            slug=unique_slug(CuratedList, slugify(imported.title) or "list"),
        )
        db.session.add(curated)
    # Each item's import snapshot remembers the imported lists it was put on, so an entry
    # the author took off is not brought back by the next import of the same list.
    list_key = fold_accents(imported.title.strip())
    present = {id(e.item) for e in curated.entries}
    added = 0
    for entry in imported.entries:
        item = on_item(entry.item)
        if item is None:
            continue
        snapshot = dict(item.import_snapshot or {})
        seen_on = list(snapshot.get("lists", []))
        if id(item) not in present and list_key not in seen_on:
            curated.entries.append(ListEntry(item=item, note=entry.note))
            present.add(id(item))
            added += 1
        if list_key not in seen_on:
            item.import_snapshot = {**snapshot, "lists": sorted([*seen_on, list_key])}
    if created:
        report.lists_created += 1
    elif added:
        report.lists_updated += 1
