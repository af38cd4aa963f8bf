"""Error pages in the site's design, and JSON errors for API clients."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from afterimage.extensions import db


def wants_json() -> bool:
    """API and widget-data clients get JSON errors, never HTML."""
    return request.path.startswith("/api/") or request.path == "/oembed"


def register_error_handlers(app: Flask) -> None:
    """Render HTTP errors with the site's templates; roll back and hide details on a 500."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if wants_json():
            return jsonify(error=error.name, message=error.description, status=error.code), error.code
        template = "errors/404.html" if error.code == 404 else "errors/error.html"
        return render_template(template, error=error), error.code

    @app.errorhandler(500)
    def server_error(error):
        # A failed request may leave the session mid-transaction; the next one must start clean.
        db.session.rollback()
        if wants_json():
            return jsonify(error="Internal Server Error", message="Something went wrong on our side.", status=500), 500
        return render_template("errors/error.html", error=None), 500
