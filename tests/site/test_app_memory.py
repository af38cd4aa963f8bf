"""An app the process no longer uses is freed with its engine: nothing of the site's keeps it alive."""
from __future__ import annotations

import gc
import weakref

import sqlalchemy as sa

from afterimage.extensions import db
from tests.conftest import close_connections, make_test_app


def test_an_app_no_longer_used_is_freed_with_its_sqlite_settings_applied(tmp_path):
    # The connect listener that sets SQLite's pragmas once held the app, and Flask-SQLAlchemy's weak map of
    # engines then kept every app a process had made (every test's, with its rules and templates).
    app = make_test_app(f"sqlite:///{tmp_path / 'gone.db'}", SQLITE_BUSY_TIMEOUT_MS=1234)
    with app.app_context():
        assert db.session.scalar(sa.text("PRAGMA busy_timeout")) == 1234
        assert db.session.scalar(sa.text("PRAGMA journal_mode")) == "wal"
    close_connections(app)
    gone = weakref.ref(app)
    del app
    gc.collect()
    assert gone() is None
