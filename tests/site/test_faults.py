"""Faults: a server killed mid-import, a restart, the database going away and coming back, a damaged model."""
from __future__ import annotations

import csv
import io
import json
import selectors
import socket
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import Item
from afterimage.extensions import db
from afterimage.recommendations.models import Neighbour, RecModel, RecModelBlob
from app import create_app
from bench.load_client import AppServer, Browser
from recs import TfidfRecommender
from tests.importers.test_import_goodreads import COLUMNS_24
from tests.studio.test_studio_fixtures import PASSWORD, add_author

WORDS = "memory war river winter silence garden letters city night mother island archive".split()


def goodreads_export(rows: int) -> bytes:
    """A Goodreads library export of `rows` distinct books, big enough that importing it takes seconds."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS_24)
    for i in range(rows):
        row = {
            "Book Id": str(900000 + i), "Title": f"Fault Book {i} {WORDS[i % len(WORDS)]}", "Author": f"Writer {i % 300}",
            "Original Publication Year": str(1950 + i % 70), "Exclusive Shelf": "read", "My Rating": str(i % 6),
            "Bookshelves": ", ".join(WORDS[(i + k) % len(WORDS)] for k in range(3)),
            "My Review": " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(25)),
        }
        writer.writerow([row.get(column, "") for column in COLUMNS_24])
    return buffer.getvalue().encode()


def catalog_state(app) -> dict:
    """What an interrupted import must not change: counts, the model row and the stored lists."""
    with app.app_context():
        model = db.session.get(RecModel, 1)
        state = {
            "items": db.session.scalar(sa.select(sa.func.count(Item.id))),
            "max_item_id": db.session.scalar(sa.select(sa.func.max(Item.id))),
            "neighbours": db.session.scalar(sa.select(sa.func.count()).select_from(Neighbour)),
            "model": (model.version, model.token, model.fitted_at) if model else None,
        }
        db.session.remove()
    return state


def recommendations_json(browser: Browser, slug: str) -> list:
    """(slug, score) of an item's recommendations as the server answers them."""
    status, body = browser.get(f"/api/v1/items/{slug}/recommendations?limit=10")
    assert status == 200, body
    return [(r["item"]["slug"], r["score"]) for r in json.loads(body)["recommendations"]]


def import_transaction_open(database_url: str) -> bool:
    """True while another connection holds an open write transaction on the database (the import's)."""
    if database_url.startswith("sqlite"):
        probe = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:  # "database is locked": a writer holds the lock
            return True
        finally:
            probe.close()
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return bool(connection.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
            )))
    finally:
        engine.dispose()


@pytest.fixture
def signed_in_server(demo_app, database_url, tmp_path):
    """A gunicorn server on the demo catalog, and an author signed in to it."""
    add_author(demo_app)
    with demo_app.app_context():
        db.session.remove()
    server = AppServer(database_url, log_path=tmp_path / "server.log")
    server.start()
    browser = Browser(server.base_url)
    browser.sign_in("Mina", PASSWORD)
    yield server, browser
    server.stop()


@pytest.mark.slow
def test_a_server_killed_mid_import_leaves_the_database_as_before_and_restarts_without_refitting(
    demo_app, database_url, signed_in_server, tmp_path,
):
    server, author = signed_in_server
    reader = Browser(server.base_url)
    before_recs = recommendations_json(reader, "the-white-book-2016")
    before = catalog_state(demo_app)
    export = goodreads_export(1500)
    outcome: dict = {}

    def run_import():
        try:
            outcome["status"] = author.import_file("goodreads_library_export.csv", export)
        except Exception as error:  # the connection dies with the server: that is the point
            outcome["error"] = error

    importer = threading.Thread(target=run_import)
    importer.start()
    deadline = time.monotonic() + 20
    while not import_transaction_open(database_url):
        assert time.monotonic() < deadline and "status" not in outcome, "the import never started writing"
        time.sleep(0.05)
    time.sleep(0.5)
    server.kill()
    importer.join(30)
    assert "status" not in outcome, f"the import finished before the kill ({outcome}); make the file bigger"

    assert catalog_state(demo_app) == before
    if database_url.startswith("sqlite"):
        with demo_app.app_context():
            assert db.session.scalar(sa.text("PRAGMA integrity_check")) == "ok"
            db.session.remove()

    restarted = AppServer(database_url, log_path=tmp_path / "restarted.log").start()
    try:
        assert recommendations_json(Browser(restarted.base_url), "the-white-book-2016") == before_recs
        assert Browser(restarted.base_url).get("/items/the-white-book-2016")[0] == 200
        # Serving from the stored model: nothing was refitted (fitted_at and version unchanged).
        assert catalog_state(demo_app)["model"] == before["model"]
    finally:
        restarted.stop()


