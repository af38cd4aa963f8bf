"""Pages readers browse: home, items, tags, lists, search and "I liked these"."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Response, abort, current_app, redirect, render_template, request, url_for

from afterimage.accounts.auth import current_author
from afterimage.catalog.covers import placeholder_svg
from afterimage.catalog.languages import title_language
from afterimage.catalog.models import KINDS, CuratedList, Item, ListEntry, Tag, item_tags, with_tags_and_credits
from afterimage.catalog.rules import (
    is_http_url, is_published, published_items, readers_may_see, up_next_items, year_label,
)
from afterimage.catalog.search import search_catalog, search_people, snippets
from afterimage.catalog.slugs import find_by_slug
from afterimage.extensions import csrf, db
from afterimage.http import query_args
from afterimage.http.next_url import next_or
from afterimage.public.blueprint import bp
from afterimage.public.structured_data import item_json_ld
from afterimage.recommendations import recommend_by_kind, recommend_for_items
from afterimage.security import is_cross_site_request


SORTS = {
    "title": (Item.title_key, Item.year),
    "year": (Item.year, Item.title_key),
    "-year": (Item.year.desc(), Item.title_key),
    "recent": (Item.created_at.desc(), Item.id.desc()),
}
LIKED_COOKIE = "liked"
MAX_LIKED = 20
ONE_YEAR = 365 * 24 * 3600


bp.add_app_template_global(item_json_ld)
# Every page writes years the same way: {{ item.year|year_label }} gives "1959" or "c. 700 BC".
bp.add_app_template_filter(year_label)
bp.add_app_template_global(title_language)


@bp.app_template_filter()
def safe_href(url: str | None) -> str:
    """A link target only if it is http(s): a javascript: URL is never rendered as a link."""
    return url if url and is_http_url(url) else "#"


# The query parameters each paginated page reads: its page links keep these and nothing else.
OWN_ARGS = {
    "public.items": ("kind", "tag", "sort"),
    "public.search": ("q", "kind"),
    "public.tag": (),
    "studio.items": ("q", "status"),
}


@bp.app_template_global()
def page_url(number: int) -> str:
    """The current page's URL with another page number, keeping its filters."""
    args = {**(request.view_args or {}), **query_args.own_args(OWN_ARGS.get(request.endpoint, ())), "page": number}
    return url_for(request.endpoint, **args)


def page_arg() -> int:
    """The ?page= number; anything that is not a positive integer is a 404, like a page that does not exist."""
    return query_args.page_arg(status=404)


@bp.app_template_global()
def public_entries(curated: CuratedList) -> list[ListEntry]:
    """A list's entries readers may see, in her order: the items she has not watched or read yet are left out."""
    return [e for e in curated.entries if is_published(e.item)]


def published_lists() -> list[CuratedList]:
    """Her published lists, most recently updated first, with their entries' items loaded at once (each shows
    how many of its entries readers see)."""
    return list(db.session.scalars(
        sa.select(CuratedList).where(CuratedList.published).order_by(CuratedList.updated_at.desc())
        .options(so.selectinload(CuratedList.entries).selectinload(ListEntry.item))
    ))


def public_items() -> sa.Select:
    """Items readers may see, with what their cards show."""
    return with_tags_and_credits(sa.select(Item).where(published_items()))


def get_or_redirect(model, slug: str, endpoint: str, keep: tuple[str, ...] = (), lookup: sa.Select | None = None):
    """The row for a slug if readers may see it; an old slug answers a permanent redirect to the current one,
    keeping the page's own query parameters (`keep`). `lookup`: see find_by_slug."""
    row, moved = find_by_slug(model, slug, lookup)
    # Checked before redirecting: the Location of an old slug would tell a draft's new name.
    if row is None or not readers_may_see(row):
        abort(404)
    if moved:
        abort(redirect(url_for(endpoint, slug=row.slug, **query_args.own_args(keep)), 301))
    return row


def recommendations_by_kind(items: list[Item], limit: int) -> dict[str, list]:
    """Films and books for a set of items (one item or many)."""
    if len(items) == 1:
        return recommend_by_kind(items[0], KINDS, limit, cards=True)
    return {kind: recommend_for_items(items, kind, limit) for kind in KINDS}


@bp.route("/")
def home():
    """Recent additions, the lists, the tags and a search box."""
    recent = db.session.scalars(
        public_items().order_by(Item.created_at.desc(), Item.id.desc()).limit(12)
    ).all()
    return render_template("public/home.html", recent=recent, lists=published_lists(), tags=tags_with_counts())


