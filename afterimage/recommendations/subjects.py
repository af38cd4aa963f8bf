"""What a widget or an API answer is about (an item, a list or a tag) and its recommendations."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for

from afterimage.catalog.models import KINDS, CuratedList, Item, Tag, with_tags_and_credits
from afterimage.catalog.rules import published_items, readers_may_see
from afterimage.catalog.slugs import find_by_slug
from afterimage.extensions import db
from afterimage.http.query_args import own_args
from afterimage.recommendations import Recommendation, recommend_by_kind, recommend_for_items

# The URL segment of each subject: its model, its public page and its widget page.
SUBJECT_TYPES = {
    "items": (Item, "public.item", "widget.item_widget"),
    "lists": (CuratedList, "public.curated_list", "widget.list_widget"),
    "tags": (Tag, "public.tag", "widget.tag_widget"),
}
# The query parameters of the API's and the widget's subject pages.
SUBJECT_QUERY_ARGS = ("kind", "limit", "theme", "accent", "compact")
# A tag may gather hundreds of items; the widget and the API show its first ones.
MAX_MEMBERS = 100


@dataclass
class Subject:
    """An item, a published list or a tag, with the items it stands for."""

    type: str  # "items", "lists" or "tags"
    row: Item | CuratedList | Tag
    members: list[Item]

    @property
    def title(self) -> str:
        """The heading a reader sees."""
        return self.row.name if isinstance(self.row, Tag) else self.row.title

    @property
    def page_url(self) -> str:
        """The absolute URL of the subject's page on the site."""
        return url_for(SUBJECT_TYPES[self.type][1], slug=self.row.slug, _external=True)

    def widget_url(self, **options) -> str:
        """The absolute URL of the subject's widget page, with any options."""
        return url_for(SUBJECT_TYPES[self.type][2], slug=self.row.slug, _external=True, **options)


def kept_query_args() -> dict[str, str]:
    """The query parameters the API and widget pages read, to carry over a redirect (only those: see own_args)."""
    return own_args(SUBJECT_QUERY_ARGS)


def find_subject(type_: str, slug: str) -> tuple[Subject | None, bool]:
    """The subject for a slug and whether it was found through an old slug; rows readers may not see (draft
    lists, items she has not watched or read) are not found."""
    model = SUBJECT_TYPES[type_][0]
    row, moved = find_by_slug(model, slug)
    if row is None or not readers_may_see(row):
        return None, False
    return Subject(type_, row, members_of(row)), moved


def members_of(row: Item | CuratedList | Tag) -> list[Item]:
    """The public items a subject stands for: the item itself, a list's entries in order, a tag's items."""
    if isinstance(row, Item):
        return [row]
    if isinstance(row, CuratedList):
        ids = [e.item_id for e in row.entries]
        loaded = {i.id: i for i in db.session.scalars(with_tags_and_credits(
            sa.select(Item).where(Item.id.in_(ids), published_items())))}
        return [loaded[i] for i in ids if i in loaded]
    return list(db.session.scalars(
        with_tags_and_credits(sa.select(Item).where(Item.tags.contains(row), published_items()))
        .order_by(Item.year, Item.title_key).limit(MAX_MEMBERS)
    ))


def recommendations_for(members: list[Item], kinds: tuple[str, ...] = KINDS, limit: int = 5) -> list[Recommendation]:
    """Up to `limit` recommendations of each kind, films first then books, hidden ones left out."""
    if not members:
        return []
    recs: list[Recommendation] = []
    by_kind = recommend_by_kind(members[0], kinds, limit) if len(members) == 1 else {
        kind: recommend_for_items(members, kind, limit) for kind in kinds
    }
    for kind in kinds:
        recs.extend(r for r in by_kind[kind] if not r.hidden)
    preload(r.item for r in recs)
    return recs


def preload(items) -> None:
    """Fetch tags and credits of many items at once (those the recommender did not load already)."""
    ids = [i.id for i in items if {"tags", "credits"} & sa.inspect(i).unloaded]
    if ids:
        db.session.scalars(with_tags_and_credits(sa.select(Item).where(Item.id.in_(ids)))).all()
