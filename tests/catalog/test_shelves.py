"""Shelves: only what she has watched or read is public; her watchlist, to-read shelf and current reading stay hers."""
from __future__ import annotations


import pytest
import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item, ListEntry, Tag
from afterimage.catalog.rules import PUBLISHED_STATUSES, ItemFields, published_count, save_item
from afterimage.extensions import db
from tests.conftest import built_once, csrf_token_from
from tests.importers.test_import_goodreads import COLUMNS_24, goodreads_csv, upload
from tests.studio.test_studio_fixtures import author_client, demo_author_client  # noqa: F401

HIROSHIMA = "hiroshima-mon-amour-1959"
WANT, DONE = "Shelfmark Wanted", "Shelfmark Watched"


def add_shelved_copies() -> dict[str, str]:
    """Two near-copies of Hiroshima mon amour, one on the watchlist and one watched, sharing a tag, a list and a
    director; returns their slugs."""
    hiroshima = db.session.scalar(sa.select(Item).where(Item.slug == HIROSHIMA))
    slugs = {}
    for title, status in ((WANT, "want"), (DONE, "seen")):
        item = save_item(ItemFields(
            kind="film", title=title, year=1961, status=status, description=hiroshima.description,
            tags=[t.name for t in hiroshima.tags] + ["Shelf test"],
            creators=[("Alain Resnais", "director"), ("Shelf Person", "director")],
        ))
        slugs[status] = item
    curated = CuratedList(slug="shelf-list", title="Shelf list", published=True)
    curated.entries = [ListEntry(item=slugs["want"], note="private"), ListEntry(item=slugs["seen"], note="public")]
    db.session.add(curated)
    db.session.commit()
    return {status: item.slug for status, item in slugs.items()}


@pytest.fixture
def shelved(demo_app, request) -> dict[str, str]:
    """The demo catalog with add_shelved_copies' two films; their slugs by status."""
    return built_once(demo_app, request, add_shelved_copies)


PUBLIC_SURFACES = [
    "/", "/items?sort=recent", "/tags/shelf-test", "/lists/shelf-list", "/people/shelf-person",
    "/search?q=shelfmark", "/feeds/items.atom", "/feeds/tags/shelf-test.atom", "/api/v1/items",
    "/api/v1/items?q=shelfmark", "/api/v1/tags/shelf-test", "/api/v1/lists/shelf-list",
    "/api/v1/people/shelf-person",
    # Recommendations after a film both copy: the watched one comes first, the wanted one never.
    f"/items/{HIROSHIMA}", f"/widget/items/{HIROSHIMA}", f"/api/v1/items/{HIROSHIMA}/recommendations",
    f"/api/v1/recommendations?liked={HIROSHIMA}", f"/liked?items={HIROSHIMA}",
]


@pytest.mark.parametrize("path", PUBLIC_SURFACES)
def test_every_public_surface_shows_the_watched_film_and_hides_the_wanted_one(demo_client, shelved, path):
    response = demo_client.get(path)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert DONE in body
    assert WANT not in body and shelved["want"] not in body


def test_a_wanted_items_own_pages_are_not_found(demo_client, shelved):
    want = shelved["want"]
    for path in (f"/items/{want}", f"/covers/{want}.svg", f"/api/v1/items/{want}",
                 f"/api/v1/items/{want}/recommendations", f"/api/v1/recommendations?liked={want}",
                 f"/widget/items/{want}", f"/oembed?url=http://localhost/items/{want}"):
        assert demo_client.get(path).status_code == 404, path
    assert demo_client.get(f"/items/{shelved['seen']}").status_code == 200
    liked = demo_client.get(f"/liked?items={want},{shelved['seen']}").get_data(as_text=True)
    assert DONE in liked and WANT not in liked
    assert demo_client.post(f"/liked/{want}").status_code == 404


