"""Security headers on every response: a CSP with no inline code, no sniffing, and framing only for the widget."""
from __future__ import annotations

from collections.abc import Container

from flask import Flask, Response, abort, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from afterimage.http.query_args import MAX_PAGE as MAX_PAGE_NUMBER

FRAMEABLE_BLUEPRINTS = {"widget"}
# The largest id both databases store: ids are INTEGER columns, 64-bit in SQLite but 32-bit in PostgreSQL,
# where a larger number in a query is an error (a 500), not an empty result.
MAX_URL_INTEGER = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` that stops at what the database can hold: a huge id is a 404, not an overflow and a 500."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_URL_INTEGER if max is None else max,
                         signed=signed)


def bound_url_numbers(app: Flask) -> None:
    """Install the bounded `int` converter; call before any blueprint adds its routes."""
    app.url_map.converters["int"] = BoundedIntegerConverter


def content_security_policy(frameable: bool, frame_ancestors: str) -> str:
    """The CSP for a response: scripts and styles only from this site's files, never inline.

    No nonce: a page a cache replays to many readers would carry one reader's nonce in its body and another's
    in the header. The widget, which needs inline code, sets its own policy with hashes (widget/assets.py).
    """
    ancestors = frame_ancestors if frameable else "'none'"
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"frame-ancestors {ancestors}",
    ])


def missing_security_headers(present: Container[str], frameable: bool, frame_ancestors: str) -> list[tuple[str, str]]:
    """The security headers a response lacks, given the lower-case names it has (a widget sets its own CSP)."""
    missing = []
    if "content-security-policy" not in present:
        missing.append(("Content-Security-Policy", content_security_policy(frameable, frame_ancestors)))
    if "x-content-type-options" not in present:
        missing.append(("X-Content-Type-Options", "nosniff"))
    if "referrer-policy" not in present:
        missing.append(("Referrer-Policy", "strict-origin-when-cross-origin"))
    if not frameable and "x-frame-options" not in present:
        missing.append(("X-Frame-Options", "DENY"))
    return missing


def set_security_headers(response: Response) -> Response:
    """Add the headers every response carries."""
    present = {name.lower() for name in response.headers.keys()}
    frameable = request.blueprint in FRAMEABLE_BLUEPRINTS
    response.headers.extend(missing_security_headers(present, frameable, current_app.config["WIDGET_FRAME_ANCESTORS"]))
    return response


def add_strict_transport_security(response: Response) -> Response:
    """Tell browsers to use HTTPS only, on HTTPS answers, when the site is set up for it (see docs/security.md)."""
    wanted = current_app.config.get("STRICT_TRANSPORT_SECURITY")
    if wanted is None:
        wanted = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    if wanted and request.is_secure and "Strict-Transport-Security" not in response.headers:
        max_age = int(current_app.config.get("STRICT_TRANSPORT_SECURITY_MAX_AGE", 365 * 24 * 3600))
        response.headers["Strict-Transport-Security"] = f"max-age={max_age}"
    return response


def is_cross_site_request() -> bool:
    """True when the browser says this request came from another site's page (Fetch metadata, else Origin)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.rstrip("/") != request.host_url.rstrip("/")
    return False


def refuse_absurd_page_numbers() -> None:
    """A page number past any listing's end is a page that does not exist: 404 before any query runs.

    Pages read ?page= through db.paginate; this keeps a hostile number from becoming a huge OFFSET or an
    integer overflow. The API validates its own parameters with 400s that say why, so it is left alone.
    """
    if request.path.startswith("/api/"):
        return
    for name in ("page", "per_page"):
        raw = request.args.get(name)
        if raw and raw.isascii() and raw.isdigit() and (len(raw) > 6 or int(raw) > MAX_PAGE_NUMBER):
            abort(404)


def refuse_nul_characters() -> None:
    """No real title, slug or search contains NUL, and PostgreSQL cannot store it: refuse it with a 400 up front."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in value for value in values):
        abort(400, "Text containing NUL characters is not accepted.")


def trust_reverse_proxy(app: Flask) -> None:
    """Behind N reverse proxies (PROXY_COUNT, e.g. AFTERIMAGE_PROXY_COUNT=1), believe their X-Forwarded-* headers.

    Then a request that reached the proxy over HTTPS is HTTPS to the app: the session cookie is Secure and
    external URLs (API, feeds, oEmbed) start with https://. Never set it without a proxy in front: clients
    could then claim any address or scheme. Call it after every other WSGI layer that reads the request's
    host or scheme, so they see what the proxy saw.
    """
    count = int(app.config.get("PROXY_COUNT") or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)


def init_app(app: Flask) -> None:
    """Register the headers and the input guards. (The proxy settings wrap the WSGI app last: see
    trust_reverse_proxy.)"""
    app.before_request(refuse_nul_characters)
    app.before_request(refuse_absurd_page_numbers)
    app.after_request(set_security_headers)
    app.after_request(add_strict_transport_security)
