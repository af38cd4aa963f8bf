"""Catalog rows as the plain JSON objects the API, the widget script and oEmbed share."""
from __future__ import annotations

from flask import url_for

from afterimage.catalog.cover_images import cover_src
from afterimage.catalog.models import Creator, CuratedList, Item, Tag, iso_utc
from afterimage.catalog.people import RoleWorks
from afterimage.recommendations import Recommendation


def cover_url(item: Item) -> str:
    """The item's uploaded cover, pasted cover URL or generated placeholder, as an absolute URL."""
    return cover_src(item, "page", external=True)


def tag_ref(tag: Tag) -> dict:
    """A tag as it appears on an item: its name and slug."""
    return {"name": tag.name, "slug": tag.slug}


def item_json(item: Item) -> dict:
    """An item with its creators, tags and the absolute URLs of its page, cover and widget."""
    return {
        "slug": item.slug,
        "kind": item.kind,
        "title": item.title,
        "original_title": item.original_title,
        "year": item.year,
        "creators": [{"name": c.creator.name, "role": c.role} for c in item.credits],
        "tags": [tag_ref(t) for t in item.tags],
        "url": url_for("public.item", slug=item.slug, _external=True),
        "cover_url": cover_url(item),
        "widget_url": url_for("widget.item_widget", slug=item.slug, _external=True),
    }


def recommendation_json(rec: Recommendation) -> dict:
    """A recommended item with its score (0 to 1, rounded) and the reasons behind it."""
    return {
        "item": item_json(rec.item),
        "score": round(float(rec.score), 4),
        "reasons": list(rec.reasons),
        "pinned": bool(rec.pinned),
    }


def list_json(curated: CuratedList) -> dict:
    """A curated list's own fields (its entries travel separately)."""
    return {
        "slug": curated.slug,
        "title": curated.title,
        "introduction": curated.introduction,
        "url": url_for("public.curated_list", slug=curated.slug, _external=True),
        "widget_url": url_for("widget.list_widget", slug=curated.slug, _external=True),
        "updated": iso_utc(curated.updated_at),
    }


def tag_json(tag: Tag) -> dict:
    """A tag's own fields (its items travel separately)."""
    return {
        "slug": tag.slug,
        "name": tag.name,
        "description": tag.description,
        "url": url_for("public.tag", slug=tag.slug, _external=True),
        "widget_url": url_for("widget.tag_widget", slug=tag.slug, _external=True),
    }


def person_json(person: Creator) -> dict:
    """A person's own fields (their works travel separately)."""
    return {
        "slug": person.slug,
        "name": person.name,
        "url": url_for("public.person", slug=person.slug, _external=True),
    }


def role_works_json(group: RoleWorks) -> dict:
    """A person's works in one role, oldest first."""
    return {"role": group.role, "heading": group.heading, "items": [item_json(i) for i in group.items]}
