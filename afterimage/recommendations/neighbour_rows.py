"""The stored top lists (the `neighbours` table) rewritten from a model: whole on a refit, only the rows that
differ on a fold-in, reasons written with the first ranks."""
from __future__ import annotations

import json
from collections.abc import Iterable

import sqlalchemy as sa

from afterimage.catalog.models import KINDS
from afterimage.extensions import db
from afterimage.recommendations.documents import TOP_N
from afterimage.recommendations.models import Neighbour
from recs import TfidfRecommender

# Pages show five per kind; reasons for the first ten are written with the rows, deeper ones on demand.
REASONED_RANKS = 10
WRITE_CHUNK = 5000


def write_neighbour_rows(
    model: TfidfRecommender, item_ids: Iterable[int] | None, edited: set[int] = frozenset(),
    kinds: Iterable[str] | None = None,
) -> None:
    """Replace the stored top lists of these items (all items when None) with the model's.

    Reasons already stored for a pair are kept unless one of the two items was `edited`: explaining
    is the costly part of a small update. With `kinds`, only the lists of those kinds are rewritten, except
    for edited items (all of theirs): a fold-in moves an item in and out of lists of its own kind only.
    """
    if item_ids is None:
        _write_neighbour_rows(model, None, edited, None)
        return
    wanted = set(item_ids)
    kinds = KINDS if kinds is None else tuple(sorted(set(kinds)))
    lists = sorted((item_id, kind) for item_id in wanted for kind in KINDS if kind in kinds or item_id in edited)
    stored = stored_rows(sorted(wanted & edited))
    stored.update(stored_rows(sorted(wanted - edited), kinds))
    _write_neighbour_rows(model, lists, edited, stored)


def stored_rows(item_ids: list[int] | None, kinds: Iterable[str] = KINDS) -> dict[tuple[int, str, int], tuple]:
    """The stored rows of these items (of all when None), of these kinds: (item, kind, rank) -> (neighbour,
    score, reasons as JSON text).

    Read below the ORM, through the driver's cursor in this transaction: a refit reads all 400,000 rows of
    a 10,000-item catalog.
    """
    sql = "SELECT item_id, kind, rank, neighbour_id, score, reasons FROM neighbours"
    if item_ids is None:
        queries = [sql]
    else:
        # Kinds are the catalog's own names (KINDS), never input: safe to spell out.
        of_kinds = "" if set(KINDS) <= set(kinds) else f" AND kind IN ({','.join(repr(str(k)) for k in kinds if k in KINDS)})"
        queries = [f"{sql} WHERE item_id IN ({','.join(str(int(i)) for i in item_ids[at:at + WRITE_CHUNK])}){of_kinds}"
                   for at in range(0, len(item_ids), WRITE_CHUNK)]
    rows: dict[tuple[int, str, int], tuple] = {}
    cursor = db.session.connection().connection.cursor()
    try:
        for query in queries:
            cursor.execute(query)
            for item_id, kind, rank, other, score, reasons in cursor.fetchall():
                # SQLite hands back the stored text, PostgreSQL's driver the parsed list: one spelling for both.
                text = reasons if reasons is None or isinstance(reasons, str) else json.dumps(reasons)
                rows[(item_id, kind, rank)] = (other, float(score), text)
    finally:
        cursor.close()
    return rows