def tags_with_counts() -> list[tuple[Tag, int]]:
    """Every tag with how many public items carry it, by name; a tag on private items only is left out."""
    count = sa.func.count(Item.id)
    return db.session.execute(
        sa.select(Tag, count).outerjoin(item_tags, item_tags.c.tag_id == Tag.id)
        .outerjoin(Item, sa.and_(Item.id == item_tags.c.item_id, published_items()))
        .group_by(Tag.id).having(sa.or_(count > 0, sa.func.count(item_tags.c.item_id) == 0))
        .order_by(Tag.name_key)
    ).all()


@bp.route("/items")
def items():
    """All items, filterable by kind and tag, sorted and paginated."""
    kind = request.args.get("kind") or None
    tag_slug = request.args.get("tag") or None
    sort = request.args.get("sort", "title")
    if kind not in (None, *KINDS) or sort not in SORTS:
        abort(400, "Unknown kind or sort order.")
    query = public_items()
    tag = None
    if kind:
        query = query.where(Item.kind == kind)
    if tag_slug:
        tag = db.session.scalar(sa.select(Tag).where(Tag.slug == tag_slug)) or abort(404)
        query = query.where(Item.tags.contains(tag))
    page = db.paginate(
        query.order_by(*SORTS[sort]), page=page_arg(), per_page=current_app.config["ITEMS_PER_PAGE"]
    )
    return render_template("public/items.html", page=page, kind=kind, tag=tag, sort=sort, sorts=SORTS)


# Built once: the item page is the site's most read page. The item comes with what the page shows: its credits and
# diary joined into the same query, its tags in a second one (each lazy load cost more than a joined read, about
# a twentieth of the page in callgrind's instruction counts; tags joined as well made SQLite's plan slow).
ITEM_PAGE = (
    sa.select(Item).where(Item.slug == sa.bindparam("slug"))
    .options(so.joinedload(Item.credits), so.joinedload(Item.diary_entries))
)
# The item's tags, in Item.tags' order, by a statement built here once: selectinload built and keyed a new one on
# every page (callgrind: 14.0 M -> 13.0 M instructions per item page).
ITEM_TAGS = (
    sa.select(Tag).join(item_tags, item_tags.c.tag_id == Tag.id)
    .where(item_tags.c.item_id == sa.bindparam("item_id")).order_by(Tag.name_key)
)
# The page shows only the lists' titles and links: plain rows on the session's connection, not ORM objects.
LISTS_WITH_ITEM = (
    sa.select(CuratedList.slug, CuratedList.title).join(ListEntry)
    .where(ListEntry.item_id == sa.bindparam("item_id"), CuratedList.published)
    .order_by(CuratedList.title)
)


@bp.route("/items/<slug>")
def item(slug: str):
    """Everything about one item and what to watch or read next."""
    item = get_or_redirect(Item, slug, "public.item", lookup=ITEM_PAGE)
    so.attributes.set_committed_value(item, "tags", db.session.scalars(ITEM_TAGS, {"item_id": item.id}).all())
    recommendations = recommendations_by_kind([item], current_app.config["RECOMMENDATIONS_PER_KIND"])
    lists = db.session.connection().execute(LISTS_WITH_ITEM, {"item_id": item.id}).all()
    return render_template(
        "public/item.html", item=item, recommendations=recommendations, lists=lists, liked=liked_slugs()
    )


@bp.route("/covers/<slug>.svg")
def cover(slug: str):
    """The generated placeholder cover of an item (of a private one only for her, as the studio shows it)."""
    found, _ = find_by_slug(Item, slug)
    if found is not None and found.slug == slug and not is_published(found) and current_author() is not None:
        item = found
    else:
        item = get_or_redirect(Item, slug, "public.cover")
    response = Response(placeholder_svg(item), mimetype="image/svg+xml")
    # Revalidate every time: an edited title must show on the next view, and a 304 costs almost nothing.
    # A private item's cover is hers alone: no shared cache keeps it.
    response.cache_control.public = is_published(item)
    response.cache_control.no_cache = True
    response.add_etag()
    return response.make_conditional(request)


@bp.route("/favicon.ico")
def favicon():
    """The site icon, for browsers and feed readers that ask for it at the root."""
    # A few hundred bytes: answered from memory, so no file handle outlives the request.
    icon = (Path(current_app.static_folder) / "favicon.svg").read_bytes()
    response = Response(icon, mimetype="image/svg+xml")
    response.cache_control.max_age = 86400
    return response


@bp.route("/tags")
def tags():
    """Every tag with its item count."""
    return render_template("public/tags.html", tags=tags_with_counts())


