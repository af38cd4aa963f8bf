"""Link-preview cards served as PNG at /og/<kind>/<slug>.png?v=<digest>, the address pages give og:image, and
placeholder posters as PNG at /og/poster/<slug>.png for pasted blog posts (hosts that show no SVG)."""
from __future__ import annotations

from flask import Response, abort, request

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.catalog.people import find_person
from afterimage.catalog.rules import readers_may_see
from afterimage.catalog.slugs import find_by_slug
from afterimage.preview_cards import card_for, card_png, poster_of, poster_png, preview_card_url, raster_cover_url
from afterimage.public.blueprint import bp

ONE_YEAR = 31_536_000
MODELS = {"item": Item, "poster": Item, "list": CuratedList, "tag": Tag}

bp.add_app_template_global(preview_card_url)
bp.add_app_template_global(raster_cover_url)


@bp.route("/og/<any(item, poster, list, tag, person):kind>/<slug>.png")
def preview_card(kind: str, slug: str):
    """The card of a page (or an item's drawn poster); kept a year at its current ?v= digest, revalidated at
    any other address."""
    if kind == "person":
        row = find_person(slug)
    else:
        row, _ = find_by_slug(MODELS[kind], slug)
        if row is not None and not readers_may_see(row):
            row = None
    if row is None:
        abort(404)
    drawing = poster_of(row) if kind == "poster" else card_for(row)
    png = poster_png(drawing) if kind == "poster" else card_png(drawing)
    response = Response(png, mimetype="image/png")
    response.set_etag(drawing.digest)
    if request.args.get("v") == drawing.digest and slug == row.slug:
        response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    else:
        # An old address (a renamed page, an edited title) shows the current card but may not keep it.
        response.cache_control.public = True
        response.cache_control.no_cache = True
    return response.make_conditional(request)
