"""Atom feeds (RFC 4287): new items, new and updated lists, the items of one list, and new items per tag.

A browser that opens a feed gets it as application/xml with a stylesheet (static/feeds/feed.css) that
makes it a readable page telling the reader what to do with it; feed readers get application/atom+xml.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for

from afterimage.catalog.cover_images import cover_src
from afterimage.catalog.models import CuratedList, Item, ListEntry, Tag, iso_utc, with_tags_and_credits
from afterimage.catalog.rules import is_published, published_items, tag_is_published, year_label
from afterimage.catalog.slugs import find_by_slug
from afterimage.config import instance_site_id
from afterimage.extensions import db

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
    # What the entry shows in a feed reader: the item whose cover, rating and note it carries, and the
    # note the author wrote for it on a list.
    item: Item | None = None
    facts: str = ""
    list_note: str = ""
    cover: str = ""


def public_host() -> str | None:
    """The host name of AFTERIMAGE_PUBLIC_URL, when the site's address is configured."""
    return urlsplit(current_app.config.get("PUBLIC_URL") or "").hostname


def site_id() -> uuid.UUID:
    """The installation's id (instance/site_id), read once per process rather than once per entry."""
    if "afterimage.site_id" not in current_app.extensions:
        current_app.extensions["afterimage.site_id"] = instance_site_id(current_app)
    return current_app.extensions["afterimage.site_id"]


def entry_id(kind: str, row_id: int | str, created: datetime | None = None) -> str:
    """A permanent id for a feed or entry, the same whatever Host header the request came with.

    With AFTERIMAGE_PUBLIC_URL it is a tag URI (RFC 4151) on the site's own domain: tag:films.example,date:items/42.
    Without, it is a name-based UUID under the installation's id made once in instance/site_id: a tag URI's
    authority has to be a domain the site owns, and a random id is not one.
    """
    host = public_host()
    if host:
        day = (created or datetime(2024, 1, 1)).strftime("%Y-%m-%d")
        return f"tag:{host},{day}:{kind}/{row_id}"
    return f"urn:uuid:{uuid.uuid5(site_id(), f'{kind}/{row_id}')}"


def feed_self_url() -> str:
    """The feed's own address: under AFTERIMAGE_PUBLIC_URL when set, else as requested."""
    public = current_app.config.get("PUBLIC_URL")
    return public.rstrip("/") + request.path if public else request.base_url


def shorten(text: str, length: int = SUMMARY_LENGTH) -> str:
    """Text cut at a word boundary with an ellipsis when too long."""
    text = " ".join(text.split())
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + "…"


def item_facts(item: Item) -> str:
    """"Film, 1959, directed by Alain Resnais"."""
    makers = ", ".join(c.name for c in item.makers)
    facts = ", ".join(p for p in (item.kind_label, year_label(item.year)) if p)
    if makers:
        facts += f", {ROLE_PHRASES['director' if item.kind == 'film' else 'author']} {makers}"
    return facts


def item_summary(item: Item) -> str:
    """"Film, 1959, directed by Alain Resnais. <description>", shortened."""
    return shorten(f"{item_facts(item)}. {item.description}".strip())


def item_entry(item: Item) -> Entry:
    """A feed entry for a new item."""
    title = f"{item.title} ({year_label(item.year)})" if item.year else item.title
    return Entry(
        id=entry_id("items", item.id, item.created_at), title=title,
        url=url_for("public.item", slug=item.slug, _external=True),
        published=iso_utc(item.created_at), updated=iso_utc(item.updated_at or item.created_at),
        summary=item_summary(item), categories=list(item.tags), item=item, facts=item_facts(item),
        cover=cover_src(item, "page", external=True),
    )


def list_item_entry(curated: CuratedList, entry: ListEntry) -> Entry:
    """A feed entry for one item on a list, with the note she wrote for it there."""
    item = entry.item
    updated = max(d for d in (curated.updated_at, item.updated_at, item.created_at) if d is not None)
    return Entry(
        id=entry_id("list-entries", entry.id, curated.created_at),
        title=f"{item.title} ({year_label(item.year)})" if item.year else item.title,
        url=url_for("public.item", slug=item.slug, _external=True),
        published=iso_utc(item.created_at), updated=iso_utc(updated),
        summary=shorten(f"{entry.note} {item_summary(item)}".strip()), categories=list(item.tags), item=item,
        facts=item_facts(item), list_note=entry.note, cover=cover_src(item, "page", external=True),
    )


def list_entry(curated: CuratedList) -> Entry:
    """A feed entry for a list, its introduction then the titles on it."""
    shown = [i for i in curated.items if is_published(i)]
    titles = ", ".join(i.title for i in shown)
    count = len(shown)
    summary = f"{curated.introduction} {count} {'item' if count == 1 else 'items'}: {titles}." if count else curated.introduction
    first = shown[0] if shown else None
    return Entry(
        id=entry_id("lists", curated.id, curated.created_at), title=curated.title,
        url=url_for("public.curated_list", slug=curated.slug, _external=True),
        published=iso_utc(curated.created_at), updated=iso_utc(curated.updated_at or curated.created_at),
        summary=shorten(summary), cover=cover_src(first, "page", external=True) if first else "",
    )


def feed_mimetype() -> str:
    """application/atom+xml for feed readers; application/xml for a browser, which then applies the stylesheet.

    Browsers show application/atom+xml as raw text (Chromium) or offer it as a download, never styled.
    """
    best = request.accept_mimetypes.best_match(["application/atom+xml", "text/html"])
    return "application/xml" if best == "text/html" else "application/atom+xml"


def atom(title: str, subtitle: str, alternate: str, entries: list[Entry]) -> Response:
    """The Atom document for these entries, updated when its newest entry was."""
    updated = max((e.updated for e in entries), default=None) or iso_utc(datetime.now(timezone.utc))
    body = render_template(
        "feeds/feed.xml", title=title, subtitle=subtitle, alternate=alternate, entries=entries, updated=updated,
        feed_id=entry_id("feeds", request.path.removeprefix("/feeds/")), self_url=feed_self_url(),
        author=current_app.config["SITE_AUTHOR"], home=url_for("public.home", _external=True),
    )
    response = Response(body, mimetype=feed_mimetype())
    response.vary.add("Accept")
    return response


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


@bp.get("/lists/<slug>.atom")
def curated_list(slug: str):
    """The items of one list in her order, each with the note she wrote for it there."""
    curated, moved = find_by_slug(CuratedList, slug)
    if curated is None or not curated.published:
        abort(404)
    if moved:
        return redirect(url_for("feeds.curated_list", slug=curated.slug), 301)
    return atom(f"Afterimage: {curated.title}", curated.introduction or f"The list {curated.title}.",
                url_for("public.curated_list", slug=curated.slug, _external=True),
                [list_item_entry(curated, e) for e in curated.entries if is_published(e.item)])


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
