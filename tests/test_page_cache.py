"""The page cache: readers get stored pages until anything they could see changes, from any app server."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from afterimage.catalog_version import read_version
from afterimage.extensions import db
from afterimage.models import Creator, Item, Tag
from app import create_app
from tests.test_studio_fixtures import add_author, author_client, demo_author_client, post_form, sign_in  # noqa: F401
from tests.test_studio_items import FILM, add_film

VEGETARIAN = "/items/the-vegetarian-2007"
HIROSHIMA_WIDGET = "/widget/items/hiroshima-mon-amour-1959"


@pytest.fixture
def other_server(demo_app):
    """A second app server on the demo app's database, as a second gunicorn would be."""
    other = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": demo_app.config["SQLALCHEMY_DATABASE_URI"],
    })
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def version(app) -> int:
    with app.app_context():
        return read_version(db.engine)


def test_the_second_reader_gets_the_stored_page(demo_app):
    reader = demo_app.test_client()
    first = reader.get(VEGETARIAN)
    second = demo_app.test_client().get(VEGETARIAN)
    assert first.headers["X-Page-Cache"] == "miss"
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    # Every response still gets its own security headers.
    assert second.headers["Content-Security-Policy"] and second.headers["X-Frame-Options"] == "DENY"


def test_a_stored_widget_keeps_its_own_frame_policy_and_answers_304(demo_app):
    reader = demo_app.test_client()
    first = reader.get(HIROSHIMA_WIDGET)
    hit = reader.get(HIROSHIMA_WIDGET)
    assert hit.headers["X-Page-Cache"] == "hit"
    assert hit.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in hit.headers
    again = reader.get(HIROSHIMA_WIDGET, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_an_addition_and_an_edit_in_the_studio_show_on_the_next_view(app, author_client):
    reader = app.test_client()
    for path in ("/search?q=cleo", "/items", "/api/v1/items"):
        reader.get(path)
        assert reader.get(path).headers["X-Page-Cache"] == "hit"
    assert add_film(author_client).status_code == 303
    for path in ("/search?q=cleo", "/items", "/api/v1/items"):
        response = reader.get(path)
        assert response.headers["X-Page-Cache"] == "miss"
        assert "cleo-from-5-to-7-1962" in response.get_data(as_text=True)
    with app.app_context():
        item = db.session.scalars(sa.select(Item)).one()
        item_id, slug = item.id, item.slug
    reader.get(f"/items/{slug}")
    assert reader.get(f"/items/{slug}").headers["X-Page-Cache"] == "hit"
    response = post_form(author_client, f"/studio/items/{item_id}",
                         {**FILM, "description": "Ninety minutes, almost.", "slug": slug})
    assert response.status_code == 303
    assert "Ninety minutes, almost." in reader.get(f"/items/{slug}").get_data(as_text=True)


def test_renaming_a_tag_changes_the_stored_item_pages_that_show_it(demo_app):
    reader = demo_app.test_client()
    reader.get(VEGETARIAN)
    with demo_app.app_context():
        tag = db.session.scalar(sa.select(Tag).join(Tag.items).where(Item.slug == "the-vegetarian-2007").limit(1))
        tag.name = "Renamed While Cached"
        db.session.commit()
    assert "Renamed While Cached" in reader.get(VEGETARIAN).get_data(as_text=True)


def test_a_write_outside_the_orm_moves_the_version_and_a_rollback_does_not(demo_app):
    before = version(demo_app)
    with demo_app.app_context():
        db.session.execute(sa.text("UPDATE items SET note = 'raw' WHERE slug = 'the-vegetarian-2007'"))
        db.session.rollback()
    assert version(demo_app) == before
    with demo_app.app_context():
        db.session.execute(sa.text("UPDATE items SET note = 'raw' WHERE slug = 'the-vegetarian-2007'"))
        db.session.commit()
    assert version(demo_app) == before + 1


def test_signing_in_does_not_empty_the_readers_cache(demo_app):
    add_author(demo_app)
    reader = demo_app.test_client()
    reader.get(VEGETARIAN)
    before = version(demo_app)
    assert sign_in(demo_app.test_client(), password="wrong password").status_code == 401
    assert sign_in(demo_app.test_client()).status_code == 303
    assert version(demo_app) == before
    assert reader.get(VEGETARIAN).headers["X-Page-Cache"] == "hit"


def test_the_signed_in_author_never_gets_a_stored_page(demo_app, demo_author_client):
    demo_app.test_client().get(VEGETARIAN)
    response = demo_author_client.get(VEGETARIAN)
    assert response.status_code == 200
    assert "X-Page-Cache" not in response.headers


def set_item_fields(app, slug: str, **fields) -> None:
    """Change an item's columns and commit, as any writer in the app's process would."""
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.slug == slug))
        for name, value in fields.items():
            setattr(item, name, value)
        db.session.commit()


def test_another_app_server_on_the_same_database_sees_an_edit_at_once(demo_app, other_server):
    reader = other_server.test_client()
    reader.get(VEGETARIAN)
    assert reader.get(VEGETARIAN).headers["X-Page-Cache"] == "hit"
    set_item_fields(demo_app, "the-vegetarian-2007", description="Changed on the first server.")
    assert "Changed on the first server." in reader.get(VEGETARIAN).get_data(as_text=True)


