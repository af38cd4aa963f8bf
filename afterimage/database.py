"""Engine set-up that depends on the database: SQLite pragmas so readers never see "database is locked"."""
from __future__ import annotations

from flask import Flask
import sqlalchemy as sa

from afterimage.extensions import db


def configure_sqlite(app: Flask) -> None:
    """WAL journaling, a busy timeout and enforced foreign keys on every SQLite connection."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, connection_record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()


def create_schema() -> None:
    """Create every table that does not exist yet."""
    db.create_all()