def _write_neighbour_rows(model: TfidfRecommender, lists: list[tuple[int, str]] | None, edited: set[int],
                          stored: dict[tuple[int, str, int], tuple] | None) -> None:
    """Rewrite the lists (every list of every item when None).

    A whole rebuild deletes every row and inserts them again. A small update (a save folds one item in,
    and rewrites the lists it changed) touches only the rows that differ, in place: an UPDATE by primary
    key where a rank's neighbour, score or reasons changed, an INSERT for a rank the list did not have, a
    DELETE for one it no longer has. A fold-in changes the saved item's own scores and shifts a few ranks,
    so rewriting every row of every list would be most of the database's work for her save.
    """
    # Reasons already stored for a pair, as their JSON text (small update only): reused unless edited.
    known: dict[tuple[int, int], str] = {}
    if lists is None:
        db.session.execute(sa.delete(Neighbour))
        lists = [(item_id, kind) for item_id in model.ids_.tolist() for kind in KINDS]
    else:
        gone = sorted({item_id for item_id, _ in lists if item_id not in model.row_of_})
        if gone:
            # Rows of items no longer in the model go too.
            db.session.execute(sa.delete(Neighbour).where(Neighbour.item_id.in_(gone)))
        lists = [(item_id, kind) for item_id, kind in lists if item_id in model.row_of_]
        stored = {key: row for key, row in stored.items() if key[0] in model.row_of_}
        known = {(a, b): reasons for (a, _, _), (b, _, reasons) in stored.items()
                 if reasons is not None and a not in edited and b not in edited}
    rows: list[dict] = []
    unexplained: list[dict] = []

    def flush_rows() -> None:
        # Reasons for a whole chunk at once: one sparse product instead of a call per pair.
        for row, reasons in zip(unexplained, model.explain_many((r["item_id"], r["neighbour_id"]) for r in unexplained)):
            row["reasons_json"] = json.dumps(reasons)
        if stored is None:
            insert_neighbour_rows(rows)
        else:
            updated, inserted = [], []
            for r in rows:
                was = stored.pop((r["item_id"], r["kind"], r["rank"]), None)
                if was is None:
                    inserted.append(r)
                elif was != (r["neighbour_id"], float(r["score"]), r["reasons_json"]):
                    updated.append(r)
            update_neighbour_rows(updated)
            insert_neighbour_rows(inserted)
        rows.clear()
        unexplained.clear()

    for item_id, kind in lists:
        for rank, (other, score) in enumerate(model.neighbours(item_id, kind, TOP_N)):
            row = dict(item_id=item_id, kind=kind, rank=rank, neighbour_id=other, score=score, reasons_json=None)
            if rank < REASONED_RANKS:
                row["reasons_json"] = known.get((item_id, other))
                if row["reasons_json"] is None:
                    unexplained.append(row)
            rows.append(row)
        if len(rows) >= WRITE_CHUNK:
            flush_rows()
    if rows:
        flush_rows()
    if stored:
        # Ranks a list no longer has (a catalog smaller than the lists are long).
        delete_neighbour_rows(list(stored))


# One primary-key lookup a row, sent as one executemany. SQLite does not use the primary key for a row-value
# `(item_id, kind, rank) IN (...)`: each chunk of such a DELETE scanned all 400,000 rows of a 10,000-item
# catalog (0.26 s a chunk against 0.02 s for the same 300 rows by key), most of a save's time.
_DELETE_BY_KEY = sa.delete(Neighbour.__table__).where(
    Neighbour.item_id == sa.bindparam("item"), Neighbour.kind == sa.bindparam("kind"),
    Neighbour.rank == sa.bindparam("rank"),
)


def delete_neighbour_rows(keys: list[tuple[int, str, int]]) -> None:
    """Delete the rows at these (item, kind, rank) places, each by its primary key."""
    if keys:
        db.session.connection().execute(
            _DELETE_BY_KEY, [{"item": item, "kind": kind, "rank": rank} for item, kind, rank in keys])


# Straight to the driver: a rebuild writes 40 rows per item, and SQLAlchemy's per-row parameter
# processing cost more than the database's own work. (SQLite and PostgreSQL are the two databases served.)
_DRIVER_INSERTS = {
    "sqlite": "INSERT INTO neighbours (item_id, kind, rank, neighbour_id, score, reasons) VALUES (?, ?, ?, ?, ?, ?)",
    "postgresql": "INSERT INTO neighbours (item_id, kind, rank, neighbour_id, score, reasons) "
                  "VALUES (%s, %s, %s, %s, %s, %s::json)",
}


_DRIVER_UPDATES = {
    "sqlite": "UPDATE neighbours SET neighbour_id = ?, score = ?, reasons = ? WHERE item_id = ? AND kind = ? AND rank = ?",
    "postgresql": "UPDATE neighbours SET neighbour_id = %s, score = %s, reasons = %s::json "
                  "WHERE item_id = %s AND kind = %s AND rank = %s",
}


def update_neighbour_rows(rows: list[dict]) -> None:
    """Rewrite the neighbour, score and reasons (`reasons_json`, as insert_neighbour_rows takes them) of rows
    already stored at these (item, kind, rank) places, each by its primary key, in one executemany."""
    if not rows:
        return
    connection = db.session.connection()
    connection.exec_driver_sql(_DRIVER_UPDATES[connection.dialect.name], [
        (r["neighbour_id"], float(r["score"]), r["reasons_json"], r["item_id"], r["kind"], r["rank"]) for r in rows
    ])


def insert_neighbour_rows(rows: list[dict]) -> None:
    """Insert neighbour rows in one executemany; `reasons_json` is the reasons' JSON text, None is SQL NULL
    (not yet explained)."""
    if not rows:
        return
    connection = db.session.connection()
    connection.exec_driver_sql(_DRIVER_INSERTS[connection.dialect.name], [
        (r["item_id"], r["kind"], r["rank"], r["neighbour_id"], float(r["score"]), r["reasons_json"]) for r in rows
    ])
