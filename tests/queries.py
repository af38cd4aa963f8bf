"""The SQL statements an app sends, heard at the driver: for tests that bound work in queries, not in time."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from afterimage.extensions import db


@contextmanager
def statements_sent(app) -> Iterator[list[str]]:
    """While inside, every statement the app's engine sends is appended to the list yielded (clear it between
    requests to count one at a time)."""
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def heard(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", heard)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", heard)
