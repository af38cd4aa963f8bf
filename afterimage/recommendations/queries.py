"""Recommendations as pages, the widget and the API read them: stored rows, the author's pins and hides."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.catalog.models import Item, with_tags_and_credits
from afterimage.catalog.rules import published_items
from afterimage.extensions import db
from afterimage.recommendations.documents import TOP_N
from afterimage.recommendations.models import Neighbour, RecOverride
from afterimage.recommendations.store import current_model

AUTHORS_PICK = "the author's pick"


@dataclass
class Recommendation:
    """One recommended item with its score and the reasons behind it."""

    item: Item
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


def card_loads(query: sa.Select, with_tags: bool) -> sa.Select:
    """What the recommended items' cards show loaded with them: credits (the makers) always, tags for the
    API's item objects. Pages' cards show no tags, and loading them was a sixth of an item page's time."""
    return with_tags_and_credits(query) if with_tags else query.options(so.selectinload(Item.credits))


# Ranks run 0..19 per kind, so one query reads every kind's first rows: enough to fill the page after the
# author's pins and hides take theirs out.
_NEIGHBOUR_ROWS = (
    sa.select(Neighbour, Item)
    .join(Item, Item.id == Neighbour.neighbour_id)
    .where(
        Neighbour.item_id == sa.bindparam("item_id"),
        Neighbour.kind.in_(sa.bindparam("kinds", expanding=True)),
        Neighbour.rank < sa.bindparam("depth"),
        published_items(),
    )
    .order_by(Neighbour.kind, Neighbour.rank)
)
# One statement with the cards' tags loaded (the API), one without (pages): there the credits are joined into
# the same query, which cost a fifth less than a second, selectin query (callgrind, 10,000-item catalog).
_NEIGHBOURS = {
    True: card_loads(_NEIGHBOUR_ROWS, with_tags=True),
    False: _NEIGHBOUR_ROWS.options(so.joinedload(Item.credits)),
}


def _ranked(item: Item, kinds: tuple[str, ...], limit: int, include_hidden: bool,
            with_tags: bool = True) -> dict[str, list[Recommendation]]:
    """Per kind: pinned first, then the stored neighbours in rank order, hidden ones dropped or marked."""
    overrides = _overrides(item.id)
    depth = limit + len(overrides)
    rows = db.session.execute(
        _NEIGHBOURS[with_tags], {"item_id": item.id, "kinds": list(kinds), "depth": depth}
    ).unique().all()
    by_target = {n.neighbour_id: (n, other) for n, other in rows}
    pinned_ids = [t for t, action in overrides.items() if action == "pin"]
    missing = [t for t in pinned_ids if t not in by_target]
    extra = {
        other.id: other
        for other in db.session.scalars(
            card_loads(sa.select(Item).where(Item.id.in_(missing), Item.kind.in_(kinds), published_items()), with_tags)
        )
    } if missing else {}
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
                      with_tags: bool = True) -> dict[str, list[Recommendation]]:
    """The item's best recommendations of each kind, as readers see them, in one round of queries (their tags
    left unloaded when `with_tags` is False: cards on pages do not show them)."""
    return _ranked(item, kinds, limit, include_hidden=False, with_tags=with_tags)


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
