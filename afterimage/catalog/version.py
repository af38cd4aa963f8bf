"""The catalog version: one number that goes up in the same transaction as any change readers could see.

HTTP validators (http_cache.py) are built from it, so a reader's cached page is revalidated with one
indexed read and answered 304 without rendering until the author changes something.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.catalog.models import CatalogVersion
from afterimage.extensions import db

VERSION_ROW = 1
# Session flag: this transaction wrote something readers see, so its commit moves the version.
CHANGED = "catalog_changed"
# Writes to these change nothing a reader sees: sign-in bookkeeping and the counter itself.
PRIVATE_TABLES = frozenset({"author_sessions", "sign_in_attempts", "authors", "catalog_version"})


# A Core statement on the session's connection: every conditional request reads it, and the ORM's
# per-statement machinery cost more than the read itself.
_READ_VERSION = sa.select(CatalogVersion.__table__.c.version).where(CatalogVersion.__table__.c.id == VERSION_ROW)


def _in_transaction(session: so.Session | so.scoped_session) -> bool:
    """Whether the session has a transaction open, without making the request's session just to ask: a 304
    never needs one, and would otherwise make one here and close it at teardown."""
    if isinstance(session, so.scoped_session):
        return session.registry.has() and session().in_transaction()
    return session.in_transaction()


def read_version(session: so.Session | so.scoped_session) -> int:
    """The catalog's version now (0 on a database that has no counter row yet)."""
    if _in_transaction(session):
        return session.connection().execute(_READ_VERSION).scalar() or 0
    # Before anything else in the request (a conditional request's 304): a pooled connection for the one read
    # costs less than opening the session's transaction and closing it at teardown.
    with db.engine.connect() as connection:
        return connection.execute(_READ_VERSION).scalar() or 0


def mark_changed(session: so.Session) -> None:
    """Say that this transaction changes what readers see: its commit moves the version."""
    session.info[CHANGED] = True


def note_flushed_changes(session: so.Session) -> None:
    """After a flush: mark the transaction changed if it wrote any row of a table readers see."""
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table not in PRIVATE_TABLES:
            mark_changed(session)
            return


def note_statement(state: so.ORMExecuteState) -> None:
    """An INSERT, UPDATE or DELETE sent through the session (bulk writes, imports) changes the catalog too."""
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) not in PRIVATE_TABLES:
            mark_changed(state.session)


def bump_if_changed(session: so.Session) -> None:
    """Before commit: move the version inside the committing transaction, so readers see rows and number together."""
    if session.info.pop(CHANGED, False):
        session.execute(
            sa.update(CatalogVersion).where(CatalogVersion.id == VERSION_ROW)
            .values(version=CatalogVersion.version + 1)
        )


def forget_changes(session: so.Session) -> None:
    """A rolled-back transaction changed nothing."""
    session.info.pop(CHANGED, None)
