"""Two app server processes on one database: an edit through one is what the other serves next, recommendations too."""
from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import Item
from afterimage.extensions import db
from bench.load_client import AppServer, Browser, page_forms
from tests.studio.test_studio_fixtures import PASSWORD, add_author

# Starts real servers (gunicorn, nginx) or generates hundreds of requests: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def first_film_recommendation(browser: Browser, slug: str) -> str:
    """The slug of the first film recommended after `slug`, as a reader of this server sees it."""
    status, body = browser.get(f"/api/v1/items/{slug}/recommendations?kind=film&limit=5")
    assert status == 200, body
    return json.loads(body)["recommendations"][0]["item"]["slug"]


@pytest.fixture
def two_servers(demo_app, database_url, tmp_path):
    """Two gunicorn servers (one worker each) on the demo catalog's database."""
    add_author(demo_app)
    with demo_app.app_context():
        db.session.remove()
    servers = [AppServer(database_url, log_path=tmp_path / f"server-{n}.log") for n in (1, 2)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_an_edit_through_one_server_is_served_by_the_other_at_once(demo_app, two_servers):
    writer_server, reader_server = two_servers
    with demo_app.app_context():
        book = db.session.scalar(sa.select(Item).where(Item.slug == "the-white-book-2016"))
        book_id = book.id
        films = [
            dict(slug=f.slug, description=f.description, tags=", ".join(t.name for t in f.tags),
                 creators="\n".join(f"{c.creator.name} (author)" for c in f.credits))
            for f in db.session.scalars(sa.select(Item).where(Item.kind == "film").order_by(Item.slug))
        ]
    reader = Browser(reader_server.base_url)
    before = first_film_recommendation(reader, "the-white-book-2016")
    # A film that is not the book's first film now: the edit will make the book all about it.
    target = next(f for f in films if f["slug"] != before and f["description"] and f["tags"])
    assert reader.get("/items/the-white-book-2016")[0] == 200  # the reader's process has the model in memory

    author = Browser(writer_server.base_url)
    author.sign_in("Mina", PASSWORD)
    status = author.post_form(f"/studio/items/{book_id}", {
        "title": "The White Book, Revisited",
        "description": target["description"], "tags": target["tags"], "creators": target["creators"],
    })
    assert status == 303

    status, page = reader.get("/items/the-white-book-2016")
    assert status == 200 and "The White Book, Revisited" in page
    assert first_film_recommendation(reader, "the-white-book-2016") == target["slug"]
    # And the other way round: the film now recommends the edited book, under its new title.
    status, body = reader.get(f"/api/v1/items/{target['slug']}/recommendations?kind=book&limit=5")
    titles = [r["item"]["title"] for r in json.loads(body)["recommendations"]]
    assert "The White Book, Revisited" in titles


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite only")
    with app.app_context():
        assert db.session.scalar(sa.text("PRAGMA journal_mode")) == "wal"
        assert db.session.scalar(sa.text("PRAGMA busy_timeout")) >= 5000
        assert db.session.scalar(sa.text("PRAGMA foreign_keys")) == 1


def hold_a_write_lock(url: str, writing: threading.Event, done: threading.Event) -> None:
    """Another process's long write transaction, as an import is: every item row changed, then wait."""
    engine = sa.create_engine(url)
    if url.startswith("sqlite"):
        sa.event.listen(engine, "connect", lambda c, r: c.execute("PRAGMA busy_timeout=15000"))
    with engine.connect() as connection:
        if url.startswith("sqlite"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.execute(sa.update(Item).values(note=Item.note + " "))
        writing.set()
        done.wait(60)
        connection.commit()
    engine.dispose()


def test_an_edit_made_during_a_long_write_waits_for_it_instead_of_failing(demo_app, client):
    from tests.studio.test_studio_fixtures import sign_in

    add_author(demo_app)
    assert sign_in(client).status_code == 303
    with demo_app.app_context():
        item_id = db.session.scalar(sa.select(Item.id).where(Item.slug == "the-white-book-2016"))
        db.session.remove()
    page = client.get(f"/studio/items/{item_id}")
    assert page.status_code == 200
    writing, done = threading.Event(), threading.Event()
    writer = threading.Thread(target=hold_a_write_lock, args=(demo_app.config["SQLALCHEMY_DATABASE_URI"], writing, done))
    writer.start()
    try:
        assert writing.wait(10)
        threading.Timer(2.0, done.set).start()  # the "import" commits after two seconds
        fields = [f for f in page_forms(page.get_data(as_text=True)) if f["action"] in ("", f"/studio/items/{item_id}")][0]["fields"]
        response = client.post(f"/studio/items/{item_id}", data={**fields, "note": "written after the import"})
        assert response.status_code == 303
    finally:
        done.set()
        writer.join(15)
    assert "written after the import" in client.get("/items/the-white-book-2016").get_data(as_text=True)


def test_readers_are_never_locked_out_while_the_author_writes(demo_app):
    """A long write transaction (an import) holds the write lock; readers keep being served meanwhile."""
    url = demo_app.config["SQLALCHEMY_DATABASE_URI"]
    writing, done = threading.Event(), threading.Event()

    writer = threading.Thread(target=hold_a_write_lock, args=(url, writing, done))
    writer.start()
    try:
        assert writing.wait(10)
        client = demo_app.test_client()
        for path in ("/", "/items", "/items/the-white-book-2016", "/api/v1/items/the-white-book-2016/recommendations",
                     "/widget/items/the-white-book-2016", "/search?q=memory"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        # The writer still holds its transaction: no reader waited for it to end (counted, not timed).
        assert writer.is_alive()
    finally:
        done.set()
        writer.join(15)
