"""Fitting, folding and storing the model: the bridge between catalog rows and the plain `recs` engine."""
from __future__ import annotations

import atexit
import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from afterimage.catalog import published_items
from afterimage.extensions import db
from afterimage.models import KINDS, Creator, Credit, Item, Tag, item_tags
from afterimage.recommendations.models import Neighbour, RecModel, RecModelBlob, RecModelChange
from recs import ItemDoc, TfidfRecommender

log = logging.getLogger(__name__)

MODEL_ROW = 1
TOP_N = 20
# Pages show five per kind; reasons for the first ten are written with the rows, deeper ones on demand.
REASONED_RANKS = 10
# Folding in more than this share of the catalog at once costs more than a refit.
REFIT_SHARE = 0.2
WRITE_CHUNK = 5000
# Three parameters a row: well under SQLite's limit on a statement's parameters.
DELETE_CHUNK = 300
# Session flag set while the commit hook refreshes recommendations (see hooks.py).
REFRESHING = "recs_busy"

# This process's copy of each database's model: valid while the stored token matches; `seq` is the
# last logged change replayed into it.
# A model in this cache is never changed in place: a reader thread may be ranking with it. Replays and
# fold-ins work on a copy, which replaces it. The lock makes threads (gthread workers) load it once.
_models: dict[str, dict[str, object]] = {}
_lock = threading.RLock()
# Session flag: this transaction left the model drifted; refit once it has committed (see hooks.py).
REFIT_DUE = "recs_refit_due"
# Session flag: this transaction changes many items (a big import): its commit refits instead of folding in.
REFIT_AT_COMMIT = "recs_refit_at_commit"
_refit_lock = threading.Lock()
# The refit this process started last (refit_in_background); it logs its own failures.
_refit_process: subprocess.Popen | None = None


def _cached() -> dict[str, object]:
    """The cache entry for the database this session talks to."""
    key = db.engine.url.render_as_string(hide_password=True)
    return _models.setdefault(key, {"token": None, "blob_token": None, "seq": 0, "model": None})


def _invalidate_cache() -> None:
    """Forget this database's copy, e.g. before changing it ahead of a commit that may roll back."""
    _cached().update(token=None, blob_token=None, seq=0, model=None)


def _forget_cached_model() -> None:
    """Drop every copy, as a new process would start (tests use it between databases)."""
    _models.clear()


def new_recommender() -> TfidfRecommender:
    """The engine as configured for the site."""
    return TfidfRecommender(top_n=TOP_N)


def item_docs(ids: Iterable[int] | None = None) -> list[ItemDoc]:
    """Engine documents for the given items, or for the whole catalog: public items only, so that what she
    has not watched or read is never recommended nor takes a recommendation's place.

    Plain rows, not ORM objects: a refit reads every item, and building 10,000 objects with their
    credits and tags cost more than the fit itself.
    """
    wanted = list(ids) if ids is not None else None

    def only(query: sa.Select, column: sa.ColumnElement) -> sa.Select:
        return query if wanted is None else query.where(column.in_(wanted))

    creators: dict[int, list[str]] = {}
    for item_id, name in db.session.execute(only(
        sa.select(Credit.item_id, Creator.name).join(Creator, Creator.id == Credit.creator_id)
        .order_by(Credit.item_id, Credit.position), Credit.item_id,
    )):
        creators.setdefault(item_id, []).append(name)
    tags: dict[int, list[str]] = {}
    for item_id, name in db.session.execute(only(
        sa.select(item_tags.c.item_id, Tag.name).join(Tag, Tag.id == item_tags.c.tag_id)
        .order_by(item_tags.c.item_id, Tag.name_key), item_tags.c.item_id,
    )):
        tags.setdefault(item_id, []).append(name)
    rows = db.session.execute(only(
        sa.select(Item.id, Item.kind, Item.title, Item.original_title, Item.description, Item.note, Item.year)
        .where(published_items()).order_by(Item.id), Item.id,
    ))
    return [
        ItemDoc(id=item_id, kind=kind, title=title, original_title=original_title or "",
                creators=tuple(creators.get(item_id, ())), tags=tuple(tags.get(item_id, ())),
                description=description or "", note=note or "", year=year)
        for item_id, kind, title, original_title, description, note, year in rows
    ]


