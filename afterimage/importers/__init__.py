"""Imports of the author's history (Goodreads, Letterboxd) and of Afterimage backups.

Reading a file (`read_import_file`) never touches the database; applying it (`apply_import`) writes
everything in one transaction, committed once at the end and rolled back on any error.
"""
from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

from afterimage.extensions import db
from afterimage.importers.backup import check_backup, parse_backup_json, restore_backup
from afterimage.importers.detect import ZIP_MAGIC, ImportRefused, check_size, decode_text, first_row
from afterimage.importers.diary import merge_imported_diary
from afterimage.importers.goodreads import looks_like_goodreads, read_goodreads_csv
from afterimage.importers.letterboxd import (
    LIST_MARKER, identify_csv, is_list_meta_header, read_letterboxd_csv, read_letterboxd_zip,
)
from afterimage.importers.records import ImportPlan, apply_records
from afterimage.importers.report import ImportReport

__all__ = ["ImportRefused", "ImportReport", "ImportPlan", "read_import_file", "apply_import"]


def read_import_file(filename: str, data: bytes) -> ImportPlan:
    """Recognise and parse a file; raises ImportRefused (with a reason) for anything it is not."""
    check_size(len(data))
    if not data.strip():
        raise ImportRefused("The file is empty.")
    if data.startswith(ZIP_MAGIC):
        return read_letterboxd_zip(data)
    text, note = decode_text(data)
    plan = read_text_file(filename, text)
    if note:
        plan.warnings.insert(0, ("the file", note))
    return plan


def read_text_file(filename: str, text: str) -> ImportPlan:
    """A backup, a Goodreads export or a Letterboxd CSV, recognised by its first characters or its header."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        backup = parse_backup_json(stripped)
        check_backup(backup)
        return ImportPlan(source="Afterimage backup", backup=backup)
    if stripped.startswith(LIST_MARKER):
        return read_letterboxd_csv(filename, text)
    header = [cell.lstrip("\ufeff") for cell in first_row(text)]
    if looks_like_goodreads(header) or "Book Id" in header:
        return read_goodreads_csv(text)
    if identify_csv(filename, header) or is_list_meta_header(header):
        return read_letterboxd_csv(filename, text)
    shown = ", ".join(header[:8]) or "none"
    raise ImportRefused(
        "This file is not a Goodreads library export, a Letterboxd export or an Afterimage backup "
        f"(its first row has: {shown})."
    )


def apply_import(plan: ImportPlan, replace: bool = False, tick: Callable[[int], None] | None = None) -> ImportReport:
    """Write a plan in one transaction and say what happened; nothing is kept if anything fails."""
    tick = tick or (lambda n: None)
    report = ImportReport(source=plan.source)
    for row, message in plan.skipped:
        report.skip(row, message)
    for row, message in plan.warnings:
        report.warn(row, message)
    try:
        if plan.backup is not None:
            restore_backup(plan.backup, replace, report, tick)
        else:
            if replace:
                raise ImportRefused("Replacing the catalog only applies to an Afterimage backup.")
            apply_records(plan, report, tick)
            merge_imported_diary(plan.items, report)
        db.session.commit()
    except sa.exc.IntegrityError as error:
        db.session.rollback()
        # A backup that contradicts itself (two items with one slug) or a race with another writer.
        raise ImportRefused(f"The file could not be saved: it conflicts with itself or the catalog ({error.orig}).") from None
    except BaseException:
        db.session.rollback()
        raise
    return report
