"""Letterboxd export: the ZIP as downloaded, or its CSVs (watched, ratings, diary, reviews, watchlist, lists)."""
from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from afterimage.catalog.rules import ItemFields, rating_is_valid
from afterimage.diary import Viewing
from afterimage.importers import detect
from afterimage.importers.diary import add_once, letterboxd_viewing
from afterimage.importers.detect import ImportRefused, check_size, csv_rows, decode_text, first_row
from afterimage.importers.records import ImportedItem, ImportedList, ImportedListEntry, ImportPlan
from recs.text import fold_accents

FILM_FILES = ("watched.csv", "ratings.csv", "diary.csv", "reviews.csv", "watchlist.csv")
# Deleted and orphaned entries are kept in the export for the record; they are not her catalog.
IGNORED_FOLDERS = {"deleted", "orphaned", "likes"}
LIST_MARKER = "Letterboxd list export"
# The header of a list export's own row (its name and address), under the marker line or, in a file that lost
# that line, first.
LIST_META_COLUMNS = {"Date", "Name", "URL"}
# A real export holds a dozen files and one per list; the central directory of a ZIP can list millions.
MAX_ZIP_MEMBERS = 5_000
ZIP_CHUNK = 64 * 1024


@dataclass
class FilmSeen:
    """Everything the export's files say about one film, gathered by name and year."""

    name: str
    year: int | None
    rows: list[str] = field(default_factory=list)
    film_uri: str | None = None
    entry_uri: str | None = None
    seen: bool = False
    want: bool = False
    rating: float | None = None
    rating_is_current: bool = False
    rating_date: str = ""
    review: str = ""
    review_date: str = ""
    tags: list[str] = field(default_factory=list)
    diary: list[Viewing] = field(default_factory=list)


def is_list_meta_header(header: list[str]) -> bool:
    """True for the header of a list export's meta section (Date,Name,Tags,URL,Description)."""
    columns = {c.strip().lstrip("\ufeff") for c in header}
    return LIST_META_COLUMNS <= columns and "Year" not in columns


def is_list_export(text: str) -> bool:
    """A Letterboxd list export, with its "Letterboxd list export v7" first line or without it."""
    return text.lstrip("\ufeff").startswith(LIST_MARKER) or is_list_meta_header(first_row(text))


def identify_csv(name: str, header: list[str]) -> str | None:
    """Which Letterboxd CSV a header belongs to (watched/watchlist share a header, so the name decides)."""
    columns = set(header)
    if not {"Name", "Year"} <= columns:
        return None
    base = PurePosixPath(name or "").name.lower()
    if "Review" in columns:
        return "reviews.csv"
    if "Watched Date" in columns or "Rewatch" in columns:
        return "diary.csv"
    if "Rating" in columns:
        return "ratings.csv"
    if "Letterboxd URI" in columns:
        return "watchlist.csv" if "watchlist" in base else "watched.csv"
    return None


def safe_member_name(name: str) -> bool:
    """A relative name with no ".." step, no drive and no backslash: what an export holds."""
    path = PurePosixPath(name)
    return not (path.is_absolute() or ".." in path.parts or "\\" in name or ":" in name or "\x00" in name)


def member_key(name: str) -> str | None:
    """How the importer knows a member: "watched.csv", "lists/<name>.csv", or None for files it does not read."""
    parts = PurePosixPath(name).parts
    if not parts or IGNORED_FOLDERS & {p.lower() for p in parts[:-1]} or not parts[-1].lower().endswith(".csv"):
        return None
    if len(parts) >= 2 and parts[-2].lower() == "lists":
        return f"lists/{parts[-1]}"
    return parts[-1].lower() if parts[-1].lower() in FILM_FILES else None


def inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """A member's bytes, read in chunks and counted as they come: the sizes an archive declares may lie."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # bzip2 and LZMA inflate a whole block at once, so their output cannot be counted chunk by chunk.
        raise ImportRefused(f"{info.filename} in the ZIP is compressed in a way this importer does not read.")
    if info.compress_type == zipfile.ZIP_DEFLATED and info.compress_size > info.file_size * 1.01 + 1024:
        # Deflate never grows data by more than a few bytes a block: the declared size is false.
        raise ImportRefused(
            f"The ZIP file is damaged: {info.filename} declares {info.file_size:,} bytes but holds "
            f"{info.compress_size:,} compressed bytes."
        )
    chunks, total = [], 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(ZIP_CHUNK):
                total += len(chunk)
                if total > budget:
                    raise ImportRefused(
                        f"The ZIP inflates past the import limit ({detect.MAX_IMPORT_BYTES // 1_048_576} MB) at "
                        f"{info.filename}: it is far larger than an export, or its declared sizes are false."
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError) as error:
        # A bad CRC, deflate garbage, a truncated member, an encrypted one: the archive is damaged.
        raise ImportRefused(f"The ZIP file is damaged: {info.filename} cannot be read ({error}).") from None
    return b"".join(chunks)


def zip_members(data: bytes) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The Letterboxd CSVs inside an export ZIP, decoded, keyed "watched.csv" or "lists/<name>.csv", and notes
    on members that were not UTF-8."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError):
        raise ImportRefused("The ZIP file is damaged or not a ZIP file.") from None
    with archive:
        if len(infos) > MAX_ZIP_MEMBERS:
            raise ImportRefused(
                f"The ZIP holds {len(infos):,} files; a Letterboxd export has far fewer (the limit is "
                f"{MAX_ZIP_MEMBERS:,})."
            )
        unsafe = next((i.filename for i in infos if not safe_member_name(i.filename)), None)
        if unsafe is not None:
            raise ImportRefused(f"The ZIP has a file with an unsafe name ({unsafe!r}); a Letterboxd export has none.")
        # An honest ZIP bomb announces its size here: refuse it before inflating anything.
        check_size(sum(i.file_size for i in infos))
        members: dict[str, str] = {}
        notes: list[tuple[str, str]] = []
        budget = detect.MAX_IMPORT_BYTES
        for info in infos:
            key = member_key(info.filename)
            if key is None:
                continue
            raw = inflate(archive, info, budget)
            budget -= len(raw)
            members[key], note = decode_text(raw, name=info.filename)
            if note:
                notes.append((info.filename, note))
    if not members:
        raise ImportRefused(
            "This ZIP holds no Letterboxd export files (watched.csv, ratings.csv, diary.csv, reviews.csv, "
            "watchlist.csv or lists/)."
        )
    return members, notes


def read_letterboxd_zip(data: bytes) -> ImportPlan:
    """A whole export ZIP as one plan."""
    members, notes = zip_members(data)
    plan = read_letterboxd_files(members, source="Letterboxd export")
    plan.warnings[:0] = notes
    return plan


def read_letterboxd_csv(name: str, text: str) -> ImportPlan:
    """A single CSV from the export, recognised by its header (and name, for the watchlist)."""
    if is_list_export(text):
        base = PurePosixPath(name or "list.csv").name
        return read_letterboxd_files({f"lists/{base}": text}, source=f"Letterboxd list {base}")
    rows = csv_rows(text)
    kind = identify_csv(name, [c.strip() for c in rows[0]] if rows else [])
    if kind is None:
        raise ImportRefused("This CSV is not one of the Letterboxd export files.")
    return read_letterboxd_files({kind: text}, source=f"Letterboxd {kind}")


def film_key(name: str, year: int | None) -> tuple[str, int | None]:
    """Films are gathered across files by folded name and year (diary URIs point at entries, not films)."""
    return fold_accents(" ".join(name.split())), year


def parse_year(raw: str) -> int | None:
    """An empty Year is allowed; anything else must be a number."""
    raw = (raw or "").strip()
    return int(raw) if raw else None


def read_letterboxd_files(files: dict[str, str], source: str) -> ImportPlan:
    """Gather films from every film CSV, then lists, into one plan."""
    plan = ImportPlan(source=source)
    films: dict[tuple[str, int | None], FilmSeen] = {}
    for kind in FILM_FILES:
        if kind in files:
            read_film_csv(kind, files[kind], films, plan)
    has_ratings = any(k in files for k in ("ratings.csv", "diary.csv", "reviews.csv"))
    has_tags = any(k in files for k in ("diary.csv", "reviews.csv"))
    plan.items = [film_record(f, has_ratings, has_tags) for f in films.values()]
    for name in sorted(k for k in files if k.startswith("lists/")):
        imported = read_list_csv(name, files[name], plan)
        if imported is not None:
            plan.lists.append(imported)
    return plan


def read_film_csv(kind: str, text: str, films: dict, plan: ImportPlan) -> None:
    """Fold one film CSV into the films gathered so far."""
    rows = csv_rows(text)
    if not rows:
        return
    header = [c.strip().lstrip("\ufeff") for c in rows[0]]
    if not {"Name", "Year"} <= set(header):
        raise ImportRefused(f"{kind} does not have the Letterboxd columns Name and Year.")
    for number, cells in enumerate(rows[1:], start=2):
        label = f"{kind} row {number}"
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            plan.skipped.append((label, f"it has {len(cells)} columns where the header has {len(header)}."))
            continue
        row = dict(zip(header, cells))
        name = " ".join((row.get("Name") or "").split())
        if not name:
            plan.skipped.append((label, "it has no film name."))
            continue
        try:
            year = parse_year(row.get("Year", ""))
        except ValueError:
            plan.skipped.append((label, f"the year {row.get('Year')!r} is not a number."))
            continue
        film = films.setdefault(film_key(name, year), FilmSeen(name=name, year=year))
        film.rows.append(label)
        uri = (row.get("Letterboxd URI") or "").strip() or None
        if kind in ("watched.csv", "ratings.csv", "watchlist.csv"):
            film.film_uri = film.film_uri or uri
        else:
            film.entry_uri = film.entry_uri or uri
        if kind == "watchlist.csv":
            film.want = True
        else:
            film.seen = True
        when = (row.get("Watched Date") or row.get("Date") or "").strip()
        rating = read_rating(row.get("Rating"), label, plan)
        if rating is not None:
            if kind == "ratings.csv":
                film.rating, film.rating_is_current = rating, True
            elif not film.rating_is_current and when >= film.rating_date:
                film.rating, film.rating_date = rating, when
        if kind == "diary.csv":
            add_once(film.diary, letterboxd_viewing(row, label, plan, rating))
        if kind == "reviews.csv":
            review = (row.get("Review") or "").strip()
            if review and when >= film.review_date:
                film.review, film.review_date = review, when
        for tag in (row.get("Tags") or "").split(","):
            tag = " ".join(tag.split())
            if tag and fold_accents(tag) not in {fold_accents(t) for t in film.tags}:
                film.tags.append(tag)


def read_rating(raw: str | None, label: str, plan: ImportPlan) -> float | None:
    """Half stars, 0.5 to 5; anything else is dropped with a warning."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not rating_is_valid(value):
        plan.warnings.append((label, f"rating {raw!r} is not 0.5–5 in half stars; ignored."))
        return None
    return value


