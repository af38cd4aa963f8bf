"""Recognising an uploaded file and reading its text safely: size, binary, encodings, CSV headers."""
from __future__ import annotations

import codecs
import csv
import io
import re

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


# A valid UTF-8 sequence of two to four bytes: text holding one is UTF-8, so a bad byte elsewhere is damage.
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def row_of(data: bytes, offset: int) -> int:
    """The CSV row (from 1) in which the byte at `offset` lies; quoted fields may span lines."""
    before = data[:offset].decode("utf-8-sig", errors="replace")
    try:
        rows = sum(1 for _ in csv.reader(io.StringIO(before, newline="")))
    except csv.Error:
        rows = before.count("\n") + 1
    return rows + 1 if not before or before.endswith("\n") else rows


def decode_text(data: bytes, name: str = "The file") -> tuple[str, str | None]:
    """The text of a file and a note when it was not UTF-8, so the report can say how it was read.

    UTF-8 with or without a BOM; UTF-16 with a BOM; Windows-1252 when no byte of the file is UTF-8 (the
    spreadsheets re-saved on Windows), reported with the first row it changes; never binary, and never a
    UTF-8 file with damaged bytes read as mojibake ("Ã(").
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            raise ImportRefused(f"{name} claims to be UTF-16 but is not readable as such.") from None
    head = data[:65536]
    if b"\x00" in head:
        if len(head) >= 4 and (head[1::2].count(0) > len(head) // 2 * 0.9 or head[0::2].count(0) > len(head) // 2 * 0.9):
            raise ImportRefused(f"{name} is UTF-16 text without a byte-order mark. Save it as UTF-8 CSV.")
        raise ImportRefused(f"{name} is a binary file, not a CSV or JSON text file.")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        bad_at = error.start
    shown = " ".join(f"0x{b:02X}" for b in data[bad_at:bad_at + 2])
    row = row_of(data, bad_at)
    if _UTF8_SEQUENCE.search(data):
        raise ImportRefused(
            f"{name} is not valid UTF-8: row {row} has bytes that are not UTF-8 ({shown}) while the rest of "
            "the file is. Export it again, or save it as UTF-8 CSV."
        )
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportRefused(
            f"{name} is not valid UTF-8 text (row {row}: {shown}), nor Windows-1252. Export it again, or save it "
            "as UTF-8 CSV."
        ) from None
    if any(ord(c) < 32 and c not in "\r\n\t" for c in text[:65536]):
        raise ImportRefused(f"{name} does not look like text.")
    sample = text[bad_at:bad_at + 12].split("\n")[0]
    return text, (
        f"{name} is not UTF-8; it was read as Windows-1252, first at row {row} ({sample!r}). Check that accented "
        "letters look right, or export it again as UTF-8."
    )


def is_space_padded(text: str) -> bool:
    """True when the header's cells are padded after each comma ("Book Id, Title, Author"), as some tools
    re-save a CSV: every cell after the first starts with a space."""
    cells = next(csv.reader(io.StringIO(text[:20000], newline="")), [])
    return len(cells) > 1 and all(cell.startswith(" ") for cell in cells[1:])


def csv_rows(text: str) -> list[list[str]]:
    """All records of a CSV text; quoted fields may span lines, CRLF or LF. A file cut short inside a quoted
    field, or with a field longer than any export writes, is refused with its row. In a file padded with
    spaces after its commas, a quoted cell after the space is read as quoted ("a", "b, c" is two cells)."""
    padded = is_space_padded(text)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=padded)
    try:
        return list(reader)
    except csv.Error as error:
        row = reader.line_num
        if "field limit" in str(error):
            raise ImportRefused(
                f"Row {row} has a field longer than {csv.field_size_limit():,} characters; no export writes one."
            ) from None
        if "unexpected end of data" in str(error):
            raise ImportRefused(
                f"The file ends inside a quoted field (row {row}): it looks cut short. Export it again."
            ) from None
    # Strict parsing also refuses stray quotes ('"a"b') that spreadsheets leave; read those leniently.
    try:
        return list(csv.reader(io.StringIO(text, newline=""), skipinitialspace=padded))
    except csv.Error as error:
        raise ImportRefused(f"The file is not a readable CSV: {error}.") from None


def first_row(text: str) -> list[str]:
    """The header row of a CSV text, cells stripped."""
    reader = csv.reader(io.StringIO(text[:20000], newline=""))
    try:
        return [cell.strip() for cell in next(reader, [])]
    except csv.Error:
        return []
