"""Query-string parameters shared by the API and the widget, validated strictly: a bad value is a 400 that says why."""
from __future__ import annotations

from flask import abort, current_app, request

from afterimage.models import KINDS
from afterimage.query_args import MAX_LIMIT, MAX_PAGE, page_arg, whole_number_arg

__all__ = ["MAX_LIMIT", "MAX_PAGE", "kind_arg", "limit_arg", "page_arg", "whole_number_arg"]


def limit_arg() -> int:
    """?limit=: recommendations per kind, 1 to MAX_LIMIT, the site's setting by default."""
    return whole_number_arg("limit", current_app.config["RECOMMENDATIONS_PER_KIND"], 1, MAX_LIMIT)


def kind_arg() -> str | None:
    """?kind=film or ?kind=book; absent means both."""
    kind = request.args.get("kind") or None
    if kind not in (None, *KINDS):
        abort(400, "kind must be film or book (leave it out for both).")
    return kind
