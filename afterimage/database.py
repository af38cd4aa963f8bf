"""Database set-up: SQLite pragmas so readers never see "database is locked", and schema changes through migrations."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_migrate import Migrate, stamp, upgrade

from afterimage.extensions import db

# The Alembic scripts live beside app.py; an absolute path so `flask db` works from any folder.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Batch mode lets later migrations alter tables on SQLite, which has almost no ALTER TABLE.
migrate = Migrate(directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True)


def import_all_models() -> None:
    """Import every module that defines tables, so the metadata (and autogenerate) sees the whole schema."""
    from afterimage.catalog import models  # noqa: F401
    from afterimage.recommendations import models as rec_models  # noqa: F401
    from afterimage.accounts import models as account_models  # noqa: F401
    # Not a table of the metadata, but create_all must make the search index with items (an event there).
    from afterimage.catalog import search_index  # noqa: F401


def init_app(app: Flask) -> None:
    """Bind the database, the SQLite pragmas and `flask db` (Flask-Migrate) to the app."""
    db.init_app(app)
    import_all_models()
    migrate.init_app(app, db)
    configure_sqlite(app)


def configure_sqlite(app: Flask) -> None:
    """WAL journaling, a busy timeout and enforced foreign keys on every SQLite connection."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    # Read here, not in the listener: a listener holding the app kept every app (tests make one each) alive
    # through Flask-SQLAlchemy's weak map of engines, whose values then held their own keys.
    busy_timeout_ms = int(app.config.get("SQLITE_BUSY_TIMEOUT_MS", 60000))
    with app.app_context():
        engine = db.engine

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, connection_record):
            cursor = dbapi_connection.cursor()
            # WAL: readers go on reading while the author writes. SQLite has one writer at a time, and a
            # large import holds the lock for its whole transaction: a second writer waits (up to a minute,
            # below gunicorn's timeout) instead of failing with "database is locked".
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()


def create_schema() -> None:
    """Bring the schema up to date through the migrations: the one way tables are created or changed.

    A database made before migrations existed (by `init-db` of old, or db.create_all as the tests do for
    speed) has tables but no alembic_version: its missing tables are added and it is stamped as current,
    instead of the first migration failing on tables that already exist.
    """
    directory = str(MIGRATIONS_DIR)
    tables = set(sa.inspect(db.engine).get_table_names())
    if "alembic_version" not in tables and tables & set(db.metadata.tables):
        db.create_all()
        # create_all leaves an existing items table alone, and with it the search index it lacks.
        from afterimage.catalog.search_index import create_search_index

        with db.engine.begin() as connection:
            create_search_index(connection)
        stamp(directory=directory, revision="head")
    else:
        upgrade(directory=directory)
    # Alembic worked on its own connection; start the next unit of work on a clean session.
    db.session.remove()