@bp.route("/tags/<slug>")
def tag(slug: str):
    """A tag's items, and more like them."""
    tag = get_or_redirect(Tag, slug, "public.tag", keep=OWN_ARGS["public.tag"] + ("page",))
    query = public_items().where(Item.tags.contains(tag))
    page = db.paginate(
        query.order_by(Item.year, Item.title_key), page=page_arg(), per_page=current_app.config["ITEMS_PER_PAGE"]
    )
    members = db.session.scalars(sa.select(Item).where(Item.tags.contains(tag), published_items())).all()
    recommendations = recommendations_by_kind(list(members), current_app.config["RECOMMENDATIONS_PER_KIND"])
    return render_template("public/tag.html", tag=tag, page=page, recommendations=recommendations)


@bp.route("/lists")
def lists():
    """The author's published lists."""
    return render_template("public/lists.html", lists=published_lists())


@bp.route("/lists/<slug>")
def curated_list(slug: str):
    """A list in the author's order with her notes, and more like it."""
    curated = get_or_redirect(CuratedList, slug, "public.curated_list")
    entries = public_entries(curated)
    recommendations = recommendations_by_kind([e.item for e in entries], current_app.config["RECOMMENDATIONS_PER_KIND"])
    return render_template("public/list.html", curated=curated, entries=entries, recommendations=recommendations)


@bp.route("/up-next")
def up_next():
    """What she wants to watch and read next, if she chose to publish it (SHOW_UP_NEXT): titles only, since
    those items have no page of their own."""
    if not current_app.config["SHOW_UP_NEXT"]:
        abort(404)
    wanted = db.session.scalars(
        with_tags_and_credits(sa.select(Item).where(up_next_items())).order_by(Item.created_at.desc(), Item.id.desc())
    ).all()
    by_kind = {kind: [i for i in wanted if i.kind == kind] for kind in KINDS}
    return render_template("public/up_next.html", by_kind=by_kind)


@bp.route("/search")
def search():
    """Search titles, original titles, creators, tags and descriptions, ignoring accents and case, best first,
    each result with the words it matched marked."""
    q = request.args.get("q", "").strip()
    kind = request.args.get("kind") or None
    if kind not in (None, *KINDS):
        abort(400, "Unknown kind.")
    results = search_catalog(q, kind)
    page = db.paginate(
        with_tags_and_credits(results.query.where(published_items())), page=page_arg(),
        per_page=current_app.config["ITEMS_PER_PAGE"], error_out=False,
    )
    people = search_people(q) if page.page == 1 else []
    return render_template("public/search.html", q=q, kind=kind, page=page, people=people,
                           close_matches=results.close_matches,
                           snippets=snippets(page.items, q, results.close_matches))


def liked_slugs() -> list[str]:
    """The slugs a reader marked as liked, remembered in a cookie in their browser."""
    raw = request.cookies.get(LIKED_COOKIE, "")
    return [s for s in dict.fromkeys(raw.split(",")) if s][:MAX_LIKED]


@bp.route("/liked")
def liked():
    """Recommendations for the set of items a reader liked (?items=a,b overrides the cookie, for sharing)."""
    slugs = [s for s in request.args.get("items", "").split(",") if s][:MAX_LIKED] or liked_slugs()
    chosen = db.session.scalars(public_items().where(Item.slug.in_(slugs))).all()
    by_slug = {i.slug: i for i in chosen}
    chosen = [by_slug[s] for s in slugs if s in by_slug]
    recommendations = recommendations_by_kind(chosen, 10) if chosen else {k: [] for k in KINDS}
    return render_template("public/liked.html", chosen=chosen, recommendations=recommendations)


@bp.post("/liked/<slug>")
@csrf.exempt
def toggle_liked(slug: str):
    """Add an item to the reader's liked set, or take it out again.

    No CSRF token: a token would need a session cookie for every reader and make every item page
    uncacheable. The worst a forged request could do is change the reader's own liked set, and the
    browser's Fetch metadata (or Origin) tells us when another site sent the form.
    """
    if is_cross_site_request():
        abort(403, "Liking is only possible from this site's own pages.")
    item = db.session.scalar(sa.select(Item).where(Item.slug == slug, published_items())) or abort(404)
    slugs = liked_slugs()
    slugs = [s for s in slugs if s != item.slug] if item.slug in slugs else (slugs + [item.slug])[-MAX_LIKED:]
    # Only ever go back to one of our own pages.
    response = redirect(next_or(request.form.get("next"), url_for("public.liked")), 303)
    response.set_cookie(
        LIKED_COOKIE, ",".join(slugs), max_age=ONE_YEAR, samesite="Lax", httponly=True,
        secure=request.is_secure,
    )
    return response
