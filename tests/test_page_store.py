"""The shared page store: a subject's pages kept once for every app server, dropped when what they show changes."""
from __future__ import annotations

import sqlalchemy as sa
from flask import template_rendered

from afterimage.catalog_version import read_version
from afterimage.extensions import db
from afterimage.models import CuratedList, Item, Tag
from afterimage.page_dependencies import SHALLOW_RANKS
from afterimage.page_store import count_pages, read_page, store_page
from afterimage.recommendations.models import Neighbour
from app import create_app
from bench.load_client import page_forms
from tests.test_page_cache import HIROSHIMA_WIDGET, VEGETARIAN
from tests.test_studio_fixtures import demo_author_client, post_form  # noqa: F401

HIROSHIMA = "/items/hiroshima-mon-amour-1959"
HIROSHIMA_API = "/api/v1/items/hiroshima-mon-amour-1959"
# The one item tagged Cooking: no recommendation list of the films edited below comes near it.
COOKBOOK = "/items/salt-fat-acid-heat-2017"


def stored_count(app) -> int:
    """How many pages the shared store holds."""
    with app.app_context(), db.engine.connect() as connection:
        return count_pages(connection)


def ids_by_slug(app, model=Item) -> dict[str, int]:
    """Every row's id by slug."""
    with app.app_context():
        return dict(db.session.execute(sa.select(model.slug, model.id)).all())


def edit_item(client, item_id: int, **changes):
    """Post the studio's edit form as the author would: every field as shown, some changed."""
    page = client.get(f"/studio/items/{item_id}").get_data(as_text=True)
    form = next(f for f in page_forms(page) if f["action"] in ("", f"/studio/items/{item_id}"))
    return client.post(f"/studio/items/{item_id}", data={**form["fields"], **changes})


def override(client, item_id: int, target_id: int, action: str):
    """Pin or hide one recommendation through the studio's button."""
    return post_form(client, f"/studio/items/{item_id}", {"action": action},
                     action=f"/studio/items/{item_id}/recommendations/{target_id}")


def cache_state(client, *paths: str) -> list[str]:
    """The X-Page-Cache answer for each path, in order."""
    return [client.get(path).headers.get("X-Page-Cache") for path in paths]


def text(client, path: str) -> str:
    """The page at path, as text."""
    return client.get(path).get_data(as_text=True)


def test_a_page_rendered_by_one_app_server_is_a_hit_on_another(demo_app):
    first = demo_app.test_client().get(VEGETARIAN)
    assert first.headers["X-Page-Cache"] == "miss"
    # A second app on the same database is another server process, with its own empty memory.
    other = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key",
                        "SQLALCHEMY_DATABASE_URI": demo_app.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        served = other.test_client().get(VEGETARIAN)
        assert served.headers["X-Page-Cache"] == "hit"
        assert served.get_data() == first.get_data()
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_new_title_reaches_its_page_and_the_pages_recommending_it_but_no_other(demo_app, demo_author_client):
    ids = ids_by_slug(demo_app)
    film = ids["hiroshima-mon-amour-1959"]
    with demo_app.app_context():
        shown = demo_app.config["RECOMMENDATIONS_PER_KIND"]
        recommender = db.session.scalar(sa.select(Item.slug).join(Neighbour, Neighbour.item_id == Item.id).where(
            Neighbour.neighbour_id == film, Neighbour.rank < shown).order_by(Item.id).limit(1))
    reader = demo_app.test_client()
    assert "Hiroshima mon amour" in text(reader, f"/items/{recommender}")
    assert cache_state(reader, HIROSHIMA, HIROSHIMA_API, COOKBOOK, f"/items/{recommender}") == ["miss"] * 3 + ["hit"]
    assert edit_item(demo_author_client, film, title="Hiroshima, My Love").status_code == 303
    assert "Hiroshima, My Love" in text(reader, HIROSHIMA)
    # The API answer reads no recommendation row: only the item's own name can drop it.
    assert reader.get(HIROSHIMA_API).get_json()["title"] == "Hiroshima, My Love"
    assert "Hiroshima, My Love" in text(reader, f"/items/{recommender}")
    assert cache_state(reader, COOKBOOK) == ["hit"]


def shown_lists(app, item_ids, scores: bool = False) -> dict[int, list]:
    """Each item's recommendation rows as its pages show them: order and reasons (and the API's scores)."""
    columns = [Neighbour.item_id, Neighbour.kind, Neighbour.rank, Neighbour.neighbour_id, Neighbour.reasons]
    with app.app_context():
        rows = db.session.execute(sa.select(*columns, *([Neighbour.score] if scores else []))
                                  .where(Neighbour.item_id.in_(item_ids))
                                  .order_by(Neighbour.item_id, Neighbour.kind, Neighbour.rank)).all()
    lists: dict[int, list] = {}
    for item_id, *shown in rows:
        lists.setdefault(item_id, []).append(shown)
    return lists


