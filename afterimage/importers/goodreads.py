"""Goodreads library export (goodreads_library_export.csv): every header variant, read by column name."""
from __future__ import annotations

import html
import re

from afterimage.catalog.rules import ItemFields, isbn13_is_valid, rating_is_valid, year_problem
from afterimage.importers.detect import ImportRefused, csv_rows
from afterimage.importers.diary import goodreads_viewings
from afterimage.importers.records import ImportedItem, ImportPlan

REQUIRED_COLUMNS = ("Book Id", "Title")
# Goodreads' three built-in shelves are her reading state, never tags; any other exclusive shelf is a tag and
# the book counts as read.
SHELF_STATUS = {"read": "seen", "currently-reading": "current", "to-read": "want"}
READING_STATES = set(SHELF_STATUS)
# Year shelves ("2019", "read-2019", "2019-reading-challenge") record when, not what: they are not tags.
YEAR_SHELF = re.compile(
    r"^(?:(?:read|reads|reading|books|in|challenge|goodreads)[-_ ]*)*(?:18|19|20)\d\d"
    r"(?:[-_ ]*(?:read|reads|reading|books|challenge|goodreads))*$"
)
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def looks_like_goodreads(header: list[str]) -> bool:
    """True when a CSV header is a Goodreads library export's."""
    return all(column in header for column in REQUIRED_COLUMNS)


def unwrap(value: str | None) -> str:
    """Goodreads wraps ISBNs as ="9780385493000" (and empty ones as ="") so spreadsheets keep the zeros."""
    value = (value or "").strip()
    match = re.fullmatch(r'="(.*)"', value)
    return (match.group(1) if match else value).strip()


def review_text(value: str | None) -> str:
    """A review's HTML as plain text: <br/> become line breaks, other tags go, entities are decoded."""
    text = _BREAK.sub("\n", value or "")
    return html.unescape(_TAG.sub("", text)).strip()


def isbn10_to_13(isbn10: str) -> str | None:
    """The 978-prefixed ISBN-13 of an ISBN-10, or None if it is not one."""
    digits = re.sub(r"[\s-]", "", isbn10).upper()
    if not re.fullmatch(r"\d{9}[\dX]", digits):
        return None
    core = "978" + digits[:9]
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(core))
    return core + str((10 - total % 10) % 10)


def shelf_tag(shelf: str) -> str:
    """A shelf slug as a tag name: "french-new-wave" -> "french new wave" (which matches "French New Wave")."""
    return " ".join(shelf.replace("-", " ").replace("_", " ").split())


def parse_year(row: dict[str, str], label: str, plan: ImportPlan) -> int | None:
    """The work's original publication year (700 BC is -700), else the edition's; a year the catalog cannot hold is
    dropped with a warning."""
    for column in ("Original Publication Year", "Year Published"):
        raw = (row.get(column) or "").strip()
        if not raw:
            continue
        try:
            year = int(float(raw))
        except (ValueError, OverflowError):
            plan.warnings.append((label, f"{column} {raw!r} is not a year; ignored."))
            continue
        problem = year_problem("book", year)
        if problem is None:
            return year
        plan.warnings.append((label, f"{column} {year}: {problem} Imported without a year."))
        # An edition year would misdate the work, so do not fall back past an out-of-range original year.
        return None
    return None


def creators_from(row: dict[str, str]) -> list[tuple[str, str]]:
    """The author, then the additional authors as contributors: Goodreads lists translators, illustrators and
    editors there without saying which (she may give them their role in the studio)."""
    names = []
    author = (row.get("Author") or "").strip()
    if not author and (row.get("Author l-f") or "").strip():
        last, _, first = row["Author l-f"].partition(",")
        author = f"{first.strip()} {last.strip()}".strip()
    if author:
        names.append(author)
    credits = [(" ".join(n.split()), "author") for n in names]
    credits += [(" ".join(n.split()), "contributor") for n in (row.get("Additional Authors") or "").split(",") if n.strip()]
    return credits


def read_goodreads_csv(text: str) -> ImportPlan:
    """Each row of the export as an ImportedItem; bad rows are listed with their row number."""
    rows = csv_rows(text)
    if not rows:
        raise ImportRefused("The file is empty.")
    header = [cell.strip().lstrip("\ufeff") for cell in rows[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportRefused(
            "This is not a Goodreads library export: it has no " + " or ".join(repr(c) for c in missing) + " column."
        )
    plan = ImportPlan(source="Goodreads library export")
    for number, cells in enumerate(rows[1:], start=2):
        label = f"row {number}"
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            plan.skipped.append((label, f"it has {len(cells)} columns where the header has {len(header)}."))
            continue
        row = dict(zip(header, cells))
        record = goodreads_record(row, label, plan)
        if record is not None:
            plan.items.append(record)
    return plan


def goodreads_record(row: dict[str, str], label: str, plan: ImportPlan) -> ImportedItem | None:
    """One export row as catalog fields, or None (and a skipped note) when it cannot be a book."""
    title = " ".join((row.get("Title") or "").split())
    if not title:
        plan.skipped.append((label, "it has no title."))
        return None
    book_id = (row.get("Book Id") or "").strip()
    exclusive = (row.get("Exclusive Shelf") or "").strip().lower()
    shelves = [s.strip() for s in (row.get("Bookshelves") or "").split(",") if s.strip()]
    if exclusive and exclusive not in READING_STATES and exclusive not in shelves:
        shelves.append(exclusive)  # a custom exclusive shelf ("did-not-finish") is a tag too
    tags = [shelf_tag(s) for s in shelves if s.lower() not in READING_STATES and not YEAR_SHELF.match(s.lower())]
    status = SHELF_STATUS.get(exclusive, "seen")

    isbn = unwrap(row.get("ISBN13"))
    if not isbn and unwrap(row.get("ISBN")):
        isbn = isbn10_to_13(unwrap(row.get("ISBN"))) or ""
    if isbn and not isbn13_is_valid(isbn):
        plan.warnings.append((label, f"ISBN-13 {isbn} has a wrong check digit; imported without it."))
        isbn = ""

    rating = None
    raw_rating = (row.get("My Rating") or "").strip()
    if raw_rating and raw_rating != "0" and status == "seen":
        try:
            rating = float(raw_rating)
        except ValueError:
            rating = None
        if rating is not None and not rating_is_valid(rating):
            plan.warnings.append((label, f"rating {raw_rating!r} is not 1–5 stars; imported without it."))
            rating = None

    note = review_text(row.get("My Review"))
    fields = ItemFields(
        kind="book", title=title, year=parse_year(row, label, plan), creators=creators_from(row), tags=tags,
        note=note, rating=rating, status=status, goodreads_id=book_id or None, isbn13=isbn or None,
    )
    provided = {"title", "year", "creators", "tags", "status", "rating", "goodreads_id", "isbn13"}
    if note:
        provided.add("note")  # an empty review must not wipe a note she wrote here
    return ImportedItem(
        row=label, fields=fields, provided=provided, source_key=("goodreads_id", book_id) if book_id else None,
        diary=goodreads_viewings(row, label, plan),
    )
