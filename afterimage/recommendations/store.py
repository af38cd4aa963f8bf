"""The stored model: loaded once per process, folded on each save (with a change log other processes replay),
refitted and stored whole; the bridge between catalog rows and the plain `recs` engine."""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

import sqlalchemy as sa

from afterimage.catalog.models import Item
from afterimage.catalog.rules import published_count, published_items
from afterimage.extensions import db
from afterimage.recommendations.collection_map import store_collection_map
from afterimage.recommendations.documents import item_docs, new_recommender
from afterimage.recommendations.models import RecModel, RecModelBlob, RecModelChange
from afterimage.recommendations.neighbour_rows import write_neighbour_rows
from recs import TfidfRecommender

log = logging.getLogger(__name__)

MODEL_ROW = 1
# Folding in more than this share of the catalog at once costs more than a refit.
REFIT_SHARE = 0.2
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
# Session key: the model this transaction stored or folded, with its cache entry; it becomes this process's copy
# only once the transaction has committed (publish_pending_model), so a failed commit leaves the old one.
PENDING_MODEL = "recs_pending_model"


def _cached() -> dict[str, object]:
    """The cache entry for the database this session talks to."""
    return _models.setdefault(_cache_key(), {"token": None, "blob_token": None, "seq": 0, "model": None})


def _invalidate_cache() -> None:
    """Forget this database's copy, e.g. before changing it ahead of a commit that may roll back."""
    _cached().update(token=None, blob_token=None, seq=0, model=None)


def _cache_key() -> str:
    """The cache's key for the database this session talks to."""
    return db.engine.url.render_as_string(hide_password=True)


def _forget_cached_model() -> None:
    """Drop every copy, as a new process would start (tests use it between databases)."""
    _models.clear()


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
    # Each item's last change is what counts (fold-ins and removals rank exactly, so order does not matter):
    # the removed go, and the rest are folded in together, as the commit that logged them did.
    gone = {item_id: removed or item_id not in docs for _, item_id, removed in changes}
    for item_id in [item_id for item_id, is_gone in gone.items() if is_gone]:
        model.remove(item_id)
    model.fold_in_many([docs[item_id] for item_id, is_gone in gone.items() if not is_gone])
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
    _publish_at_commit(dict(token=token, blob_token=token, seq=0, model=model))


def log_changes(model: TfidfRecommender, changed: set[int], removed: set[int]) -> None:
    """Record a fold-in for the other processes and restarts, without rewriting the blob."""
    rows = [dict(item_id=i, removed=False) for i in sorted(changed)] + [dict(item_id=i, removed=True) for i in sorted(removed)]
    db.session.execute(sa.insert(RecModelChange), rows)
    seq = db.session.scalar(sa.select(sa.func.max(RecModelChange.seq)))
    row = db.session.get(RecModel, MODEL_ROW)
    token = uuid.uuid4().hex
    row.token = token
    row.n_items = len(model.ids_)
    _publish_at_commit(dict(token=token, blob_token=row.blob_token, seq=seq, model=model))


def _publish_at_commit(entry: dict[str, object]) -> None:
    """Make `entry` (a model and the tokens it matches) this process's copy once this transaction commits."""
    db.session.info[PENDING_MODEL] = (_cache_key(), entry)


def publish_pending_model(info: dict) -> None:
    """After a commit: the model it stored or folded is now the database's; readers of this process use it."""
    pending = info.pop(PENDING_MODEL, None)
    if pending is not None:
        key, entry = pending
        with _lock:
            _models.setdefault(key, {}).update(entry)


def drop_pending_model(info: dict) -> None:
    """After a rollback: the model it folded never was the database's; forget it, and any copy cached with
    its token by a read inside that transaction."""
    pending = info.pop(PENDING_MODEL, None)
    if pending is not None:
        key, entry = pending
        with _lock:
            if _models.get(key, {}).get("token") == entry["token"]:
                del _models[key]


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
    store_collection_map(model)


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
    # Fold into a copy: other threads may be ranking with the cached one, and keep it if this commit fails.
    model = model.copy_for_update()
    affected: set[int] = set()
    docs = item_docs(changed - removed)
    # An item moved off the watched/read shelf leaves the model like a deleted one; its own rows go too.
    unpublished = (changed - removed) - {doc.id for doc in docs}
    leaving = {item_id for item_id in removed | unpublished if item_id in model.row_of_}
    # An item enters and leaves only lists of its own kind (before and after): only those can change.
    kinds = {doc.kind for doc in docs} | {model.kinds_[model.row_of_[item_id]] for item_id in leaving | changed
                                          if item_id in model.row_of_}
    for item_id in leaving:
        affected |= model.remove(item_id)
    # Without the items the model already has as they are (a rating changed, say).
    folded, rows = model.fold_in_many(docs)
    affected |= rows
    # Rows deleted or added around the ORM (a bulk DELETE, raw SQL) never reached the model: refit now
    # rather than write neighbours for items that are gone.
    if published_count() != len(model.ids_):
        rebuild()
        return
    if not folded and not leaving:
        # Nothing the engine reads changed: no rows to write, no change for the other processes to replay.
        return
    write_neighbour_rows(model, (affected - removed) | (unpublished & leaving), edited=folded, kinds=kinds)
    log_changes(model, folded | (unpublished & leaving), removed & leaving)
    if model.needs_rebuild():
        # Too many unknown words folded in: refit, but after this commit and off the request, so the
        # author's import returns at once and her next edit does not queue behind a whole refit.
        db.session.info[REFIT_DUE] = True


def refit_at_commit() -> None:
    """Have this transaction's commit refit the model once, rather than fold its items in one at a time: each
    fold-in copies the whole model, so folding in thousands of imported rows cost more than one fit."""
    db.session.info[REFIT_AT_COMMIT] = True
