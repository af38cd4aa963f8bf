"""Her diary: the days she watched or read each item, rewatches and rereads, and the year pages built from them.

The rules for a diary date are written once here and used by the studio form, the importers and the backup.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.catalog.rules import published_items, rating_is_valid
from afterimage.extensions import db
from afterimage.catalog.models import DiaryEntry, Item

# A diary is kept by someone alive now: older days are typing mistakes (1024 for 2024).
EARLIEST_DAY = date(1900, 1, 1)
# The import snapshot's key for days she took out of the diary: a later import does not bring them back.
REMOVED_DAYS = "diary_removed"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
ISO_DAY = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")


@dataclass
class Viewing:
    """One dated viewing or reading as an export gives it, before it is matched to an item."""

    seen_on: date
    rewatch: bool = False
    rating: float | None = None


def latest_day() -> date:
    """Tomorrow: a diary written late at night in another time zone may already be there."""
    return date.today() + timedelta(days=1)


def parse_day(text: str | None) -> date | None:
    """2024-08-12 or Goodreads' 2024/08/12 as a date; None for anything else (an empty cell too)."""
    match = ISO_DAY.fullmatch((text or "").strip())
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def day_problem(day: date) -> str | None:
    """Why a day cannot be in her diary, or None: the one date rule for the studio, the importers and backups."""
    if day < EARLIEST_DAY:
        return f"The date must be {EARLIEST_DAY.year} or later."
    if day > latest_day():
        return "The date cannot be in the future."
    return None


def rating_problem(rating: float | None) -> str | None:
    """Why a rating cannot be a viewing's, or None."""
    if rating is not None and not rating_is_valid(rating):
        return "Ratings go from 0.5 to 5 stars in half-star steps."
    return None


def day_label(day: date) -> str:
    """"12 Aug 2024", the same in every locale."""
    return f"{day.day} {MONTHS[day.month - 1][:3]} {day.year}"


def seen_words(item: Item) -> tuple[str, str]:
    """("watched", "rewatched") for films, ("read", "reread") for books."""
    return ("watched", "rewatched") if item.kind == "film" else ("read", "reread")


def diary_phrases(item: Item) -> list[tuple[str, DiaryEntry | None]]:
    """The item's diary as words and days, oldest first: [("Watched", e1), ("rewatched", e2)]; a first entry that
    is already a rewatch says she had seen it before, undated: [("Watched before", None), ("rewatched", e1)]."""
    first, again = seen_words(item)
    phrases: list[tuple[str, DiaryEntry | None]] = []
    for entry in item.diary_entries:
        if entry.rewatch and not phrases:
            phrases.append((f"{first} before", None))
        phrases.append((again if entry.rewatch else first, entry))
    if phrases:
        phrases[0] = (phrases[0][0].capitalize(), phrases[0][1])
    return phrases


def add_viewing(item: Item, viewing: Viewing) -> DiaryEntry:
    """Write a new diary entry for an item (added by id, so the item itself is not marked changed and its
    recommendations are not recomputed for a date)."""
    entry = DiaryEntry(item_id=item.id, seen_on=viewing.seen_on, rewatch=viewing.rewatch, rating=viewing.rating)
    db.session.add(entry)
    return entry


def remove_viewing(entry: DiaryEntry) -> None:
    """Take a day out of an item's diary, and remember it so that no later import puts it back."""
    item = entry.item
    snapshot = dict(item.import_snapshot or {})
    removed = set(snapshot.get(REMOVED_DAYS, [])) | {entry.seen_on.isoformat()}
    item.import_snapshot = {**snapshot, REMOVED_DAYS: sorted(removed)}
    db.session.delete(entry)


def published_entries() -> sa.Select:
    """Diary entries of items readers may see, with their items (and what a card shows) loaded."""
    return (
        sa.select(DiaryEntry).join(DiaryEntry.item).where(published_items())
        .options(so.contains_eager(DiaryEntry.item).selectinload(Item.credits))
    )


@dataclass
class Month:
    """One month of a year page: its name and her entries, in the order she watched or read."""

    number: int
    name: str
    entries: list[DiaryEntry]


def year_in_diary(year: int) -> list[Month]:
    """What she watched and read in a year, month by month (only months with entries), films and books together."""
    entries = db.session.scalars(
        published_entries()
        .where(DiaryEntry.seen_on >= date(year, 1, 1), DiaryEntry.seen_on < date(year + 1, 1, 1))
        .order_by(DiaryEntry.seen_on, Item.title_key, DiaryEntry.id)
    ).all()
    months: list[Month] = []
    for entry in entries:
        if not months or months[-1].number != entry.seen_on.month:
            months.append(Month(entry.seen_on.month, MONTHS[entry.seen_on.month - 1], []))
        months[-1].entries.append(entry)
    return months


def neighbour_years(year: int) -> tuple[int | None, int | None]:
    """The nearest earlier and later years with entries readers may see (None where there is none)."""
    def nearest(aggregate, condition) -> int | None:
        day = db.session.scalar(
            sa.select(aggregate(DiaryEntry.seen_on)).join(DiaryEntry.item).where(published_items(), condition)
        )
        return day.year if day else None

    return (nearest(sa.func.max, DiaryEntry.seen_on < date(year, 1, 1)),
            nearest(sa.func.min, DiaryEntry.seen_on >= date(year + 1, 1, 1)))
