"""What an import looks up in the catalog: an imported row's item (by service id, then kind, title and year),
and the same look-ups batched a chunk of rows at a time (CatalogIndex), with tags, creators and taken slugs."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.catalog.models import Creator, CuratedList, Item, ListEntry, SlugRedirect, Tag
from afterimage.catalog.rules import Lookups, find_duplicate
from afterimage.catalog.slugs import ENTITY_OF, slugify
from afterimage.extensions import db
from recs.text import fold_accents

if TYPE_CHECKING:  # records.py builds on these look-ups; the record type is only named here
    from afterimage.importers.records import ImportedItem


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
        # How many tags this import created (the report shows it).
        self.tags_created = 0

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

    def load_file_names(self, data: dict) -> None:
        """Load the tags and people a catalog file names (a backup, or the demo catalog: the same shape)."""
        self.load_names(Tag, (tag["name"] for tag in data.get("tags", [])))
        self.load_names(Creator, (c["name"] for raw in data.get("items", []) for c in raw.get("creators", [])))

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
            self.tags_created += 1
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


def in_batches(values: list, size: int) -> Iterable[list]:
    """Consecutive slices of at most `size` values."""
    for at in range(0, len(values), size):
        yield values[at:at + size]