def test_the_tag_index_counts_public_items_and_leaves_out_tags_on_private_items_only(demo_app, demo_client, shelved):
    with demo_app.app_context():
        save_item(ItemFields(kind="book", title="Only wanted", status="want", tags=["Secret shelf"]))
        db.session.commit()
    html = demo_client.get("/tags").get_data(as_text=True)
    assert "Secret shelf" not in html
    for path in ("/tags/secret-shelf", "/feeds/tags/secret-shelf.atom", "/api/v1/tags/secret-shelf",
                 "/widget/tags/secret-shelf"):
        assert demo_client.get(path).status_code == 404, path
    assert demo_client.get("/lists").get_data(as_text=True).count("1 entries") >= 1


def recommended_slugs(client, slug: str) -> set[str]:
    """The films the API recommends after an item."""
    body = client.get(f"/api/v1/items/{slug}/recommendations?kind=film&limit=10").get_json()
    return {r["item"]["slug"] for r in body["recommendations"]}


def test_a_wanted_item_is_never_recommended_and_leaves_when_moved_off_the_watched_shelf(demo_app, demo_client, shelved):
    recommended = recommended_slugs(demo_client, HIROSHIMA)
    assert shelved["seen"] in recommended and shelved["want"] not in recommended
    with demo_app.app_context():
        done = db.session.scalar(sa.select(Item).where(Item.slug == shelved["seen"]))
        done.status = "current"
        db.session.commit()
    assert shelved["seen"] not in recommended_slugs(demo_client, HIROSHIMA)
    assert demo_client.get(f"/items/{shelved['seen']}").status_code == 404
    with demo_app.app_context():
        done = db.session.scalar(sa.select(Item).where(Item.slug == shelved["seen"]))
        done.status = "seen"
        db.session.commit()
    assert shelved["seen"] in recommended_slugs(demo_client, HIROSHIMA)


def test_the_studio_lists_her_private_shelves_with_a_status_filter(demo_app, shelved, demo_author_client):
    wanted = demo_author_client.get("/studio/items?status=want").get_data(as_text=True)
    assert WANT in wanted and DONE not in wanted and "Want to watch" in wanted
    watched = demo_author_client.get("/studio/items?status=seen&q=shelfmark").get_data(as_text=True)
    assert DONE in watched and WANT not in watched
    assert demo_author_client.get("/studio/items?status=lost").status_code == 400
    with demo_app.app_context():
        item_id = db.session.scalar(sa.select(Item.id).where(Item.slug == shelved["want"]))
    edit = demo_author_client.get(f"/studio/items/{item_id}")
    assert edit.status_code == 200 and WANT in edit.get_data(as_text=True)
    assert "On your private “Want to watch” shelf" in edit.get_data(as_text=True)
    assert f"/widget/items/{shelved['want']}" not in edit.get_data(as_text=True)
    # Her placeholder cover still shows in the studio, privately.
    cover = demo_author_client.get(f"/covers/{shelved['want']}.svg")
    assert cover.status_code == 200 and "public" not in cover.headers.get("Cache-Control", "")


def test_the_studio_saves_an_item_on_the_reading_shelf(app, author_client):
    token = csrf_token_from(author_client.get("/studio/items/new").get_data(as_text=True))
    response = author_client.post("/studio/items/new", data={
        "csrf_token": token, "kind": "book", "title": "Flights", "year": "2007", "status": "current",
    })
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Item.status).where(Item.title == "Flights")) == "current"
    assert author_client.get("/items/flights-2007").status_code == 404


SHELVES = [
    {"Book Id": "1", "Title": "Bieguni", "Author": "Olga Tokarczuk", "Original Publication Year": "2007",
     "Exclusive Shelf": "to-read", "Bookshelves": "to-read, polish"},
    {"Book Id": "2", "Title": "The Waves", "Author": "Virginia Woolf", "Original Publication Year": "1931",
     "Exclusive Shelf": "currently-reading", "Bookshelves": "currently-reading"},
    {"Book Id": "3", "Title": "Beloved", "Author": "Toni Morrison", "Original Publication Year": "1987",
     "Exclusive Shelf": "read", "Bookshelves": "read, american", "My Rating": "5"},
]


