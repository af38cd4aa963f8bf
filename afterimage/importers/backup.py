"""The whole catalog as one JSON file, and its restore into an empty database."""
from __future__ import annotations

import base64
import binascii
import functools
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import jsonschema
import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage import recommendations
from afterimage.catalog.cover_images import SIZE_ORDER, CoverRefused, CoverSize, attach_cover, stored_cover
from afterimage.catalog.models import (
    Creator, Credit, CuratedList, DiaryEntry, Item, ListEntry, SlugRedirect, Tag, item_tags,
)
from afterimage.catalog.rules import QUERY_EACH, ItemFields, Lookups, save_item, validate_item_fields
from afterimage.diary import day_problem, parse_day, rating_problem
from afterimage.extensions import db
from afterimage.importers.catalog_index import CatalogIndex
from afterimage.importers.detect import ImportRefused
from afterimage.importers.report import ImportReport
from recs.text import fold_accents

FORMAT = {"name": "afterimage-backup", "version": 1}
# The published description of the file: docs/security.md points to it, restore checks every file against it.
SCHEMA_PATH = Path(__file__).with_name("backup.schema.json")
# A backup is six levels deep (items, an item, its import snapshot, its lists); far deeper is hostile.
MAX_DEPTH = 32
SHOWN_ERRORS = 5
ITEM_VALUES = (
    "title", "original_title", "year", "country", "language", "description", "note", "rating", "status",
    "cover_url", "blog_url", "letterboxd_uri", "goodreads_id", "isbn13", "where_to_find",
)


def iso(moment: datetime | None) -> str | None:
    """UTC ISO 8601, the same whether the database kept the zone (PostgreSQL) or not (SQLite)."""
    if moment is None:
        return None
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return moment.isoformat()


def from_iso(value: str | None) -> datetime | None:
    """The datetime an export wrote."""
    return datetime.fromisoformat(value) if value else None


def export_catalog() -> dict[str, Any]:
    """Items, tags, lists, redirects (and pins and hides when the recommender offers them), sorted by slug."""
    items = db.session.scalars(
        sa.select(Item)
        .options(so.selectinload(Item.credits), so.selectinload(Item.tags), so.selectinload(Item.cover_images),
                 so.selectinload(Item.diary_entries))
        .order_by(Item.slug)
    ).all()
    tags = db.session.scalars(sa.select(Tag).order_by(Tag.slug)).all()
    lists = db.session.scalars(
        sa.select(CuratedList).options(so.selectinload(CuratedList.entries).joinedload(ListEntry.item))
        .order_by(CuratedList.slug)
    ).all()
    slugs = {
        "item": dict(db.session.execute(sa.select(Item.id, Item.slug)).all()),
        "tag": {t.id: t.slug for t in tags},
        "list": {c.id: c.slug for c in lists},
    }
    redirects = db.session.scalars(sa.select(SlugRedirect)).all()
    data: dict[str, Any] = {
        "format": dict(FORMAT),
        "exported_at": iso(datetime.now(timezone.utc)),
        "items": [item_record(item) for item in items],
        "tags": [
            {"name": t.name, "slug": t.slug, "family": t.family, "description": t.description or ""} for t in tags
        ],
        "lists": [
            {
                "slug": c.slug, "title": c.title, "introduction": c.introduction or "", "published": c.published,
                "created_at": iso(c.created_at), "updated_at": iso(c.updated_at),
                "entries": [{"item": e.item.slug, "note": e.note or ""} for e in c.entries],
            }
            for c in lists
        ],
        "slug_redirects": sorted(
            (
                {"entity": r.entity, "old_slug": r.old_slug, "target": slugs[r.entity][r.target_id]}
                for r in redirects if r.target_id in slugs[r.entity]
            ),
            key=lambda r: (r["entity"], r["old_slug"]),
        ),
    }
    export_overrides = getattr(recommendations, "export_overrides", None)
    if export_overrides is not None:
        data["recommendation_overrides"] = [
            {**entry, "created_at": iso(entry["created_at"])} for entry in export_overrides()
        ]
    return data


def item_record(item: Item) -> dict[str, Any]:
    """Every field of an item, creators with roles in credit order, tags by name."""
    record: dict[str, Any] = {"kind": item.kind, "slug": item.slug}
    record.update({name: getattr(item, name) for name in ITEM_VALUES})
    record["creators"] = [{"name": c.creator.name, "role": c.role} for c in item.credits]
    record["tags"] = sorted((t.name for t in item.tags), key=fold_accents)
    record["import_snapshot"] = item.import_snapshot
    record["cover_upload"] = cover_record(item)
    record["diary"] = [
        {"date": e.seen_on.isoformat(), "rewatch": e.rewatch, "rating": e.rating} for e in item.diary_entries
    ]
    record["created_at"] = iso(item.created_at)
    record["updated_at"] = iso(item.updated_at)
    return record


