"""Security headers on every response: a nonce-based CSP, no sniffing, and framing only for the widget."""
from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g, request

FRAMEABLE_BLUEPRINTS = {"widget"}


def csp_nonce() -> str:
    """A per-request nonce for the rare inline script or style a template needs."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(frameable: bool) -> str:
    """The CSP for this response: scripts only from this site or with the request's nonce."""
    nonce = csp_nonce()
    ancestors = current_app.config["WIDGET_FRAME_ANCESTORS"] if frameable else "'none'"
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' https: data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"frame-ancestors {ancestors}",
    ])


def set_security_headers(response: Response) -> Response:
    """Add the headers every response carries."""
    frameable = request.blueprint in FRAMEABLE_BLUEPRINTS
    response.headers.setdefault("Content-Security-Policy", content_security_policy(frameable))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if not frameable:
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def init_app(app: Flask) -> None:
    """Register the headers and the nonce helper for templates."""
    app.after_request(set_security_headers)
    app.add_template_global(csp_nonce)
