"""Whole-response caching for anonymous reads, in two tiers.

Pages about one film, book, list or tag (the item page, its widget, its API answers) go to the shared
page store in the database (page_store.py): one copy for every worker and machine, dropped only when a
commit changes something the page shows. Everything else that depends on the whole catalog (home,
listings, search, feeds) or on unbounded parameters goes to a per-process LRU keyed by the catalog
version, which any reader-visible commit moves; search pages go to an LRU of their own, keyed by the search
version, which only commits that may change a search page move (a note or a pin does not). Either way a hit
costs one indexed read.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict

from flask import Flask, Response, current_app, g, request, session

from afterimage.catalog_version import read_versions
from afterimage.extensions import db
from afterimage.page_dependencies import recorded, start_recording
from afterimage.page_redraw import REDRAWING, DrawnPage
from afterimage.page_store import read_page, store_page, stored_answer

CACHED_BLUEPRINTS = frozenset({"public", "widget", "api", "feeds"})
# Cookies a cached public page depends on: the reader's liked set changes the item page's button.
VARYING_COOKIES = ("liked",)
# Headers added afresh to every response (a new CSP nonce each time), or never to be shared; the length is
# each answer's own (a stored page may go out compressed).
UNSTORED_HEADERS = frozenset({"set-cookie", "date", "content-length"})
MAX_BODY_BYTES = 512 * 1024
# Query parameters some view reads. Any other (utm_source, fbclid, a crawler's junk) changes nothing a view
# renders except links that echo it back: such a request is answered from a page stored for the clean URL,
# but never stored itself, so random parameters cannot push the popular pages out.
QUERY_PARAMETERS = frozenset({
    "q", "kind", "tag", "sort", "page", "per_page", "items", "liked", "url", "format", "maxwidth", "maxheight",
    "theme", "compact", "accent", "limit",
})
EXTENSION = "afterimage.page_cache"
SEARCH_EXTENSION = "afterimage.search_cache"
# Pages that show only what search matches and cards show (page_dependencies.SEARCHED_ITEM_FIELDS).
SEARCH_ENDPOINTS = frozenset({"public.search"})
# The search LRU's share of PAGE_CACHE_MB.
SEARCH_SHARE = 0.25
# WSGI environ flag (no HTTP header can set it) of `flask pages bake`'s requests: they wait to store.
BAKING = "afterimage.baking"
# Pages about one subject: as many as the catalog has rows, so the shared store stays bounded.
STORED_ENDPOINTS = frozenset({
    "public.item", "public.tag", "public.curated_list",
    "widget.item_widget", "widget.list_widget", "widget.tag_widget",
    "api.item", "api.item_recommendations", "api.curated_list", "api.tag",
})
# Parameters of those pages with a few valid values each (an invalid one is a 400, never stored). Numbers
# must be written plainly, or "limit=0005" would make a new page per leading zero. The accent colour has
# sixteen million values: such widgets stay in the per-process LRU.
STORED_PARAMETER_VALUE = re.compile(r"[1-9][0-9]{0,3}|[a-z]{0,8}")
STORED_PARAMETERS = frozenset({"kind", "page", "limit", "theme", "compact"})


class PageCache:
    """An LRU of finished responses, all made at one catalog version, bounded in bytes of body."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self.size = 0
        self.version: int | None = None
        self.entries: OrderedDict[tuple, tuple[bytes, list[tuple[str, str]]]] = OrderedDict()
        # gthread workers share one process between threads.
        self.lock = threading.Lock()

    def get(self, version: int, key: tuple) -> tuple[bytes, list[tuple[str, str]]] | None:
        """The stored response for key at this version; a new version empties the cache first."""
        with self.lock:
            if version != self.version:
                self.entries.clear()
                self.size = 0
                self.version = version
                return None
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, version: int, key: tuple, body: bytes, headers: list[tuple[str, str]]) -> None:
        """Keep a response made at `version`, unless the catalog has moved on since."""
        with self.lock:
            if version != self.version or len(body) > self.capacity_bytes:
                return
            old = self.entries.pop(key, None)
            if old is not None:
                self.size -= len(old[0])
            self.entries[key] = (body, headers)
            self.size += len(body)
            while self.size > self.capacity_bytes:
                _, (dropped, _) = self.entries.popitem(last=False)
                self.size -= len(dropped)


def cache_key() -> tuple | None:
    """What the response to this request depends on, or None when it must not be cached."""
    if request.method not in ("GET", "HEAD") or request.blueprint not in CACHED_BLUEPRINTS:
        return None
    # A signed-in author (or anyone holding a session) sees pages made for them alone.
    if current_app.config["SESSION_COOKIE_NAME"] in request.cookies:
        return None
    cookies = tuple(request.cookies.get(name, "") for name in VARYING_COOKIES)
    known = tuple(sorted((name, value) for name, value in request.args.items(multi=True) if name in QUERY_PARAMETERS))
    # Absolute links in pages (og:url, oEmbed, widget code) name the host and scheme the reader used. (Not
    # request.host_url: its IRI decoding cost more than the rest of a hit.)
    return f"{request.scheme}://{request.host}/", request.path, known, cookies