def film_record(film: FilmSeen, has_ratings: bool, has_tags: bool) -> ImportedItem:
    """One gathered film as catalog fields; watchlist films stay unrated and apart ("want")."""
    status = "seen" if film.seen else "want"
    uri = film.film_uri or film.entry_uri
    fields = ItemFields(
        kind="film", title=film.name, year=film.year, status=status, letterboxd_uri=uri,
        rating=film.rating if status == "seen" else None, note=film.review, tags=list(film.tags),
    )
    provided = {"title", "year", "status"}
    if uri:
        provided.add("letterboxd_uri")
    if has_ratings:
        provided.add("rating")
    if has_tags:
        provided.add("tags")
    if film.review:
        provided.add("note")
    return ImportedItem(
        row=film.rows[0], fields=fields, provided=provided,
        source_key=("letterboxd_uri", film.film_uri) if film.film_uri else None, diary=list(film.diary),
    )


def read_list_csv(name: str, text: str, plan: ImportPlan) -> ImportedList | None:
    """A list export: a meta section (Date,Name,Tags,URL,Description), a blank line, then the entries. The
    "Letterboxd list export v7" line above the meta section may be missing."""
    rows = csv_rows(text)
    marked = bool(rows and rows[0] and rows[0][0].lstrip("\ufeff").startswith(LIST_MARKER))
    meta_at = 1 if marked else 0
    if len(rows) <= meta_at or not is_list_meta_header(rows[meta_at]):
        plan.skipped.append((name, "it is not a Letterboxd list export (no Date,Name,Tags,URL,Description header)."))
        return None
    start = next((i for i, r in enumerate(rows) if r and r[0].strip() == "Position"), None)
    meta_header = [c.strip().lstrip("\ufeff") for c in rows[meta_at]]
    meta_values = rows[meta_at + 1] if len(rows) > meta_at + 1 else []
    meta = dict(zip(meta_header, meta_values))
    title = " ".join((meta.get("Name") or "").split())
    if start is None or not title:
        plan.skipped.append((name, "the list has no name or no entries section."))
        return None
    imported = ImportedList(row=name, title=title[:300], introduction=(meta.get("Description") or "").strip())
    header = [c.strip() for c in rows[start]]
    entries = []
    for number, cells in enumerate(rows[start + 1:], start=start + 2):
        label = f"{name} row {number}"
        if not any(c.strip() for c in cells):
            continue
        row = dict(zip(header, cells))
        film_name = " ".join((row.get("Name") or "").split())
        try:
            year = parse_year(row.get("Year", ""))
            position = int((row.get("Position") or "0").strip() or 0)
        except ValueError:
            plan.skipped.append((label, "its year or position is not a number."))
            continue
        if not film_name:
            plan.skipped.append((label, "it has no film name."))
            continue
        url = (row.get("URL") or "").strip() or None
        record = ImportedItem(
            row=label,
            fields=ItemFields(kind="film", title=film_name, year=year, letterboxd_uri=url),
            provided={"title", "year"},
            source_key=("letterboxd_uri", url) if url else None,
        )
        entries.append((position, ImportedListEntry(item=record, note=(row.get("Description") or "").strip())))
    imported.entries = [e for _, e in sorted(entries, key=lambda pair: pair[0])]
    return imported
