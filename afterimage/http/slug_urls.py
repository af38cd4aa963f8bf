"""Links to pages addressed by one slug (items, people, tags, lists, covers), at a dictionary lookup's cost.

An item page links to about fifty such pages, and url_for's trip through the routing map was a tenth of the
page's time. url_for still builds each endpoint's address, once per application and SCRIPT_NAME, with a
placeholder slug; each link then puts the slug, quoted by the rule's own converter, in the placeholder's place.
So the links are exactly url_for's, prefix included (tests/public/test_slug_urls.py compares them).
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, request, url_for

PLACEHOLDER = "\x00slug\x00"
CACHE = "afterimage.slug_urls"
# SCRIPT_NAME is set by the server, not the client; the bound only keeps a misconfigured proxy from growing it.
MAX_CACHED = 64
# (prefix, quote, suffix) of an endpoint's address, or None where url_for is called each time.
Parts = tuple[str, Callable[[str], str], str] | None


def address_parts(endpoint: str) -> Parts:
    """The endpoint's address around its slug: only for a single rule whose one argument is `slug`."""
    rules = list(current_app.url_map.iter_rules(endpoint))
    if len(rules) != 1 or rules[0].arguments != {"slug"}:
        return None
    quote = rules[0]._converters["slug"].to_url
    prefix, found, suffix = url_for(endpoint, slug=PLACEHOLDER).rpartition(quote(PLACEHOLDER))
    return (prefix, quote, suffix) if found else None


def slug_url(endpoint: str, slug: str) -> str:
    """url_for(endpoint, slug=slug), relative, for pages that build many links."""
    cache = current_app.extensions[CACHE]
    key = (endpoint, request.script_root)
    parts = cache.get(key, False)
    if parts is False:
        parts = address_parts(endpoint)
        if len(cache) < MAX_CACHED:
            cache[key] = parts
    if parts is None:
        return url_for(endpoint, slug=slug)
    prefix, quote, suffix = parts
    return prefix + quote(slug) + suffix


def init_app(app: Flask) -> None:
    """An empty cache of addresses per application, and slug_url() for templates."""
    app.extensions[CACHE] = {}
    app.add_template_global(slug_url)
