"""Tags (rename, merge, delete) and curated lists (create, entries, notes, order, publish) in the studio."""
from __future__ import annotations

import re
from collections import Counter

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item, ListEntry, Tag
from afterimage.catalog.search import search_items
from afterimage.extensions import db
from tests.conftest import built_once, csrf_token_from
from afterimage.catalog.rules import ItemFields, get_or_create_tag, save_item
from tests.studio.test_studio_fixtures import add_author, post_form, start_signed_in
from tests.studio.test_studio_pages import csp_offences

SMALL_CATALOG = [
    ("film", "Hiroshima mon amour", 1959, ["War", "Memory", "Left Bank", "French New Wave"]),
    ("film", "Night and Fog", 1956, ["War", "Memory", "Left Bank"]),
    ("film", "Cléo from 5 to 7", 1962, ["Left Bank", "French New Wave"]),
    ("book", "Human Acts", 2014, ["Memory", "Gwangju"]),
]


def add_small_catalog() -> None:
    """A small catalog in the demo's image (four items, five tags, one list): quicker than the full demo."""
    get_or_create_tag("Gwangju", family="place")
    for kind, title, year, tags in SMALL_CATALOG:
        save_item(ItemFields(kind=kind, title=title, year=year, tags=tags, description=f"About {title}."))
    db.session.flush()
    curated = CuratedList(title="Remembering", slug="remembering", introduction="Two ways to remember.")
    db.session.add(curated)
    curated.entries.append(ListEntry(item=db.session.scalar(sa.select(Item).where(Item.year == 1959)), note="First."))
    curated.entries.append(ListEntry(item=db.session.scalar(sa.select(Item).where(Item.year == 2014)), note="Second."))
    db.session.commit()


@pytest.fixture
def demo_app(app, request):
    """The app with add_small_catalog's catalog."""
    built_once(app, request, add_small_catalog)
    return app


@pytest.fixture
def demo_author_client(demo_app, client):
    """A signed-in author on the small catalog."""
    add_author(demo_app)
    start_signed_in(demo_app, client)
    return client


def tag_named(name: str) -> Tag:
    """The demo tag with this name."""
    return db.session.scalar(sa.select(Tag).where(Tag.name == name))


def test_the_tag_index_lists_every_tag_with_its_count(demo_app, demo_author_client):
    with demo_app.app_context():
        get_or_create_tag("Unused so far")
        db.session.commit()
    html = demo_author_client.get("/studio/tags").get_data(as_text=True)
    rows = re.findall(r'<tr><td><a href="/studio/tags/(\d+)">([^<]+)</a></td><td>(\d+)</td>'
                      r'<td><a href="/tags/([^"]+)">', html)
    # Expected counts from the catalog as written above, not from the query behind the page.
    counts = {**Counter(tag for _, _, _, tags in SMALL_CATALOG for tag in tags), "Unused so far": 0}
    assert {name: int(count) for _, name, count, _ in rows} == counts
    assert [name for _, name, _, _ in rows] == sorted(counts, key=str.casefold)
    with demo_app.app_context():
        tags = {t.id: t.slug for t in db.session.scalars(sa.select(Tag))}
    assert {int(tag_id): slug for tag_id, _, _, slug in rows} == tags


def test_renaming_a_tag_changes_its_slug_redirects_the_old_one_and_refreshes_search(demo_app, demo_author_client):
    with demo_app.app_context():
        tag = tag_named("Left Bank")
        tag_id, count = tag.id, len(tag.items)
    response = post_form(demo_author_client, f"/studio/tags/{tag_id}", {"name": "Rive Gauche", "family": "french-new-wave",
                                                                       "description": "Resnais, Varda, Marker."})
    assert response.status_code == 303
    assert "Saved the tag Rive Gauche." in demo_author_client.get(response.headers["Location"]).get_data(as_text=True)
    old = demo_author_client.get("/tags/left-bank")
    assert old.status_code == 301 and old.headers["Location"].endswith("/tags/rive-gauche")
    assert "Rive Gauche" in demo_author_client.get("/tags/rive-gauche").get_data(as_text=True)
    with demo_app.app_context():
        assert len(db.session.scalars(search_items("rive gauche")).all()) == count
        assert db.session.get(Tag, tag_id).family == "french-new-wave"


def test_renaming_a_tag_to_an_existing_name_suggests_merging(demo_app, demo_author_client):
    with demo_app.app_context():
        tag_id = tag_named("Left Bank").id
    html = post_form(demo_author_client, f"/studio/tags/{tag_id}", {"name": "memory"}).get_data(as_text=True)
    assert "A tag called Memory already exists: merge into it instead." in html


