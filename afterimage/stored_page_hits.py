"""Stored pages answered in front of Flask: a reader's plain request for one is one primary-key read.

A hit through Flask pays for a request context, the before- and after-request hooks and a Response object,
which cost more than the read itself. Here a request that can only be a stored page's hit (GET or HEAD,
no cookie, no conditional headers, a plain query of stored parameters) is looked up by the key the page
store keeps, and answered with the stored headers plus the security headers every response carries. The
rest, and every miss, go on to Flask unchanged, so a hit answered here and one answered by Flask agree
(tests/test_stored_page_hits.py holds them side by side).
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from functools import lru_cache

import sqlalchemy as sa
from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header

from afterimage.extensions import db
from afterimage.page_cache import EXTENSION, QUERY_PARAMETERS, STORED_ENDPOINTS, shared_key
from afterimage.page_redraw import REDRAWING
from afterimage.page_store import read_page, stored_answer
from afterimage.security import FRAMEABLE_BLUEPRINTS, missing_security_headers

# Parameters as a link or an embed writes them; anything else (escapes, `+`, repeats of `&`) goes to
# Flask, which parses it fully.
PLAIN_PARAMETER = re.compile(r"([a-z_]{1,20})=([a-z0-9]{0,8})")
# Revalidation and partial requests: Flask's make_conditional answers them, from the store too.
CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_RANGE")


def plain_query(query_string: str) -> tuple | None:
    """The sorted (name, value) pairs of the parameters a view reads, as the page cache keys them; None
    when the query is not written plainly."""
    if not query_string:
        return ()
    pairs = []
    for part in query_string.split("&"):
        match = PLAIN_PARAMETER.fullmatch(part)
        if match is None:
            return None
        if match[1] in QUERY_PARAMETERS:
            pairs.append((match[1], match[2]))
    return tuple(sorted(pairs))


@lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether this Accept-Encoding allows gzip, read as Flask reads it (`gzip;q=0` refuses it). Browsers
    send a handful of distinct values, hence the cache."""
    return parse_accept_header(accept_encoding)["gzip"] > 0


class StoredPageHits:
    """WSGI middleware: answer stored pages without entering Flask; pass everything else on."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        # Routes here have no host or subdomain parts, so one binding matches any request's path.
        self.urls = app.url_map.bind("localhost")
        self.public_url = app.config.get("PUBLIC_URL")
        self.frame_ancestors = app.config["WIDGET_FRAME_ANCESTORS"]
        self._engine: sa.Engine | None = None

    def engine(self) -> sa.Engine:
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
        return self._engine

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            answer = self.answer(environ)
        except sa.exc.SQLAlchemyError:
            # The database is unreachable: Flask's own path answers with the site's 503 page.
            answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        headers, body = answer
        start_response("200 OK", headers)
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]

    def answer(self, environ: dict) -> tuple[list[tuple[str, str]], bytes] | None:
        """The stored page's headers and body for this request, or None to let Flask answer."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or "HTTP_COOKIE" in environ:
            return None
        if any(name in environ for name in CONDITIONAL_HEADERS) or REDRAWING in environ:
            return None
        path = environ.get("PATH_INFO") or "/"
        known = plain_query(environ.get("QUERY_STRING", ""))
        # Flask decodes a path as UTF-8; an ASCII one reads the same either way.
        if known is None or not path.isascii() or "HTTP_HOST" not in environ:
            return None
        try:
            endpoint, _ = self.urls.match(path, method="GET")
        except HTTPException:  # not found, wrong method, or a redirect (all Flask's to answer)
            return None
        if endpoint not in STORED_ENDPOINTS:
            return None
        key = shared_key(f"{environ['wsgi.url_scheme']}://{environ['HTTP_HOST']}/", path, known, self.public_url)
        row = None if key is None else read_page(self.engine(), key)
        if row is None:
            return None
        body, headers = stored_answer(*row, gzip_ok=accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")))
        headers += [("Content-Length", str(len(body))), ("X-Page-Cache", "hit")]
        frameable = endpoint.partition(".")[0] in FRAMEABLE_BLUEPRINTS
        present = {name.lower() for name, _ in headers}
        headers += missing_security_headers(present, frameable, lambda: secrets.token_urlsafe(16),
                                            self.frame_ancestors)
        return headers, body


def init_app(app: Flask) -> None:
    """Put the stored-page answers in front of Flask, when the page cache is on."""
    if EXTENSION in app.extensions:
        app.wsgi_app = StoredPageHits(app, app.wsgi_app)  # type: ignore[method-assign]