def storable() -> bool:
    """Whether this request's own response may be stored: only when every query parameter is one a view reads."""
    return all(name in QUERY_PARAMETERS for name in request.args)


def store_key(key: tuple) -> str | None:
    """The shared store's key for a cacheable request about one subject, or None when it belongs in the LRU."""
    host_url, path, known, cookies = key
    if request.endpoint not in STORED_ENDPOINTS or any(cookies):
        return None
    return shared_key(host_url, path, known, current_app.config.get("PUBLIC_URL"))


def shared_key(host_url: str, path: str, known: tuple, public_url: str | None) -> str | None:
    """The store's key for a page of a stored endpoint from its host, path and sorted known parameters; None
    when a parameter (or the host) could make unboundedly many keys."""
    # Pages name the host they were asked for; a made-up Host header must not add rows to the store.
    if public_url and host_url != public_url.rstrip("/") + "/":
        return None
    if not all(name in STORED_PARAMETERS and STORED_PARAMETER_VALUE.fullmatch(value) for name, value in known):
        return None
    query = "&".join(f"{name}={value}" for name, value in known)
    return f"{host_url}{path.lstrip('/')}?{query}"


def serve_from_cache() -> Response | None:
    """Before the view: answer from the store or the cache when nothing the page shows has changed."""
    cache: PageCache = current_app.extensions[EXTENSION]
    key = cache_key()
    if key is None:
        return None
    shared = store_key(key)
    if request.environ.get(REDRAWING) is not None:
        # Drawn for a commit in progress (page_redraw.py): never answered from what the commit replaces.
        if shared is not None:
            g.page_store_slot = (None, shared)
            start_recording()
        return None
    if shared is not None:
        row = read_page(db.engine, shared)
        if row is None:
            versions = read_versions(db.engine)
            if versions is not None and request.method == "GET" and storable():
                g.page_store_slot = (versions[0], shared)
                start_recording()
            return None
        return answer_from(stored_answer(*row, gzip_ok=request.accept_encodings["gzip"] > 0))
    versions = read_versions(db.engine)
    if versions is None:
        return None
    if request.endpoint in SEARCH_ENDPOINTS:
        cache, version = current_app.extensions[SEARCH_EXTENSION], versions[1]
    else:
        version = versions[0]
    entry = cache.get(version, key)
    if entry is None:
        if storable():
            g.page_cache_slot = (cache, version, key)
        return None
    return answer_from(entry)


def answer_from(entry: tuple[bytes, list[tuple[str, str]]]) -> Response:
    """A stored response as a fresh one: its own security headers come after, a 304 when the reader has it."""
    body, headers = entry
    response = current_app.response_class(body, status=200, headers=headers)
    response.headers["X-Page-Cache"] = "hit"
    if response.get_etag()[0]:
        response.make_conditional(request)
    return response


def store_in_cache(response: Response) -> Response:
    """After the view: keep a plain successful answer for the next reader."""
    slot = g.pop("page_cache_slot", None)
    shared_slot = g.pop("page_store_slot", None)
    if slot is None and shared_slot is None:
        return response
    if (
        response.status_code != 200 or response.is_streamed or response.direct_passthrough
        or "Set-Cookie" in response.headers or session.modified
    ):
        return response
    body = response.get_data()
    if len(body) > MAX_BODY_BYTES:
        return response
    if shared_slot is not None:
        # The same address may be answered in gzip next time: shared caches must keep the two apart.
        response.vary.add("Accept-Encoding")
    headers = [(name, value) for name, value in response.headers.items() if name.lower() not in UNSTORED_HEADERS]
    stored = True
    if shared_slot is not None:
        names = recorded()
        version, key = shared_slot
        drawn = request.environ.get(REDRAWING)
        # A page that loaded no catalog row could never be dropped by an edit: not stored.
        if drawn is not None:
            if names:
                drawn.append(DrawnPage(key, body, headers, names))
            response.headers["X-Page-Cache"] = "redrawn"
            return response
        stored = bool(names) and store_page(
            db.engine, key, version, body, headers, names, wait=bool(request.environ.get(BAKING))
        )
    else:
        cache, version, key = slot
        cache.put(version, key, body, headers)
    response.headers["X-Page-Cache"] = "miss" if stored else "miss; not stored"
    return response


def init_app(app: Flask) -> None:
    """Register after the security hooks: a hit still gets the request checks first and fresh headers after."""
    megabytes = float(app.config.get("PAGE_CACHE_MB", 64))
    if megabytes <= 0:
        return
    capacity = int(megabytes * 1024 * 1024)
    app.extensions[EXTENSION] = PageCache(capacity - int(capacity * SEARCH_SHARE))
    app.extensions[SEARCH_EXTENSION] = PageCache(int(capacity * SEARCH_SHARE))
    app.before_request(serve_from_cache)
    app.after_request(store_in_cache)
