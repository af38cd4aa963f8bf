"""Recommendations as pages, the widget and the API read them: stored rows, the author's pins and hides."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.catalog.cards import CARD_COLUMNS, MAKER_COLUMNS, ItemCard, cards_from_rows, with_makers
from afterimage.catalog.models import Credit, Item, with_tags_and_credits
from afterimage.catalog.rules import published_items
from afterimage.extensions import db
from afterimage.recommendations.documents import TOP_N
from afterimage.recommendations.models import Neighbour, RecOverride
from afterimage.recommendations.store import current_model

AUTHORS_PICK = "the author's pick"


@dataclass
class Recommendation:
    """One recommended item with its score and the reasons behind it."""

    item: Item | ItemCard
    score: float
    reasons: list[str] = field(default_factory=list)
    pinned: bool = False
    hidden: bool = False


# Built once: every item page runs them, and building a statement and its cache key cost as much as the read.
_OVERRIDES = (
    sa.select(RecOverride.target_id, RecOverride.action)
    .where(RecOverride.item_id == sa.bindparam("item_id"))
    .order_by(RecOverride.created_at)
)


def _overrides(item_id: int) -> dict[int, str]:
    """The author's pins and hides for one item, by target id, in the order she made them."""
    # On the session's connection: a plain two-column read needs none of the ORM's per-statement work.
    rows = db.session.connection().execute(_OVERRIDES, {"item_id": item_id}).all()
    return {target: action for target, action in rows}


def _explain_missing(item: Item, recs: list[Recommendation]) -> None:
    """Fill reasons that were not stored with the rows (deep ranks, pins from outside the list)."""
    if not any(not r.reasons for r in recs):
        return
    model = current_model()
    for rec in recs:
        if not rec.reasons and model is not None:
            rec.reasons = model.explain(item.id, rec.item.id)


class Ranked(NamedTuple):
    """A stored neighbour as _ranked reads it: the attributes of a Neighbour row that it uses."""

    kind: str
    neighbour_id: int
    score: float
    reasons: list[str] | None


# Ranks run 0..19 per kind, so one query reads every kind's first rows: enough to fill the page after the
# author's pins and hides take theirs out.
_NEIGHBOURS_OF = (
    Neighbour.item_id == sa.bindparam("item_id"),
    Neighbour.kind.in_(sa.bindparam("kinds", expanding=True)),
    Neighbour.rank < sa.bindparam("depth"),
    published_items(),
)
# The API's and the widget's: Item objects with their tags and credits.
_NEIGHBOURS = with_tags_and_credits(
    sa.select(Neighbour, Item).join(Item, Item.id == Neighbour.neighbour_id).where(*_NEIGHBOURS_OF)
    .order_by(Neighbour.kind, Neighbour.rank)
)
# Pages: the same neighbours as cards from plain rows, their makers joined in (an item with two makers is two
# rows). Read as Item objects with their credits and creators, they cost 3.1 M more of the 17.2 M instructions
# of an item page (callgrind, 10,000-item catalog).
_NEIGHBOUR_CARDS = (
    with_makers(
        sa.select(*CARD_COLUMNS, *MAKER_COLUMNS, Neighbour.kind.label("neighbour_kind"), Neighbour.score,
                  Neighbour.reasons)
        .select_from(Neighbour).join(Item, Item.id == Neighbour.neighbour_id)
    )
    .where(*_NEIGHBOURS_OF)
    .order_by(Neighbour.kind, Neighbour.rank, Credit.position)
)
_CARDS_BY_ID = (
    with_makers(sa.select(*CARD_COLUMNS, *MAKER_COLUMNS))
    .where(Item.id.in_(sa.bindparam("ids", expanding=True)), Item.kind.in_(sa.bindparam("kinds", expanding=True)),
           published_items())
    .order_by(Item.id, Credit.position)
)


def _neighbours(item: Item, kinds: tuple[str, ...], depth: int, cards: bool) -> list[tuple[Ranked, Item | ItemCard]]:
    """The item's stored neighbours of these kinds above `depth`, in rank order, each with its item (a card
    with `cards`)."""
    params = {"item_id": item.id, "kinds": list(kinds), "depth": depth}
    if not cards:
        return [(n, other) for n, other in db.session.execute(_NEIGHBOURS, params).unique()]
    rows = db.session.connection().execute(_NEIGHBOUR_CARDS, params).all()
    # An item's rows (one per maker) all carry its neighbour columns.
    ranked = {row.id: Ranked(row.neighbour_kind, row.id, row.score, row.reasons) for row in rows}
    return [(ranked[item_id], card) for item_id, card in cards_from_rows(rows).items()]


def _pinned_elsewhere(ids: list[int], kinds: tuple[str, ...], cards: bool) -> dict[int, Item | ItemCard]:
    """Items she pinned that are not among the stored neighbours read, by id, if readers may see them."""
    if not ids:
        return {}
    if cards:
        return cards_from_rows(db.session.connection().execute(_CARDS_BY_ID, {"ids": ids, "kinds": list(kinds)}))
    query = with_tags_and_credits(sa.select(Item).where(Item.id.in_(ids), Item.kind.in_(kinds), published_items()))
    return {other.id: other for other in db.session.scalars(query)}


