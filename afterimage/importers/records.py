"""Imported rows as catalog values, and the three-way merge that respects the author's own edits."""
from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from afterimage.catalog.models import CuratedList, Item, ListEntry
from afterimage.catalog.rules import (
    QUERY_EACH, CatalogError, ItemFields, item_fields, save_item, validate_item_fields,
    year_label,
)
from afterimage.catalog.slugs import slugify
from afterimage.diary import Viewing
from afterimage.extensions import db
from afterimage.importers.catalog_index import CatalogIndex, find_existing, in_batches
from afterimage.importers.report import FieldNote, ImportReport
from afterimage.recommendations.store import refit_at_commit
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


def merge_imported_item(record: ImportedItem, report: ImportReport, index: CatalogIndex | None = None) -> Item | None:
    """Create, update or leave the record's item; the author's hand edits since the last import win.

    With an index (a big import), the item is looked up and indexed in memory; without, by queries."""
    errors = validate_item_fields(record.fields)
    if errors:
        report.skip(record.row, " ".join(errors.values()))
        return None
    imported = {name: comparable(record.fields, name) for name in record.provided}
    item = find_existing(record, index)
    lookups = index or QUERY_EACH
    if item is None:
        item = save_item(record.fields, lookups=lookups)
        item.import_snapshot = imported
        report.created += 1
        if index is not None:
            index.number(item)
            index.remember(item)
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
        if index is not None:
            index.forget(item)
        try:
            save_item(updated, item, lookups=lookups)
        except CatalogError as error:  # a merged value the rules refuse
            report.skip(record.row, " ".join(error.errors.values()))
            return item
        finally:
            if index is not None:
                index.remember(item)
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


def merge_imported_list(imported: ImportedList, report: ImportReport, on_item: Callable[[ImportedItem], Item | None],
                        index: CatalogIndex) -> None:
    """Create the list (as a draft), or add the entries new in the file; her order, notes and removals stay."""
    curated = index.curated_list(imported.title)
    created = curated is None
    if created:
        curated = CuratedList(
            title=imported.title, introduction=imported.introduction, published=False,
            slug=index.free_slug(CuratedList, slugify(imported.title) or "list"),
        )
        db.session.add(curated)
        index.number(curated)
        index.lists[fold_accents(imported.title.strip())] = curated
    # Each item's import snapshot remembers the imported lists it was put on, so an entry
    # the author took off is not brought back by the next import of the same list.
    list_key = fold_accents(imported.title.strip())
    present = {id(e.item) for e in curated.entries}
    added = 0
    for entry in imported.entries:
        item = on_item(entry.item)
        if item is None:
            continue
        seen_on = index.lists_of(item)
        if id(item) not in present and list_key not in seen_on:
            list_entry = ListEntry(note=entry.note)
            if item.id is not None:
                # By id: through the relationship, adding the entry walked the item's places on every other list.
                list_entry.item_id = item.id
            else:
                list_entry.item = item
            index.number(list_entry)
            curated.entries.append(list_entry)
            present.add(id(item))
            added += 1
        seen_on.add(list_key)
    if created:
        report.lists_created += 1
    elif added:
        report.lists_updated += 1


# Rows of a file written between two flushes, and lists (of a dozen to a few hundred entries each).
CHUNK_ROWS = 500
CHUNK_LISTS = 50
# An import that creates or changes more items than this has the commit refit the recommendations once.
REFIT_ROWS = 200


def apply_records(plan: ImportPlan, report: ImportReport, tick: Callable[[int], None]) -> None:
    """Write an importer's items, then its lists, inside the caller's transaction.

    A chunk of rows at a time: its items, tags and creators read in a few queries, one flush for the chunk.
    Flushing after every row made each flush diff the item lists of big tags ("fiction" on most rows), and
    the time a row took grew with the rows before it.
    """
    index = CatalogIndex()
    with db.session.no_autoflush:
        for chunk in in_batches(plan.items, CHUNK_ROWS):
            index.prefetch(chunk)
            for record in chunk:
                merge_imported_item(record, report, index)
                tick(1)
            flush_chunk(index, report)

        def item_for_entry(record: ImportedItem) -> Item | None:
            # A list may name films she never logged; they are added so the list is complete.
            return index.find(record) or merge_imported_item(record, report, index)

        for chunk in in_batches(plan.lists, CHUNK_LISTS):
            index.prefetch(entry.item for imported in chunk for entry in imported.entries)
            for imported in chunk:
                merge_imported_list(imported, report, item_for_entry, index)
                tick(1)
            index.write_list_snapshots()
            flush_chunk(index, report)
    report.tags_created += index.tags_created
    if report.created + report.updated > REFIT_ROWS:
        refit_at_commit()
        # The import's rows, written, are garbage (ORM objects hold cycles): free them before the refit's matrices.
        del index
        gc.collect()


def flush_chunk(index: CatalogIndex, report: ImportReport) -> None:
    """One flush for a chunk, then let go of what it wrote, and number new rows once the transaction has written."""
    db.session.flush()
    index.unload_big_collections()
    index.start_numbering(wrote=bool(report.created or report.updated or report.lists_created))


