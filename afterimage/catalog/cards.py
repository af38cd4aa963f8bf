"""Item cards read as plain rows: what a card on a page shows of an item, without loading Item objects.

An `ItemCard` has the attribute names of `Item` that the shared macros read (`cover`, `credit_links`, the
recommendation lists in templates/public/_macros.html), so a template takes either without knowing which.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa

from afterimage.catalog.models import MAKER_ROLE_OF_KIND, Credit, Creator, Item


class Person(NamedTuple):
    """A credited person as a card links them: the attributes of Creator that credit_links reads."""

    name: str
    slug: str


@dataclass
class ItemCard:
    """What a card shows of an item: Item's own attribute names, and its makers in credit order."""

    id: int
    slug: str
    title: str
    year: int | None
    kind: str
    status: str
    cover_digest: str | None
    cover_url: str | None
    makers: list[Person] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        """'Film' or 'Book', as Item.kind_label."""
        return self.kind.capitalize()


# The item columns of a card, in ItemCard's field order; then its maker's name and slug.
CARD_COLUMNS = tuple(getattr(Item, name) for name in ("id", "slug", "title", "year", "kind", "status",
                                                      "cover_digest", "cover_url"))
MAKER_COLUMNS = (Creator.name.label("maker_name"), Creator.slug.label("maker_slug"))
# Item.makers: the directors of a film, the authors of a book.
MAKER_ROLE = sa.case(MAKER_ROLE_OF_KIND, value=Item.kind)


def with_makers(query: sa.Select) -> sa.Select:
    """A query that reads Item gains its makers: one row per maker (none: one row with NULLs). Order the rows
    by Credit.position within an item to keep credit order."""
    return (
        query.outerjoin(Credit, sa.and_(Credit.item_id == Item.id, Credit.role == MAKER_ROLE))
        .outerjoin(Creator, Creator.id == Credit.creator_id)
    )


def cards_from_rows(rows: Iterable[Sequence[Any]]) -> dict[int, ItemCard]:
    """One card per item id, in the rows' order, from rows that start with CARD_COLUMNS and MAKER_COLUMNS."""
    cards: dict[int, ItemCard] = {}
    width = len(CARD_COLUMNS)
    for row in rows:
        card = cards.get(row[0])
        if card is None:
            card = cards[row[0]] = ItemCard(*row[:width])
        name, slug = row[width], row[width + 1]
        if name is not None:
            card.makers.append(Person(name, slug))
    return cards
