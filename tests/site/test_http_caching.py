"""HTTP caching as readers, her blog and a caching proxy meet it: validators, lifetimes, 304s, and what they
must never hide (her edits, a deploy, her own signed-in pages)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import template_rendered

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.extensions import db
from afterimage.recommendations.models import Neighbour
from bench.load_client import page_forms
from tests.studio.test_studio_fixtures import demo_author_client, post_form  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
HIROSHIMA = "/items/hiroshima-mon-amour-1959"
HIROSHIMA_WIDGET = "/widget/items/hiroshima-mon-amour-1959"
HIROSHIMA_API = "/api/v1/items/hiroshima-mon-amour-1959"
# One page of each cacheable kind a reader, a feed reader or her blog asks for.
CACHEABLE = (
    "/", "/items", "/items?kind=book&sort=year", HIROSHIMA, "/tags", "/tags/memory", "/lists",
    "/lists/hiroshima-and-its-afterimages-films-and-books", "/search?q=resnais", "/liked?items=jaws-1975",
    HIROSHIMA_WIDGET, "/widget/tags/memory", "/widget/", "/widget.js", f"/oembed?url=http://localhost{HIROSHIMA}",
    HIROSHIMA_API, f"{HIROSHIMA_API}/recommendations", "/api/v1/items", "/api/v1/tags/memory",
    "/feeds/items.atom", "/covers/hiroshima-mon-amour-1959.svg",
)


class Browser:
    """A reader's browser cache: keeps each page with its ETag and revalidates it with If-None-Match."""

    def __init__(self, client) -> None:
        self.client = client
        self.kept: dict[str, tuple[str, str]] = {}
        self.not_modified = 0

    def get(self, path: str) -> str:
        """The page as the reader sees it: the kept copy after a 304, the new one after a 200."""
        headers = {"If-None-Match": self.kept[path][0]} if path in self.kept else {}
        response = self.client.get(path, headers=headers)
        if response.status_code == 304:
            self.not_modified += 1
            return self.kept[path][1]
        assert response.status_code == 200, (path, response.status_code)
        body = response.get_data(as_text=True)
        if response.headers.get("ETag"):
            self.kept[path] = (response.headers["ETag"], body)
        return body


def ids_by_slug(app, model=Item) -> dict[str, int]:
    """Every row's id by slug."""
    with app.app_context():
        return dict(db.session.execute(sa.select(model.slug, model.id)).all())


def edit_item(client, item_id: int, **changes):
    """Post the studio's edit form as the author would: every field as shown, some changed."""
    page = client.get(f"/studio/items/{item_id}").get_data(as_text=True)
    form = next(f for f in page_forms(page) if f["action"] in ("", f"/studio/items/{item_id}"))
    return client.post(f"/studio/items/{item_id}", data={**form["fields"], **changes})


@pytest.mark.parametrize("path", CACHEABLE)
def test_every_anonymous_page_is_cacheable_and_revalidates_with_a_304(demo_client, path):
    first = demo_client.get(path)
    assert first.status_code == 200
    cache_control = first.headers["Cache-Control"]
    assert "public" in cache_control and "private" not in cache_control and "no-store" not in cache_control
    etag = first.headers["ETag"]
    again = demo_client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag


@pytest.mark.parametrize("path", [HIROSHIMA, "/tags/memory", HIROSHIMA_WIDGET, HIROSHIMA_API, "/feeds/items.atom"])
def test_a_matching_revalidation_renders_nothing_and_asks_the_database_once(demo_app, demo_client, path):
    etag = demo_client.get(path).headers["ETag"]
    rendered, statements = [], []
    with demo_app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with template_rendered.connected_to(lambda sender, template, **extra: rendered.append(template), demo_app):
            assert demo_client.get(path, headers={"If-None-Match": etag}).status_code == 304
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert rendered == []
    assert len([s for s in statements if "catalog_version" in s]) == 1
    assert [s for s in statements if "catalog_version" not in s and not s.startswith(("BEGIN", "PRAGMA"))] == []


def test_the_lifetimes_come_from_the_configuration(demo_app, demo_client):
    demo_app.config.update(CACHE_MAX_AGE=7, CACHE_STALE_WHILE_REVALIDATE=3)
    cache_control = demo_client.get(HIROSHIMA).headers["Cache-Control"]
    assert "max-age=7" in cache_control and "stale-while-revalidate=3" in cache_control


