"""The studio's blueprint and what holds for every studio page: signed in, never cached; the view modules
beside this one (account, items, tags, lists, transfer, ...) register on it."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, request, url_for

from afterimage.accounts.auth import current_author, install_session_interface, wants_page
from afterimage.catalog.rules import is_published, status_label
from afterimage.extensions import db
from afterimage.http.next_url import next_or

bp = Blueprint("studio", __name__, url_prefix="/studio")
bp.add_app_template_global(status_label)
bp.add_app_template_global(is_published)
OPEN_ENDPOINTS = {"studio.sign_in"}


@bp.record_once
def _install_cookie_rules(state) -> None:
    """Mark the session cookie Secure on HTTPS requests."""
    install_session_interface(state.app)


@bp.before_request
def require_author():
    """Every studio page needs a signed-in author: pages redirect to sign-in, everything else gets 401."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_author() is None:
        if wants_page():
            return redirect(url_for("studio.sign_in", next=request.full_path.rstrip("?")))
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error="Unauthorized", message="Sign in to the studio first.", status=401), 401
        abort(401)
    return None


@bp.after_request
def never_cache(response: Response) -> Response:
    """Studio pages are private and always current."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def studio_context() -> dict:
    """The signed-in author, for the header of every studio page."""
    return {"author": g.get("author")}


def safe_next(target: str | None) -> str:
    """Only ever return to a studio page of this site."""
    return next_or(target, url_for("studio.dashboard"), under="/studio")


def commit(message: str) -> None:
    """Save the transaction and tell the author; the commit also folds changed items into the recommendations
    and moves the catalog version (afterimage/commit_hooks.py, in the order written there)."""
    db.session.commit()
    flash(message, "success")


def wants_json() -> bool:
    """True for the studio's own scripts, which save without reloading the page and want a JSON answer."""
    return request.headers.get("X-Requested-With") == "fetch" or request.accept_mimetypes.best == "application/json"
