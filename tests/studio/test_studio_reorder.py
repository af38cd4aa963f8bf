"""Entry moves, notes, removals, pins and hides answer the studio's scripts in JSON (no reload), and the
plain forms still post and come back without JavaScript."""
from __future__ import annotations

import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item
from afterimage.extensions import db
from tests.conftest import csrf_token_from
from tests.studio.test_studio_fixtures import demo_author_client, post_form  # noqa: F401

FETCH = {"X-Requested-With": "fetch", "Accept": "application/json"}


def first_list(app) -> tuple[int, list[int]]:
    """The first list's id and entry ids."""
    with app.app_context():
        curated = db.session.scalar(sa.select(CuratedList).order_by(CuratedList.id).limit(1))
        return curated.id, [e.id for e in curated.entries]


def order_of(app, list_id: int) -> list[int]:
    """Entry ids as stored."""
    with app.app_context():
        return [e.id for e in db.session.get(CuratedList, list_id).entries]


def token(client, list_id: int) -> str:
    """A CSRF token from the list's edit page."""
    return csrf_token_from(client.get(f"/studio/lists/{list_id}").get_data(as_text=True))


def test_a_move_from_the_script_answers_json_with_the_new_order(demo_app, demo_author_client):
    list_id, entries = first_list(demo_app)
    response = demo_author_client.post(f"/studio/lists/{list_id}/entries/{entries[0]}/move", headers=FETCH,
                                       data={"csrf_token": token(demo_author_client, list_id), "direction": "down"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] and body["order"] == [entries[1], entries[0], *entries[2:]]
    assert body["message"].endswith(f"to position 2 of {len(entries)}.")
    assert order_of(demo_app, list_id) == body["order"]


def test_without_javascript_a_move_posts_and_comes_back_to_the_entry(demo_app, demo_author_client):
    list_id, entries = first_list(demo_app)
    response = post_form(demo_author_client, f"/studio/lists/{list_id}", {"direction": "up"},
                         action=f"/studio/lists/{list_id}/entries/{entries[1]}/move")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#entry-{entries[1]}")
    assert order_of(demo_app, list_id)[:2] == [entries[1], entries[0]]


def test_the_first_entry_has_no_up_button_and_the_last_no_down_button_without_javascript(demo_app, demo_author_client):
    list_id, entries = first_list(demo_app)
    html = demo_author_client.get(f"/studio/lists/{list_id}").get_data(as_text=True)
    first = html[html.index(f'id="entry-{entries[0]}"'):html.index(f'id="entry-{entries[1]}"')]
    assert 'data-entry-action="up" hidden' in first and 'data-entry-action="down">' in first
    assert 'aria-describedby="reorder-help"' in first and 'role="status"' in html


def test_an_order_that_leaves_out_an_entry_is_refused_and_changes_nothing(demo_app, demo_author_client):
    list_id, entries = first_list(demo_app)
    response = demo_author_client.post(f"/studio/lists/{list_id}/order", headers=FETCH,
                                       data={"csrf_token": token(demo_author_client, list_id),
                                             "entry": [entries[1], entries[1], *entries[2:]]})
    assert response.status_code == 409 and not response.get_json()["ok"]
    assert order_of(demo_app, list_id) == entries


def test_notes_and_removals_from_the_script_answer_json(demo_app, demo_author_client):
    list_id, entries = first_list(demo_app)
    csrf = token(demo_author_client, list_id)
    note = demo_author_client.post(f"/studio/lists/{list_id}/entries/{entries[0]}/note", headers=FETCH,
                                   data={"csrf_token": csrf, "note": "  Start here.  "})
    assert note.get_json()["ok"] and note.get_json()["message"].startswith("Saved the note for ")
    removed = demo_author_client.post(f"/studio/lists/{list_id}/entries/{entries[1]}/remove", headers=FETCH,
                                      data={"csrf_token": csrf})
    assert removed.get_json()["order"] == [entries[0], *entries[2:]]
    with demo_app.app_context():
        curated = db.session.get(CuratedList, list_id)
        assert curated.entries[0].note == "Start here."
        assert [e.position for e in curated.entries] == list(range(len(entries) - 1))


def test_pinning_from_the_script_answers_the_section_drawn_afresh(demo_app, demo_author_client):
    from afterimage.recommendations import studio_recommendations

    with demo_app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.title == "Hiroshima mon amour"))
        item_id, last = item.id, studio_recommendations(item, "film")[-1].item.id
    csrf = csrf_token_from(demo_author_client.get(f"/studio/items/{item_id}").get_data(as_text=True))
    response = demo_author_client.post(f"/studio/items/{item_id}/recommendations/{last}", headers=FETCH,
                                       data={"csrf_token": csrf, "action": "pin"})
    body = response.get_json()
    assert response.status_code == 200 and body["ok"] and body["message"].startswith("Pinned ")
    assert body["html"].lstrip().startswith('<section id="recommendations"')
    first_row = body["html"][body["html"].index("<li"):]
    assert f'data-target-id="{last}"' in first_row[:first_row.index("</li>")] and "Pinned" in first_row[:first_row.index("</li>")]
