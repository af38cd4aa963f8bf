"""People: the creators credited in the catalog, their works by role, and who a reader may look up."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from afterimage.catalog.models import ROLES, Creator, Credit, Item
from afterimage.catalog.rules import is_published, published_items
from afterimage.extensions import db

ROLE_HEADINGS = {
    "director": "Directed",
    "screenwriter": "Wrote the screenplay",
    "author": "Wrote",
    "translator": "Translated",
    "illustrator": "Illustrated",
    "contributor": "Contributed to",
}


@dataclass(frozen=True)
class RoleWorks:
    """The works a person is credited on in one role, oldest first."""

    role: str
    heading: str
    items: list[Item]


def is_public(item: Item) -> bool:
    """True when readers may see the item among a person's works (a person credited only on private items has no
    public page)."""
    return is_published(item)


def public_credits() -> sa.Select:
    """Credits on items readers may see, for joining to creators."""
    return sa.select(Credit.creator_id).join(Item, Item.id == Credit.item_id).where(published_items())


def find_person(slug: str) -> Creator | None:
    """The person with this page address, if at least one of their works is public."""
    return db.session.scalar(
        sa.select(Creator).where(Creator.slug == slug, Creator.id.in_(public_credits()))
    )


def works_by_role(person: Creator) -> list[RoleWorks]:
    """The person's public works grouped by role (in ROLES order), each group by year then title."""
    rows = db.session.execute(
        sa.select(Credit.role, Item)
        .join(Item, Item.id == Credit.item_id)
        .where(Credit.creator_id == person.id, published_items())
        # Undated works last within a role.
        .order_by(Item.year.is_(None), Item.year, Item.title_key)
    ).all()
    grouped: dict[str, list[Item]] = {}
    for role, item in rows:
        grouped.setdefault(role, []).append(item)
    return [RoleWorks(role, ROLE_HEADINGS[role], grouped[role]) for role in ROLES if role in grouped]
