"""Her choices for a file's shelves (Goodreads) or tags (Letterboxd): keep as a tag, file under one of her tags,
read as a status, or ignore; from the preview's form, the CLI's options or a mapping file, and remembered for
the next import."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace

import sqlalchemy as sa

from afterimage.catalog.rules import find_by_name
from afterimage.extensions import db
from afterimage.importers.goodreads import shelf_tag
from afterimage.importers.records import (
    ImportedItem, ImportPlan,
)
from afterimage.catalog.models import STATUSES, Tag
from afterimage.accounts.models import ImportChoice
from recs.text import fold_accents

SHELF_ACTIONS = ("tag", "map", "status", "ignore")


class MappingError(ValueError):
    """A shelf mapping (CLI option, mapping file or form) that cannot be used; the message names where."""


@dataclass(frozen=True)
class ShelfChoice:
    """What to do with one shelf: keep it as a tag, file it under an existing tag, read it as a status, or drop it."""

    action: str = "tag"
    target: str = ""

    def describe(self) -> str:
        """The choice in the CLI's own syntax: "tag", "map:Favourites", "status:want", "ignore"."""
        return f"{self.action}:{self.target}" if self.target else self.action


KEEP_AS_TAG = ShelfChoice()


@dataclass
class Shelf:
    """A shelf (Goodreads) or tag (Letterboxd) found in the file, how many rows carry it, and the choice for it."""

    name: str
    key: str
    rows: int
    choice: ShelfChoice = KEEP_AS_TAG


def shelf_key(name: str) -> str:
    """A shelf's name as choices are kept: "Korean-Lit", "korean lit" and "korean_lit" are one shelf."""
    return fold_accents(shelf_tag(name))


def source_family(plan: ImportPlan) -> str | None:
    """Whose shelves a plan carries ("goodreads" or "letterboxd"); None for a backup, which has none."""
    if plan.backup is not None:
        return None
    return "goodreads" if plan.source.startswith("Goodreads") else "letterboxd"


def shelves_in(plan: ImportPlan, choices: dict[str, ShelfChoice]) -> list[Shelf]:
    """The shelves the file's rows carry as tags, most used first, each with its choice (a tag unless chosen)."""
    rows: Counter[str] = Counter()
    names: dict[str, str] = {}
    for record in plan.items:
        if "tags" in record.provided:
            for tag in record.fields.tags:
                key = shelf_key(tag)
                names.setdefault(key, tag)
                rows[key] += 1
    ordered = sorted(rows, key=lambda k: (-rows[k], k))
    return [Shelf(name=names[k], key=k, rows=rows[k], choice=choices.get(k, KEEP_AS_TAG)) for k in ordered]


def remembered_choices(family: str | None) -> dict[str, ShelfChoice]:
    """Her choices from earlier imports of this service's files."""
    if family is None:
        return {}
    rows = db.session.scalars(sa.select(ImportChoice).where(ImportChoice.source == family))
    return {row.shelf_key: ShelfChoice(row.action, row.target) for row in rows}


def remember_choices(family: str | None, shelves: list[Shelf]) -> None:
    """Keep the choices for the next import, in the current transaction (committed with the import)."""
    if family is None or not shelves:
        return
    existing = {row.shelf_key: row for row in db.session.scalars(
        sa.select(ImportChoice).where(ImportChoice.source == family))}
    for shelf in shelves:
        row = existing.get(shelf.key)
        if row is None:
            db.session.add(ImportChoice(source=family, shelf_key=shelf.key, action=shelf.choice.action,
                                        target=shelf.choice.target))
        elif (row.action, row.target) != (shelf.choice.action, shelf.choice.target):
            row.action, row.target = shelf.choice.action, shelf.choice.target


def parse_choice(text: str, existing_tags_only: bool = False) -> ShelfChoice:
    """A choice in the CLI's syntax: "tag", "tag:NAME" (a tag of that name, new or not), "map:TAG" (an existing
    tag), "status:want|current|seen" or "ignore"; MappingError says what is wrong."""
    action, colon, target = text.strip().partition(":")
    action, target = action.strip().lower(), " ".join(target.split())
    if action not in SHELF_ACTIONS:
        raise MappingError(f"{action or text!r} is not a choice: use tag, tag:NAME, map:TAG, status:STATUS or ignore.")
    if action == "status":
        if target.lower() not in STATUSES:
            raise MappingError(f"the status must be one of {', '.join(STATUSES)} (not {target!r}).")
        return ShelfChoice("status", target.lower())
    if action == "ignore":
        if target:
            raise MappingError("ignore takes no value after a colon.")
        return ShelfChoice("ignore")
    if action == "tag" and not target:
        if colon:
            raise MappingError("name the tag after tag:, or write tag alone to keep the shelf's name.")
        return KEEP_AS_TAG
    if not target:
        raise MappingError("name the tag to file it under after map:.")
    if len(target) > 100:
        raise MappingError("tag names stay under 100 characters.")
    if (action == "map" or existing_tags_only) and find_by_name(Tag, target) is None:
        raise MappingError(f"there is no tag called {target!r} (use tag:{target} to make it).")
    return ShelfChoice("map", target)


