"""Error pages in the site's design, JSON errors for API clients, and the health check."""
from __future__ import annotations

import logging

import sqlalchemy as sa
import sqlalchemy.exc
from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from afterimage.extensions import db

log = logging.getLogger(__name__)
# How long a client should wait before retrying while the database is away.
RETRY_AFTER_SECONDS = 30


def wants_json() -> bool:
    """API and widget-data clients get JSON errors, never HTML."""
    return request.path.startswith("/api/") or request.path == "/oembed"


def discard_session() -> None:
    """A failed request may leave the session mid-transaction, or its connection dead; the next must start clean."""
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        # Rolling back over a dead connection fails too; the pool replaces the connection (pool_pre_ping).
        pass
    db.session.remove()


def register_error_handlers(app: Flask) -> None:
    """Render HTTP errors with the site's templates; roll back and hide details on a 500 or 503."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if wants_json():
            return jsonify(error=error.name, message=error.description, status=error.code), error.code
        template = "errors/404.html" if error.code == 404 else "errors/error.html"
        return render_template(template, error=error), error.code

    @app.errorhandler(sa.exc.OperationalError)
    def database_unavailable(error: sa.exc.OperationalError):
        # The database is down, unreachable or locked past the busy timeout: a temporary state, not a bug.
        log.error("database unavailable: %s", error.orig if error.orig is not None else error)
        discard_session()
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if wants_json():
            body = jsonify(error="Service Unavailable", status=503,
                           message="The catalog is briefly unavailable. Please try again in a moment.")
            return body, 503, headers
        return render_template("errors/503.html"), 503, headers

    @app.errorhandler(500)
    def server_error(error):
        discard_session()
        if wants_json():
            return jsonify(error="Internal Server Error", message="Something went wrong on our side.", status=500), 500
        return render_template("errors/error.html", error=None), 500


def register_health_check(app: Flask) -> None:
    """`/healthz`: a trivial answer for load balancers and the load benchmark's ceiling; `?db=1` also asks the database."""

    @app.get("/healthz")
    def healthz():
        if request.args.get("db") == "1":
            db.session.execute(sa.text("SELECT 1"))
        return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
