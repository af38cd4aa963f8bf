"""The catalog version: moved in the same transaction as any write a reader could see.

The page cache keys every stored response by this number, so an edit through any app server (or
any machine, on PostgreSQL) retires every cached page everywhere at the next request.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.database import read_row
from afterimage.models import CatalogVersion
from afterimage.write_statements import PRIVATE_TABLES, written_table
# Its commit hook must be registered first: recommendations are refreshed before the version moves, so
# every transaction takes the recommendation model's row lock before the version's (no lock-order deadlock).
from afterimage.recommendations import hooks as _recommendation_hooks  # noqa: F401

VERSION_ROW = 1
# Set on a connection that wrote a reader-visible table in its open transaction.
WRITTEN = "afterimage_catalog_written"
READ_VERSION_SQL = f"SELECT version FROM catalog_version WHERE id = {VERSION_ROW}"
_BUMP_VERSION = (
    sa.update(CatalogVersion).where(CatalogVersion.id == VERSION_ROW).values(version=CatalogVersion.version + 1)
)


def read_version(engine: sa.Engine) -> int | None:
    """The catalog's version now, on a pooled connection of its own (no session: the page cache asks on
    every request, and a hit then never builds one); None on a database without the counter."""
    row = read_row(engine, READ_VERSION_SQL)
    return None if row is None else row[0]


# Watching statements rather than ORM objects also catches bulk and core writes (neighbour rows, imports).
@sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
def _note_write(conn: sa.Connection, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
    table = written_table(statement)
    if table is not None and table not in PRIVATE_TABLES:
        conn.info[WRITTEN] = True


@sa.event.listens_for(sa.engine.Engine, "commit")
@sa.event.listens_for(sa.engine.Engine, "rollback")
def _forget_writes(conn: sa.Connection) -> None:
    conn.info.pop(WRITTEN, None)


@sa.event.listens_for(so.Session, "before_commit")
def _bump_version(session: so.Session) -> None:
    """Move the version inside the committing transaction: readers see new rows and a new number together."""
    session.flush()
    connection = session.connection()
    if connection.info.get(WRITTEN):
        connection.execute(_BUMP_VERSION)
