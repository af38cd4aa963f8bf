"""Stored pages a commit changes, drawn again inside that commit, so no reader meets a miss after an edit.

Dropping the pages an edit changed leaves each to its next reader, and on a busy site that reader's
worker draws it while the readers queued behind it wait (in the load bench, a miss after each of her
saves held up some thirty readers for 20-250 ms). So a commit that drops pages about items (their pages,
widgets and API answers) first draws them again, inside its own transaction (it sees its own changes,
and other writers' committed ones: it holds the catalog version's lock from here to its commit), and
stores them in place of the old ones. Readers go from the old page to the new one at the commit; none
waits for a drawing.

The author pays: her save takes the drawing's time, at most `PAGE_REDRAW_LIMIT` pages and
`REDRAW_BUDGET_S` seconds; pages beyond them are only dropped, as they were before (an import or a
restore drops far more: `flask pages bake` afterwards). This module is called from page_store's commit
hook and draws through the app itself, so a drawn page is byte for byte what a reader's miss would store.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_app_context

from afterimage.extensions import db
from afterimage.recommendations.store import REFRESHING

log = logging.getLogger(__name__)

# WSGI environ key: the request is a redraw; its value is the list the drawn page goes to (page_cache.py).
REDRAWING = "afterimage.redrawing"
# Session flag: a redraw is running in this session (its own requests must not start another).
IN_REDRAW = "afterimage.in_redraw"
# Wall-clock bound on one commit's drawing: past it, the remaining pages are only dropped.
REDRAW_BUDGET_S = 2.0
# Which pages, in this order: item pages and widgets are what readers and blogs ask for most, then the API's
# answers about items. Tag and list pages are left to their readers: every save drops them all (it changes
# the model their set recommendations come from), and drawing them each time would cost her more than
# it spares their readers.
_DRAWN_FIRST = ("/items/", "/widget/items/", "/api/v1/items/")


class DrawnPage(NamedTuple):
    """A page drawn for the store: its key, body, the headers to replay, and the names it shows."""

    key: str
    body: bytes
    headers: list[tuple[str, str]]
    names: set[str]


def redraw_order(keys: Iterable[str]) -> list[str]:
    """The keys of pages to draw again, item pages first, then widgets, then API answers; others left out."""
    ranked = []
    for key in keys:
        path = urlsplit(key).path
        rank = next((n for n, prefix in enumerate(_DRAWN_FIRST) if path.startswith(prefix)), None)
        if rank is not None:
            ranked.append((rank, key))
    return [key for _, key in sorted(ranked, key=lambda pair: pair[0])]


def redraw_pages(session: so.Session, keys: list[str]) -> list[DrawnPage]:
    """Draw these stored pages again inside `session`'s transaction, as an anonymous reader at each key's
    address would see them after the commit; [] when this commit cannot (see the module)."""
    if not keys or not has_app_context():
        return []

    app = current_app._get_current_object()
    limit = int(app.config.get("PAGE_REDRAW_LIMIT", 0))
    # Only the request's own session can be lent to the drawing (a bare Session has no app to draw with).
    if limit <= 0 or db.session() is not session:
        return []
    # Objects this session loaded before another writer committed would be drawn as they were: reload them
    # (everything of ours is flushed by now, so nothing is lost).
    session.expire_all()
    client = app.test_client()
    drawn: list[DrawnPage] = []
    deadline = time.monotonic() + REDRAW_BUDGET_S
    # REFRESHING: a page that finds no usable model rebuilds it without committing; this commit stores it.
    was_refreshing = session.info.get(REFRESHING, False)
    session.info[IN_REDRAW] = session.info[REFRESHING] = True
    try:
        for key in redraw_order(keys)[:limit]:
            if time.monotonic() > deadline:
                break
            parts = urlsplit(key)
            collected: list[DrawnPage] = []
            # A fresh app context (its own `g`: no signed-in author, no nonce of hers) lent this session.
            with app.app_context():
                db.session.registry.set(session)
                try:
                    client.get(parts.path, query_string=parts.query, base_url=f"{parts.scheme}://{parts.netloc}",
                               environ_base={REDRAWING: collected})
                except sa.exc.SQLAlchemyError:
                    # The database failed under the drawing: stop; the commit meets the same failure, or not.
                    log.exception("drawing %s again failed; the rest of this commit's pages are only dropped", key)
                    break
                except Exception:
                    # A page that cannot be drawn is only dropped: its next reader meets the error as before.
                    log.exception("drawing %s again failed; it is only dropped", key)
                finally:
                    # Not closed with the context: it is still the committing one.
                    db.session.registry.clear()
            drawn += [page for page in collected if page.key == key]
    finally:
        session.info.pop(IN_REDRAW, None)
        session.info[REFRESHING] = was_refreshing
    return drawn
