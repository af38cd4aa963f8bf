"""HTTP caching for anonymous readers: validators, Cache-Control and 304s answered before rendering.

Every anonymous GET of a reader's page, the widget, the API or a feed carries a weak ETag made of the
catalog version (moved by every commit readers could see), the build fingerprint (templates, static files and
code, so a deploy is a new ETag) and what else the page depends on (host, the reader's liked cookie). A
request whose If-None-Match matches is answered 304 after one indexed read, before the view runs. The
Cache-Control header lets browsers and a caching proxy (deploy/nginx.conf) keep pages for
CACHE_MAX_AGE seconds and serve them a little stale while they revalidate. Anything a signed-in author
sees is private and never stored.
"""
from __future__ import annotations

import functools
import hashlib
import time
from pathlib import Path

from flask import Flask, Response, current_app, g, request

from afterimage.catalog.version import read_version
from afterimage.extensions import db

CACHED_BLUEPRINTS = frozenset({"public", "widget", "api", "feeds"})
# The reader's liked set changes these pages (the "I liked this" button, the set's recommendations).
COOKIE_PAGES = frozenset({"public.item", "public.liked"})
LIKED_COOKIE = "liked"
# What the build fingerprint reads: whatever changes a page when it is deployed.
BUILD_SOURCES = ("templates", "static", "afterimage", "recs")
BUILD_SUFFIXES = frozenset({".html", ".xml", ".css", ".js", ".svg", ".py", ".json", ".xsl"})


def build_fingerprint(root: Path) -> str:
    """A short hash of every template, static file and module: a deploy that changes any of them changes it."""
    digest = hashlib.blake2b(digest_size=8)
    for folder in BUILD_SOURCES:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in BUILD_SUFFIXES and path.is_file():
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def is_anonymous() -> bool:
    """No session cookie: not the author, nobody whose page could hold something of their own."""
    return current_app.config["SESSION_COOKIE_NAME"] not in request.cookies


def is_cacheable_request() -> bool:
    """An anonymous GET (or HEAD) of a page any reader may share."""
    return request.method in ("GET", "HEAD") and request.blueprint in CACHED_BLUEPRINTS and is_anonymous()


def current_etag() -> str:
    """This request's validator: catalog version, build, and what else the page depends on."""
    if "http_etag" not in g:
        parts = [request.scheme, request.host, current_app.extensions["afterimage.build"]]
        if request.endpoint in COOKIE_PAGES:
            parts.append(request.cookies.get(LIKED_COOKIE, ""))
        variant = hashlib.blake2b("\n".join(parts).encode(), digest_size=6).hexdigest()
        g.http_version_read_at = time.time()
        g.http_etag = f"{read_version(db.session)}-{variant}"
    return g.http_etag


def shared_cache_control(response: Response) -> None:
    """public, max-age and stale-while-revalidate from the configuration."""
    config = current_app.config
    # One header string: each attribute set on response.cache_control re-serialises the whole header.
    response.headers["Cache-Control"] = (
        f"public, max-age={int(config['CACHE_MAX_AGE'])}, "
        f"stale-while-revalidate={int(config['CACHE_STALE_WHILE_REVALIDATE'])}"
    )
    if request.endpoint in COOKIE_PAGES:
        if "Vary" in response.headers:
            response.vary.add("Cookie")
        else:  # the usual case: response.vary would parse the header into a set and write it back, for nothing
            response.headers["Vary"] = "Cookie"
    # nginx counts max-age from when it stored the answer; a page read before her save and stored after it
    # would outlive max-age by its drawing time under load. Its absolute expiry, from when this request read
    # the catalog's version (before the view read the page), bounds what a reader sees. nginx never passes
    # X-Accel-* headers on to browsers, which keep to max-age.
    max_age = int(config["CACHE_MAX_AGE"])
    if max_age > 0:  # 0: nothing is kept, as Cache-Control says
        read_at = g.get("http_version_read_at", time.time())
        response.headers["X-Accel-Expires"] = f"@{int(read_at + max_age)}"


def keep_private(response: Response) -> None:
    """For one person's eyes: no cache may keep it, whatever the view said."""
    response.cache_control.public = False
    response.cache_control.no_cache = None
    response.cache_control.max_age = None
    response.cache_control.private = True
    response.cache_control.no_store = True


def answer_not_modified() -> Response | None:
    """Before the view: a reader who has this version of the page gets a 304, and nothing is rendered.

    The validator is read here, before the view reads the page, for every cacheable request: a save committed
    while the page is drawn then leaves the page newer than its ETag (the next revalidation draws it again),
    never older (a copy of the old page would be confirmed as current until her next save).
    """
    if not is_cacheable_request():
        return None
    etag = current_etag()
    if not request.if_none_match:
        return None
    if not request.if_none_match.contains_weak(etag):
        return None
    response = current_app.response_class(status=304)
    response.set_etag(etag, weak=True)
    shared_cache_control(response)
    return response


def set_cache_headers(response: Response) -> Response:
    """After the view: validators and a shared lifetime for anonymous pages, private no-store for the rest."""
    if request.blueprint == "studio":
        keep_private(response)
        return response
    if not is_anonymous():
        # Pages may show her own controls; a view that marked its answer public (a cover, the same bytes for
        # everyone) knows better.
        if not response.cache_control.public:
            keep_private(response)
        return response
    # The status first: a 304 answered before the view has its headers, and reading Cache-Control parses it.
    if response.status_code != 200 or response.direct_passthrough or not is_cacheable_request():
        return response
    if response.cache_control.private or response.cache_control.no_store:
        return response
    if "Set-Cookie" in response.headers:
        keep_private(response)
        return response
    if not response.get_etag()[0]:
        response.set_etag(current_etag(), weak=True)
    if not response.cache_control.max_age and not response.cache_control.no_cache:
        shared_cache_control(response)
    # A view that set its own content ETag (covers) is answered 304 here when the reader already has it.
    return response.make_conditional(request)


@functools.cache
def static_file_version(path: Path) -> str | None:
    """A short hash of one static file's content (None if there is no such file), read once per process: a
    deploy restarts it. Pages build several static URLs each, so even the missing-file answer is kept."""
    if not path.is_file():
        return None
    return hashlib.blake2b(path.read_bytes(), digest_size=5).hexdigest()


def fingerprint_static_urls(endpoint: str, values: dict) -> None:
    """url_for('static', ...) gains ?v=<content hash>: a changed file is a new URL, so files can be kept a year."""
    if endpoint == "static" and "v" not in values:
        version = static_file_version(Path(current_app.static_folder) / values.get("filename", ""))
        if version is not None:
            values["v"] = version


def init_app(app: Flask) -> None:
    """Fingerprint the build once, and register the 304 check, the headers and static files' versioned URLs."""
    app.extensions["afterimage.build"] = build_fingerprint(Path(app.root_path))
    app.before_request(answer_not_modified)
    app.after_request(set_cache_headers)
    app.url_defaults(fingerprint_static_urls)
