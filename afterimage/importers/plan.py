"""An import planned before anything is written: what each row would do, and her choices for the file's shelves.

The plan reads the catalog and writes nothing. It reuses the importers' own parsing (read_import_file), the
catalog's validation (validate_item_fields) and the merge's rules (comparable, merge_tags; find_existing's
matching, batched), so what the preview says is what apply_import then does.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

import sqlalchemy as sa

from afterimage.catalog.rules import ItemFields, item_fields, validate_item_fields, year_label
from afterimage.catalog.version import read_version
from afterimage.extensions import db
from afterimage.importers import apply_import
from afterimage.importers.records import (
    EMPTY, ImportedItem, ImportedList, ImportPlan, comparable, merge_tags, record_value,
)
from afterimage.importers.catalog_index import CatalogIndex
from afterimage.importers.report import ImportReport
from afterimage.importers.shelf_choices import (
    Shelf, ShelfChoice, remember_choices, remembered_choices, shelves_in, source_family, steer,
)
from afterimage.catalog.models import CuratedList
from recs.text import fold_accents

GROUPS = ("new", "changed", "unchanged", "refused")
_MISSING = object()


@dataclass
class FieldChange:
    """One field of an existing item that the import would change, as she would read it."""

    name: str
    old: str
    new: str


@dataclass
class PlannedRow:
    """One row of the file and what applying the plan would do with it."""

    row: str
    title: str
    outcome: str
    changes: list[FieldChange] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class PlannedList:
    """A Letterboxd list in the file: created as a draft, or its new entries added to hers."""

    title: str
    exists: bool
    entries: int
    # Films the list names that are neither in the catalog nor elsewhere in the file: added so it is complete.
    new_films: int = 0


@dataclass
class ImportPreview:
    """Everything the preview page and `import --dry-run` show; stored as JSON between preview and apply."""

    source: str
    family: str | None
    catalog_version: int
    rows: list[PlannedRow] = field(default_factory=list)
    lists: list[PlannedList] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    shelves: list[Shelf] = field(default_factory=list)
    backup_items: int | None = None

    def group(self, outcome: str) -> list[PlannedRow]:
        """The rows with one outcome, in the file's order."""
        return [r for r in self.rows if r.outcome == outcome]

    @property
    def counts(self) -> dict[str, int]:
        """How many rows fall in each group."""
        found = Counter(r.outcome for r in self.rows)
        return {g: found[g] for g in GROUPS}

    def choices(self) -> dict[str, ShelfChoice]:
        """The shelf choices this preview was planned with."""
        return {s.key: s.choice for s in self.shelves}

    def summary_lines(self) -> list[str]:
        """The plan in plain text, as `import --dry-run` prints it."""
        if self.backup_items is not None:
            return [f"{self.source}: {self.backup_items} items to restore."]
        c = self.counts
        lines = [f"{self.source}: {c['new']} new, {c['changed']} changed, {c['unchanged']} unchanged, "
                 f"{c['refused']} refused."]
        for shelf in self.shelves:
            lines.append(f"Shelf {shelf.name} ({shelf.rows} rows): {shelf.choice.describe()}")
        for row in self.group("refused"):
            lines.append(f"Refused {row.row}: {row.reason}")
        for row in self.group("changed"):
            changes = "; ".join(f"{c.name.replace('_', ' ')} {c.old} → {c.new}" for c in row.changes)
            lines.append(f"Changed {row.title} ({row.row}): {changes}")
        for planned in self.lists:
            lines.append(f"List {planned.title}: {'new entries added' if planned.exists else 'created as a draft'} "
                         f"({planned.entries} entries in the file, {planned.new_films} films new to the catalog)")
        for row, message in self.warnings:
            lines.append(f"Warning {row}: {message}")
        return lines

    def to_json(self) -> str:
        """The preview as JSON, to keep beside the uploaded file."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ImportPreview:
        """A preview kept by to_json."""
        data = json.loads(text)
        data["rows"] = [PlannedRow(**{**r, "changes": [FieldChange(**c) for c in r["changes"]]}) for r in data["rows"]]
        data["lists"] = [PlannedList(**p) for p in data["lists"]]
        data["warnings"] = [tuple(w) for w in data["warnings"]]
        data["shelves"] = [Shelf(**{**s, "choice": ShelfChoice(**s["choice"])}) for s in data["shelves"]]
        return cls(**data)


# Shelves and her choices -------------------------------------------------------------------------------


# The plan ------------------------------------------------------------------------------------------------


def shown(name: str, value: Any) -> str:
    """A field's value as the preview shows it."""
    if value in EMPTY:
        return "—"
    if name == "creators":
        return ", ".join(f"{n} ({r})" for n, r in value)
    if name == "tags":
        return ", ".join(value)
    if name == "year":
        return year_label(value)
    if name == "rating":
        return f"{value:g} ★"
    text = str(value)
    return text if len(text) <= 140 else text[:139] + "…"


