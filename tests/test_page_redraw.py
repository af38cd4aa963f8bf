"""Pages a commit changes are drawn again inside it (afterimage/page_redraw.py): after an edit, the readers of
every page it changed get the new page at once, from the store, never a miss and never the old page."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from afterimage.extensions import db
from afterimage.models import Item
from afterimage.recommendations import store as recommendation_store
from afterimage.recommendations.models import Neighbour
from app import create_app
from tests.test_page_store import edit_item, ids_by_slug
from tests.test_page_store_lists import item_pages
from tests.test_studio_fixtures import demo_author_client, post_form  # noqa: F401
from tests.test_studio_items import FILM

HIROSHIMA = "hiroshima-mon-amour-1959"


@pytest.fixture
def fresh(demo_app):
    """Another server on the same database with no page cache or store: every page drawn from the rows."""
    other = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "PAGE_CACHE_MB": 0,
                        "SQLALCHEMY_DATABASE_URI": demo_app.config["SQLALCHEMY_DATABASE_URI"]})
    yield other.test_client()
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def hiroshima_id(app) -> int:
    return ids_by_slug(app)[HIROSHIMA]


def stored(app, *paths: str):
    """A reader's client, after reading (and so storing) these pages."""
    reader = app.test_client()
    for path in paths:
        assert reader.get(path).headers["X-Page-Cache"] == "miss"
    return reader


def page_text(response) -> str:
    return response.get_data(as_text=True)


def recommenders_of(app, item_id: int) -> list[str]:
    """Slugs of the items whose pages show this one among their recommendations."""
    with app.app_context():
        shown = app.config["RECOMMENDATIONS_PER_KIND"]
        slugs = db.session.scalars(sa.select(Item.slug).join(Neighbour, Neighbour.item_id == Item.id).where(
            Neighbour.neighbour_id == item_id, Neighbour.rank < shown).order_by(Item.id)).all()
        db.session.remove()
    return list(slugs)


def test_after_her_edit_the_pages_it_changed_are_stored_new_and_the_others_kept(demo_app, demo_author_client, fresh):
    film = hiroshima_id(demo_app)
    recommenders = recommenders_of(demo_app, film)
    assert recommenders
    changed = [f"/items/{HIROSHIMA}", f"/widget/items/{HIROSHIMA}", f"/api/v1/items/{HIROSHIMA}/recommendations",
               f"/api/v1/items/{HIROSHIMA}",
               *(f"/items/{slug}" for slug in recommenders)]
    unrelated = "/items/the-vegetarian-2007"
    reader = stored(demo_app, *changed, unrelated)
    kept = reader.get(unrelated).get_data()

    # Her save, signed in, through the studio's form.
    assert edit_item(demo_author_client, film, title="Hiroshima, My Love").status_code == 303

    for path in changed:
        answer = reader.get(path)
        assert answer.headers["X-Page-Cache"] == "hit", f"{path} was left to its next reader"
        assert "Hiroshima, My Love" in page_text(answer), path
        # Exactly what a server with no store draws from the rows: nothing of her signed-in request in it.
        assert answer.get_data() == fresh.get(path).get_data(), path
        assert "Sign out" not in page_text(answer)
    same = reader.get(unrelated)
    assert same.headers["X-Page-Cache"] == "hit" and same.get_data() == kept


def test_tag_pages_are_left_to_their_readers(demo_app, demo_author_client):
    film_id = hiroshima_id(demo_app)
    with demo_app.app_context():
        tag = f"/tags/{db.session.get(Item, film_id).tags[0].slug}"
    reader = stored(demo_app, tag)
    assert edit_item(demo_author_client, film_id, title="Hiroshima, My Love").status_code == 303
    answer = reader.get(tag)
    # Dropped, not drawn: every save drops every tag page, and drawing them all would be her wait.
    assert answer.headers["X-Page-Cache"] == "miss" and "Hiroshima, My Love" in page_text(answer)


def test_past_the_limit_pages_are_only_dropped_item_pages_drawn_first(demo_app, demo_author_client, fresh):
    demo_app.config["PAGE_REDRAW_LIMIT"] = 1
    film = hiroshima_id(demo_app)
    api, page = f"/api/v1/items/{HIROSHIMA}", f"/items/{HIROSHIMA}"
    reader = stored(demo_app, api, page)
    assert edit_item(demo_author_client, film, title="Hiroshima, My Love").status_code == 303
    drawn, dropped = reader.get(page), reader.get(api)
    assert drawn.headers["X-Page-Cache"] == "hit" and "Hiroshima, My Love" in page_text(drawn)
    assert dropped.headers["X-Page-Cache"] == "miss" and dropped.get_json()["title"] == "Hiroshima, My Love"
    assert drawn.get_data() == fresh.get(page).get_data()


def test_with_no_limit_a_commit_only_drops(demo_app, demo_author_client):
    demo_app.config["PAGE_REDRAW_LIMIT"] = 0
    film = hiroshima_id(demo_app)
    reader = stored(demo_app, f"/items/{HIROSHIMA}")
    assert edit_item(demo_author_client, film, title="Hiroshima, My Love").status_code == 303
    answer = reader.get(f"/items/{HIROSHIMA}")
    assert answer.headers["X-Page-Cache"] == "miss" and "Hiroshima, My Love" in page_text(answer)


def test_a_new_film_and_the_refit_it_asks_for_leave_no_page_stale(demo_app, demo_author_client, fresh):
    reader = demo_app.test_client()
    pages = item_pages(demo_app)
    for path in pages.values():
        assert reader.get(path).status_code == 200
    alphaville = {**FILM, "title": "Alphaville", "original_title": "Alphaville", "year": "1965",
                  "creators": "Jean-Luc Godard (director)\nJean-Luc Godard (screenwriter)", "letterboxd_uri": "",
                  "description": "A secret agent walks into a city run by a computer that has outlawed poetry."}
    assert post_form(demo_author_client, "/studio/items/new", alphaville).status_code == 303
    # Two commits: her save (a fold-in), then the refit's, in a process of its own, which draws its pages too.
    recommendation_store.wait_for_refit(120)
    states = {}
    for path in pages.values():
        answer = reader.get(path)
        states[path] = answer.headers["X-Page-Cache"]
        assert answer.get_data() == fresh.get(path).get_data(), f"{path} is not what the rows say now"
    showing = [path for path in pages.values() if "Alphaville" in page_text(reader.get(path))]
    assert showing, "Alphaville is recommended somewhere"
    assert [path for path, state in states.items() if state != "hit"] == [], "pages left to their next reader"


def test_a_page_that_fails_to_draw_is_only_dropped_and_her_save_stands(demo_app, demo_author_client, monkeypatch):
    from afterimage.api import routes as api_routes

    demo_app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: a failing view answers 500
    film = hiroshima_id(demo_app)
    api, page = f"/api/v1/items/{HIROSHIMA}", f"/items/{HIROSHIMA}"
    reader = stored(demo_app, api, page)

    def broken(row):
        raise RuntimeError("a bug in one view")

    monkeypatch.setattr(api_routes, "item_json", broken)
    assert edit_item(demo_author_client, film, title="Hiroshima, My Love").status_code == 303
    monkeypatch.undo()
    drawn, dropped = reader.get(page), reader.get(api)
    assert drawn.headers["X-Page-Cache"] == "hit" and "Hiroshima, My Love" in page_text(drawn)
    assert dropped.headers["X-Page-Cache"] == "miss" and dropped.get_json()["title"] == "Hiroshima, My Love"
    with demo_app.app_context():
        assert db.session.get(Item, film).title == "Hiroshima, My Love"