def _ranked(item: Item, kinds: tuple[str, ...], limit: int, include_hidden: bool,
            cards: bool = False) -> dict[str, list[Recommendation]]:
    """Per kind: pinned first, then the stored neighbours in rank order, hidden ones dropped or marked."""
    overrides = _overrides(item.id)
    rows = _neighbours(item, kinds, limit + len(overrides), cards)
    by_target = {n.neighbour_id: (n, other) for n, other in rows}
    pinned_ids = [t for t, action in overrides.items() if action == "pin"]
    extra = _pinned_elsewhere([t for t in pinned_ids if t not in by_target], kinds, cards)
    ranked: dict[str, list[Recommendation]] = {}
    for kind in kinds:
        recs: list[Recommendation] = []
        for target in pinned_ids:
            if target in by_target and by_target[target][0].kind == kind:
                n, other = by_target[target]
                recs.append(Recommendation(other, n.score, list(n.reasons or []), pinned=True))
            elif target in extra and extra[target].kind == kind:
                recs.append(Recommendation(extra[target], 0.0, [], pinned=True))
        for n, other in rows:
            action = overrides.get(other.id)
            if n.kind != kind or action == "pin" or (action == "hide" and not include_hidden):
                continue
            recs.append(Recommendation(other, n.score, list(n.reasons or []), hidden=action == "hide"))
        recs = recs[:limit]
        _explain_missing(item, recs)
        for rec in recs:
            if rec.pinned:
                rec.reasons = [AUTHORS_PICK, *rec.reasons]
        ranked[kind] = recs
    return ranked


def recommend_for_item(item: Item, kind: str, limit: int = 5) -> list[Recommendation]:
    """The item's best recommendations of one kind, as readers see them."""
    return _ranked(item, (kind,), limit, include_hidden=False)[kind]


def recommend_by_kind(item: Item, kinds: tuple[str, ...], limit: int = 5,
                      cards: bool = False) -> dict[str, list[Recommendation]]:
    """The item's best recommendations of each kind, as readers see them, in one round of queries: Item objects
    with their tags and credits, or with `cards` the plain ItemCards that pages' cards show."""
    return _ranked(item, kinds, limit, include_hidden=False, cards=cards)


def studio_recommendations(item: Item, kind: str, limit: int = TOP_N) -> list[Recommendation]:
    """What the author sees on the edit page: pinned first, hidden ones included and marked."""
    return _ranked(item, (kind,), limit, include_hidden=True)[kind]


def recommend_for_items(items: list[Item], kind: str, limit: int = 10) -> list[Recommendation]:
    """Recommendations for a set (a reader's liked items, a list, a tag), its members excluded."""
    if len(items) == 1:
        return recommend_for_item(items[0], kind, limit)
    model = current_model()
    if model is None or not items:
        return []
    member_ids = [i.id for i in items]
    pairs = model.recommend_for_set(member_ids, kind=kind, k=limit)
    found = {
        i.id: i
        for i in db.session.scalars(
            with_tags_and_credits(sa.select(Item).where(Item.id.in_([p[0] for p in pairs]), published_items()))
        )
    }
    shown = [(other, score) for other, score in pairs if other in found]
    reasons = model.explain_set_many(member_ids, [other for other, _ in shown])
    return [Recommendation(found[other], score, why) for (other, score), why in zip(shown, reasons)]


def set_override(item: Item, target: Item, action: str | None, created_at: datetime | None = None) -> None:
    """Pin `target` to the top of `item`'s recommendations, hide it, or (None) clear either.

    Pins show in the order she made them; a restore passes each one's original `created_at` to keep it.
    """
    if action not in (None, "pin", "hide"):
        raise ValueError(f"unknown action {action!r}: use 'pin', 'hide' or None")
    if target.id == item.id:
        raise ValueError("an item cannot be recommended to itself")
    existing = db.session.get(RecOverride, (item.id, target.id))
    if action is None:
        if existing is not None:
            db.session.delete(existing)
    elif existing is None:
        db.session.add(RecOverride(item_id=item.id, target_id=target.id, action=action, created_at=created_at))
    else:
        existing.action = action
        if created_at is not None:
            existing.created_at = created_at


def export_overrides() -> list[dict]:
    """Every pin and hide by item slugs with when she made it (pins show in that order), for the backup file."""
    source, target = so.aliased(Item), so.aliased(Item)
    rows = db.session.execute(
        sa.select(source.slug, target.slug, RecOverride.action, RecOverride.created_at)
        .join(source, source.id == RecOverride.item_id)
        .join(target, target.id == RecOverride.target_id)
        .order_by(source.slug, RecOverride.created_at, target.slug)
    ).all()
    return [
        {"item": a, "target": b, "action": action, "created_at": made} for a, b, action, made in rows
    ]


def import_overrides(entries: list[dict]) -> int:
    """Restore pins and hides from a backup; entries naming unknown slugs are skipped. Returns how many were set."""
    slugs = {e["item"] for e in entries} | {e["target"] for e in entries}
    by_slug = {i.slug: i for i in db.session.scalars(sa.select(Item).where(Item.slug.in_(slugs)))}
    count = 0
    for entry in entries:
        item, target = by_slug.get(entry["item"]), by_slug.get(entry["target"])
        if item is not None and target is not None and entry.get("action") in ("pin", "hide"):
            set_override(item, target, entry["action"], entry.get("created_at"))
            count += 1
    return count