def test_a_pin_in_the_studio_reaches_the_stored_widget(demo_app, demo_author_client):
    reader = demo_app.test_client()
    before = reader.get(HIROSHIMA_WIDGET).get_data(as_text=True)
    assert "Jaws" not in before
    with demo_app.app_context():
        ids = dict(db.session.execute(sa.select(Item.slug, Item.id).where(
            Item.slug.in_(["hiroshima-mon-amour-1959", "jaws-1975"]))).all())
    hiroshima = ids["hiroshima-mon-amour-1959"]
    response = post_form(demo_author_client, f"/studio/items/{hiroshima}", {"action": "pin"},
                         action=f"/studio/items/{hiroshima}/recommendations/{ids['jaws-1975']}")
    assert response.status_code == 303
    assert "Jaws" in reader.get(HIROSHIMA_WIDGET).get_data(as_text=True)


def test_the_cache_holds_at_most_its_size_in_bytes(demo_app):
    cache = demo_app.extensions["afterimage.page_cache"]
    reader = demo_app.test_client()
    one_page = len(reader.get("/items?page=1").get_data())
    cache.capacity_bytes = int(2.5 * one_page)
    for sort in ("title", "year", "-year", "recent"):
        assert reader.get(f"/items?sort={sort}").status_code == 200
    assert 1 <= len(cache.entries) <= 2
    assert cache.size == sum(len(body) for body, _ in cache.entries.values()) <= cache.capacity_bytes
    # The newest stays; the oldest went first.
    assert reader.get("/items?sort=recent").headers["X-Page-Cache"] == "hit"
    assert reader.get("/items?sort=title").headers["X-Page-Cache"] == "miss"


def test_tracking_parameters_share_the_clean_page_and_never_fill_the_cache(demo_app):
    cache = demo_app.extensions["afterimage.page_cache"]
    reader = demo_app.test_client()
    clean = reader.get(VEGETARIAN)
    tracked = reader.get(VEGETARIAN + "?fbclid=IwAR0abc&utm_source=blog")
    assert tracked.headers["X-Page-Cache"] == "hit" and tracked.get_data() == clean.get_data()
    stored = len(cache.entries)
    for n in range(5):
        response = reader.get(f"/items?junk={n}")
        assert response.status_code == 200 and "X-Page-Cache" not in response.headers
    assert len(cache.entries) == stored
    # Parameters a view reads are part of the key, in any order.
    first = reader.get("/items?kind=book&sort=year")
    assert reader.get("/items?sort=year&kind=book").headers["X-Page-Cache"] == "hit"
    assert reader.get("/items?kind=film&sort=year").get_data() != first.get_data()


def test_a_search_stays_cached_through_edits_it_does_not_show_and_not_through_those_it_does(app, author_client):
    assert add_film(author_client).status_code == 303
    with app.app_context():
        item = db.session.scalars(sa.select(Item)).one()
        item_id, slug = item.id, item.slug
    reader = app.test_client()
    for path in ("/search?q=cleo", "/search?q=mirrors"):
        reader.get(path)
        assert reader.get(path).headers["X-Page-Cache"] == "hit"
    assert "0 results" in reader.get("/search?q=mirrors").get_data(as_text=True)
    # The note, the rating and the status are on the item's own page, not on a result's card.
    edit = {**FILM, "slug": slug, "note": "Seen again in the rain.", "rating": "5", "status": "seen"}
    assert post_form(author_client, f"/studio/items/{item_id}", edit).status_code == 303
    assert reader.get("/search?q=cleo").headers["X-Page-Cache"] == "hit"
    assert "Seen again in the rain." in reader.get(f"/items/{slug}").get_data(as_text=True)
    # A new tag is searchable at once, and a new title shows at once.
    edit["tags"] += ", Mirrors"
    assert post_form(author_client, f"/studio/items/{item_id}", edit).status_code == 303
    found = reader.get("/search?q=mirrors")
    assert found.headers["X-Page-Cache"] == "miss" and "1 result" in found.get_data(as_text=True)
    edit["title"] = "Cléo de cinq à sept"
    assert post_form(author_client, f"/studio/items/{item_id}", edit).status_code == 303
    retitled = reader.get("/search?q=cleo")
    assert retitled.headers["X-Page-Cache"] == "miss" and "Cléo de cinq à sept" in retitled.get_data(as_text=True)


def test_another_app_server_s_cached_search_sees_a_renamed_creator_at_once(demo_app, other_server):
    reader = other_server.test_client()
    reader.get("/search?q=varda")
    assert reader.get("/search?q=varda").headers["X-Page-Cache"] == "hit"
    with demo_app.app_context():
        varda = db.session.scalar(sa.select(Creator).where(Creator.name == "Agnès Varda"))
        varda.name = "Agnès Varda (renamed)"
        db.session.commit()
    assert "Agnès Varda (renamed)" in reader.get("/search?q=varda").get_data(as_text=True)