@pytest.mark.slow
def test_a_damaged_model_is_rebuilt_and_stored_not_served(demo_app, database_url, tmp_path):
    server = AppServer(database_url, log_path=tmp_path / "server.log")
    with demo_app.app_context():
        fitted_before = db.session.get(RecModel, 1).fitted_at
        db.session.execute(sa.update(RecModelBlob).values(blob=b"\x80\x04not a pickle at all"))
        db.session.commit()
        db.session.remove()
    with server:
        browser = Browser(server.base_url)
        status, body = browser.get("/api/v1/recommendations?liked=the-white-book-2016,hiroshima-mon-amour-1959")
        assert status == 200, body
        assert json.loads(body)["recommendations"], "set recommendations need the model: it was rebuilt"
        assert browser.get("/items/the-white-book-2016")[0] == 200
    with demo_app.app_context():
        row = db.session.get(RecModel, 1)
        blob = db.session.scalar(sa.select(RecModelBlob.blob))
        assert TfidfRecommender.loads(blob).ids_.size == db.session.scalar(sa.select(sa.func.count(Item.id)))
        assert row.fitted_at != fitted_before
        db.session.remove()


@pytest.mark.slow
def test_a_missing_model_row_is_rebuilt_not_left_empty(demo_app, database_url, tmp_path):
    with demo_app.app_context():
        db.session.execute(sa.delete(RecModelBlob))
        db.session.execute(sa.delete(RecModel))
        db.session.commit()
        db.session.remove()
    with AppServer(database_url, log_path=tmp_path / "server.log") as server:
        status, body = Browser(server.base_url).get(
            "/api/v1/recommendations?liked=the-white-book-2016,hiroshima-mon-amour-1959"
        )
        assert status == 200, body
        assert json.loads(body)["recommendations"]
    with demo_app.app_context():
        assert db.session.get(RecModel, 1) is not None
        db.session.remove()


class FlakyLink:
    """A TCP relay to the database that can be cut (connections reset, new ones refused) and restored."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = 0
        self.listener: socket.socket | None = None
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.open()

    def open(self) -> None:
        """Listen (again, on the same port) and relay."""
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in selector.select():
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        """The database host vanishes: refuse new connections and reset the open ones."""
        # shutdown() wakes the thread blocked in accept(); close() alone would leave the socket listening.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for pair in self.pairs:
                for s in pair:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            self.pairs.clear()

    def restore(self) -> None:
        """The database is back."""
        self.open()


def assert_unavailable_page(client) -> None:
    """The site's own 503 page for a reader, JSON for the API; no traceback, no driver message."""
    page = client.get("/items/the-white-book-2016")
    html = page.get_data(as_text=True)
    assert page.status_code == 503
    assert "Briefly unavailable" in html and "site-header" in html and "Afterimage" in html
    assert "Traceback" not in html and "psycopg" not in html and "sqlite" not in html.lower()
    assert page.headers["Retry-After"]
    api = client.get("/api/v1/items/the-white-book-2016")
    assert api.status_code == 503 and api.is_json and api.json["status"] == 503


def test_the_database_going_away_gives_the_503_page_and_the_site_recovers_by_itself(demo_app, database_url, tmp_path):
    if database_url.startswith("sqlite"):
        # SQLite's "server" is the file: move its folder away (as an unmounted volume would) and back.
        live, hidden = tmp_path / "live", tmp_path / "hidden"
        live.mkdir()
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as source, \
                sqlite3.connect(live / "afterimage.db") as copy:
            source.backup(copy)
        copy.close()
        source.close()
        url = f"sqlite:///{live / 'afterimage.db'}"
        cut = lambda: live.rename(hidden)  # noqa: E731
        restore = lambda: hidden.rename(live)  # noqa: E731
    else:
        link = FlakyLink(sa.make_url(database_url).port)
        url = sa.make_url(database_url).set(port=link.port).render_as_string(hide_password=False)
        cut, restore = link.cut, link.restore
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "SQLALCHEMY_DATABASE_URI": url})
    client = app.test_client()
    try:
        assert client.get("/items/the-white-book-2016").status_code == 200
        cut()
        with app.app_context():
            db.engine.dispose()  # SQLite keeps an open file working; new connections are what fail
        assert_unavailable_page(client)
        assert client.get("/healthz").status_code == 200  # the process itself is alive
        restore()
        # No restart: pool_pre_ping replaces the dead connections on the next request.
        assert client.get("/items/the-white-book-2016").status_code == 200
        assert client.get("/api/v1/items/the-white-book-2016").status_code == 200
        # A blip between two readers: every pooled connection is dead, yet the next reader gets the page
        # (pool_pre_ping replaces them before the first query).
        cut()
        restore()
        page = client.get("/items/the-white-book-2016")
        assert page.status_code == 200
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