def test_a_new_rating_and_note_reach_the_items_page_and_leave_the_pages_recommending_it_stored(
        demo_app, demo_author_client):
    ids = ids_by_slug(demo_app)
    film = ids["hiroshima-mon-amour-1959"]
    with demo_app.app_context():
        shown = demo_app.config["RECOMMENDATIONS_PER_KIND"]
        recommenders = db.session.scalars(sa.select(Item.slug).join(Neighbour, Neighbour.item_id == Item.id).where(
            Neighbour.neighbour_id == film, Neighbour.rank < shown).order_by(Item.id)).all()
    pages = [path for slug in recommenders for path in (f"/items/{slug}", f"/widget/items/{slug}")]
    reader = demo_app.test_client()
    assert all("Hiroshima mon amour" in text(reader, path) for path in pages)
    assert cache_state(reader, HIROSHIMA, COOKBOOK, *pages) == ["miss", "miss"] + ["hit"] * len(pages)
    # Neither the rating nor the place to find it is in the model's text: no list moves.
    assert edit_item(demo_author_client, film, rating="2.5", where_to_find="Criterion Channel").status_code == 303
    page = text(reader, HIROSHIMA)
    assert "2.5 out of 5" in page and "Criterion Channel" in page
    assert cache_state(reader, *pages) == ["hit"] * len(pages)
    # The note is in the model's text: lists it reorders are drawn again, but a card shows no note, so
    # the lists it leaves as they were stay stored.
    before = shown_lists(demo_app, [ids[slug] for slug in recommenders])
    assert edit_item(demo_author_client, film, note="Seen again at the Cinémathèque.").status_code == 303
    assert "Seen again at the Cinémathèque." in text(reader, HIROSHIMA)
    after = shown_lists(demo_app, [ids[slug] for slug in recommenders])
    kept = [f"/items/{slug}" for slug in recommenders if before[ids[slug]] == after[ids[slug]]]
    assert kept, "the note changed every list recommending the film; pick another note"
    assert cache_state(reader, *kept, COOKBOOK) == ["hit"] * (len(kept) + 1)


def test_a_save_that_moves_only_the_far_ranks_of_a_list_keeps_its_pages_and_redraws_the_long_api_answer(
        demo_app, demo_author_client):
    ids = ids_by_slug(demo_app)
    slug_of = {item_id: slug for slug, item_id in ids.items()}
    film = ids["hiroshima-mon-amour-1959"]
    with demo_app.app_context():
        holders = sorted(set(db.session.scalars(sa.select(Neighbour.item_id).where(Neighbour.neighbour_id == film))))
    with_scores = shown_lists(demo_app, holders, scores=True)
    reader = demo_app.test_client()
    for item_id in holders:
        for path in (f"/items/{slug_of[item_id]}", f"/widget/items/{slug_of[item_id]}",
                     f"/api/v1/items/{slug_of[item_id]}/recommendations?limit=20"):
            reader.get(path)
    # Words no other item uses change the film's vector, and so its place and score in other lists.
    assert edit_item(demo_author_client, film, note="Zyxwv qwertz plugh xyzzy.").status_code == 303
    after = shown_lists(demo_app, holders, scores=True)
    shallow = SHALLOW_RANKS
    deep_only = [item_id for item_id in holders
                 if [r for r in with_scores[item_id] if r[1] < shallow] == [r for r in after[item_id] if r[1] < shallow]
                 and with_scores[item_id] != after[item_id]]
    assert deep_only, "the note moved no list only below its first ranks; pick another note or film"
    for item_id in deep_only:
        slug = slug_of[item_id]
        assert cache_state(reader, f"/items/{slug}", f"/widget/items/{slug}") == ["hit", "hit"]
        answer = reader.get(f"/api/v1/items/{slug}/recommendations?limit=20")
        assert answer.headers["X-Page-Cache"] == "miss"
        shown = [(r["item"]["slug"], r["score"]) for r in answer.get_json()["recommendations"]]
        stored = [(slug_of[r[2]], round(r[4], 4)) for r in sorted(after[item_id], key=lambda r: (r[0] != "film", r[1]))]
        assert shown == stored


