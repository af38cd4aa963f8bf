"""The diary columns of the exports: Letterboxd's diary.csv rows and Goodreads' Date Read and Read Count.

Reading turns them into Viewings on each ImportedItem; applying (`merge_imported_diary`, after the items are
written) adds the days not yet in her diary, and none she took out of it in the studio (the item's import
snapshot remembers those: afterimage/diary.py, REMOVED_DAYS).
"""
from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa

from afterimage.diary import REMOVED_DAYS, Viewing, add_viewing, day_problem, parse_day, rating_problem
from afterimage.extensions import db
from afterimage.importers.catalog_index import find_existing
from afterimage.importers.records import ImportedItem, ImportPlan
from afterimage.importers.report import ImportReport
from afterimage.catalog.models import DiaryEntry, Item

# Values per IN (...) query: well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500


def checked_viewing(raw_day: str, label: str, plan: ImportPlan, rewatch: bool = False,
                    rating: float | None = None) -> Viewing | None:
    """A Viewing from a date cell, or None (with a warning naming the row) when the date is not one."""
    day = parse_day(raw_day)
    if day is None:
        plan.warnings.append((label, f"the date {raw_day.strip()!r} is not a date (YYYY-MM-DD); no diary entry."))
        return None
    if problem := day_problem(day):
        plan.warnings.append((label, f"the date {raw_day.strip()}: {problem} No diary entry."))
        return None
    return Viewing(day, rewatch=rewatch, rating=None if rating_problem(rating) else rating)


def letterboxd_viewing(row: dict[str, str], label: str, plan: ImportPlan, rating: float | None) -> Viewing | None:
    """A diary.csv row's viewing: its Watched Date (the day she saw it, not the day she logged it), whether
    it was a rewatch ("Yes"), and the rating she gave that time."""
    raw = (row.get("Watched Date") or "").strip()
    if not raw:
        plan.warnings.append((label, "it has no Watched Date; no diary entry."))
        return None
    rewatch = (row.get("Rewatch") or "").strip().lower() == "yes"
    return checked_viewing(raw, label, plan, rewatch=rewatch, rating=rating)


def goodreads_viewings(row: dict[str, str], label: str, plan: ImportPlan) -> list[Viewing]:
    """Date Read (the last time she read it) as a diary entry. Goodreads keeps one date however often she read a
    book, so a Read Count above 1 means earlier, undated reads: the dated one is then a reread."""
    raw = (row.get("Date Read") or "").strip()
    if not raw:
        return []
    try:
        count = int((row.get("Read Count") or "").strip() or 0)
    except ValueError:
        count = 0
    viewing = checked_viewing(raw, label, plan, rewatch=count > 1)
    return [viewing] if viewing else []


def add_once(viewings: list[Viewing], viewing: Viewing | None) -> None:
    """Keep one viewing a day (the first the file gives), as the diary does."""
    if viewing is not None and all(v.seen_on != viewing.seen_on for v in viewings):
        viewings.append(viewing)


def merge_imported_diary(records: Iterable[ImportedItem], report: ImportReport) -> None:
    """After the items are written: add each record's days that are not in its item's diary yet."""
    dated = [r for r in records if r.diary]
    if not dated:
        return
    items = matched_items(dated)
    present: dict[int, set] = {}
    for chunk in chunks(sorted({i.id for i in items.values()})):
        for item_id, day in db.session.execute(
            sa.select(DiaryEntry.item_id, DiaryEntry.seen_on).where(DiaryEntry.item_id.in_(chunk))
        ):
            present.setdefault(item_id, set()).add(day)
    for record in dated:
        item = items.get(id(record))
        if item is None:  # a row the import skipped
            continue
        removed = set((item.import_snapshot or {}).get(REMOVED_DAYS, []))
        days = present.setdefault(item.id, set())
        for viewing in record.diary:
            if viewing.seen_on in days or viewing.seen_on.isoformat() in removed:
                continue
            add_viewing(item, viewing)
            days.add(viewing.seen_on)
            report.diary_added += 1


def chunks(values: list) -> Iterable[list]:
    """The values in slices of CHUNK, for IN queries over a whole library."""
    return (values[start:start + CHUNK] for start in range(0, len(values), CHUNK))


def matched_items(records: list[ImportedItem]) -> dict[int, Item]:
    """Each record's item (keyed by the record's id()): by the service's ids in one query per service, the rest
    as the item import found them."""
    found: dict[int, Item] = {}
    for column in ("goodreads_id", "letterboxd_uri"):
        keys = {r.source_key[1] for r in records if r.source_key and r.source_key[0] == column}
        if not keys:
            continue
        by_key: dict[str, Item] = {}
        for chunk in chunks(sorted(keys)):
            for item in db.session.scalars(sa.select(Item).where(getattr(Item, column).in_(chunk)).order_by(Item.id)):
                by_key.setdefault(getattr(item, column), item)
        for record in records:
            if record.source_key and record.source_key[0] == column and record.source_key[1] in by_key:
                found[id(record)] = by_key[record.source_key[1]]
    for record in records:
        if id(record) not in found and (item := find_existing(record)) is not None:
            found[id(record)] = item
    return found