def test_nginx_keeps_a_page_until_max_age_after_the_page_read_the_catalog(demo_app, demo_client):
    """nginx's absolute expiry (X-Accel-Expires @seconds) counts from before the page was drawn, on a 200 and
    on the 304 that renews it; nothing private carries one."""
    demo_app.config.update(CACHE_MAX_AGE=40)
    before = time.time()
    page = demo_client.get(HIROSHIMA)
    not_modified = demo_client.get(HIROSHIMA, headers={"If-None-Match": page.headers["ETag"]})
    after = time.time()
    assert not_modified.status_code == 304
    for response in (page, not_modified):
        expires = response.headers["X-Accel-Expires"]
        assert expires.startswith("@") and int(before) + 40 <= int(expires[1:]) <= after + 40
    demo_app.config.update(CACHE_MAX_AGE=0)
    assert "X-Accel-Expires" not in demo_client.get(HIROSHIMA).headers


def test_a_save_committed_while_a_page_is_drawn_leaves_its_validator_older_than_the_page(demo_app):
    """The ETag is read before the view: a reader whose page was drawn across her save revalidates into the
    new page, rather than having an old copy confirmed until her next save."""
    reader = demo_app.test_client()
    item_view = demo_app.view_functions["public.item"]

    def item_with_a_save_meanwhile(*args, **kwargs):
        with demo_app.app_context():
            db.session.execute(sa.update(Item).where(Item.slug == "jaws-1975").values(where_to_find="Saved meanwhile"))
            db.session.commit()
        return item_view(*args, **kwargs)

    demo_app.view_functions["public.item"] = item_with_a_save_meanwhile
    try:
        etag = reader.get(HIROSHIMA).headers["ETag"]
    finally:
        demo_app.view_functions["public.item"] = item_view
    assert reader.get(HIROSHIMA, headers={"If-None-Match": etag}).status_code == 200


def test_the_signed_in_author_never_gets_a_shared_or_stored_page(demo_app, demo_author_client):
    pages = [path for path in CACHEABLE if not path.startswith("/covers/")]
    for path in (*pages, "/studio/", "/studio/items"):
        response = demo_author_client.get(path)
        assert response.status_code == 200, path
        cache_control = response.headers.get("Cache-Control", "")
        assert "private" in cache_control and "no-store" in cache_control, (path, cache_control)
        assert "public" not in cache_control
    # Even holding a reader's validator, she is drawn the page afresh (it may show her own controls).
    etag = demo_app.test_client().get(HIROSHIMA).headers["ETag"]
    assert demo_author_client.get(HIROSHIMA, headers={"If-None-Match": etag}).status_code == 200


def demo_app_client_without_cookies(client):
    """Another reader of the same site, with no cookies at all."""
    return client.application.test_client()


def test_the_liked_set_changes_the_validator_of_the_pages_that_show_it(demo_client):
    plain = demo_client.get(HIROSHIMA)
    assert "Cookie" in plain.headers.get("Vary", "")
    demo_client.set_cookie("liked", "hiroshima-mon-amour-1959")
    liked = demo_client.get(HIROSHIMA, headers={"If-None-Match": plain.headers["ETag"]})
    assert liked.status_code == 200 and 'aria-pressed="true"' in liked.get_data(as_text=True)
    # A page that does not show the set keeps one validator for every reader.
    assert demo_client.get("/tags").headers["ETag"] == demo_app_client_without_cookies(demo_client).get("/tags").headers["ETag"]


def test_a_forged_host_header_makes_the_site_store_nothing(demo_app):
    def row_counts() -> dict[str, int]:
        with demo_app.app_context():
            inspector = sa.inspect(db.engine)
            return {t: db.session.scalar(sa.text(f'SELECT COUNT(*) FROM "{t}"')) for t in inspector.get_table_names()}

    before = row_counts()
    reader = demo_app.test_client()
    for n in range(100):
        response = reader.get(HIROSHIMA, headers={"Host": f"forged-{n}.example"})
        assert response.status_code == 200
    assert row_counts() == before