def test_describing_a_tag_changes_its_stored_page_and_api_answer(demo_app, demo_author_client):
    tag = ids_by_slug(demo_app, Tag)["cooking"]
    reader = demo_app.test_client()
    pages = ("/tags/cooking", "/api/v1/tags/cooking", VEGETARIAN)
    assert cache_state(reader, *pages) == ["miss"] * 3
    response = post_form(demo_author_client, f"/studio/tags/{tag}",
                         {"name": "Cooking", "family": "", "description": "Salt, fat, acid, heat."})
    assert response.status_code == 303
    # Only the tag changed: a page that does not show it stays stored.
    assert "Salt, fat, acid, heat." in text(reader, pages[0])
    assert reader.get(pages[1]).get_json()["tag"]["description"] == "Salt, fat, acid, heat."
    assert cache_state(reader, pages[2]) == ["hit"]


def test_renaming_a_tag_redraws_the_pages_showing_it_and_keeps_the_others(demo_app, demo_author_client):
    tag = ids_by_slug(demo_app, Tag)["cooking"]
    reader = demo_app.test_client()
    showing = (COOKBOOK, "/tags/cooking", "/widget/tags/cooking", "/api/v1/tags/cooking")
    for path in showing:
        assert "Cooking" in text(reader, path)
    assert cache_state(reader, *showing, VEGETARIAN) == ["hit"] * 4 + ["miss"]
    response = post_form(demo_author_client, f"/studio/tags/{tag}",
                         {"name": "Kitchen", "family": "", "description": ""})
    assert response.status_code == 303
    page = text(reader, showing[0])
    assert ">Kitchen<" in page and ">Cooking<" not in page
    # The tag's old addresses redirect now, rather than serve what was stored under the old name.
    assert [reader.get(path).status_code for path in showing[1:]] == [301, 301, 301]
    assert "Kitchen" in text(reader, "/widget/tags/kitchen")
    assert cache_state(reader, VEGETARIAN) == ["hit"]


def test_pinning_and_hiding_in_the_studio_reach_the_stored_page_and_widget(demo_app, demo_author_client):
    ids = ids_by_slug(demo_app)
    film = ids["hiroshima-mon-amour-1959"]
    with demo_app.app_context():
        top = db.session.scalar(sa.select(Item.slug).join(Neighbour, Neighbour.neighbour_id == Item.id).where(
            Neighbour.item_id == film, Neighbour.kind == "film", Neighbour.rank == 0))
    reader = demo_app.test_client()
    for path in (HIROSHIMA, HIROSHIMA_WIDGET):
        page = text(reader, path)
        assert f"/items/{top}" in page and "/items/jaws-1975" not in page
    assert cache_state(reader, HIROSHIMA, HIROSHIMA_WIDGET) == ["hit", "hit"]
    assert override(demo_author_client, film, ids[top], "hide").status_code == 303
    assert override(demo_author_client, film, ids["jaws-1975"], "pin").status_code == 303
    for path in (HIROSHIMA, HIROSHIMA_WIDGET):
        page = text(reader, path)
        assert f"/items/{top}" not in page and "/items/jaws-1975" in page


def test_adding_an_item_to_a_list_shows_on_the_list_and_on_the_item(demo_app, demo_author_client):
    listed = "hiroshima-and-its-afterimages-films-and-books"
    pages = (f"/lists/{listed}", f"/api/v1/lists/{listed}", "/items/grave-of-the-fireflies-1988")
    # An entry of the list, not one of its recommendations (the film is one already).
    entry = '<h2><a href="/items/grave-of-the-fireflies-1988">'
    reader = demo_app.test_client()
    before = [text(reader, path) for path in pages]
    assert entry not in before[0] and "grave-of-the-fireflies-1988" not in before[1].split('"recommendations"')[0]
    assert f"/lists/{listed}" not in before[2]
    assert cache_state(reader, *pages) == ["hit"] * 3
    edit = f"/studio/lists/{ids_by_slug(demo_app, CuratedList)[listed]}"
    fireflies = ids_by_slug(demo_app)["grave-of-the-fireflies-1988"]
    assert post_form(demo_author_client, edit, {"item_id": str(fireflies)}, action=f"{edit}/entries").status_code == 303
    assert entry in text(reader, pages[0])
    assert "grave-of-the-fireflies-1988" in [i["slug"] for i in reader.get(pages[1]).get_json()["items"]]
    assert f"/lists/{listed}" in text(reader, pages[2])


def test_publishing_a_list_shows_it_on_the_stored_pages_of_its_items(demo_app, demo_author_client):
    response = post_form(demo_author_client, "/studio/lists/new", {"title": "Fireflies", "introduction": ""})
    edit = response.headers["Location"]
    fireflies = ids_by_slug(demo_app)["grave-of-the-fireflies-1988"]
    assert post_form(demo_author_client, edit, {"item_id": str(fireflies)}, action=f"{edit}/entries").status_code == 303
    reader = demo_app.test_client()
    # A draft is not shown on its items' pages: the stored page names no list.
    assert "/lists/fireflies" not in text(reader, "/items/grave-of-the-fireflies-1988")
    assert cache_state(reader, "/items/grave-of-the-fireflies-1988") == ["hit"]
    published = post_form(demo_author_client, edit, {"title": "Fireflies", "introduction": "", "published": "y",
                                                     "slug": "fireflies"})
    assert published.status_code == 303
    assert "/lists/fireflies" in text(reader, "/items/grave-of-the-fireflies-1988")


