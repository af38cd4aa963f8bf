"""Stored item pages follow their recommendation lists: dropped exactly when a fold-in or a refit changes what they show.

These tests see which pages a commit drops by the misses that follow it, so commits here only drop
(`PAGE_REDRAW_LIMIT` 0); tests/test_page_redraw.py checks the pages drawn again in their place."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from afterimage.extensions import db
from afterimage.models import Item
from afterimage.page_dependencies import SHALLOW_RANKS
from afterimage.page_store import count_pages
from afterimage.recommendations import store as recommendation_store
from afterimage.recommendations.models import Neighbour
from tests.test_studio_fixtures import demo_author_client, post_form  # noqa: F401
from tests.test_studio_items import FILM


@pytest.fixture(autouse=True)
def only_drop(demo_app):
    demo_app.config["PAGE_REDRAW_LIMIT"] = 0


def shown_lists(app) -> dict[int, list[tuple]]:
    """Every item's stored lists as its page shows them: kind, rank, neighbour and reasons of the ranks it
    reads (five per kind, and a few more for the author's pins and hides)."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Neighbour.item_id, Neighbour.kind, Neighbour.rank, Neighbour.neighbour_id, Neighbour.reasons)
            .where(Neighbour.rank < SHALLOW_RANKS)
            .order_by(Neighbour.item_id, Neighbour.kind, Neighbour.rank)
        ).all()
        db.session.remove()
    lists: dict[int, list[tuple]] = {}
    for item_id, *rest in rows:
        lists.setdefault(item_id, []).append(tuple(rest[:2]) + (rest[2], tuple(rest[3] or ())))
    return lists


def item_pages(app) -> dict[int, str]:
    with app.app_context():
        pages = {i: f"/items/{slug}" for i, slug in db.session.execute(sa.select(Item.id, Item.slug))}
        db.session.remove()
    return pages


def pages_after_change(reader, pages, before, after) -> tuple[set[int], list[str], list[str]]:
    """The items whose lists changed, pages served stale (a hit though their list changed), and pages
    rendered again though nothing they show changed."""
    changed = {i for i in pages if before.get(i) != after.get(i)}
    stale, needless = [], []
    for item_id, path in pages.items():
        state = reader.get(path).headers["X-Page-Cache"]
        if item_id in changed and state == "hit":
            stale.append(path)
        elif item_id not in changed and state != "hit":
            needless.append(path)
    return changed, stale, needless


def test_a_new_film_drops_only_the_pages_whose_lists_it_entered(demo_app, demo_author_client):
    reader = demo_app.test_client()
    pages = item_pages(demo_app)
    for path in pages.values():
        assert reader.get(path).status_code == 200
    before = shown_lists(demo_app)

    alphaville = {**FILM, "title": "Alphaville", "original_title": "Alphaville", "year": "1965",
                  "creators": "Jean-Luc Godard (director)\nJean-Luc Godard (screenwriter)", "letterboxd_uri": "",
                  "description": "A secret agent walks into a city run by a computer that has outlawed poetry."}
    response = post_form(demo_author_client, "/studio/items/new", alphaville)
    assert response.status_code == 303
    # The refit its new words asked for runs after the response, in a process of its own.
    recommendation_store.wait_for_refit(120)
    after = shown_lists(demo_app)

    changed, stale, needless = pages_after_change(reader, pages, before, after)
    assert stale == [], f"pages served stale after their lists changed: {stale}"
    # Alphaville (Godard, French New Wave, Paris) enters some lists, and not all of them.
    assert 0 < len(changed) < len(pages)
    # Its new words also asked for a refit after the save, whose second commit may move a list and move it
    # back: a few pages are rendered again for nothing, far from all of them.
    assert len(needless) < (len(pages) - len(changed)) / 4, needless
    with demo_app.app_context():
        new_id = db.session.scalar(sa.select(Item.id).where(Item.title == "Alphaville"))
    # Pages show five of each kind: where it ranks among them, the page (stored again) shows it.
    showing = [i for i in changed if any(other == new_id and rank < 5 for _, rank, other, _ in after[i])]
    assert showing
    for item_id in showing:
        assert "Alphaville" in reader.get(pages[item_id]).get_data(as_text=True)


def test_a_rebuild_that_changes_no_list_keeps_every_stored_page(demo_app):
    reader = demo_app.test_client()
    pages = item_pages(demo_app)
    for path in pages.values():
        reader.get(path)
    before = shown_lists(demo_app)
    result = demo_app.test_cli_runner().invoke(args=["recs", "rebuild"])
    assert result.exit_code == 0, result.output
    after = shown_lists(demo_app)
    assert before == after
    assert pages_after_change(reader, pages, before, after) == (set(), [], [])


def test_a_rebuild_after_raw_edits_drops_the_pages_whose_lists_moved(demo_app):
    reader = demo_app.test_client()
    pages = item_pages(demo_app)
    with demo_app.app_context():
        # Raw SQL never reaches the model (and drops every stored page): the same rare words on a few
        # unrelated items pull them together only at the next refit.
        ids = db.session.scalars(sa.select(Item.id).order_by(Item.id).limit(4)).all()
        db.session.execute(
            sa.text("UPDATE items SET description = :words WHERE id IN :ids").bindparams(sa.bindparam("ids", expanding=True)),
            {"words": "lighthouse keeper semaphore cormorant " * 3, "ids": ids},
        )
        db.session.commit()
        db.session.remove()
    for path in pages.values():
        assert reader.get(path).headers["X-Page-Cache"] == "miss"
    before = shown_lists(demo_app)
    result = demo_app.test_cli_runner().invoke(args=["recs", "rebuild"])
    assert result.exit_code == 0, result.output
    after = shown_lists(demo_app)
    changed, stale, needless = pages_after_change(reader, pages, before, after)
    assert set(ids) <= changed and stale == [] and needless == []


def test_with_a_public_url_only_its_own_host_is_stored(demo_app):
    demo_app.config["PUBLIC_URL"] = "https://films.example"
    reader = demo_app.test_client()
    with demo_app.app_context():
        slug = db.session.scalar(sa.select(Item.slug).order_by(Item.id).limit(1))
    for _ in range(2):
        forged = reader.get(f"/items/{slug}", base_url="http://attacker.example")
        assert forged.status_code == 200 and "attacker.example" in forged.get_data(as_text=True)
    with demo_app.app_context(), db.engine.connect() as connection:
        assert count_pages(connection) == 0
    reader.get(f"/items/{slug}", base_url="https://films.example")
    assert reader.get(f"/items/{slug}", base_url="https://films.example").headers["X-Page-Cache"] == "hit"
