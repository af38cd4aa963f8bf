"""Query-string arguments read one way for every page and API: ASCII numbers, the caps written once, and links
built only from a route's own parameters."""
from __future__ import annotations

import re
from collections.abc import Iterable

from flask import abort, current_app, request

from afterimage.catalog.models import KINDS

# No listing has this many pages; a bigger ?page= would only make the database skip rows (or overflow).
MAX_PAGE = 10_000
# Recommendations per kind that one request may ask for.
MAX_LIMIT = 20
# ASCII digits only: "²".isdigit() is true but int("²") fails, and int("٣") is 3, which no link of ours writes.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def parse_whole_number(raw: str | None) -> int | None:
    """The value of a short ASCII decimal such as "12"; None for anything else ("²", "٣", "-1", "1e3", "")."""
    if raw is None or not _WHOLE_NUMBER.fullmatch(raw):
        return None
    return int(raw)


def whole_number(raw: str) -> int:
    """For werkzeug's `type=` (request.form.get("item_id", type=whole_number)): a ValueError makes it the default."""
    value = parse_whole_number(raw)
    if value is None:
        raise ValueError(f"not a whole number: {raw[:20]!r}")
    return value


def whole_number_arg(name: str, default: int, low: int, high: int, status: int = 400) -> int:
    """An integer query parameter within [low, high], the default when absent; anything else aborts with `status`."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    value = parse_whole_number(raw)
    if value is None or not low <= value <= high:
        abort(status, f"{name} must be a whole number from {low} to {high}.")
    return value


def page_arg(status: int = 400) -> int:
    """?page=: a page number from 1 to MAX_PAGE (pages answer 404 for a page that cannot exist, the API 400)."""
    return whole_number_arg("page", 1, 1, MAX_PAGE, status)


def own_args(names: Iterable[str]) -> dict[str, str]:
    """The request's values for the named parameters only, safe to hand to url_for.

    Passing request.args whole would let ?endpoint=, ?_method=, ?_external=, ?_anchor= or ?slug= reach
    url_for as its own keywords: a TypeError (a 500) or a link to somewhere else.
    """
    return {name: request.args[name] for name in names if request.args.get(name)}


def limit_arg() -> int:
    """?limit=: recommendations per kind, 1 to MAX_LIMIT, the site's setting by default."""
    return whole_number_arg("limit", current_app.config["RECOMMENDATIONS_PER_KIND"], 1, MAX_LIMIT)


def kind_arg() -> str | None:
    """?kind=film or ?kind=book; absent means both."""
    kind = request.args.get("kind") or None
    if kind not in (None, *KINDS):
        abort(400, "kind must be film or book (leave it out for both).")
    return kind
