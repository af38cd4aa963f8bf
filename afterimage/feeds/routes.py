"""Atom feeds (RFC 4287): new items, new and updated lists, and new items per tag."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for

from afterimage.api.serializers import iso_utc
from afterimage.catalog import is_published, published_items, tag_is_published, year_label
from afterimage.extensions import db
from afterimage.models import CuratedList, Item, Tag, with_tags_and_credits
from afterimage.slugs import find_by_slug

bp = Blueprint("feeds", __name__, url_prefix="/feeds")

FEED_LENGTH = 50
SUMMARY_LENGTH = 600
ROLE_PHRASES = {"director": "directed by", "author": "by"}


@dataclass
class Entry:
    """One feed entry, as plain values."""

    id: str
    title: str
    url: str
    published: str
    updated: str
    summary: str
    categories: list[Tag] = field(default_factory=list)


def tag_uri(kind: str, row_id: int, created: datetime | None) -> str:
    """A permanent entry id (RFC 4151) that survives slug changes: tag:host,date:items/42."""
    host = request.host.split(":")[0]
    day = (created or datetime(2024, 1, 1)).strftime("%Y-%m-%d")
    return f"tag:{host},{day}:{kind}/{row_id}"


def shorten(text: str, length: int = SUMMARY_LENGTH) -> str:
    """Text cut at a word boundary with an ellipsis when too long."""
    text = " ".join(text.split())
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + "…"


def item_summary(item: Item) -> str:
    """"Film, 1959, directed by Alain Resnais. <description>"."""
    makers = ", ".join(c.name for c in item.makers)
    facts = ", ".join(p for p in (item.kind_label, year_label(item.year)) if p)
    if makers:
        facts += f", {ROLE_PHRASES['director' if item.kind == 'film' else 'author']} {makers}"
    return shorten(f"{facts}. {item.description}".strip())


def item_entry(item: Item) -> Entry:
    """A feed entry for a new item."""
    title = f"{item.title} ({year_label(item.year)})" if item.year else item.title
    return Entry(
        id=tag_uri("items", item.id, item.created_at), title=title,
        url=url_for("public.item", slug=item.slug, _external=True),
        published=iso_utc(item.created_at), updated=iso_utc(item.updated_at or item.created_at),
        summary=item_summary(item), categories=list(item.tags),
    )


def list_entry(curated: CuratedList) -> Entry:
    """A feed entry for a list, its introduction then the titles on it."""
    shown = [i for i in curated.items if is_published(i)]
    titles = ", ".join(i.title for i in shown)
    count = len(shown)
    summary = f"{curated.introduction} {count} {'item' if count == 1 else 'items'}: {titles}." if count else curated.introduction
    return Entry(
        id=tag_uri("lists", curated.id, curated.created_at), title=curated.title,
        url=url_for("public.curated_list", slug=curated.slug, _external=True),
        published=iso_utc(curated.created_at), updated=iso_utc(curated.updated_at or curated.created_at),
        summary=shorten(summary),
    )


def atom(title: str, subtitle: str, alternate: str, entries: list[Entry]) -> Response:
    """The Atom document for these entries, updated when its newest entry was."""
    updated = max((e.updated for e in entries), default=None) or iso_utc(datetime.now(timezone.utc))
    body = render_template(
        "feeds/feed.xml", title=title, subtitle=subtitle, alternate=alternate, entries=entries, updated=updated,
        self_url=request.base_url, author=current_app.config.get("SITE_AUTHOR", "Afterimage"),
        home=url_for("public.home", _external=True),
    )
    return Response(body, mimetype="application/atom+xml")


def newest_items(query: sa.Select) -> list[Item]:
    """The most recently added public items of a query, with their tags and credits."""
    return list(db.session.scalars(
        with_tags_and_credits(query.where(published_items())).order_by(Item.created_at.desc(), Item.id.desc()).limit(FEED_LENGTH)
    ))


@bp.get("/items.atom")
def items():
    """Films and books as they are added to the catalog."""
    entries = [item_entry(i) for i in newest_items(sa.select(Item))]
    return atom("Afterimage: new films and books", "Films and books as they join the catalog.",
                url_for("public.items", sort="recent", _external=True), entries)


@bp.get("/lists.atom")
def lists():
    """Curated lists, newest or most recently updated first."""
    rows = db.session.scalars(
        sa.select(CuratedList).where(CuratedList.published)
        .order_by(CuratedList.updated_at.desc(), CuratedList.id.desc()).limit(FEED_LENGTH)
    )
    return atom("Afterimage: lists", "New and updated curated lists.",
                url_for("public.lists", _external=True), [list_entry(c) for c in rows])


@bp.get("/tags/<slug>.atom")
def tag(slug: str):
    """Items filed under one tag, as they are added."""
    tag, moved = find_by_slug(Tag, slug)
    if tag is None or not tag_is_published(tag):
        abort(404)
    if moved:
        return redirect(url_for("feeds.tag", slug=tag.slug), 301)
    entries = [item_entry(i) for i in newest_items(sa.select(Item).where(Item.tags.contains(tag)))]
    return atom(f"Afterimage: {tag.name}", tag.description or f"Films and books tagged {tag.name}.",
                url_for("public.tag", slug=tag.slug, _external=True), entries)