def test_goodreads_exclusive_shelves_become_statuses_and_never_tags(app, author_client, client):
    html = upload(author_client, goodreads_csv(COLUMNS_24, SHELVES)).get_data(as_text=True)
    assert "<strong>3</strong> created" in html
    with app.app_context():
        status = dict(db.session.execute(sa.select(Item.title, Item.status)).all())
        assert status == {"Bieguni": "want", "The Waves": "current", "Beloved": "seen"}
        tags = set(db.session.scalars(sa.select(Tag.name)))
        assert tags == {"polish", "american"}
        assert not {"to-read", "to read", "currently reading", "read"} & tags
    assert author_client.get("/items/bieguni-2007").status_code == 404
    assert author_client.get("/items/beloved-1987").status_code == 200
    # Importing the same file again changes nothing.
    assert "<strong>3</strong> unchanged" in upload(author_client, goodreads_csv(COLUMNS_24, SHELVES)).get_data(as_text=True)


def test_a_letterboxd_watchlist_film_is_private_and_a_watched_one_public(app, author_client):
    watchlist = b"Date,Name,Year,Letterboxd URI\n2024-01-02,Stalker,1979,https://boxd.it/2b0k\n"
    assert upload(author_client, watchlist, "watchlist.csv").status_code == 200
    watched = b"Date,Name,Year,Letterboxd URI\n2024-01-02,Hiroshima mon amour,1959,https://boxd.it/1Yqk\n"
    upload(author_client, watched, "watched.csv")
    with app.app_context():
        assert dict(db.session.execute(sa.select(Item.title, Item.status)).all()) == {
            "Stalker": "want", "Hiroshima mon amour": "seen"}
    assert author_client.get("/items/stalker-1979").status_code == 404
    assert author_client.get("/items/hiroshima-mon-amour-1959").status_code == 200


def test_every_demo_item_is_public(demo_app):
    with demo_app.app_context():
        assert set(db.session.scalars(sa.select(Item.status).distinct())) == {"seen"}


def test_the_shelves_migration_keeps_every_row_and_admits_current_items_and_contributors(bare_app):
    from flask_migrate import downgrade, upgrade

    def count(table: str) -> int:
        return db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))

    with bare_app.app_context():
        upgrade(revision="0008_people")
        for statement in (
            "INSERT INTO items (id, kind, slug, title, title_key, description, note, status, search_text, created_at, "
            "updated_at) VALUES (1, 'book', 'the-waves', 'The Waves', 'the waves', '', '', 'want', 'the waves', "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            "INSERT INTO creators (id, name, name_key, slug) VALUES (1, 'Virginia Woolf', 'virginia woolf', 'virginia-woolf')",
            "INSERT INTO credits (item_id, creator_id, role, position) VALUES (1, 1, 'author', 0)",
            "INSERT INTO tags (id, name, name_key, slug, description, created_at, updated_at) "
            "VALUES (1, 'Sea', 'sea', 'sea', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            "INSERT INTO item_tags (item_id, tag_id) VALUES (1, 1)",
        ):
            db.session.execute(sa.text(statement))
        db.session.commit()
        db.session.remove()
        upgrade(revision="0009_shelves")
        # Foreign keys are enforced: a migration that recreated `items` would have cascaded these away.
        assert (count("items"), count("credits"), count("item_tags")) == (1, 1, 1)
        db.session.execute(sa.text("UPDATE items SET status = 'current'"))
        db.session.execute(sa.text("INSERT INTO credits (item_id, creator_id, role, position) VALUES (1, 1, 'contributor', 1)"))
        db.session.execute(sa.text("INSERT INTO credits (item_id, creator_id, role, position) VALUES (1, 1, 'illustrator', 2)"))
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE items SET status = 'lost'"))
        db.session.rollback()
        db.session.remove()
        downgrade(revision="0008_people")
        assert db.session.execute(sa.text("SELECT status FROM items")).all() == [("want",)]
        assert db.session.execute(sa.text("SELECT role FROM credits")).all() == [("author",)]
        assert count("item_tags") == 1
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE items SET status = 'current'"))
        db.session.rollback()


