"""Security headers on every response: a CSP with no inline code, no sniffing, and framing only for the widget."""
from __future__ import annotations

from functools import partial
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from afterimage.http.query_args import MAX_PAGE as MAX_PAGE_NUMBER

FRAMEABLE_BLUEPRINTS = {"widget"}
# The largest id both databases store: ids are INTEGER columns, 64-bit in SQLite but 32-bit in PostgreSQL,
# where a larger number in a query is an error (a 500), not an empty result.
MAX_URL_INTEGER = 2**31 - 1

# Each header name and policy is written once, here: Werkzeug's headers match names whatever their case.
CSP = "Content-Security-Policy"
HSTS = "Strict-Transport-Security"
FETCH_SITE = "Sec-Fetch-Site"
# Scripts and styles only from this site's files, never inline. No nonce: a page a cache replays to many readers
# would carry one reader's nonce in its body and another's in the header. The widget, which needs inline code,
# sets its own policy with hashes (widget/assets.py).
POLICY = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' https: data:",
          "object-src 'none'", "base-uri 'self'", "form-action 'self'")
NOWHERE = "'none'"
EVERY_RESPONSE = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}
NEVER_FRAMED = {"X-Frame-Options": "DENY"}


def bound_url_numbers(app: Flask) -> None:
    """`<int:...>` stops at what the database holds (a huge id is a 404, not an overflow and a 500).

    Call before any blueprint adds its routes."""
    app.url_map.converters["int"] = partial(IntegerConverter, max=MAX_URL_INTEGER)


def content_security_policy(frame_ancestors: str) -> str:
    """The site's CSP, with the sites that may frame the page."""
    return "; ".join([*POLICY, f"frame-ancestors {frame_ancestors}"])


def security_headers(frameable: bool, frame_ancestors: str) -> dict[str, str]:
    """The security headers of a response; only a frameable (widget) page may be framed, by frame_ancestors."""
    if frameable:
        return {CSP: content_security_policy(frame_ancestors), **EVERY_RESPONSE}
    return {CSP: content_security_policy(NOWHERE), **EVERY_RESPONSE, **NEVER_FRAMED}


def set_security_headers(response: Response) -> Response:
    """Add the security headers a response lacks (a widget page sets its own CSP, and keeps it)."""
    frameable = request.blueprint in FRAMEABLE_BLUEPRINTS
    # The names present, read once: each Headers.setdefault scans every header, and for a missing one raises and
    # catches a KeyError inside Werkzeug.
    present = {name.lower() for name in response.headers.keys()}
    for name, value in security_headers(frameable, current_app.config["WIDGET_FRAME_ANCESTORS"]).items():
        if name.lower() not in present:
            response.headers.add(name, value)
    return response


def add_strict_transport_security(response: Response) -> Response:
    """Tell browsers to use HTTPS only, on HTTPS answers, when the site is set up for it (see docs/security.md)."""
    wanted = current_app.config["STRICT_TRANSPORT_SECURITY"]
    if wanted is None:
        wanted = current_app.config["SESSION_COOKIE_SECURE"]
    if wanted and request.is_secure:
        response.headers.setdefault(HSTS, f"max-age={int(current_app.config['STRICT_TRANSPORT_SECURITY_MAX_AGE'])}")
    return response


def is_cross_site_request() -> bool:
    """True when the browser says this request came from another site's page (Fetch metadata, else Origin)."""
    site = request.headers.get(FETCH_SITE)
    if site is not None:
        return site not in ("same-origin", "none")
    if request.origin is None:
        return False
    origin, here = urlsplit(request.origin), urlsplit(request.host_url)
    return (origin.scheme, origin.netloc) != (here.scheme, here.netloc)


def refuse_absurd_page_numbers() -> None:
    """A page number past any listing's end is a page that does not exist: 404 before any query runs.

    Pages read ?page= through db.paginate; this keeps a hostile number from becoming a huge OFFSET or an
    integer overflow. The API validates its own parameters with 400s that say why, so it is left alone.
    """
    if not request.query_string or request.path.startswith("/api/"):
        return
    for name in ("page", "per_page"):
        raw = request.args.get(name)
        # More digits than the largest page has is past it too, and never reaches int() (4,300 digits: an error).
        if raw and raw.isascii() and raw.isdigit() and (
            len(raw) > len(str(MAX_PAGE_NUMBER)) or int(raw) > MAX_PAGE_NUMBER
        ):
            abort(404)


def refuse_nul_characters() -> None:
    """No real title, slug or search contains NUL, and PostgreSQL cannot store it: refuse it with a 400 up front."""
    texts = [request.path]
    # Every value of a repeated name too (?tag=a&tag=b), in the query string and in a posted form (a GET's values
    # are its query string's alone: without one, nothing to parse).
    if request.query_string or request.method != "GET":
        texts.extend(text for pair in request.values.items(multi=True) for text in pair)
    if any("\x00" in text for text in texts):
        abort(400, "Text containing NUL characters is not accepted.")


def trust_reverse_proxy(app: Flask) -> None:
    """Behind N reverse proxies (PROXY_COUNT, e.g. AFTERIMAGE_PROXY_COUNT=1), believe their X-Forwarded-* headers.

    Then a request that reached the proxy over HTTPS is HTTPS to the app: the session cookie is Secure and
    external URLs (API, feeds, oEmbed) start with https://. Never set it without a proxy in front: clients
    could then claim any address or scheme. Call it after every other WSGI layer that reads the request's
    host or scheme, so they see what the proxy saw. With no proxy (0) ProxyFix believes nothing.
    """
    count = int(app.config.get("PROXY_COUNT") or 0)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)


def init_app(app: Flask) -> None:
    """Register the headers and the input guards. (The proxy settings wrap the WSGI app last: see
    trust_reverse_proxy.)"""
    app.before_request(refuse_nul_characters)
    app.before_request(refuse_absurd_page_numbers)
    app.after_request(set_security_headers)
    app.after_request(add_strict_transport_security)