def test_every_field_she_edits_shows_on_every_page_that_shows_it(demo_app, demo_author_client):
    film = ids_by_slug(demo_app)["hiroshima-mon-amour-1959"]
    with demo_app.app_context():
        shown = demo_app.config["RECOMMENDATIONS_PER_KIND"]
        recommender = db.session.scalar(sa.select(Item.slug).join(Neighbour, Neighbour.item_id == Item.id).where(
            Neighbour.neighbour_id == film, Neighbour.rank < shown).order_by(Item.id).limit(1))
    browser = Browser(demo_app.test_client())
    pages = (HIROSHIMA, HIROSHIMA_WIDGET, f"/items/{recommender}", "/tags/memory", "/items")
    for path in pages:
        assert "Hiroshima mon amour" in browser.get(path)
    assert edit_item(demo_author_client, film, title="Hiroshima, My Love").status_code == 303
    for path in pages:
        assert "Hiroshima, My Love" in browser.get(path), path
    assert edit_item(demo_author_client, film, rating="2.5", where_to_find="Criterion Channel",
                     note="Seen again at the Cinémathèque.").status_code == 303
    page = browser.get(HIROSHIMA)
    assert "2.5 out of 5" in page and "Criterion Channel" in page and "Seen again at the Cinémathèque." in page
    assert browser.client.get(HIROSHIMA_API).get_json()["title"] == "Hiroshima, My Love"


def test_a_new_rating_shows_on_the_item_page(demo_app, demo_author_client):
    film = ids_by_slug(demo_app)["hiroshima-mon-amour-1959"]
    browser = Browser(demo_app.test_client())
    assert "4 out of 5" not in browser.get(HIROSHIMA)
    assert edit_item(demo_author_client, film, rating="4").status_code == 303
    assert "4 out of 5" in browser.get(HIROSHIMA)


def test_pinning_and_hiding_reach_the_item_page_and_the_widget(demo_app, demo_author_client):
    ids = ids_by_slug(demo_app)
    film = ids["hiroshima-mon-amour-1959"]
    with demo_app.app_context():
        top = db.session.scalar(sa.select(Item.slug).join(Neighbour, Neighbour.neighbour_id == Item.id).where(
            Neighbour.item_id == film, Neighbour.kind == "film", Neighbour.rank == 0))
    browser = Browser(demo_app.test_client())
    for path in (HIROSHIMA, HIROSHIMA_WIDGET):
        page = browser.get(path)
        assert f"/items/{top}" in page and "/items/jaws-1975" not in page
    for target, action in ((ids[top], "hide"), (ids["jaws-1975"], "pin")):
        response = post_form(demo_author_client, f"/studio/items/{film}", {"action": action},
                             action=f"/studio/items/{film}/recommendations/{target}")
        assert response.status_code == 303
    for path in (HIROSHIMA, HIROSHIMA_WIDGET):
        page = browser.get(path)
        assert f"/items/{top}" not in page and "/items/jaws-1975" in page


def test_a_list_entry_shows_on_the_list_and_on_its_items_page(demo_app, demo_author_client):
    listed = "hiroshima-and-its-afterimages-films-and-books"
    fireflies = "/items/grave-of-the-fireflies-1988"
    entry = '<h2><a href="/items/grave-of-the-fireflies-1988">'
    browser = Browser(demo_app.test_client())
    assert entry not in browser.get(f"/lists/{listed}")
    assert f"/lists/{listed}" not in browser.get(fireflies)
    edit = f"/studio/lists/{ids_by_slug(demo_app, CuratedList)[listed]}"
    item_id = ids_by_slug(demo_app)["grave-of-the-fireflies-1988"]
    assert post_form(demo_author_client, edit, {"item_id": str(item_id)}, action=f"{edit}/entries").status_code == 303
    assert entry in browser.get(f"/lists/{listed}")
    assert f"/lists/{listed}" in browser.get(fireflies)
    assert "grave-of-the-fireflies-1988" in [i["slug"] for i in browser.client.get(f"/api/v1/lists/{listed}").get_json()["items"]]