def planned_changes(record: ImportedItem, current: ItemFields, snapshot: dict | None) -> tuple[list[FieldChange], list[str], ItemFields]:
    """What merge_imported_item would change on an item (its three-way rule: her edits since the last import
    win), what it would leave alone, and the item's fields after."""
    snapshot = snapshot or {}
    updated = replace(current, creators=list(current.creators), tags=list(current.tags))
    changes: list[FieldChange] = []
    kept: list[str] = []
    for name in sorted(record.provided):
        new, cur = comparable(record.fields, name), comparable(current, name)
        last = snapshot.get(name, _MISSING)
        if name == "tags":
            merged = merge_tags(cur, new, [] if last is _MISSING else last)
            if [fold_accents(t) for t in merged] != [fold_accents(t) for t in cur]:
                updated.tags = merged
                changes.append(FieldChange(name, shown(name, cur), shown(name, merged)))
            continue
        if new == cur or (last is not _MISSING and new == last):
            continue
        if cur in EMPTY or (last is not _MISSING and cur == last):
            setattr(updated, name, record_value(record.fields, name))
            changes.append(FieldChange(name, shown(name, cur), shown(name, new)))
        else:
            kept.append(name)
    return changes, kept, updated


def record_keys(record: ImportedItem) -> list[tuple]:
    """How a later row of the same file would find this record's item: its service id, its kind, title and year."""
    f = record.fields
    keys: list[tuple] = [("title", f.kind, fold_accents(f.title.strip()), f.year)]
    if record.source_key:
        keys.insert(0, record.source_key)
    return keys


def labelled(f: ItemFields) -> str:
    """"Title (year)" for the preview."""
    return f.title + (f" ({year_label(f.year)})" if f.year is not None else "")


def catalog_index(records: list[ImportedItem]) -> CatalogIndex:
    """The items these records may stand for, read in a few queries (the import's own look-ups, so the
    preview finds what apply_import will find)."""
    index = CatalogIndex()
    index.prefetch(records)
    return index


def plan_row(record: ImportedItem, pending: dict[tuple, tuple[ItemFields, dict]], catalog: CatalogIndex) -> PlannedRow:
    """What applying would do with one record, given the rows before it in the file (`pending`)."""
    title = labelled(record.fields)
    errors = validate_item_fields(record.fields)
    if errors:
        return PlannedRow(record.row, title, "refused", reason=" ".join(errors.values()))
    imported = {name: comparable(record.fields, name) for name in record.provided}
    earlier = next((pending[k] for k in record_keys(record) if k in pending), None)
    if earlier is None:
        item = catalog.find(record)
        if item is None:
            for key in record_keys(record):
                pending[key] = (record.fields, imported)
            return PlannedRow(record.row, title, "new")
        earlier = (item_fields(item), item.import_snapshot)
        title = labelled(earlier[0])
    current, snapshot = earlier
    changes, kept, updated = planned_changes(record, current, snapshot)
    if changes and (errors := validate_item_fields(updated)):
        return PlannedRow(record.row, title, "refused", reason=" ".join(errors.values()))
    for key in record_keys(record):
        pending[key] = (updated, {**(snapshot or {}), **imported})
    return PlannedRow(record.row, title, "changed" if changes else "unchanged", changes=changes, kept=kept)


def plan_list(imported: ImportedList, titles: set[str], pending: dict[tuple, tuple[ItemFields, dict]],
              catalog: CatalogIndex) -> PlannedList:
    """A list of the file: new (a draft), or one of hers that gains the entries new in the file; and the films
    it names that the import adds to the catalog."""
    new_films = 0
    for entry in imported.entries:
        record = entry.item
        if not any(k in pending for k in record_keys(record)) and catalog.find(record) is None:
            new_films += 1
            for key in record_keys(record):
                pending[key] = (record.fields, {})
    return PlannedList(imported.title, fold_accents(imported.title.strip()) in titles, len(imported.entries), new_films)


def preview_import(plan: ImportPlan, shelves: list[Shelf]) -> ImportPreview:
    """What applying the plan (steered by the shelves' choices) would do, row by row; nothing is written."""
    preview = ImportPreview(source=plan.source, family=source_family(plan), catalog_version=read_version(db.session),
                            warnings=list(plan.warnings), shelves=shelves)
    preview.rows = [PlannedRow(row, "", "refused", reason=message) for row, message in plan.skipped]
    if plan.backup is not None:
        preview.backup_items = len(plan.backup.get("items", []))
        return preview
    steered = steer(plan, {s.key: s.choice for s in shelves})
    pending: dict[tuple, tuple[ItemFields, dict]] = {}
    with db.session.no_autoflush:
        catalog = catalog_index(steered.items)
        preview.rows += [plan_row(record, pending, catalog) for record in steered.items]
        titles = {fold_accents(t.strip()) for t in db.session.scalars(sa.select(CuratedList.title))}
        entries = catalog_index([e.item for imported in steered.lists for e in imported.entries])
        preview.lists = [plan_list(imported, titles, pending, entries) for imported in steered.lists]
    return preview


def shelves_with_choices(plan: ImportPlan, choices: dict[str, ShelfChoice] | None = None) -> list[Shelf]:
    """The file's shelves with her remembered choices, overridden by `choices`."""
    return shelves_in(plan, {**remembered_choices(source_family(plan)), **(choices or {})})


def plan_import(plan: ImportPlan, choices: dict[str, ShelfChoice] | None = None) -> ImportPreview:
    """The preview of a file read by read_import_file, its shelves steered by her remembered choices and `choices`."""
    return preview_import(plan, shelves_with_choices(plan, choices))


def apply_steered(plan: ImportPlan, shelves: list[Shelf], replace_catalog: bool = False,
                  tick: Callable[[int], None] | None = None) -> ImportReport:
    """Apply a plan in one transaction with the shelves' choices, and remember those choices with it."""
    remember_choices(source_family(plan), shelves)
    return apply_import(steer(plan, {s.key: s.choice for s in shelves}), replace=replace_catalog, tick=tick)


