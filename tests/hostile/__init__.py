"""A corpus of hostile import files: for each importer, the files an attacker or a broken tool could hand it.

Each entry is built on demand (a ZIP bomb is not kept in the repository) and names the words the refusal must
contain, so a test can check that the author is told what is wrong. Entries are grouped by importer:
Goodreads CSV, Letterboxd CSV, Letterboxd ZIP and Afterimage backup.
"""
from __future__ import annotations

import functools
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable

GOODREADS_HEADER = "Book Id,Title,Author,My Rating,Exclusive Shelf\n"
LETTERBOXD_HEADER = "Date,Name,Year,Letterboxd URI,Rating\n"
WATCHED_ROW = "2023-01-02,Hiroshima mon amour,1959,https://boxd.it/1a,4.5\n"
# A field of 15 MB: uploads are limited to 16 MB, so it is as large as one can come through the studio.
HUGE = 15 * 1024 * 1024
BOMB_BYTES = 1024 * 1024 * 1024
DECLARED_SIZE = 100


@dataclass(frozen=True)
class HostileFile:
    """One hostile file: which importer it aims at, its upload name, how to make it, what the refusal says."""

    importer: str
    case: str
    filename: str
    build: Callable[[], bytes]
    message: str

    @property
    def id(self) -> str:
        """A readable test id: "zip: lying sizes"."""
        return f"{self.importer}: {self.case}"


