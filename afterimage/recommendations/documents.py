"""What the engine is given: the public catalog as plain documents, and the engine as configured for the site."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from afterimage.catalog.models import Creator, Credit, Item, Tag, item_tags
from afterimage.catalog.rules import published_items
from afterimage.extensions import db
from recs import ItemDoc, TfidfRecommender

TOP_N = 20
# Credits a reason names as "Also by": who made the work. Other roles (translator, illustrator,
# contributor) match alike but are named by their role.
MAKER_ROLES = ("director", "screenwriter", "author")


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
    contributors: dict[int, list[tuple[str, str]]] = {}
    for item_id, name, role in db.session.execute(only(
        sa.select(Credit.item_id, Creator.name, Credit.role).join(Creator, Creator.id == Credit.creator_id)
        .order_by(Credit.item_id, Credit.position), Credit.item_id,
    )):
        if role in MAKER_ROLES:
            creators.setdefault(item_id, []).append(name)
        else:
            contributors.setdefault(item_id, []).append((name, role))
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
                description=description or "", note=note or "", year=year,
                contributors=tuple(contributors.get(item_id, ())))
        for item_id, kind, title, original_title, description, note, year in rows
    ]