def current_model() -> TfidfRecommender | None:
    """The stored model with every later change replayed, loaded once per process; None before the first build."""
    with _lock:
        return _current_model()


def _current_model() -> TfidfRecommender | None:
    row = db.session.execute(
        sa.select(RecModel.token, RecModel.blob_token).where(RecModel.id == MODEL_ROW)
    ).first()
    cache = _cached()
    if row is None:
        # No model at all: build one if there is anything to recommend, rather than serve nothing.
        has_items = db.session.scalar(sa.select(Item.id).where(published_items()).limit(1)) is not None
        return _rebuild_and_store() if has_items else None
    token, blob_token = row
    if cache["token"] == token:
        return cache["model"]  # type: ignore[return-value]
    if cache["blob_token"] == blob_token and cache["model"] is not None:
        model, since = cache["model"].copy_for_update(), cache["seq"]
    else:
        blob = db.session.scalar(sa.select(RecModelBlob.blob).where(RecModelBlob.id == MODEL_ROW))
        try:
            model, since = TfidfRecommender.loads(blob), 0
        except Exception:
            # A damaged or outdated model is rebuilt, never served.
            log.exception("stored recommendation model unreadable; rebuilding")
            return _rebuild_and_store()
    _invalidate_cache()
    seq = _replay_changes(model, since)  # type: ignore[arg-type]
    cache.update(token=token, blob_token=blob_token, seq=seq, model=model)
    return model  # type: ignore[return-value]


def _rebuild_and_store() -> TfidfRecommender:
    """Rebuild and commit at once, even from a read-only request; inside a commit hook, that commit does it."""
    model = rebuild()
    if not db.session.info.get(REFRESHING):
        db.session.commit()
    return model


def _replay_changes(model: TfidfRecommender, since: int) -> int:
    """Apply the logged fold-ins and removals after `since` to the model; return the last seq applied."""
    changes = db.session.execute(
        sa.select(RecModelChange.seq, RecModelChange.item_id, RecModelChange.removed)
        .where(RecModelChange.seq > since)
        .order_by(RecModelChange.seq)
    ).all()
    docs = {doc.id: doc for doc in item_docs({c.item_id for c in changes if not c.removed})}
    for _, item_id, removed in changes:
        if removed or item_id not in docs:
            model.remove(item_id)
        else:
            model.fold_in(docs[item_id])
    return changes[-1].seq if changes else since


def save_model(model: TfidfRecommender) -> None:
    """Store a freshly fitted model so every app server and every restart uses it without refitting."""
    row = db.session.get(RecModel, MODEL_ROW)
    if row is None:
        row = RecModel(id=MODEL_ROW, version=0)
        db.session.add(row)
    stored = db.session.get(RecModelBlob, MODEL_ROW)
    if stored is None:
        stored = RecModelBlob(id=MODEL_ROW)
        db.session.add(stored)
    stored.blob = model.dumps()
    token = uuid.uuid4().hex
    row.token = row.blob_token = token
    row.version = (row.version or 0) + 1
    row.n_items = len(model.ids_)
    row.fitted_at = sa.func.now()
    db.session.execute(sa.delete(RecModelChange))
    _cached().update(token=token, blob_token=token, seq=0, model=model)


def log_changes(model: TfidfRecommender, changed: set[int], removed: set[int]) -> None:
    """Record a fold-in for the other processes and restarts, without rewriting the blob."""
    rows = [dict(item_id=i, removed=False) for i in sorted(changed)] + [dict(item_id=i, removed=True) for i in sorted(removed)]
    db.session.execute(sa.insert(RecModelChange), rows)
    seq = db.session.scalar(sa.select(sa.func.max(RecModelChange.seq)))
    row = db.session.get(RecModel, MODEL_ROW)
    token = uuid.uuid4().hex
    row.token = token
    row.n_items = len(model.ids_)
    _cached().update(token=token, blob_token=row.blob_token, seq=seq, model=model)


