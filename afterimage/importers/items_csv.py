"""The items as a CSV for spreadsheets, with formula injection neutralised."""
from __future__ import annotations

import csv
import io

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.catalog.models import Item
from afterimage.extensions import db
from afterimage.importers.backup import iso

COLUMNS = (
    "kind", "title", "original_title", "year", "creators", "tags", "status", "rating", "country", "language",
    "description", "note", "where_to_find", "cover_url", "blog_url", "letterboxd_uri", "goodreads_id", "isbn13",
    "slug", "created_at", "updated_at",
)
# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """The cell's text, with a leading apostrophe when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def item_row(item: Item) -> list[str]:
    """One item as CSV cells."""
    values = {
        "creators": "; ".join(f"{c.creator.name} ({c.role})" for c in item.credits),
        "tags": ", ".join(t.name for t in item.tags),
        "rating": f"{item.rating:g}" if item.rating is not None else "",
        "created_at": iso(item.created_at), "updated_at": iso(item.updated_at),
    }
    return [spreadsheet_safe(values[c] if c in values else getattr(item, c)) for c in COLUMNS]


def items_csv() -> str:
    """Every item, by slug, as CSV text (the caller encodes it as UTF-8 with a BOM for Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    items = db.session.scalars(
        sa.select(Item).options(so.selectinload(Item.credits), so.selectinload(Item.tags)).order_by(Item.slug)
    )
    for item in items:
        writer.writerow(item_row(item))
    return buffer.getvalue()