def test_merging_a_tag_moves_its_items_and_redirects_its_slug(demo_app, demo_author_client):
    with demo_app.app_context():
        source, target = tag_named("Left Bank"), tag_named("Memory")
        source_id, target_id = source.id, target.id
        expected = {i.id for i in source.items} | {i.id for i in target.items}
    response = post_form(demo_author_client, f"/studio/tags/{source_id}", {"merge-target": str(target_id)},
                         action=f"/studio/tags/{source_id}/merge")
    assert response.status_code == 303
    assert "Merged Left Bank into Memory" in demo_author_client.get(response.headers["Location"]).get_data(as_text=True)
    with demo_app.app_context():
        assert db.session.get(Tag, source_id) is None
        assert {i.id for i in db.session.get(Tag, target_id).items} == expected
    moved = demo_author_client.get("/tags/left-bank")
    assert moved.status_code == 301 and moved.headers["Location"].endswith("/tags/memory")


def test_deleting_a_tag_asks_first_and_items_keep_everything_else(demo_app, demo_author_client):
    with demo_app.app_context():
        tag = tag_named("Left Bank")
        tag_id, item_ids = tag.id, [i.id for i in tag.items]
        before = {i: (db.session.get(Item, i).title, len(db.session.get(Item, i).tags)) for i in item_ids}
    confirm = demo_author_client.get(f"/studio/tags/{tag_id}/delete").get_data(as_text=True)
    assert "This cannot be undone." in confirm
    response = demo_author_client.post(f"/studio/tags/{tag_id}/delete", data={"csrf_token": csrf_token_from(confirm)})
    assert response.status_code == 303
    assert demo_author_client.get("/tags/left-bank").status_code == 404
    with demo_app.app_context():
        for item_id, (title, tags) in before.items():
            item = db.session.get(Item, item_id)
            assert (item.title, len(item.tags)) == (title, tags - 1)


def new_list(client, title: str = "Cities after the war", published: bool = False):
    """Create a list through the form; returns its edit URL."""
    data = {"title": title, "introduction": "Rubble and what grows on it."}
    if published:
        data["published"] = "y"
    response = post_form(client, "/studio/lists/new", data)
    assert response.status_code == 303
    return response.headers["Location"]


def item_id(title: str) -> int:
    """A demo item's id by title."""
    return db.session.scalar(sa.select(Item.id).where(Item.title == title))


def test_a_new_list_is_a_draft_until_published(demo_app, demo_author_client):
    edit = new_list(demo_author_client)
    with demo_app.app_context():
        curated = db.session.scalar(sa.select(CuratedList).where(CuratedList.title == "Cities after the war"))
        assert not curated.published
        slug = curated.slug
    assert demo_author_client.get(f"/lists/{slug}").status_code == 404
    response = post_form(demo_author_client, edit, {"title": "Cities after the war", "introduction": "Rubble.",
                                                     "published": "y", "slug": slug})
    assert response.status_code == 303
    assert "Rubble." in demo_author_client.get(f"/lists/{slug}").get_data(as_text=True)


def test_a_list_without_a_title_is_refused(demo_author_client):
    html = post_form(demo_author_client, "/studio/lists/new", {"title": " "}).get_data(as_text=True)
    assert "A list needs a title." in html


