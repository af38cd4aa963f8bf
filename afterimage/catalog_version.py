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
from afterimage.page_dependencies import changes_search, changes_so_far
from afterimage.write_statements import PRIVATE_TABLES, written_table
# Its commit hook must be registered first: recommendations are refreshed before the version moves, so
# every transaction takes the recommendation model's row lock before the version's (no lock-order deadlock).
from afterimage.recommendations import hooks as _recommendation_hooks  # noqa: F401

VERSION_ROW = 1
# Set on a connection that wrote a reader-visible table in its open transaction.
WRITTEN = "afterimage_catalog_written"
# Moved only by commits that may change a search page (page_dependencies.SEARCH): a note or a pin leaves
# readers' cached searches in place. A database migrated to before 0006 has no such row, and no search cache.
SEARCH_ROW = 2
READ_VERSION_SQL = f"SELECT version FROM catalog_version WHERE id = {VERSION_ROW}"
READ_VERSIONS_SQL = (
    f"SELECT c.version, s.version FROM catalog_version c JOIN catalog_version s ON s.id = {SEARCH_ROW} "
    f"WHERE c.id = {VERSION_ROW}"
)
_BUMP_VERSION = (
    sa.update(CatalogVersion).where(CatalogVersion.id == VERSION_ROW).values(version=CatalogVersion.version + 1)
)
_BUMP_BOTH = (
    sa.update(CatalogVersion).where(CatalogVersion.id.in_((VERSION_ROW, SEARCH_ROW)))
    .values(version=CatalogVersion.version + 1)
)


def read_version(engine: sa.Engine) -> int | None:
    """The catalog's version now, on a pooled connection of its own (no session: the page cache asks on
    every request, and a hit then never builds one); None on a database without the counter."""
    row = read_row(engine, READ_VERSION_SQL)
    return None if row is None else row[0]


def read_versions(engine: sa.Engine) -> tuple[int, int] | None:
    """The catalog's version and its search version, in one read; None on a database without them."""
    row = read_row(engine, READ_VERSIONS_SQL)
    return None if row is None else (row[0], row[1])


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
        # The page store's hook, after this one, takes the same changes to drop its pages.
        connection.execute(_BUMP_BOTH if changes_search(changes_so_far(session)) else _BUMP_VERSION)
