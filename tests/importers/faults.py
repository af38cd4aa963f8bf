"""A disk that fails in the middle of an import: for tests that nothing half-written is kept."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from afterimage.catalog.models import Item
from afterimage.extensions import db


@contextmanager
def flush_fails_at(app, title: str) -> Iterator[list[str]]:
    """While inside, the flush that would write the item called `title` fails as a full or broken disk does;
    yields the titles of the new items each flush was given, in order, the failing one's included."""
    flushed: list[str] = []

    def fail(session, flush_context, instances) -> None:
        titles = [o.title for o in session.new if isinstance(o, Item)]
        flushed.extend(titles)
        if title in titles:
            raise sa.exc.OperationalError("INSERT INTO items", {}, Exception("disk I/O error"))

    with app.app_context():
        sa.event.listen(db.session, "before_flush", fail)
    try:
        yield flushed
    finally:
        with app.app_context():
            sa.event.remove(db.session, "before_flush", fail)
