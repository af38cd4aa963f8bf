"""Imported rows as catalog values, and the three-way merge that respects the author's own edits."""
from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.catalog.models import Creator, CuratedList, Item, ListEntry, SlugRedirect, Tag
from afterimage.catalog.rules import (
    QUERY_EACH, CatalogError, ItemFields, Lookups, find_duplicate, item_fields, save_item, validate_item_fields,
    year_label,
)
from afterimage.catalog.slugs import ENTITY_OF, slugify, unique_slug
from afterimage.diary import Viewing
from afterimage.extensions import db
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


def find_existing(record: ImportedItem, index: CatalogIndex | None = None) -> Item | None:
    """The catalog item a record stands for: by the service's id first, then kind, title and year."""
    if index is not None:
        return index.find(record)
    if record.source_key:
        column, value = record.source_key
        item = db.session.scalar(sa.select(Item).where(getattr(Item, column) == value).limit(1))
        if item is not None:
            return item
    f = record.fields
    return same_work(record, find_duplicate(f.kind, f.title, f.year))


def same_work(record: ImportedItem, item: Item | None) -> Item | None:
    """The item found by title and year, unless the record's Goodreads id says it is another book."""
    if item is not None and record.source_key and record.source_key[0] == "goodreads_id":
        # Same title and year but another Goodreads book id: two different works. (Letterboxd
        # writes one film under several URL forms, boxd.it and letterboxd.com/film, so not there.)
        if item.goodreads_id not in (None, "", record.source_key[1]):
            return None
    return item


def title_key(kind: str, title: str, year: int | None) -> tuple[str, str, int | None]:
    """How find_duplicate matches an item: kind, folded title and year."""
    return kind, fold_accents((title or "").strip()), year


SOURCE_COLUMNS = ("goodreads_id", "letterboxd_uri")
# Parameters in one IN (...): well under SQLite's limit on a statement's parameters.
IN_CHUNK = 500


def in_chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    """Values in lists short enough for one IN (...) each."""
    return in_batches(list(values), IN_CHUNK)