def steer(plan: ImportPlan, choices: dict[str, ShelfChoice]) -> ImportPlan:
    """The plan with her shelf choices applied to its records; the plan read from the file is left as it was."""
    if not any(c != KEEP_AS_TAG for c in choices.values()):
        return plan
    return replace(plan, items=[steered_record(r, choices) for r in plan.items])


def steered_record(record: ImportedItem, choices: dict[str, ShelfChoice]) -> ImportedItem:
    """One record with its shelves kept, renamed, read as a status or dropped, as she chose."""
    if "tags" not in record.provided:
        return record
    tags: dict[str, str] = {}
    statuses: list[str] = []
    for tag in record.fields.tags:
        choice = choices.get(shelf_key(tag), KEEP_AS_TAG)
        if choice.action == "status":
            statuses.append(choice.target)
        elif choice.action != "ignore":
            name = choice.target if choice.action == "map" else tag
            tags.setdefault(fold_accents(name), name)
    fields = replace(record.fields, tags=list(tags.values()), creators=list(record.fields.creators))
    provided = set(record.provided)
    if statuses:
        # Several shelves read as statuses: the one furthest along (seen, then current, then want) wins.
        fields.status = min(statuses, key=STATUSES.index)
        provided.add("status")
        if fields.status != "seen":
            fields.rating = None  # a book she has not finished has no rating yet, as the importers do
    return replace(record, fields=fields, provided=provided)


def read_mapping(text: str, name: str = "the mapping file") -> dict[str, ShelfChoice]:
    """Shelf choices from JSON: {"shelves": {"to-read": "status:want", "owned": "ignore",
    "faves": {"action": "map", "target": "Favourites"}}}; every problem is named by its JSON path."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise MappingError(f"{name} is not JSON: line {error.lineno}, column {error.colno}: {error.msg}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("shelves"), dict):
        raise MappingError(f'{name}: $ must be an object with a "shelves" object, as {{"shelves": {{"to-read": '
                           '"status:want"}}.')
    entries: list[tuple[str, str, str]] = []
    problems: list[str] = []
    for shelf, value in data["shelves"].items():
        path = f"$.shelves[{json.dumps(shelf, ensure_ascii=False)}]"
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"action", "target"})
            if unknown or not isinstance(value.get("action"), str) or not isinstance(value.get("target", ""), str):
                problems.append(f"{path}: expected {{\"action\": \"…\", \"target\": \"…\"}} with text values"
                                + (f" (unknown key {unknown[0]!r})" if unknown else "") + ".")
                continue
            value = value["action"] + (f":{value['target']}" if value.get("target") else "")
        elif not isinstance(value, str):
            problems.append(f"{path}: expected a choice such as \"status:want\", not {json.dumps(value)}.")
            continue
        entries.append((path, shelf, value))
    choices = parse_choices(entries, problems)
    if problems:
        head = name if len(problems) == 1 else f"{name} has {len(problems)} problems"
        raise MappingError(f"{head}: " + " ".join(problems))
    return choices


def read_shelf_options(options: list[str] | tuple[str, ...]) -> dict[str, ShelfChoice]:
    """Shelf choices from `--shelf NAME=CHOICE` options; every bad one is named."""
    entries: list[tuple[str, str, str]] = []
    problems: list[str] = []
    for option in options:
        shelf, equals, value = option.partition("=")
        if not equals:
            problems.append(f"--shelf {option}: write NAME=CHOICE, as --shelf to-read=status:want.")
        else:
            entries.append((f"--shelf {option}", shelf, value))
    choices = parse_choices(entries, problems)
    if problems:
        raise MappingError(" ".join(problems))
    return choices


def parse_choices(entries: list[tuple[str, str, str]], problems: list[str]) -> dict[str, ShelfChoice]:
    """Choices from (where, shelf, choice text) entries; each problem, named by its `where`, joins `problems`."""
    choices: dict[str, ShelfChoice] = {}
    for where, shelf, text in entries:
        if not shelf_key(shelf):
            problems.append(f"{where}: a shelf needs a name.")
            continue
        try:
            choices[shelf_key(shelf)] = parse_choice(text)
        except MappingError as error:
            problems.append(f"{where}: {error}")
    return choices
