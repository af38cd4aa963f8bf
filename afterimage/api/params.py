"""Query-string parameters shared by the API and the widget, validated strictly: a bad value is a 400 that says why."""
from __future__ import annotations

from flask import abort, current_app, request

from afterimage.models import KINDS

MAX_LIMIT = 20
MAX_PAGE = 10_000


def whole_number_arg(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]; anything else aborts with 400."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        abort(400, f"{name} must be a whole number from {low} to {high}.")
    return int(raw)


def limit_arg() -> int:
    """?limit=: recommendations per kind, 1 to MAX_LIMIT, the site's setting by default."""
    return whole_number_arg("limit", current_app.config["RECOMMENDATIONS_PER_KIND"], 1, MAX_LIMIT)


def page_arg() -> int:
    """?page=: a page number from 1."""
    return whole_number_arg("page", 1, 1, MAX_PAGE)


def kind_arg() -> str | None:
    """?kind=film or ?kind=book; absent means both."""
    kind = request.args.get("kind") or None
    if kind not in (None, *KINDS):
        abort(400, "kind must be film or book (leave it out for both).")
    return kind
