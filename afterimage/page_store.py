"""Rendered pages kept in the database, shared by every app server, and dropped row by row as the catalog changes.

Item pages, widgets and recommendation answers are the long tail of a catalog: ten thousand of them,
each read now and then. A per-process cache meets most of them cold; this store keeps each page once
for every worker and every machine, across restarts, until a commit changes something it shows (see
page_dependencies.py). A hit is one primary-key read.

Consistency: a commit drops the pages it affects inside its own transaction, and stores the pages about
items among them drawn again as they are after it (page_redraw.py). A reader's page is only stored if
no commit happened since its render began (a compare-and-set on the catalog version), so a render that
raced an edit is served once and never stored.
"""
from __future__ import annotations

import json
import weakref
import zlib
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError, OperationalError

# catalog_version's commit hook must run before ours (see the drop below), so it is imported first.
from afterimage.catalog_version import READ_VERSION_SQL
from afterimage.database import read_row
from afterimage.extensions import db
from afterimage.models import utcnow
from afterimage.page_dependencies import EVERYTHING, take_changes
from afterimage.page_redraw import IN_REDRAW, redraw_pages

DROP_CHUNK = 500


class StoredPage(db.Model):
    """One finished response: body (gzip, sent as it is to readers who accept it), the headers to replay,
    the request it answers. Rows stored before gzip hold zlib bodies; `inflate` reads both."""

    __tablename__ = "page_store"

    key: so.Mapped[str] = so.mapped_column(sa.String(700), primary_key=True)
    body: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    headers: so.Mapped[str] = so.mapped_column(sa.Text)
    stored_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)


class StoredPageDependency(db.Model):
    """A name (items:12, recs:12, tags:3, model) a stored page shows; a commit that changes it drops the page."""

    __tablename__ = "page_store_dependencies"

    name: so.Mapped[str] = so.mapped_column(sa.String(40), primary_key=True)
    page_key: so.Mapped[str] = so.mapped_column(
        sa.ForeignKey("page_store.key", ondelete="CASCADE"), primary_key=True, index=True
    )


GZIP_MAGIC = b"\x1f\x8b"


def compress(body: bytes) -> bytes:
    """A gzip member of body: the fastest level, since a page is stored once per edit and read thousands of
    times; no timestamp, so one page always compresses to the same bytes."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    return packer.compress(body) + packer.flush()


def inflate(stored: bytes) -> bytes:
    """The page itself, from a gzip body or an older row's zlib one (wbits 47 reads either)."""
    return zlib.decompress(stored, 47)


def read_page(engine: sa.Engine, key: str) -> tuple[bytes, list[tuple[str, str]]] | None:
    """The stored (compressed) body and headers for key, or None; straight to the driver, since a hit is the
    whole request."""
    row = read_row(engine, "SELECT body, headers FROM page_store WHERE key = ?", (key,))
    if row is None:
        return None
    return bytes(row[0]), [tuple(pair) for pair in json.loads(row[1])]


def gzip_etag(etag: str) -> str:
    """The gzip body's own validator: a representation in another content coding needs another ETag."""
    return etag[:-1] + '-gzip"' if etag.endswith('"') else etag


def stored_answer(stored: bytes, headers: list[tuple[str, str]], gzip_ok: bool
                  ) -> tuple[bytes, list[tuple[str, str]]]:
    """The body and headers to answer with from a stored row: the gzip body as it is to a reader who accepts
    it, the inflated page otherwise. Either way the answer says it varies by Accept-Encoding; the length is
    the caller's to set."""
    kept = [(name, value) for name, value in headers if name.lower() not in ("content-length", "vary")]
    varies = [token.strip() for name, value in headers if name.lower() == "vary" for token in value.split(",")]
    vary = ", ".join(dict.fromkeys([token for token in varies if token] + ["Accept-Encoding"], None))
    if gzip_ok and stored[:2] == GZIP_MAGIC:
        answer = [(name, gzip_etag(value) if name.lower() == "etag" else value) for name, value in kept]
        return stored, [*answer, ("Content-Encoding", "gzip"), ("Vary", vary)]
    return inflate(stored), [*kept, ("Vary", vary)]


