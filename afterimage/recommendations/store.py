"""Fitting, folding and storing the model: the bridge between catalog rows and the plain `recs` engine."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.extensions import db
from afterimage.models import KINDS, Item
from afterimage.recommendations.models import Neighbour, RecModel
from recs import ItemDoc, TfidfRecommender

log = logging.getLogger(__name__)

MODEL_ROW = 1
TOP_N = 20
# Pages show five per kind; reasons for the first ten are written with the rows, deeper ones on demand.
REASONED_RANKS = 10
# Folding in more than this share of the catalog at once costs more than a refit.
REFIT_SHARE = 0.2
WRITE_CHUNK = 5000

# This process's copy of the model, valid while the stored token matches.
_cached: dict[str, object] = {"token": None, "model": None}


def new_recommender() -> TfidfRecommender:
    """The engine as configured for the site."""
    return TfidfRecommender(top_n=TOP_N)


def doc_for(item: Item) -> ItemDoc:
    """An item as the engine sees it: plain text fields, no database row."""
    return ItemDoc(
        id=item.id,
        kind=item.kind,
        title=item.title,
        original_title=item.original_title or "",
        creators=tuple(c.creator.name for c in item.credits),
        tags=tuple(t.name for t in item.tags),
        description=item.description or "",
        note=item.note or "",
    )


def item_docs(ids: Iterable[int] | None = None) -> list[ItemDoc]:
    """Engine documents for the given items, or for the whole catalog."""
    query = sa.select(Item).options(
        so.selectinload(Item.credits), so.selectinload(Item.tags)
    ).order_by(Item.id)
    if ids is not None:
        query = query.where(Item.id.in_(list(ids)))
    return [doc_for(item) for item in db.session.scalars(query)]


def current_model() -> TfidfRecommender | None:
    """The stored model, loaded once per process per version; None before the first build."""
    token = db.session.scalar(sa.select(RecModel.token).where(RecModel.id == MODEL_ROW))
    if token is None:
        return None
    if _cached["token"] == token:
        return _cached["model"]  # type: ignore[return-value]
    blob = db.session.scalar(sa.select(RecModel.blob).where(RecModel.id == MODEL_ROW))
    try:
        model = TfidfRecommender.loads(blob)
    except Exception:
        # A damaged or outdated model is rebuilt, never served.
        log.exception("stored recommendation model unreadable; rebuilding")
        return rebuild()
    _cached.update(token=token, model=model)
    return model


def save_model(model: TfidfRecommender, refitted: bool) -> None:
    """Store the model in the database so every app server and every restart uses it without refitting."""
    row = db.session.get(RecModel, MODEL_ROW)
    if row is None:
        row = RecModel(id=MODEL_ROW, version=0)
        db.session.add(row)
    token = uuid.uuid4().hex
    row.blob = model.dumps()
    row.token = token
    row.version = (row.version or 0) + 1
    row.n_items = len(model.ids_)
    if refitted:
        row.fitted_at = sa.func.now()
    _cached.update(token=token, model=model)


def write_neighbour_rows(model: TfidfRecommender, item_ids: Iterable[int] | None) -> None:
    """Replace the stored top lists of these items (all items when None) with the model's."""
    if item_ids is None:
        db.session.execute(sa.delete(Neighbour))
        ids = model.ids_.tolist()
    else:
        ids = sorted(set(item_ids) & set(model.row_of_))
        for start in range(0, len(ids), WRITE_CHUNK):
            db.session.execute(sa.delete(Neighbour).where(Neighbour.item_id.in_(ids[start:start + WRITE_CHUNK])))
    rows: list[dict] = []
    for item_id in ids:
        for kind in KINDS:
            for rank, (other, score) in enumerate(model.neighbours(item_id, kind, TOP_N)):
                reasons = model.explain(item_id, other) if rank < REASONED_RANKS else None
                rows.append(dict(item_id=item_id, kind=kind, rank=rank, neighbour_id=other, score=score, reasons=reasons))
        if len(rows) >= WRITE_CHUNK:
            db.session.execute(sa.insert(Neighbour), rows)
            rows = []
    if rows:
        db.session.execute(sa.insert(Neighbour), rows)


def rebuild(progress: Callable[[str], None] | None = None) -> TfidfRecommender:
    """Refit on the whole catalog and replace every stored list, inside the caller's transaction."""
    say = progress or (lambda step: None)
    say("reading the catalog")
    docs = item_docs()
    say(f"fitting TF-IDF on {len(docs)} items")
    model = new_recommender().fit(docs)
    say("writing neighbours and reasons")
    write_neighbour_rows(model, None)
    say("storing the model")
    save_model(model, refitted=True)
    return model


def apply_item_changes(changed: set[int], removed: set[int]) -> None:
    """Fold changed items into the stored model and rewrite only the lists they affect."""
    # Bump the version first: it takes the row's write lock, so concurrent writers fold in turn.
    locked = db.session.execute(
        sa.update(RecModel).where(RecModel.id == MODEL_ROW).values(version=RecModel.version + 1)
    ).rowcount
    model = current_model() if locked else None
    catalog_size = len(model.ids_) if model is not None else 0
    if model is None or len(changed | removed) > max(REFIT_SHARE * catalog_size, 1):
        rebuild()
        return
    # The copy in memory is about to change ahead of the commit; if it rolls back, reload from the database.
    _cached.update(token=None, model=None)
    affected: set[int] = set()
    for item_id in removed:
        affected |= model.remove(item_id)
    for doc in item_docs(changed - removed):
        affected |= model.fold_in(doc)
    if model.needs_rebuild():
        rebuild()
        return
    write_neighbour_rows(model, affected - removed)
    save_model(model, refitted=False)