def test_a_draft_list_is_not_on_its_items_pages_until_she_publishes_it(demo_app, demo_author_client):
    fireflies = "/items/grave-of-the-fireflies-1988"
    response = post_form(demo_author_client, "/studio/lists/new", {"title": "Fireflies", "introduction": ""})
    edit = response.headers["Location"]
    item_id = ids_by_slug(demo_app)["grave-of-the-fireflies-1988"]
    assert post_form(demo_author_client, edit, {"item_id": str(item_id)}, action=f"{edit}/entries").status_code == 303
    browser = Browser(demo_app.test_client())
    assert "/lists/fireflies" not in browser.get(fireflies)
    published = post_form(demo_author_client, edit, {"title": "Fireflies", "introduction": "", "published": "y",
                                                     "slug": "fireflies"})
    assert published.status_code == 303
    assert "/lists/fireflies" in browser.get(fireflies)


def test_a_tag_renamed_and_described_shows_on_its_items_and_its_pages(demo_app, demo_author_client):
    tag = ids_by_slug(demo_app, Tag)["cooking"]
    cookbook = "/items/salt-fat-acid-heat-2017"
    browser = Browser(demo_app.test_client())
    assert ">Cooking<" in browser.get(cookbook)
    assert "Salt, fat, acid, heat." not in browser.get("/tags/cooking")
    response = post_form(demo_author_client, f"/studio/tags/{tag}",
                         {"name": "Kitchen", "family": "", "description": "Salt, fat, acid, heat."})
    assert response.status_code == 303
    page = browser.get(cookbook)
    assert ">Kitchen<" in page and ">Cooking<" not in page
    assert "Salt, fat, acid, heat." in browser.get("/tags/kitchen")
    assert browser.client.get("/api/v1/tags/kitchen").get_json()["tag"]["description"] == "Salt, fat, acid, heat."
    # The old address redirects rather than serve the old name.
    assert browser.client.get("/tags/cooking").status_code == 301


def test_a_rolled_back_edit_leaves_every_reader_validator_valid(demo_app):
    reader = demo_app.test_client()
    etag = reader.get(HIROSHIMA).headers["ETag"]
    with demo_app.app_context():
        db.session.scalar(sa.select(Item).where(Item.slug == "jaws-1975")).title = "Not Jaws"
        db.session.rollback()
    assert reader.get(HIROSHIMA, headers={"If-None-Match": etag}).status_code == 304


def test_a_write_around_the_orm_is_a_new_version_too(demo_app):
    reader = demo_app.test_client()
    etag = reader.get(HIROSHIMA).headers["ETag"]
    with demo_app.app_context():
        db.session.execute(sa.update(Item).where(Item.slug == "hiroshima-mon-amour-1959").values(where_to_find="Raw"))
        db.session.commit()
    again = reader.get(HIROSHIMA, headers={"If-None-Match": etag})
    assert again.status_code == 200 and "Raw" in again.get_data(as_text=True)


@pytest.mark.slow
def test_after_a_deploy_that_changes_a_template_readers_get_the_new_page(demo_app, tmp_path):
    """Two app servers on one database, the second built from a changed template: its pages are new pages."""
    reader = demo_app.test_client()
    old = reader.get(HIROSHIMA)
    release = tmp_path / "release"
    release.mkdir()
    for part in ("app.py", "afterimage", "recs", "templates", "static"):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, release / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, release / part)
    template = release / "templates" / "public" / "item.html"
    template.write_text(template.read_text().replace("The author's note", "From the author's diary"))
    probe = (
        "import json, sys\n"
        "from app import create_app\n"
        "app = create_app({'TESTING': True, 'SECRET_KEY': 'k', 'SQLALCHEMY_DATABASE_URI': sys.argv[1]})\n"
        "r = app.test_client().get(sys.argv[2], headers={'If-None-Match': sys.argv[3]})\n"
        "print(json.dumps([r.status_code, r.headers.get('ETag'), \"From the author's diary\" in r.get_data(as_text=True)]))\n"
    )
    with demo_app.app_context():
        film = db.session.scalar(sa.select(Item).where(Item.slug == "hiroshima-mon-amour-1959"))
        film.note = "A note, so the page shows its heading."
        db.session.commit()
    etag = reader.get(HIROSHIMA).headers["ETag"]
    env = {**os.environ, "PYTHONPATH": str(release)}
    result = subprocess.run(
        [sys.executable, "-c", probe, demo_app.config["SQLALCHEMY_DATABASE_URI"], HIROSHIMA, etag],
        cwd=release, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    status, new_etag, shows_new_heading = __import__("json").loads(result.stdout.strip().splitlines()[-1])
    assert status == 200 and shows_new_heading and new_etag not in (etag, old.headers["ETag"])