class CatalogIndex(Lookups):
    """What an import looks up, read from the database a chunk of rows at a time and kept in memory as it
    writes: items by service id and by title, tags and creators by folded name, taken slugs.

    A query per tag, creator, slug and row made a 10,000-row import spend most of its time asking; and since
    the rows of a chunk are flushed together, the rows of the file see each other here, not in the database.
    """

    def __init__(self) -> None:
        self.items: dict[tuple, Item] = {}
        self.names: dict[type, dict[str, Tag | Creator]] = {Tag: {}, Creator: {}}
        self.asked: dict[type, set[str]] = {Tag: set(), Creator: set()}
        self.slugs: dict[type, set[str]] = {}
        self.lists: dict[str, CuratedList] | None = None
        # Items put on imported lists in this import: the list keys their snapshot will remember.
        self.list_keys: dict[int, tuple[Item, set[str]]] = {}
        self.numbering = False
        self.next_ids: dict[type, int] = {}

    # Items

    def prefetch(self, records: Iterable[ImportedItem]) -> None:
        """Load, in a few queries, the items, tags and creators these records may name."""
        records = list(records)
        keys: dict[str, set[str]] = {column: set() for column in SOURCE_COLUMNS}
        titles: set[str] = set()
        for record in records:
            if record.source_key:
                keys[record.source_key[0]].add(record.source_key[1])
            titles.add(title_key(record.fields.kind, record.fields.title, None)[1])
        wanted = [getattr(Item, column).in_(chunk) for column, values in keys.items() for chunk in in_chunks(values)]
        wanted += [Item.title_key.in_(chunk) for chunk in in_chunks(titles)]
        for condition in wanted:
            query = sa.select(Item).where(condition).order_by(Item.id).options(
                so.selectinload(Item.tags), so.selectinload(Item.credits))
            for item in db.session.scalars(query):
                self.remember(item)
        self.load_names(Tag, (t for r in records for t in r.fields.tags))
        self.load_names(Creator, (name for r in records for name, _ in r.fields.creators))

    def remember(self, item: Item) -> None:
        """Index an item under its service ids and its title; the first item under a key keeps it."""
        for key in self.keys_of(item):
            self.items.setdefault(key, item)

    def forget(self, item: Item) -> None:
        """Take an item out before it changes, so that it is found under its new keys only."""
        for key in self.keys_of(item):
            if self.items.get(key) is item:
                del self.items[key]

    @staticmethod
    def keys_of(item: Item) -> list[tuple]:
        """The keys find_existing may find an item by: its service ids, then its kind, title and year."""
        keys: list[tuple] = [(column, getattr(item, column)) for column in SOURCE_COLUMNS if getattr(item, column)]
        return keys + [title_key(item.kind, item.title, item.year)]

    def find(self, record: ImportedItem) -> Item | None:
        """find_existing, from memory: the records must have been prefetched."""
        if record.source_key and (item := self.items.get(record.source_key)) is not None:
            return item
        f = record.fields
        return same_work(record, self.items.get(title_key(f.kind, f.title, f.year)))

    # Tags and creators (Lookups, for save_item)

    def load_names(self, model: type[Tag] | type[Creator], names: Iterable[str]) -> None:
        """Load the tags or creators of these names not asked for yet, in one query a few hundred names."""
        keys = {fold_accents(" ".join(n.split())) for n in names if n.strip()} - self.asked[model]
        self.asked[model] |= keys
        for chunk in in_chunks(sorted(keys)):
            for row in db.session.scalars(sa.select(model).where(model.name_key.in_(chunk))):
                self.names[model].setdefault(row.name_key, row)

    def named(self, model: type[Tag] | type[Creator], name: str) -> Tag | Creator | None:
        """The tag or creator of this name, from memory when it was prefetched, else from the database."""
        key = fold_accents(" ".join(name.split()))
        if key not in self.names[model] and key not in self.asked[model]:
            self.load_names(model, [name])
        return self.names[model].get(key)

    def tag(self, name: str) -> Tag:
        """The tag with this name ignoring case and accents, created if new."""
        name = " ".join(name.split())
        tag = self.named(Tag, name)
        if tag is None:
            tag = Tag(name=name, name_key=fold_accents(name), slug=self.free_slug(Tag, slugify(name) or "tag"))
            self.number(tag)
            db.session.add(tag)
            self.names[Tag][tag.name_key] = tag
        return tag  # type: ignore[return-value]

    def creator(self, name: str) -> Creator:
        """The creator with this name ignoring case and accents, created if new (with a page address)."""
        name = " ".join(name.split())
        creator = self.named(Creator, name)
        if creator is None:
            slug = self.free_slug(Creator, slugify(name) or "person")
            creator = Creator(name=name, name_key=fold_accents(name), slug=slug)
            self.number(creator)
            db.session.add(creator)
            self.names[Creator][creator.name_key] = creator
        return creator  # type: ignore[return-value]

    # Slugs

    def item_slug(self, base: str) -> str:
        """A slug no item or old item address holds yet."""
        return self.free_slug(Item, base)

    def free_slug(self, model: type, base: str) -> str:
        """base, or base-2, base-3...: the first that no row and no redirect of this kind holds, nor any
        row this import made. The taken slugs are read once."""
        taken = self.slugs.get(model)
        if taken is None:
            taken = self.slugs[model] = set(db.session.scalars(sa.select(model.slug)))
            if model in ENTITY_OF:
                taken |= set(db.session.scalars(
                    sa.select(SlugRedirect.old_slug).where(SlugRedirect.entity == ENTITY_OF[model])))
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate)
        return candidate

    # Row ids

    def start_numbering(self, wrote: bool) -> None:
        """Number new rows from now on, if this is SQLite and a flush has written: from its first write to its
        commit a SQLite transaction holds the database's only write lock, so no other writer can take an id.

        SQLite cannot say which id a multi-row INSERT ... RETURNING gave to which row, so SQLAlchemy inserts
        rows without an id one statement each (10,000 statements for 10,000 books); numbered, a chunk's rows
        go in one executemany. PostgreSQL's sequences batch as they are, and are left to number."""
        self.numbering = wrote and db.session.get_bind().dialect.name == "sqlite"

    def number(self, row: Item | Tag | Creator | CuratedList | ListEntry) -> None:
        """Give a new row the next id of its table, once numbering has started."""
        if not self.numbering:
            return
        model = type(row)
        if model not in self.next_ids:
            self.next_ids[model] = (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
        row.id = self.next_ids[model]
        self.next_ids[model] += 1

    def unload_big_collections(self) -> None:
        """After a flush, let go of the other side of what the chunk wrote: the items of its tags, the credits of
        its creators, the list places of its items. Held, "fiction" gathered most of the file's items, and every
        flush diffed them again; unloaded, the next chunk's additions are queued without loading them."""
        for model, collection in ((Tag, "items"), (Creator, "credits")):
            for row in self.names[model].values():
                db.session.expire(row, [collection])
        for item, _ in self.list_keys.values():
            db.session.expire(item, ["list_entries"])
        self.list_keys.clear()

    # Lists

    def curated_list(self, title: str) -> CuratedList | None:
        """Her list of this title ignoring accents and case; the lists are read once."""
        if self.lists is None:
            self.lists = {}
            for curated in db.session.scalars(sa.select(CuratedList).order_by(CuratedList.id)):
                self.lists.setdefault(fold_accents(curated.title.strip()), curated)
        return self.lists.get(fold_accents(title.strip()))

    def lists_of(self, item: Item) -> set[str]:
        """The imported lists an item has been on, as its snapshot will say once written."""
        if id(item) not in self.list_keys:
            self.list_keys[id(item)] = (item, set((item.import_snapshot or {}).get("lists", [])))
        return self.list_keys[id(item)][1]

    def write_list_snapshots(self) -> None:
        """Write the list keys gathered since the last flush into the items' snapshots, once each."""
        for item, keys in self.list_keys.values():
            snapshot = item.import_snapshot or {}
            if sorted(keys) != snapshot.get("lists", []):
                item.import_snapshot = {**snapshot, "lists": sorted(keys)}


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
                        index: CatalogIndex | None = None) -> None:
    """Create the list (as a draft), or add the entries new in the file; her order, notes and removals stay."""
    if index is not None:
        curated = index.curated_list(imported.title)
    else:
        # Lists are few; comparing folded titles in Python also matches accents in any case ("Écrans").
        wanted = fold_accents(imported.title.strip())
        curated = next((c for c in db.session.scalars(sa.select(CuratedList).order_by(CuratedList.id))
                        if fold_accents(c.title.strip()) == wanted), None)
    created = curated is None
    if created:
        base = slugify(imported.title) or "list"
        curated = CuratedList(
            title=imported.title, introduction=imported.introduction, published=False,
            slug=index.free_slug(CuratedList, base) if index is not None else unique_slug(CuratedList, base),
        )
        db.session.add(curated)
        if index is not None:
            index.number(curated)
        if index is not None:
            index.lists[fold_accents(imported.title.strip())] = curated  # type: ignore[index]
    # Each item's import snapshot remembers the imported lists it was put on, so an entry
    # the author took off is not brought back by the next import of the same list.
    list_key = fold_accents(imported.title.strip())
    present = {id(e.item) for e in curated.entries}
    added = 0
    for entry in imported.entries:
        item = on_item(entry.item)
        if item is None:
            continue
        seen_on = index.lists_of(item) if index is not None else set((item.import_snapshot or {}).get("lists", []))
        if id(item) not in present and list_key not in seen_on:
            list_entry = ListEntry(note=entry.note)
            if index is not None and item.id is not None:
                # By id: through the relationship, adding the entry walked the item's places on every other list.
                list_entry.item_id = item.id
            else:
                list_entry.item = item
            if index is not None:
                index.number(list_entry)
            curated.entries.append(list_entry)
            present.add(id(item))
            added += 1
        if list_key not in seen_on:
            seen_on.add(list_key)
            if index is None:
                item.import_snapshot = {**(item.import_snapshot or {}), "lists": sorted(seen_on)}
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


def in_batches(values: list, size: int) -> Iterable[list]:
    """Consecutive slices of at most `size` values."""
    for at in range(0, len(values), size):
        yield values[at:at + size]
