"""Recommendations as the web layer sees them (stand-in until the TF-IDF engine lands: items sharing tags)."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from afterimage.extensions import db
from afterimage.models import Item, Tag, item_tags


@dataclass
class Recommendation:
    """One recommended item with its score and the reasons behind it."""

    item: Item
    score: float
    reasons: list[str] = field(default_factory=list)
    pinned: bool = False
    hidden: bool = False


def recommend_for_items(items: list[Item], kind: str, limit: int = 5) -> list[Recommendation]:
    """Items of `kind` sharing the most tags with the given set, the set itself excluded."""
    member_ids = {i.id for i in items}
    tag_ids = {t.id for i in items for t in i.tags}
    if not tag_ids:
        return []
    shared = sa.func.count(item_tags.c.tag_id).label("shared")
    rows = db.session.execute(
        sa.select(Item, shared)
        .join(item_tags, item_tags.c.item_id == Item.id)
        .where(item_tags.c.tag_id.in_(tag_ids), Item.kind == kind, Item.id.not_in(member_ids or {-1}))
        .group_by(Item.id)
        .order_by(shared.desc(), Item.title_key)
        .limit(limit)
    ).all()
    names = {t.id: t.name for i in items for t in i.tags}
    return [
        Recommendation(
            item=item,
            score=count / len(tag_ids),
            reasons=["shared tags: " + ", ".join(sorted(names[t.id] for t in item.tags if t.id in names))],
        )
        for item, count in rows
    ]


def recommend_for_item(item: Item, kind: str, limit: int = 5) -> list[Recommendation]:
    """Recommendations of `kind` for one item."""
    return recommend_for_items([item], kind, limit)


def studio_recommendations(item: Item, kind: str, limit: int = 20) -> list[Recommendation]:
    """What the author sees on the edit page: pinned first, hidden ones included and marked."""
    return recommend_for_item(item, kind, limit)


def set_override(item: Item, target: Item, action: str | None) -> None:
    """Pin `target` to the top of `item`'s recommendations, hide it, or (None) clear either."""
    raise NotImplementedError("pin and hide arrive with the recommendation engine")
