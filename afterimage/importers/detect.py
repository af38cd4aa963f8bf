"""Recognising an uploaded file and reading its text safely: size, binary, encodings, CSV headers."""
from __future__ import annotations

import codecs
import csv
import io

MAX_IMPORT_BYTES = 32 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"


class ImportRefused(ValueError):
    """The file is not what it claims (or is unusable); nothing was written. The message says why."""


def check_size(size: int, limit: int | None = None) -> None:
    """Refuse files larger than the import limit."""
    limit = limit or MAX_IMPORT_BYTES
    if size > limit:
        raise ImportRefused(
            f"The file is too large ({size / 1_048_576:.1f} MB); the limit is {limit // 1_048_576} MB."
        )


def decode_text(data: bytes, name: str = "The file") -> str:
    """UTF-8 with or without a BOM; UTF-16 with a BOM; Windows-1252 as a last resort; never binary."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportRefused(f"{name} claims to be UTF-16 but is not readable as such.") from None
    if b"\x00" in data[:65536]:
        raise ImportRefused(f"{name} is a binary file, not a CSV or JSON text file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Spreadsheets re-saved on Windows write Windows-1252; it has a few undefined bytes, so it can fail too.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportRefused(
            f"{name} is not valid UTF-8 text (nor Windows-1252). Export it again, or save it as UTF-8 CSV."
        ) from None
    if any(ord(c) < 32 and c not in "\r\n\t" for c in text[:65536]):
        raise ImportRefused(f"{name} does not look like text.")
    return text


def csv_rows(text: str) -> list[list[str]]:
    """All records of a CSV text; quoted fields may span lines, CRLF or LF."""
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise ImportRefused(f"The file is not a readable CSV: {error}.") from None


def first_row(text: str) -> list[str]:
    """The header row of a CSV text, cells stripped."""
    reader = csv.reader(io.StringIO(text[:20000], newline=""))
    try:
        return [cell.strip() for cell in next(reader, [])]
    except csv.Error:
        return []
