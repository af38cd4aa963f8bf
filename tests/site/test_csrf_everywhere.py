"""Every state-changing route refuses a forged request: no token, a wrong token, another session's token.

The loop walks the app's URL map, so a route added later is covered (or the test says how to cover it). Each
route is called with real ids from the demo catalog and a form that succeeds with the right token (the control
at the end proves it), so a 400 and an unchanged database can only mean the CSRF check refused it.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, DiaryEntry, Item, Tag
from afterimage.extensions import db
from afterimage.recommendations import studio_recommendations
from afterimage.recommendations import refit as recommendation_refit
from app import create_app
from tests.conftest import csrf_token_from
from tests.studio.test_studio_fixtures import PASSWORD, add_author, sign_in

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
HIROSHIMA = "hiroshima-mon-amour-1959"
# Routes that take no CSRF token on purpose, with the reason and how they are protected instead.
EXEMPT = {
    # A reader's liked set lives in their own cookie (no database write, no session for readers);
    # a cross-site form is refused with 403 from Fetch metadata or Origin (public/routes.py).
    "public.toggle_liked",
}
# Routes whose accepted request writes no row, and what it does instead.
WRITES_NOTHING = {
    "studio.import_file": "an upload is only read and previewed; applying the preview (studio.import_preview) writes",
}
WATCHLIST_CSV = b"Date,Name,Year,Letterboxd URI\r\n2023-03-01,Stalker,1979,https://boxd.it/2z\r\n"


@dataclass
class FormPost:
    """A request that succeeds when it carries the session's CSRF token."""

    url: str | Callable[[object], str]  # a function of the client when the address needs a step first
    data: dict = field(default_factory=dict)
    upload: tuple[bytes, str] | None = None

    def send(self, client, token: str | None):
        """POST the form, with the token in it when one is given."""
        url = self.url(client) if callable(self.url) else self.url
        data = dict(self.data)
        if token is not None:
            data["csrf_token"] = token
        if self.upload is not None:
            data["file"] = (io.BytesIO(self.upload[0]), self.upload[1])
            return client.post(url, data=data, content_type="multipart/form-data")
        return client.post(url, data=data)


def demo_posts(app) -> dict[str, FormPost]:
    """A working request for every state-changing route, filled with ids and slugs from the demo catalog."""
    with app.app_context():
        hiroshima = db.session.scalar(sa.select(Item).where(Item.slug == HIROSHIMA))
        target = studio_recommendations(hiroshima, "film")[0].item
        left_bank = db.session.scalar(sa.select(Tag).where(Tag.name == "Left Bank"))
        memory = db.session.scalar(sa.select(Tag).where(Tag.name == "Memory"))
        curated = db.session.scalars(sa.select(CuratedList).order_by(CuratedList.id)).first()
        entries = [e.id for e in curated.entries]
        on_list = {e.item_id for e in curated.entries}
        off_list = db.session.scalar(sa.select(Item.id).where(Item.id.not_in(on_list)).limit(1))
        if not hiroshima.diary_entries:  # the demo diary has her August rewatches; a day to work on in any case
            hiroshima.diary_entries.append(DiaryEntry(seen_on=date(2024, 8, 12)))
            db.session.commit()
        diary_entry = hiroshima.diary_entries[0].id
        item_id, list_id = hiroshima.id, curated.id
        target_id, tag_id, other_tag_id = target.id, left_bank.id, memory.id
        db.session.remove()
    assert len(entries) >= 3
    studio_list = f"/studio/lists/{list_id}"
    return {
        "public.toggle_liked": FormPost(f"/liked/{HIROSHIMA}", {"next": "/liked"}),
        "studio.sign_in": FormPost("/studio/sign-in", {"name": "Mina", "password": PASSWORD}),
        "studio.sign_out": FormPost("/studio/sign-out"),
        "studio.change_password": FormPost(
            "/studio/password", {"current": PASSWORD, "new": "a brand new passphrase", "confirm": "a brand new passphrase"}
        ),
        "studio.item_new": FormPost("/studio/items/new", {"kind": "film", "title": "Stalker", "year": "1979", "status": "seen"}),
        "studio.item_edit": FormPost(
            f"/studio/items/{item_id}", {"kind": "film", "title": "Hiroshima, my love", "year": "1959", "status": "seen"}
        ),
        "studio.item_delete": FormPost(f"/studio/items/{item_id}/delete"),
        "studio.diary_edit": FormPost(f"/studio/items/{item_id}/diary", {"seen_on": "2025-08-03", "rewatch": "y"}),
        "studio.diary_rewatch": FormPost(f"/studio/items/{item_id}/diary/{diary_entry}/rewatch"),
        "studio.diary_remove": FormPost(f"/studio/items/{item_id}/diary/{diary_entry}/delete"),
        "studio.recommendation_override": FormPost(
            f"/studio/items/{item_id}/recommendations/{target_id}", {"action": "pin"}
        ),
        "studio.tag_edit": FormPost(f"/studio/tags/{tag_id}", {"name": "Rive Gauche", "family": "", "description": "New."}),
        "studio.tag_merge": FormPost(f"/studio/tags/{tag_id}/merge", {"merge-target": str(other_tag_id)}),
        "studio.tag_delete": FormPost(f"/studio/tags/{tag_id}/delete"),
        "studio.list_new": FormPost("/studio/lists/new", {"title": "Films about rivers", "published": "y"}),
        "studio.list_edit": FormPost(studio_list, {"title": "Renamed", "introduction": "New.", "published": "y"}),
        "studio.list_add_item": FormPost(f"{studio_list}/entries", {"item_id": str(off_list)}),
        "studio.entry_note": FormPost(f"{studio_list}/entries/{entries[0]}/note", {"note": "A forged note."}),
        "studio.entry_move": FormPost(f"{studio_list}/entries/{entries[0]}/move", {"direction": "down"}),
        "studio.list_order": FormPost(f"{studio_list}/order", {"entry": [str(e) for e in reversed(entries)]}),
        "studio.entry_remove": FormPost(f"{studio_list}/entries/{entries[0]}/remove"),
        "studio.list_delete": FormPost(f"{studio_list}/delete"),
        "studio.import_file": FormPost("/studio/import", upload=(WATCHLIST_CSV, "watchlist.csv")),
        "studio.import_preview": FormPost(previewed_import, data={"do": "apply"}),
    }