def test_a_write_around_the_orm_drops_every_page_and_a_rollback_drops_none(demo_app):
    reader = demo_app.test_client()
    assert cache_state(reader, VEGETARIAN, HIROSHIMA_WIDGET) == ["miss", "miss"]
    raw_edit = sa.text("UPDATE items SET title = 'Raw Title' WHERE slug = 'jaws-1975'")
    with demo_app.app_context():
        db.session.execute(raw_edit)
        db.session.rollback()
    assert cache_state(reader, VEGETARIAN, HIROSHIMA_WIDGET) == ["hit", "hit"]
    with demo_app.app_context():
        db.session.execute(raw_edit)
        db.session.commit()
    # The store cannot know which pages showed the row: none survives.
    assert stored_count(demo_app) == 0


def test_a_page_rendered_while_an_edit_commits_is_served_but_not_stored(demo_app):
    def edit_during_render(sender, template, context, **extra):
        # Another request's commit lands after this render read the catalog and before it is stored.
        with demo_app.app_context():
            item = db.session.scalar(sa.select(Item).where(Item.slug == "the-vegetarian-2007"))
            item.description = "Edited meanwhile."
            db.session.commit()

    reader = demo_app.test_client()
    with template_rendered.connected_to(edit_during_render, demo_app):
        raced = reader.get(VEGETARIAN)
    assert raced.status_code == 200 and "Edited meanwhile." not in raced.get_data(as_text=True)
    assert raced.headers["X-Page-Cache"] != "miss"
    assert stored_count(demo_app) == 0
    assert "Edited meanwhile." in text(reader, VEGETARIAN)


def test_storing_a_page_rendered_before_the_last_commit_is_refused(demo_app):
    with demo_app.app_context():
        now = read_version(db.engine)
        key = "http://localhost/items/the-vegetarian-2007?"
        assert not store_page(db.engine, key, now - 1, b"<p>stale</p>", [], {"items:1"})
        assert read_page(db.engine, key) is None
    assert stored_count(demo_app) == 0


def test_unbounded_variants_and_readers_with_a_liked_cookie_are_not_stored(demo_app):
    reader = demo_app.test_client()
    assert cache_state(reader, HIROSHIMA_WIDGET) == ["miss"]
    assert stored_count(demo_app) == 1
    # Leading zeros would make a page per zero, and an accent colour sixteen million pages.
    for query in ("limit=0005", "limit=00005", "accent=abcdef", "accent=123456"):
        assert reader.get(f"{HIROSHIMA_WIDGET}?{query}").status_code == 200, query
    for path in (f"{HIROSHIMA_API}/recommendations?limit=03", f"{HIROSHIMA_API}/recommendations?limit=003"):
        assert reader.get(path).status_code == 200, path
    fan = demo_app.test_client()
    fan.set_cookie("liked", "the-vegetarian-2007")
    assert fan.get(VEGETARIAN).status_code == 200
    assert stored_count(demo_app) == 1


def test_baking_stores_every_subject_page_once_and_clear_empties_the_store(demo_app):
    runner = demo_app.test_cli_runner()
    with demo_app.app_context():
        items = db.session.scalar(sa.select(sa.func.count(Item.id)))
        tags = db.session.scalar(sa.select(sa.func.count(Tag.id)))
        lists = db.session.scalar(sa.select(sa.func.count(CuratedList.id)).where(CuratedList.published))
    # An item page, its widget and its recommendations; a page and a widget per tag and published list.
    expected = 3 * items + 2 * tags + 2 * lists
    baked = runner.invoke(args=["pages", "bake", "--base-url", "http://localhost"])
    assert baked.exit_code == 0, baked.output
    assert f": {expected} stored." in baked.output
    assert stored_count(demo_app) == expected
    again = runner.invoke(args=["pages", "bake", "--base-url", "http://localhost"])
    assert f": {expected} already stored." in again.output
    # Baked for the address readers use, so the first reader gets a stored page.
    assert cache_state(demo_app.test_client(), VEGETARIAN, "/api/v1/items/jaws-1975/recommendations") == ["hit", "hit"]
    assert runner.invoke(args=["pages", "status"]).output.startswith(f"{expected} pages stored")
    assert runner.invoke(args=["pages", "clear"]).exit_code == 0
    assert stored_count(demo_app) == 0
    assert runner.invoke(args=["pages", "status"]).output.startswith("0 pages stored")
