"""The embeddable widget (iframe pages and widget.js) and the oEmbed provider."""
from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for,
)
from werkzeug.exceptions import HTTPException

from afterimage.catalog.models import Item
from afterimage.catalog.rules import published_items
from afterimage.extensions import db
from afterimage.http.query_args import MAX_LIMIT
from afterimage.recommendations.subjects import find_subject, kept_query_args, recommendations_for
from afterimage.widget.assets import csp_hash, embed_script, resize_listener, resize_script, widget_css
from afterimage.widget.oembed import oembed_answer
from afterimage.widget.options import DEFAULT_ACCENT, frame_height, widget_options

bp = Blueprint("widget", __name__)
bp.add_app_template_global(resize_listener)
bp.add_app_template_global(frame_height)


def widget_policy(style: str, script: str) -> str:
    """A CSP stricter than the site's: nothing loads but our images, and only these exact inline blocks run.

    Hashes instead of the site's per-request nonce keep the page byte-identical between requests,
    so its ETag holds and a revalidation is a 304.
    """
    return "; ".join([
        "default-src 'none'",
        "img-src 'self' https: data:",
        f"style-src {csp_hash(style)}",
        f"script-src {csp_hash(script)}",
        "base-uri 'none'",
        "form-action 'none'",
        f"frame-ancestors {current_app.config['WIDGET_FRAME_ANCESTORS']}",
    ])


def render_widget(type_: str, slug: str) -> Response:
    """The widget page for an item, list or tag: the subject and what to watch or read next."""
    options = widget_options()
    subject, moved = find_subject(type_, slug)
    if subject is None:
        abort(404, "This widget's film, book, list or tag is no longer in the catalog.")
    if moved:
        return redirect(subject.widget_url(**kept_query_args()), 301)
    recs = recommendations_for(subject.members, options.kinds, options.limit)
    # The accent passed strict validation (hex only), so it is safe inside the stylesheet. The default is
    # left to the stylesheet, which lightens it on a dark background.
    accent = f".aw{{--accent:{options.accent}}}" if options.accent != DEFAULT_ACCENT else ""
    style = "body{margin:0}" + widget_css() + accent
    script = resize_script()
    response = Response(render_template(
        "widget/widget.html", subject=subject, options=options, style=style, script=script,
        films=[r for r in recs if r.item.kind == "film"], books=[r for r in recs if r.item.kind == "book"],
    ))
    response.headers["Content-Security-Policy"] = widget_policy(style, script)
    return response


@bp.get("/widget/items/<slug>")
def item_widget(slug: str):
    """The widget for one film or book."""
    return render_widget("items", slug)


@bp.get("/widget/lists/<slug>")
def list_widget(slug: str):
    """The widget for a curated list."""
    return render_widget("lists", slug)


@bp.get("/widget/tags/<slug>")
def tag_widget(slug: str):
    """The widget for a tag."""
    return render_widget("tags", slug)


@bp.get("/widget/")
def help_page():
    """How to embed the widget, with every option and what a bad value does."""
    example = db.session.scalar(sa.select(Item.slug).where(published_items()).order_by(Item.created_at).limit(1)) or "some-film-1959"
    return render_template(
        "widget/help.html", example_slug=example, max_limit=MAX_LIMIT,
        example_widget=url_for("widget.item_widget", slug=example, _external=True),
        listener=resize_listener(request.host_url.rstrip("/")),
    )


@bp.get("/widget.js")
def widget_js():
    """The script embed: renders widgets inside a shadow root from the JSON API."""
    response = Response(embed_script(), mimetype="text/javascript")
    return response


@bp.get("/oembed")
def oembed():
    """oEmbed (https://oembed.com) for item, list and tag pages: a rich answer holding the widget iframe."""
    return oembed_answer()


@bp.errorhandler(HTTPException)
def widget_error(error: HTTPException):
    """Inside an iframe a whole site page would be absurd: a small message instead, JSON for oEmbed."""
    if request.path == "/oembed":
        return jsonify(error=error.name, message=error.description, status=error.code), error.code
    return render_template("widget/error.html", error=error), error.code