def zip_of(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP holding these files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@functools.cache
def lying_zip_bomb() -> bytes:
    """About 3 MB: watched.csv inflates to 1 GiB, while both of the ZIP's headers declare 100 bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = (LETTERBOXD_HEADER + WATCHED_ROW * (1024 * 1024 // len(WATCHED_ROW))).encode()[: 1024 * 1024]
    # A full flush forgets the window, so every chunk deflates to the same block: compressing one and repeating
    # it gives the same 1 GiB once inflated, in milliseconds instead of 5 s of compressing.
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    body = block * (BOMB_BYTES // len(chunk)) + compressor.flush()
    name = b"watched.csv"
    crc = zlib.crc32(chunk[:DECLARED_SIZE])
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), DECLARED_SIZE, len(name), 0)
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(body), DECLARED_SIZE,
                          len(name), 0, 0, 0, 0, 0, 0)
    offset = len(local) + len(name) + len(body)
    directory = central + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), offset, 0)
    return local + name + body + directory + end


def deflate_garbage() -> bytes:
    """A well-formed ZIP whose deflated member is noise."""
    data = bytearray(zip_of({"watched.csv": (LETTERBOXD_HEADER + WATCHED_ROW * 200).encode()}))
    start = 30 + len("watched.csv")
    for i in range(start, start + 200):
        data[i] = (i * 97 + 13) % 256
    return bytes(data)


def bad_crc() -> bytes:
    """A ZIP whose stored member does not match its CRC-32."""
    data = bytearray(zip_of({"watched.csv": (LETTERBOXD_HEADER + WATCHED_ROW).encode()}, zipfile.ZIP_STORED))
    data[30 + len("watched.csv") + 5] ^= 0xFF
    return bytes(data)


def encrypted_member() -> bytes:
    """A ZIP whose member claims to be encrypted (flag bit 0), which needs a password."""
    data = bytearray(zip_of({"watched.csv": (LETTERBOXD_HEADER + WATCHED_ROW).encode()}))
    data[6] |= 1
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 1
    return bytes(data)


def many_members() -> bytes:
    """20,000 tiny members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for n in range(20_000):
            archive.writestr(f"lists/{n}.csv", b"")
    return buffer.getvalue()


def goodreads(body: str) -> bytes:
    """A Goodreads export with these rows."""
    return (GOODREADS_HEADER + body).encode()


def backup(items: list) -> bytes:
    """A backup file with these items."""
    return json.dumps({"format": {"name": "afterimage-backup", "version": 1}, "items": items, "tags": [],
                       "lists": []}).encode()


def text_corpus(importer: str, filename: str, header: str, row: str) -> list[HostileFile]:
    """The hostile text files every CSV importer is given."""
    return [
        HostileFile(importer, "empty", filename, lambda: b"", "The file is empty"),
        HostileFile(importer, "only blank lines", filename, lambda: b"\r\n\r\n  \n", "The file is empty"),
        HostileFile(importer, "binary", filename, lambda: b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 40,
                    "binary file"),
        HostileFile(importer, "15 MB field", filename,
                    lambda: (header + row.rstrip("\n") + ',"' + "x" * HUGE + '"\n').encode(), "longer than"),
        HostileFile(importer, "UTF-8 with a Latin-1 row", filename,
                    lambda: (header + row).encode() + "Café,".encode() + b"Caf\xe9 cr\xe8me\n", "not valid UTF-8: row"),
        HostileFile(importer, "UTF-16 without a byte-order mark", filename,
                    lambda: (header + row).encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
        HostileFile(importer, "truncated inside a quoted field", filename,
                    lambda: (header + row + row.split(",")[0] + ',"Hiroshima mon am').encode(), "cut short"),
    ]


def corpus() -> list[HostileFile]:
    """Every hostile file, importer by importer."""
    zip_name = "letterboxd-mina-2024-05-01-10-00-utc.zip"
    watched = (LETTERBOXD_HEADER + WATCHED_ROW).encode()
    return [
        *text_corpus("goodreads", "goodreads_library_export.csv", GOODREADS_HEADER, "1,Human Acts,Han Kang,5,read\n"),
        *text_corpus("letterboxd csv", "ratings.csv", LETTERBOXD_HEADER, WATCHED_ROW),
        HostileFile("zip", "lying sizes (1 GiB declared as 100 bytes)", zip_name, lying_zip_bomb, "ZIP file is damaged"),
        HostileFile("zip", "honest 1 GiB", zip_name, honest_bomb, "too large"),
        HostileFile("zip", "deflate garbage", zip_name, deflate_garbage, "ZIP file is damaged"),
        HostileFile("zip", "bad CRC", zip_name, bad_crc, "ZIP file is damaged"),
        HostileFile("zip", "encrypted member", zip_name, encrypted_member, "ZIP file is damaged"),
        HostileFile("zip", "bzip2 member", zip_name, lambda: zip_of({"watched.csv": watched}, zipfile.ZIP_BZIP2),
                    "compressed in a way"),
        HostileFile("zip", "path traversal", zip_name, lambda: zip_of({"../../watched.csv": watched}), "unsafe name"),
        HostileFile("zip", "absolute path", zip_name, lambda: zip_of({"/etc/watched.csv": watched}), "unsafe name"),
        HostileFile("zip", "backslash path", zip_name, lambda: zip_of({"..\\..\\watched.csv": watched}), "unsafe name"),
        HostileFile("zip", "20,000 members", zip_name, many_members, "20,000 files"),
        HostileFile("zip", "15 MB field", zip_name,
                    lambda: zip_of({"watched.csv": (LETTERBOXD_HEADER.rstrip("\n") + ',"' + "x" * HUGE + '"\n').encode()}),
                    "longer than"),
        HostileFile("zip", "binary member", zip_name, lambda: zip_of({"watched.csv": b"\x00\x01\x02" * 100}), "binary file"),
        HostileFile("zip", "UTF-8 with a Latin-1 row", zip_name,
                    lambda: zip_of({"watched.csv": watched + "Café,".encode() + b"Caf\xe9\n"}), "not valid UTF-8: row"),
        HostileFile("zip", "truncated", zip_name, lambda: zip_of({"watched.csv": watched * 50})[:200], "damaged or not a ZIP"),
        HostileFile("zip", "no export files", zip_name, lambda: zip_of({"notes.txt": b"hello"}), "no Letterboxd export files"),
        HostileFile("backup", "empty object", "backup.json", lambda: b"{}", "not an Afterimage backup"),
        HostileFile("backup", "binary", "backup.json", lambda: b'{"format": \x00\x01\x02}', "binary file"),
        HostileFile("backup", "truncated", "backup.json", lambda: backup([{"kind": "film"}])[:60], "JSON file is damaged"),
        HostileFile("backup", "100,000-deep nesting", "backup.json",
                    lambda: b'{"format": {"name": "afterimage-backup", "version": 1}, "items": '
                    + b"[" * 100_000 + b"]" * 100_000 + b', "tags": [], "lists": []}', "nested too deeply"),
        HostileFile("backup", "15 MB title", "backup.json",
                    lambda: backup([{"kind": "film", "slug": "x", "title": "x" * HUGE}]), "items[0].title: is too long"),
        HostileFile("backup", "UTF-16 without a byte-order mark", "backup.json",
                    lambda: backup([]).decode().encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
        HostileFile("backup", "item as a string", "backup.json", lambda: backup(["Hiroshima"]), "items[0]: must be object"),
    ]


@functools.cache
def honest_bomb() -> bytes:
    """A ZIP whose member inflates to 1 GiB and says so."""
    buffer = io.BytesIO()
    chunk = b"x" * (1024 * 1024)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("watched.csv", "w", force_zip64=True) as member:
            for _ in range(BOMB_BYTES // len(chunk)):
                member.write(chunk)
    return buffer.getvalue()