def store_page(engine: sa.Engine, key: str, rendered_at: int, body: bytes, headers: list[tuple[str, str]],
               names: set[str], wait: bool = False) -> bool:
    """Keep a page rendered at catalog version `rendered_at`, unless a commit came since; returns whether it was stored.

    A reader's request never waits for a writer's lock (`wait` False): it skips storing instead, and the
    next reader stores the page. Baking waits its turn.
    """
    try:
        with engine.begin() as connection:
            if locked_version(connection, wait) != rendered_at:
                return False
            connection.execute(sa.delete(StoredPage).where(StoredPage.key == key))
            insert_page(connection, key, body, headers, names)
        return True
    except (OperationalError, IntegrityError):
        # Locked by a writer right now, or another server stored the same page first: nothing lost.
        return False


def insert_page(connection: sa.Connection, key: str, body: bytes, headers: list[tuple[str, str]],
                names: set[str]) -> None:
    """The rows of one stored page (none there under its key), inside the caller's transaction."""
    page = {"key": key, "body": compress(body), "headers": json.dumps(headers), "stored_at": utcnow()}
    connection.execute(sa.insert(StoredPage), page)
    connection.execute(sa.insert(StoredPageDependency), [{"name": n, "page_key": key} for n in sorted(names)])


def locked_version(connection: sa.Connection, wait: bool) -> int | None:
    """The catalog version, with writers kept from moving it until this transaction ends; None if one holds
    it and we may not wait. Writers bump the version, then drop pages: after our commit, so they see what we
    stored."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        if not wait:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
        return connection.exec_driver_sql(f"{READ_VERSION_SQL} FOR SHARE").scalar()
    if dialect == "sqlite":
        # SQLite's one write lock, taken now rather than at the first insert, so the version we read holds.
        patience = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        if not wait:
            connection.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError:
            return None
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(patience)}")
    return connection.exec_driver_sql(READ_VERSION_SQL).scalar()


def drop_pages(connection: sa.Connection, names: set[str]) -> list[str] | None:
    """Drop the stored pages that show any of these names, inside the caller's transaction; return their keys
    (None when every page went)."""
    if not names:
        return []
    if EVERYTHING in names:
        connection.execute(sa.delete(StoredPageDependency))
        connection.execute(sa.delete(StoredPage))
        return None
    dropped: list[str] = []
    ordered = sorted(names)
    for start in range(0, len(ordered), DROP_CHUNK):
        chunk = ordered[start:start + DROP_CHUNK]
        keys = sa.select(StoredPageDependency.page_key).where(StoredPageDependency.name.in_(chunk))
        # Dependencies first: SQLite enforces the cascade only with foreign keys on, and not every
        # connection that opens the file has them on.
        doomed = [k for (k,) in connection.execute(keys)]
        for at in range(0, len(doomed), DROP_CHUNK):
            part = doomed[at:at + DROP_CHUNK]
            connection.execute(sa.delete(StoredPageDependency).where(StoredPageDependency.page_key.in_(part)))
            connection.execute(sa.delete(StoredPage).where(StoredPage.key.in_(part)))
        dropped += doomed
    return list(dict.fromkeys(dropped))


def count_pages(connection: sa.Connection) -> int:
    """How many pages are stored."""
    return connection.execute(sa.select(sa.func.count()).select_from(StoredPage)).scalar_one()


# Engines whose database has the store's tables: checked until found, since a database migrated to an
# older revision (the migration tests) has none.
_engines_with_store: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def has_store(connection: sa.Connection) -> bool:
    """Whether this database has the page store's tables (it does at the newest migration)."""
    if connection.engine in _engines_with_store:
        return True
    if sa.inspect(connection).has_table(StoredPage.__tablename__):
        _engines_with_store.add(connection.engine)
        return True
    return False


@sa.event.listens_for(so.Session, "before_commit")
def _drop_changed_pages(session: so.Session) -> None:
    """After the catalog version moved (catalog_version's hook, registered first), drop what this commit
    changed, and store the most-read of those pages drawn again as they are now (page_redraw.py)."""
    if not session.in_transaction() or session.info.get(IN_REDRAW):
        return
    names = take_changes(session)
    if not names or not has_store(session.connection()):
        return
    dropped = drop_pages(session.connection(), names)
    drawn = redraw_pages(session, dropped or [])
    written = take_changes(session)
    if written:
        # Drawing wrote to the catalog (a model rebuilt on the way): what it drew may already be out of date.
        drop_pages(session.connection(), written)
        return
    for page in drawn:
        insert_page(session.connection(), page.key, page.body, page.headers, page.names)