def test_the_up_next_page_is_off_unless_she_publishes_it(demo_client, shelved):
    assert demo_client.get("/up-next").status_code == 404
    assert "Up next" not in demo_client.get("/").get_data(as_text=True)


def test_the_up_next_page_lists_wanted_titles_without_opening_their_pages(demo_app, shelved):
    demo_app.config["SHOW_UP_NEXT"] = True
    client = demo_app.test_client()
    page = client.get("/up-next")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert WANT in html and DONE not in html and "The to-read shelf is empty." in html
    assert f"/items/{shelved['want']}" not in html and "/people/shelf-person" not in html
    assert 'href="/up-next"' in client.get("/").get_data(as_text=True)
    assert client.get(f"/items/{shelved['want']}").status_code == 404


def test_a_tag_is_public_on_a_watched_item_or_on_nothing_yet_and_hidden_on_private_items_only(app, client):
    with app.app_context():
        for name in ("On nothing yet", "Only wanted", "Watched and wanted"):
            db.session.add(Tag(name=name, name_key=name.lower(), slug=name.lower().replace(" ", "-")))
        save_item(ItemFields(kind="film", title="Stalker", year=1979, status="want", tags=["Only wanted", "Watched and wanted"]))
        save_item(ItemFields(kind="film", title="Solaris", year=1972, tags=["Watched and wanted"]))
        db.session.commit()
    assert client.get("/tags/on-nothing-yet").status_code == 200
    assert client.get("/tags/only-wanted").status_code == 404
    assert client.get("/tags/watched-and-wanted").status_code == 200


def test_the_published_count_leaves_out_every_shelf_readers_may_not_see(demo_app, shelved):
    with demo_app.app_context():
        save_item(ItemFields(kind="book", title="Shelfmark Reading", year=2020, status="current"))
        db.session.commit()
        by_status = dict(db.session.execute(sa.select(Item.status, sa.func.count()).group_by(Item.status)).all())
        assert by_status["want"] >= 1 and by_status["current"] >= 1
        assert published_count() == sum(n for status, n in by_status.items() if status in PUBLISHED_STATUSES)


def test_counting_the_published_items_reads_small_indexes_not_the_items(demo_app):
    """Her every save checks the count: both counts are answered from indexes, the kept-back items' from a
    partial index whose condition follows PUBLISHED_STATUSES; readers' queries (status = 'seen') cannot use it."""
    with demo_app.app_context():
        if db.engine.dialect.name != "sqlite":  # PostgreSQL plans by its statistics: check the index itself
            definition = db.session.scalar(sa.text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_items_unpublished'"))
            assert all(f"'{status}'" in definition.split("WHERE", 1)[1] for status in PUBLISHED_STATUSES)
            return
        plans = []

        def explain(connection, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("SELECT COUNT"):
                rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plans.append(" ".join(row[-1] for row in rows))

        sa.event.listen(db.engine, "before_cursor_execute", explain)
        try:
            published_count()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", explain)
        assert len(plans) == 2 and all("COVERING INDEX" in plan for plan in plans), plans
        assert "ix_items_unpublished" in plans[1]
        newest = db.session.execute(sa.text(
            "EXPLAIN QUERY PLAN SELECT id FROM items WHERE status IN ('seen') ORDER BY created_at DESC LIMIT 12"
        )).all()
        assert "ix_items_unpublished" not in " ".join(row[-1] for row in newest)
