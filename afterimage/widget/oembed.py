"""oEmbed for the site's item, list and tag pages: the answer embeds the widget in an iframe."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, abort, current_app, jsonify, request, url_for
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from afterimage.http.query_args import whole_number_arg
from afterimage.preview_cards import SIZE as THUMBNAIL_SIZE, preview_card_url
from afterimage.recommendations.subjects import Subject, find_subject
from afterimage.widget.assets import resize_listener
from afterimage.widget.options import DEFAULT_WIDTH, FIXED_HEIGHT

PAGE_TYPES = {"public.item": "items", "public.curated_list": "lists", "public.tag": "tags"}
PROVIDER_NAME = "Afterimage"
MAX_SIZE = 10_000


def subject_of_page(url: str) -> Subject:
    """The item, list or tag a page URL of this site shows; 404 for any other URL, ours or not."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1": an unclosed IPv6 host
        abort(400, "url is not a valid URL.")
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != request.host.lower():
        abort(404, "The url is not a page of this site.")
    path = parts.path
    root = request.script_root
    if root and path.startswith(root):
        path = path[len(root):]
    try:
        endpoint, args = current_app.url_map.bind(request.host).match(path or "/", method="GET")
    except HTTPException:
        abort(404, "The url is not an item, list or tag page of this site.")
    if endpoint not in PAGE_TYPES:
        abort(404, "The url is not an item, list or tag page of this site.")
    subject, _ = find_subject(PAGE_TYPES[endpoint], args["slug"])
    if subject is None:
        abort(404, "No item, list or tag at this url.")
    return subject


def iframe_html(subject: Subject, width: int, height: int) -> str:
    """The embed code: the widget iframe at the given size, then the listener that fits it to its content.

    Consumers that strip scripts keep the iframe at its fixed height, which scrolls; the others let the
    widget report its height by postMessage, as the iframe snippet of the /widget/ page does.
    """
    src = subject.widget_url()
    return (
        f'<iframe src="{escape(src)}" width="{width}" height="{height}" '
        f'title="{escape("If you liked " + subject.title)} (Afterimage)" loading="lazy" frameborder="0" '
        'data-afterimage></iframe>' + resize_listener(request.host_url.rstrip("/"))
    )


def thumbnail_item(subject: Subject):
    """The item whose cover represents the subject: the item itself, or a list's or tag's first item."""
    return subject.members[0] if subject.members else None


def oembed_answer() -> Response:
    """The oEmbed "rich" answer for ?url=, sized within ?maxwidth= and ?maxheight=; XML is not implemented (501)."""
    url = request.args.get("url", "").strip()
    if not url:
        abort(400, "url is required: the address of an item, list or tag page.")
    response_format = request.args.get("format", "json") or "json"
    if response_format != "json":
        abort(501, "Only format=json is implemented.")
    maxwidth = whole_number_arg("maxwidth", MAX_SIZE, 1, MAX_SIZE)
    maxheight = whole_number_arg("maxheight", MAX_SIZE, 1, MAX_SIZE)
    subject = subject_of_page(url)
    width, height = min(DEFAULT_WIDTH, maxwidth), min(FIXED_HEIGHT[False], maxheight)
    answer = {
        "type": "rich",
        "version": "1.0",
        "title": subject.title,
        "provider_name": PROVIDER_NAME,
        "provider_url": url_for("public.home", _external=True),
        "author_name": current_app.config["SITE_AUTHOR"],
        "author_url": url_for("public.home", _external=True),
        "cache_age": current_app.config["CACHE_MAX_AGE"],
        "html": iframe_html(subject, width, height),
        "width": width,
        "height": height,
    }
    item = thumbnail_item(subject)
    thumb_width, thumb_height = THUMBNAIL_SIZE
    # A thumbnail is optional; leave it out rather than break the consumer's size limits.
    if item is not None and thumb_width <= maxwidth and thumb_height <= maxheight:
        answer.update(thumbnail_url=preview_card_url(subject.row), thumbnail_width=thumb_width, thumbnail_height=thumb_height)
    return jsonify(answer)