def write_neighbour_rows(
    model: TfidfRecommender, item_ids: Iterable[int] | None, edited: set[int] = frozenset()
) -> None:
    """Replace the stored top lists of these items (all items when None) with the model's.

    Reasons already stored for a pair are kept unless one of the two items was `edited`: explaining
    is the costly part of a small update.
    """
    wanted = None if item_ids is None else sorted(set(item_ids))
    _write_neighbour_rows(model, wanted, edited, None if wanted is None else stored_rows(wanted))


def stored_rows(item_ids: list[int] | None) -> dict[tuple[int, str, int], tuple]:
    """The stored rows of these items (of all when None): (item, kind, rank) -> (neighbour, score, reasons
    as JSON text).

    Read below the ORM, through the driver's cursor in this transaction: a refit reads all 400,000 rows of
    a 10,000-item catalog.
    """
    sql = "SELECT item_id, kind, rank, neighbour_id, score, reasons FROM neighbours"
    if item_ids is None:
        queries = [sql]
    else:
        queries = [f"{sql} WHERE item_id IN ({','.join(str(int(i)) for i in item_ids[at:at + WRITE_CHUNK])})"
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


def _write_neighbour_rows(model: TfidfRecommender, item_ids: list[int] | None, edited: set[int],
                          stored: dict[tuple[int, str, int], tuple] | None) -> None:
    """Rewrite the lists.

    A whole rebuild deletes every row and inserts them again. A small update (a save folds one item in,
    and rewrites the fifty-odd lists it may enter) writes only the rows that differ: a fold-in changes
    the saved item's own scores and shifts a few ranks, and rewriting all forty rows of every list (2,293
    inserts a save on 2,000 items) was most of the database's work for her save.
    """
    known: dict[tuple[int, int], list[str]] = {}
    # `stored`, on a small update: the rows there were (stored_rows), taken out as they are matched.
    if item_ids is None:
        db.session.execute(sa.delete(Neighbour))
        ids = model.ids_.tolist()
    else:
        ids = sorted(set(item_ids) & set(model.row_of_))
        gone = sorted(set(item_ids) - set(ids))
        if gone:
            # Rows of items no longer in the model go too.
            db.session.execute(sa.delete(Neighbour).where(Neighbour.item_id.in_(gone)))
        stored = {key: row for key, row in stored.items() if key[0] in model.row_of_}
        known = {(a, b): json.loads(reasons) for (a, _, _), (b, _, reasons) in stored.items()
                 if reasons is not None and a not in edited and b not in edited}
    rows: list[dict] = []
    unexplained: list[dict] = []

    def flush_rows() -> None:
        # Reasons for a whole chunk at once: one sparse product instead of a call per pair.
        for row, reasons in zip(unexplained, model.explain_many((r["item_id"], r["neighbour_id"]) for r in unexplained)):
            row["reasons"] = reasons
        changed = []
        for r in rows:
            # The JSON text once, for the comparison with the stored row and for the insert.
            r["reasons_json"] = None if r["reasons"] is None else json.dumps(r["reasons"])
            if stored is None or stored.pop((r["item_id"], r["kind"], r["rank"]), None) != (
                    r["neighbour_id"], float(r["score"]), r["reasons_json"]):
                changed.append(r)
        if stored is not None:
            delete_neighbour_rows([(r["item_id"], r["kind"], r["rank"]) for r in changed])
        insert_neighbour_rows(changed)
        rows.clear()
        unexplained.clear()

    for item_id in ids:
        for kind in KINDS:
            for rank, (other, score) in enumerate(model.neighbours(item_id, kind, TOP_N)):
                row = dict(item_id=item_id, kind=kind, rank=rank, neighbour_id=other, score=score, reasons=None)
                if rank < REASONED_RANKS:
                    row["reasons"] = known.get((item_id, other))
                    if not row["reasons"]:
                        unexplained.append(row)
                rows.append(row)
        if len(rows) >= WRITE_CHUNK:
            flush_rows()
    if rows:
        flush_rows()
    if stored:
        # Ranks a list no longer has (a catalog smaller than the lists are long).
        delete_neighbour_rows(list(stored))


def delete_neighbour_rows(keys: list[tuple[int, str, int]]) -> None:
    """Delete the rows at these (item, kind, rank) places, in statements of a few hundred."""
    for at in range(0, len(keys), DELETE_CHUNK):
        chunk = keys[at:at + DELETE_CHUNK]
        db.session.execute(sa.delete(Neighbour).where(
            sa.tuple_(Neighbour.item_id, Neighbour.kind, Neighbour.rank).in_(chunk)))


# Straight to the driver: a rebuild writes 40 rows per item, and SQLAlchemy's per-row parameter
# processing cost more than the database's own work. (SQLite and PostgreSQL are the two databases served.)
_DRIVER_INSERTS = {
    "sqlite": "INSERT INTO neighbours (item_id, kind, rank, neighbour_id, score, reasons) VALUES (?, ?, ?, ?, ?, ?)",
    "postgresql": "INSERT INTO neighbours (item_id, kind, rank, neighbour_id, score, reasons) "
                  "VALUES (%s, %s, %s, %s, %s, %s::json)",
}


def insert_neighbour_rows(rows: list[dict]) -> None:
    """Insert neighbour rows in one executemany; `reasons_json` is the reasons' JSON text, None is SQL NULL
    (not yet explained)."""
    if not rows:
        return
    connection = db.session.connection()
    connection.exec_driver_sql(_DRIVER_INSERTS[connection.dialect.name], [
        (r["item_id"], r["kind"], r["rank"], r["neighbour_id"], float(r["score"]), r["reasons_json"]) for r in rows
    ])


def rebuild(progress: Callable[[str], None] | None = None) -> TfidfRecommender:
    """Refit on the whole catalog and replace every stored list, inside the caller's transaction."""
    say = progress or (lambda step: None)
    say("reading the catalog")
    docs = item_docs()
    say(f"fitting TF-IDF on {len(docs)} items")
    model = new_recommender().fit(docs)
    store_refit(model, say)
    return model


def store_refit(model: TfidfRecommender, say: Callable[[str], None] = lambda step: None) -> None:
    """Replace every stored list and the stored model with a fresh fit, inside the caller's transaction."""
    say("writing neighbours and reasons")
    write_neighbour_rows(model, None)
    say("storing the model")
    save_model(model)


def apply_item_changes(changed: set[int], removed: set[int]) -> None:
    """Fold changed items into the stored model and rewrite only the lists they affect."""
    # Bump the version first: it takes the row's write lock, so concurrent writers fold in turn.
    locked = db.session.execute(
        sa.update(RecModel).where(RecModel.id == MODEL_ROW).values(version=RecModel.version + 1)
    ).rowcount
    refit_asked = db.session.info.pop(REFIT_AT_COMMIT, False)
    model = current_model() if locked and not refit_asked else None
    catalog_size = len(model.ids_) if model is not None else 0
    if model is None or len(changed | removed) > max(REFIT_SHARE * catalog_size, 1):
        rebuild()
        return
    # Fold into a copy: other threads may be ranking with the cached one. If this commit rolls back,
    # the cache is already forgotten and the next reader reloads from the database.
    model = model.copy_for_update()
    _invalidate_cache()
    affected: set[int] = set()
    docs = item_docs(changed - removed)
    # An item moved off the watched/read shelf leaves the model like a deleted one; its own rows go too.
    unpublished = (changed - removed) - {doc.id for doc in docs}
    for item_id in removed | unpublished:
        affected |= model.remove(item_id)
    for doc in docs:
        affected |= model.fold_in(doc)
    # Rows deleted or added around the ORM (a bulk DELETE, raw SQL) never reached the model: refit now
    # rather than write neighbours for items that are gone.
    if db.session.scalar(sa.select(sa.func.count(Item.id)).where(published_items())) != len(model.ids_):
        rebuild()
        return
    write_neighbour_rows(model, (affected - removed) | unpublished, edited=changed)
    log_changes(model, changed, removed)
    if model.needs_rebuild():
        # Too many unknown words folded in: refit, but after this commit and off the request, so the
        # author's import returns at once and her next edit does not queue behind a whole refit.
        db.session.info[REFIT_DUE] = True


def refit_at_commit() -> None:
    """Have this transaction's commit refit the model once, rather than fold its items in one at a time: each
    fold-in copies the whole model, so folding in thousands of imported rows cost more than one fit."""
    db.session.info[REFIT_AT_COMMIT] = True


def refit_in_background(app: Flask) -> None:
    """Refit in a process of its own (`flask recs refit-in-background`), unless the one this process started last still runs.

    Not a thread of the app server: a fit holds the interpreter for seconds, so readers on that worker
    would wait for it. A process leaves the request free at once and lets the operating system share the
    cores. It refits the same database (the URL goes by environment, never on the command line, where `ps`
    would show a password).
    """
    global _refit_process
    # The lock only makes check-and-start one step for the threads of a gthread worker.
    with _refit_lock:
        # poll() also reaps the last one, if it has finished.
        if _refit_process is not None and _refit_process.poll() is None:
            return
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "SECRET_KEY": app.config["SECRET_KEY"]}
        try:
            _refit_process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "recs", "refit-in-background"], env=env,
                cwd=Path(__file__).resolve().parents[2], stdin=subprocess.DEVNULL,
            )
        except OSError:
            log.exception("could not start the background refit; the next change will ask for one again")