def test_searching_adds_items_with_notes_and_the_order_can_change(demo_app, demo_author_client):
    edit = new_list(demo_author_client, published=True)
    page = demo_author_client.get(edit + "?q=hiroshima").get_data(as_text=True)
    assert "Hiroshima mon amour" in page and ">Add<" in page
    with demo_app.app_context():
        first, second, third = item_id("Hiroshima mon amour"), item_id("Human Acts"), item_id("Night and Fog")
        list_id = db.session.scalar(sa.select(CuratedList.id).where(CuratedList.title == "Cities after the war"))
    for target in (first, second, third):
        response = post_form(demo_author_client, edit, {"item_id": str(target), "q": "x"},
                             action=f"/studio/lists/{list_id}/entries")
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/studio/lists/{list_id}?q=x#entries")  # her search stays
    again = post_form(demo_author_client, edit, {"item_id": str(first)}, action=f"/studio/lists/{list_id}/entries")
    assert "already on the list" in demo_author_client.get(again.headers["Location"]).get_data(as_text=True)

    with demo_app.app_context():
        entries = {e.item_id: e.id for e in db.session.get(CuratedList, list_id).entries}
    post_form(demo_author_client, edit, {"note": "Where it began."}, action=f"/studio/lists/{list_id}/entries/{entries[first]}/note")
    post_form(demo_author_client, edit, {"direction": "up"}, action=f"/studio/lists/{list_id}/entries/{entries[third]}/move")
    with demo_app.app_context():
        curated = db.session.get(CuratedList, list_id)
        assert [e.item_id for e in curated.entries] == [first, third, second]
        assert [e.position for e in curated.entries] == [0, 1, 2]
        assert curated.entries[0].note == "Where it began."
        slug = curated.slug
    public = demo_author_client.get(f"/lists/{slug}").get_data(as_text=True)
    public = public[public.index('<ol class="entries">'):]
    assert public.index("Hiroshima mon amour") < public.index("Night and Fog") < public.index("Human Acts")
    assert "Where it began." in public

    # Drag and drop posts the whole order at once.
    token = csrf_token_from(demo_author_client.get(edit).get_data(as_text=True))
    response = demo_author_client.post(f"/studio/lists/{list_id}/order", headers={"X-Requested-With": "fetch"},
                                       data={"csrf_token": token, "entry": [entries[second], entries[first], entries[third]]})
    assert response.status_code == 200 and response.get_json()["ok"]
    bad = demo_author_client.post(f"/studio/lists/{list_id}/order", data={"csrf_token": token, "entry": [entries[first]]})
    assert bad.status_code == 400
    with demo_app.app_context():
        assert [e.item_id for e in db.session.get(CuratedList, list_id).entries] == [second, first, third]

    post_form(demo_author_client, edit, {}, action=f"/studio/lists/{list_id}/entries/{entries[first]}/remove")
    with demo_app.app_context():
        assert [e.item_id for e in db.session.get(CuratedList, list_id).entries] == [second, third]
        assert db.session.get(Item, first) is not None


def test_the_list_page_offers_drag_and_drop_from_a_static_script_and_buttons_without_it(demo_app, demo_author_client):
    with demo_app.app_context():
        list_id = db.session.scalar(sa.select(CuratedList.id).limit(1))
    html = demo_author_client.get(f"/studio/lists/{list_id}").get_data(as_text=True)
    assert re.search(r'<script src="/static/js/studio-lists\.js\?v=\w+" defer></script>', html)
    assert "↓ Down" in html and "Remove from list" in html
    assert csp_offences(html) == []


def test_changing_a_list_slug_keeps_the_old_address(demo_app, demo_author_client):
    with demo_app.app_context():
        curated = db.session.scalar(sa.select(CuratedList).where(CuratedList.published).limit(1))
        list_id, old, title = curated.id, curated.slug, curated.title
    response = post_form(demo_author_client, f"/studio/lists/{list_id}", {"title": title, "published": "y", "slug": "renamed list"})
    assert response.status_code == 303
    moved = demo_author_client.get(f"/lists/{old}")
    assert moved.status_code == 301 and moved.headers["Location"].endswith("/lists/renamed-list")


def test_deleting_a_list_keeps_its_items(demo_app, demo_author_client):
    with demo_app.app_context():
        curated = db.session.scalar(sa.select(CuratedList).limit(1))
        list_id, item_ids = curated.id, [e.item_id for e in curated.entries]
    confirm = demo_author_client.get(f"/studio/lists/{list_id}/delete").get_data(as_text=True)
    assert "This cannot be undone." in confirm
    demo_author_client.post(f"/studio/lists/{list_id}/delete", data={"csrf_token": csrf_token_from(confirm)})
    with demo_app.app_context():
        assert db.session.get(CuratedList, list_id) is None
        assert db.session.scalar(sa.select(sa.func.count(ListEntry.id)).where(ListEntry.list_id == list_id)) == 0
        assert all(db.session.get(Item, i) for i in item_ids)


def test_the_dashboard_counts_the_catalog_and_links_to_everything(demo_author_client):
    html = demo_author_client.get("/studio/").get_data(as_text=True)
    for link in ("/studio/items", "/studio/tags", "/studio/lists", "/studio/import", "/studio/export.json",
                 "/studio/export.csv", "/studio/items/new", "/studio/password"):
        assert f'href="{link}' in html
    assert "films seen" in html and "Recent edits" in html


def test_saving_a_tag_keeps_a_colour_family_the_form_does_not_list(demo_app, demo_author_client):
    with demo_app.app_context():
        tag = db.session.scalar(sa.select(Tag).where(Tag.family == "place"))
        tag.family = "city-symphony"
        db.session.commit()
        tag_id, name = tag.id, tag.name
    form = demo_author_client.get(f"/studio/tags/{tag_id}").get_data(as_text=True)
    assert '<option selected value="city-symphony">' in form or 'value="city-symphony" selected' in form
    response = post_form(demo_author_client, f"/studio/tags/{tag_id}", {"name": name, "family": "city-symphony"})
    assert response.status_code == 303
    with demo_app.app_context():
        assert db.session.get(Tag, tag_id).family == "city-symphony"