def cover_record(item: Item) -> dict[str, Any] | None:
    """The cover she uploaded, every stored size in base64, or None: it exists nowhere else."""
    if not item.cover_digest:
        return None
    return {
        "digest": item.cover_digest,
        "sizes": [
            {"size": c.size, "mimetype": c.mimetype, "width": c.width, "height": c.height,
             "data": base64.b64encode(c.data).decode("ascii")}
            for c in sorted(item.cover_images, key=lambda c: SIZE_ORDER.index(c.size))
        ],
    }


def restore_cover(item: Item, raw: dict[str, Any]) -> None:
    """Put back an uploaded cover from its backup record, refusing one that is damaged."""
    try:
        sizes = [
            CoverSize(s["size"], s["width"], s["height"], base64.b64decode(s["data"], validate=True))
            for s in raw["sizes"]
        ]
        attach_cover(item, stored_cover(raw["digest"], sizes))
    except binascii.Error:
        raise ImportRefused(f"Item {item.slug!r} in the backup: its cover's data is not valid base64.") from None
    except CoverRefused as refused:
        raise ImportRefused(f"Item {item.slug!r} in the backup: {refused}") from None


def backup_json() -> str:
    """The backup file's text: stable key order, so two exports differ only in exported_at."""
    return json.dumps(export_catalog(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def is_backup(data: Any) -> bool:
    """True for an object carrying the backup's format marker."""
    return isinstance(data, dict) and isinstance(data.get("format"), dict) and data["format"].get("name") == FORMAT["name"]


def parse_backup_json(text: str) -> Any:
    """The JSON value of a file; damaged or absurdly nested JSON is refused, never a RecursionError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportRefused(f"The JSON file is damaged: {error.msg} (line {error.lineno}).") from None
    except RecursionError:
        raise ImportRefused(f"The JSON file is nested too deeply; a backup is at most {MAX_DEPTH} levels deep.") from None
    if nesting_depth(data) > MAX_DEPTH:
        raise ImportRefused(f"The JSON file is nested too deeply; a backup is at most {MAX_DEPTH} levels deep.")
    return data


def nesting_depth(data: Any) -> int:
    """How many arrays and objects deep a JSON value goes, counted without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return deepest


@functools.cache
def backup_validator() -> jsonschema.protocols.Validator:
    """The validator of the published schema (backup.schema.json), with date-times checked as Python reads them."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time", raises=ValueError)(lambda value: not isinstance(value, str) or bool(from_iso(value)))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=checker)


def json_path(parts: Iterable[str | int]) -> str:
    """items[12].kind, as a person reads a place in a JSON file."""
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "the file"


def describe(error: jsonschema.ValidationError) -> str:
    """One schema error as "items[12].kind: required"."""
    path = json_path(error.absolute_path)
    shown = repr(error.instance) if len(repr(error.instance)) <= 40 else repr(error.instance)[:37] + "..."
    if error.validator == "required":
        missing = next((name for name in error.validator_value if name not in error.instance), "?")
        return f"{json_path([*error.absolute_path, missing])}: required"
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        return f"{path}: must be {wanted.replace('null', 'empty')}, not {shown}"
    if error.validator in ("enum", "const"):
        allowed = error.validator_value if error.validator == "enum" else [error.validator_value]
        return f"{path}: must be one of {', '.join(json.dumps(v) for v in allowed)}, not {shown}"
    if error.validator == "pattern":
        return f"{path}: {shown} is not a slug (letters and digits joined by hyphens)"
    if error.validator == "format":
        return f"{path}: {shown} is not a date and time (ISO 8601)"
    if error.validator in ("minLength", "maxLength"):
        return f"{path}: {'must not be empty' if error.validator == 'minLength' else 'is too long'}"
    return f"{path}: {error.message}"


def check_backup(data: Any) -> None:
    """Refuse JSON that is not a backup this version can read, naming the first problems by their JSON path."""
    if not is_backup(data):
        raise ImportRefused("This JSON file is not an Afterimage backup.")
    if data["format"].get("version") != FORMAT["version"]:
        raise ImportRefused(f"This backup is format version {data['format'].get('version')}; this site reads version 1.")
    errors = sorted(backup_validator().iter_errors(data), key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in e.absolute_path])
    if errors:
        shown = "; ".join(describe(e) for e in errors[:SHOWN_ERRORS])
        more = f" (and {len(errors) - SHOWN_ERRORS} more)" if len(errors) > SHOWN_ERRORS else ""
        raise ImportRefused(f"This backup does not match the backup format: {shown}{more}.")


def catalog_is_empty() -> bool:
    """No items, tags or lists yet (author accounts do not count)."""
    return not any(db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Item, Tag, CuratedList))


def clear_catalog() -> None:
    """Delete every catalog row (not author accounts), for a restore with --replace."""
    for statement in (
        sa.delete(DiaryEntry), sa.delete(ListEntry), sa.delete(CuratedList), sa.delete(item_tags), sa.delete(Credit), sa.delete(Item),
        sa.delete(Creator), sa.delete(Tag), sa.delete(SlugRedirect),
    ):
        db.session.execute(statement)
    # Bulk deletes bypass the identity map: drop the stale catalog objects (not the signed-in author)
    # so that restored rows reusing their ids are not confused with them.
    for obj in list(db.session.identity_map.values()):
        if type(obj).__module__ != "afterimage.accounts.models":
            db.session.expunge(obj)


def restore_backup(data: dict[str, Any], replace: bool, report: ImportReport, tick: Callable[[int], None]) -> None:
    """Recreate the catalog from a backup; refuses a non-empty catalog unless replace is set."""
    check_backup(data)
    if not catalog_is_empty():
        if not replace:
            raise ImportRefused(
                "The catalog is not empty, so the backup was not restored. Restore into an empty database, "
                "or replace everything (CLI: --replace; studio: tick 'Replace the whole catalog')."
            )
        clear_catalog()
    for raw in data["tags"]:
        db.session.add(Tag(
            name=raw["name"], name_key=fold_accents(" ".join(raw["name"].split())), slug=raw["slug"],
            family=raw.get("family"), description=raw.get("description") or "",
        ))
        report.tags_created += 1
    db.session.flush()
    by_slug: dict[str, Item] = {}
    # Tags and people looked up from memory, read in two queries, not a query for each of each item's.
    index = CatalogIndex()
    index.load_file_names(data)
    with db.session.no_autoflush:
        for raw in data["items"]:
            by_slug[raw["slug"]] = restore_item(raw, index)
            report.created += 1
            tick(1)
    db.session.flush()
    for raw in data["lists"]:
        curated = CuratedList(
            slug=raw["slug"], title=raw["title"], introduction=raw.get("introduction") or "",
            published=bool(raw.get("published", True)),
            created_at=from_iso(raw.get("created_at")), updated_at=from_iso(raw.get("updated_at")),
        )
        for entry in raw.get("entries", []):
            if entry["item"] not in by_slug:
                raise ImportRefused(f"List {raw['slug']!r} names an item that is not in the backup: {entry['item']}.")
            curated.entries.append(ListEntry(item=by_slug[entry["item"]], note=entry.get("note") or ""))
        db.session.add(curated)
        report.lists_created += 1
        tick(1)
    db.session.flush()
    ids = {
        "item": {slug: item.id for slug, item in by_slug.items()},
        "tag": dict(db.session.execute(sa.select(Tag.slug, Tag.id)).all()),
        "list": dict(db.session.execute(sa.select(CuratedList.slug, CuratedList.id)).all()),
    }
    for raw in data.get("slug_redirects", []):
        target = ids.get(raw["entity"], {}).get(raw["target"])
        if target is not None:
            db.session.add(SlugRedirect(entity=raw["entity"], old_slug=raw["old_slug"], target_id=target))
    if "recommendation_overrides" in data:
        import_overrides = getattr(recommendations, "import_overrides", None)
        if import_overrides is None:
            report.warn("recommendation_overrides", "this site cannot restore pins and hides yet; they were skipped.")
        else:
            db.session.flush()
            import_overrides([
                {**entry, "created_at": from_iso(entry.get("created_at"))} for entry in data["recommendation_overrides"]
            ])


def restore_item(raw: dict[str, Any], lookups: Lookups = QUERY_EACH) -> Item:
    """One backup item through the catalog rules, keeping its slug and timestamps."""
    fields = ItemFields(
        kind=raw["kind"],
        creators=[(c["name"], c["role"]) for c in raw.get("creators", [])],
        tags=list(raw.get("tags", [])),
        **{name: raw.get(name) for name in ITEM_VALUES},
    )
    fields.description = fields.description or ""
    fields.note = fields.note or ""
    fields.status = fields.status or "seen"
    errors = validate_item_fields(fields)
    if errors:
        raise ImportRefused(f"Item {raw.get('slug')!r} in the backup is invalid: {' '.join(errors.values())}")
    item = save_item(fields, lookups=lookups)
    item.slug = raw["slug"]
    item.import_snapshot = raw.get("import_snapshot")
    if raw.get("cover_upload"):
        restore_cover(item, raw["cover_upload"])
    item.diary_entries = restored_diary(raw)
    item.created_at = from_iso(raw.get("created_at")) or item.created_at
    item.updated_at = from_iso(raw.get("updated_at")) or item.updated_at
    return item


def restored_diary(raw: dict[str, Any]) -> list[DiaryEntry]:
    """A backup item's diary through the diary's rules; a bad day is refused by its place in the file."""
    entries: dict[Any, DiaryEntry] = {}
    for n, entry in enumerate(raw.get("diary") or []):
        where = f"Item {raw.get('slug')!r} in the backup, diary[{n}]"
        day = parse_day(entry["date"])
        if day is None or entry["date"] != day.isoformat():
            raise ImportRefused(f"{where}: {entry['date']!r} is not a date (YYYY-MM-DD).")
        if problem := day_problem(day) or rating_problem(entry.get("rating")):
            raise ImportRefused(f"{where}: {problem}")
        if day in entries:
            raise ImportRefused(f"{where}: {day.isoformat()} is in the diary twice.")
        entries[day] = DiaryEntry(seen_on=day, rewatch=bool(entry.get("rewatch")), rating=entry.get("rating"))
    return list(entries.values())
