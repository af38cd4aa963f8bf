"""The read-only JSON API, version 1: items, recommendations, lists and tags, open to any origin for GET."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, jsonify, redirect, request, url_for

from afterimage.api.openapi import openapi_document
from afterimage.api.serializers import item_json, list_json, person_json, recommendation_json, role_works_json, tag_json
from afterimage.catalog.models import KINDS, Item, Tag, with_tags_and_credits
from afterimage.catalog.people import find_person, works_by_role
from afterimage.catalog.rules import published_items
from afterimage.catalog.search import search_items
from afterimage.extensions import db
from afterimage.http.query_args import MAX_LIMIT, kind_arg, limit_arg, page_arg
from afterimage.recommendations.subjects import Subject, find_subject, kept_query_args, recommendations_for

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_LIKED = 20


def scored_recommendations(members: list[Item], kinds: tuple[str, ...], limit: int) -> list[dict]:
    """Recommendations as JSON, with their scores."""
    return [recommendation_json(r) for r in recommendations_for(members, kinds, limit)]


@bp.after_request
def allow_any_origin_to_read(response: Response) -> Response:
    """Any site may GET the API from a browser; no credentials are ever shared, so no cookies leak."""
    if request.method in ("GET", "HEAD"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag"
    return response


def json_answer(data: dict) -> Response:
    """A JSON response (http_cache.py gives it its validator and lifetime)."""
    return jsonify(data)


def subject_or_404(type_: str, slug: str, endpoint: str) -> Subject:
    """The subject for a slug; an old slug answers 301 to the current URL, keeping the query string."""
    subject, moved = find_subject(type_, slug)
    if subject is None:
        abort(404, f"No {type_[:-1]} with the slug {slug!r}.")
    if moved:
        abort(redirect(url_for(endpoint, slug=subject.row.slug, **kept_query_args()), 301))
    return subject


def kinds_arg() -> tuple[str, ...]:
    """The kinds to recommend: the one asked for, or films then books."""
    kind = kind_arg()
    return (kind,) if kind else KINDS


@bp.get("/v1/items")
def items():
    """Items, newest first, or matching ?q= (best matches first); filtered by ?kind= and ?tag=, 24 a page."""
    q = request.args.get("q", "").strip()
    kind, tag_slug, page_number = kind_arg(), request.args.get("tag") or None, page_arg()
    query = search_items(q, kind) if q else sa.select(Item).order_by(Item.created_at.desc(), Item.id.desc())
    query = query.where(published_items())
    if kind and not q:
        query = query.where(Item.kind == kind)
    if tag_slug:
        tag = db.session.scalar(sa.select(Tag).where(Tag.slug == tag_slug))
        if tag is None:
            abort(404, f"No tag with the slug {tag_slug!r}.")
        query = query.where(Item.tags.contains(tag))
    page = db.paginate(
        with_tags_and_credits(query), page=page_number, per_page=current_app.config["ITEMS_PER_PAGE"],
        error_out=False,
    )
    args = {k: v for k, v in {"q": q, "kind": kind, "tag": tag_slug}.items() if v}
    return json_answer({
        "items": [item_json(i) for i in page.items],
        "page": page.page,
        "pages": page.pages,
        "per_page": page.per_page,
        "total": page.total,
        "next": url_for("api.items", page=page.page + 1, _external=True, **args) if page.has_next else None,
        "prev": url_for("api.items", page=page.page - 1, _external=True, **args) if page.page > 1 else None,
    })


@bp.get("/v1/items/<slug>")
def item(slug: str):
    """One item."""
    subject = subject_or_404("items", slug, "api.item")
    return json_answer(item_json(subject.row))


@bp.get("/v1/items/<slug>/recommendations")
def item_recommendations(slug: str):
    """What to watch or read after an item: up to ?limit= per kind, films first then books unless ?kind= picks one."""
    kinds, limit = kinds_arg(), limit_arg()
    subject = subject_or_404("items", slug, "api.item_recommendations")
    return json_answer({
        "item": item_json(subject.row),
        "recommendations": scored_recommendations(subject.members, kinds, limit),
    })


@bp.get("/v1/recommendations")
def set_recommendations():
    """Recommendations for a set of liked items (?liked=slug,slug, at most 20); unknown slugs are reported, not fatal."""
    kinds, limit = kinds_arg(), limit_arg()
    slugs = [s for s in dict.fromkeys(request.args.get("liked", "").split(",")) if s.strip()]
    if not slugs:
        abort(400, "liked must name at least one item slug, comma-separated.")
    if len(slugs) > MAX_LIKED:
        abort(400, f"liked may name at most {MAX_LIKED} items.")
    found = {i.slug: i for i in db.session.scalars(with_tags_and_credits(sa.select(Item).where(Item.slug.in_(slugs), published_items())))}
    liked = [found[s] for s in slugs if s in found]
    if not liked:
        abort(404, "None of the liked slugs names an item.")
    return json_answer({
        "liked": [item_json(i) for i in liked],
        "unknown": [s for s in slugs if s not in found],
        "recommendations": scored_recommendations(liked, kinds, limit),
    })


@bp.get("/v1/lists/<slug>")
def curated_list(slug: str):
    """A published list, its items in the author's order with her notes, and recommendations for the whole list."""
    kinds, limit = kinds_arg(), limit_arg()
    subject = subject_or_404("lists", slug, "api.curated_list")
    notes = {e.item_id: e.note for e in subject.row.entries}
    return json_answer({
        "list": list_json(subject.row),
        "items": [{**item_json(i), "note": notes.get(i.id, "")} for i in subject.members],
        "recommendations": scored_recommendations(subject.members, kinds, limit),
    })


@bp.get("/v1/tags/<slug>")
def tag(slug: str):
    """A tag, its items (the first 100, oldest first) and recommendations for them."""
    kinds, limit = kinds_arg(), limit_arg()
    subject = subject_or_404("tags", slug, "api.tag")
    return json_answer({
        "tag": tag_json(subject.row),
        "items": [item_json(i) for i in subject.members],
        "recommendations": scored_recommendations(subject.members, kinds, limit),
    })


@bp.get("/v1/people/<slug>")
def person(slug: str):
    """A person and their public works in the catalog, grouped by role, each group by year."""
    found = find_person(slug)
    if found is None:
        abort(404, f"No person with the slug {slug!r}.")
    return json_answer({"person": person_json(found), "works": [role_works_json(g) for g in works_by_role(found)]})


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return json_answer(openapi_document(url_for("api.openapi", _external=True).rsplit("/", 1)[0], MAX_LIMIT,
        current_app.config["RECOMMENDATIONS_PER_KIND"],
    ))