def wait_for_refit(timeout: float | None = None) -> None:
    """Block until the refit this process started (if any) has finished."""
    process = _refit_process
    if process is not None:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("background refit still running after %s s", timeout)


def stop_refit() -> None:
    """End the refit this process started, if it still runs: its database is about to go (tests)."""
    process = _refit_process
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait()


def refit_with_retries() -> None:
    """The background refit itself (in its own process): a few tries, each losing only to an edit
    committed during its fit, which then asks for a refit again anyway."""
    try:
        for _ in range(3):
            if refit_unless_changed():
                break
    finally:
        db.session.remove()


def refit_unless_changed() -> bool:
    """Fit on the catalog as it is now, and store the result only if nothing was folded in meanwhile.

    The fit runs outside any write; the write starts with a compare-and-set on the model's version, so
    an edit committed during the fit is never overwritten by a model that has not seen it.
    """
    seen = db.session.scalar(sa.select(RecModel.version).where(RecModel.id == MODEL_ROW))
    if seen is None:
        return True
    docs = item_docs()
    db.session.rollback()  # no read transaction held open while fitting
    model = new_recommender().fit(docs)
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            # Writers lock items (and, by cascade, their neighbour rows) before the model's row; the refit
            # takes them the other way round. It gives way before PostgreSQL's deadlock check (1 s) would
            # pick a victim, which could be the author's import.
            db.session.execute(sa.text("SET LOCAL lock_timeout = '500ms'"))
        swapped = db.session.execute(
            sa.update(RecModel).where(RecModel.id == MODEL_ROW, RecModel.version == seen)
            .values(version=RecModel.version + 1)
        ).rowcount
        if not swapped:
            db.session.rollback()
            return False
        store_refit(model)
        db.session.commit()
    except sa.exc.OperationalError:
        db.session.rollback()
        log.info("background refit gave way to a concurrent write; trying again")
        return False
    return True


# A command-line import must not exit halfway through the refit it started.
atexit.register(wait_for_refit)