def previewed_import(client) -> str:
    """The address of a preview of WATCHLIST_CSV, uploaded by this client (a made-up one for a stranger)."""
    page = client.get("/studio/import")
    if page.status_code != 200:
        return "/studio/import/" + "A" * 43
    response = client.post("/studio/import", data={
        "csrf_token": csrf_token_from(page.get_data(as_text=True)), "file": (io.BytesIO(WATCHLIST_CSV), "watchlist.csv"),
    }, content_type="multipart/form-data")
    return response.headers["Location"]


def state_changing_endpoints(app) -> dict[str, str]:
    """Every endpoint of the URL map that accepts POST, PUT, PATCH or DELETE, with its rule."""
    return {
        rule.endpoint: rule.rule for rule in app.url_map.iter_rules() if rule.methods & STATE_CHANGING
    }


# Read from the factory when the module is collected, so every route gets its own test case.
ENDPOINTS = sorted(state_changing_endpoints(create_app({
    "TESTING": True, "SECRET_KEY": "collect", "SQLALCHEMY_DATABASE_URI": "sqlite://",
})))


def database_fingerprint(app) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every row of every table (ordered by primary key)."""
    recommendation_refit.wait_for_refit(120)
    fingerprint = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            fingerprint[table.name] = (len(rows), hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest())
        db.session.remove()
    return fingerprint


def changed_tables(before: dict, after: dict) -> list[str]:
    """The tables whose rows differ."""
    return sorted(name for name in before if before[name] != after[name])


def signed_in_client(app, name: str):
    """A new client signed in as this author (who is created first)."""
    add_author(app, name)
    client = app.test_client()
    assert sign_in(client, name=name).status_code == 303
    return client


def forged_tokens(own_page_html: str, other_client) -> dict[str, str | None]:
    """The three forgeries: no token, a token-shaped string, and a token another session really holds."""
    own = csrf_token_from(own_page_html)
    other = csrf_token_from(other_client.get("/studio/").get_data(as_text=True))
    assert other != own
    return {"no token": None, "wrong token": own[:-6] + "AAAAAA", "another session's token": other}


def test_the_table_covers_every_state_changing_route(demo_app):
    """A new POST route must be added to demo_posts(), so the tests below check it too."""
    assert set(state_changing_endpoints(demo_app)) == set(demo_posts(demo_app))


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_signed_in_forged_post_is_refused_and_changes_nothing(demo_app, endpoint):
    author = signed_in_client(demo_app, "Mina")
    other = signed_in_client(demo_app, "Noor")
    post = demo_posts(demo_app)[endpoint]
    forgeries = forged_tokens(author.get("/studio/").get_data(as_text=True), other)
    before = database_fingerprint(demo_app)
    if endpoint in EXEMPT:
        for what, token in forgeries.items():
            assert post.send(author, token).status_code == 303, what
        refused = author.post(post.url, data=post.data, headers={"Sec-Fetch-Site": "cross-site"})
        assert refused.status_code == 403
        assert changed_tables(before, database_fingerprint(demo_app)) == []
        return
    for what, token in forgeries.items():
        response = post.send(author, token)
        assert response.status_code == 400, f"{endpoint} with {what}: {response.status_code}"
        assert "CSRF" in response.get_data(as_text=True), f"{endpoint} with {what}"
        assert changed_tables(before, database_fingerprint(demo_app)) == [], f"{endpoint} with {what}"
    # Control: the same request with the session's own token does what it says, so the refusals above
    # were the CSRF check and not a form the route would have refused anyway.
    token = csrf_token_from(author.get("/studio/").get_data(as_text=True))
    accepted = post.send(author, token)
    assert accepted.status_code in (200, 303), f"{endpoint} with its own token: {accepted.status_code}"
    if endpoint in WRITES_NOTHING:
        assert accepted.status_code == 303, f"{endpoint} with its own token: {WRITES_NOTHING[endpoint]}"
        return
    assert changed_tables(before, database_fingerprint(demo_app)) != [], f"{endpoint} with its own token changed nothing"


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", sorted(set(ENDPOINTS) - EXEMPT))
def test_a_signed_out_forged_post_is_refused_and_changes_nothing(demo_app, endpoint):
    author = signed_in_client(demo_app, "Mina")
    stranger = demo_app.test_client()
    post = demo_posts(demo_app)[endpoint]
    forgeries = forged_tokens(stranger.get("/studio/sign-in").get_data(as_text=True), author)
    before = database_fingerprint(demo_app)
    for what, token in forgeries.items():
        response = post.send(stranger, token)
        assert response.status_code == 400, f"{endpoint} with {what}: {response.status_code}"
        assert changed_tables(before, database_fingerprint(demo_app)) == [], f"{endpoint} with {what}"
