"""The shipped reverse proxy: Debian's nginx with deploy/nginx.conf in front of stock gunicorn (deploy/gunicorn.conf.py).

The site is set up as an operator would (`flask init-db`, `flask demo`, `flask author create` on a SQLite file),
served by gunicorn on 127.0.0.1 and by nginx, run in the foreground from a scratch folder, in front of it.
Without nginx these tests skip on a laptop and fail under CI (tests/ci.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import NamedTuple

import pytest
import sqlalchemy as sa

from bench.load_client import REPO, AppServer, Browser, NginxProxy, nginx_binary
from tests.ci import missing_requirement

# Starts real servers (gunicorn, nginx) or generates hundreds of requests: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

AUTHOR, PASSWORD = "Mina", "a password for the proxy test"
# Short, so a reader sees a save within seconds; the bound of the wait below follows from it.
MAX_AGE_S = 2


def flask_command(database_url: str, *args: str, stdin: str | None = None) -> None:
    """Run `flask --app app ARGS` on the test's database, as an operator would in a shell."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "nginx-test"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=REPO, env=env, input=stdin, text=True,
                   check=True, capture_output=True)


class Site(NamedTuple):
    """The proxied demo site: nginx, the readers' gunicorn, the studio's gunicorn, the database's URL."""

    proxy: NginxProxy
    app_server: AppServer
    studio_server: AppServer
    database_url: str


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    """The demo site behind the shipped proxy, pages kept MAX_AGE_S seconds."""
    if nginx_binary() is None:
        missing_requirement("The reverse proxy tests need nginx: install the Debian package `nginx` "
                            "(sudo apt install nginx)")
    database_url = f"sqlite:///{tmp_path_factory.mktemp('proxied-site') / 'afterimage.db'}"
    flask_command(database_url, "init-db")
    flask_command(database_url, "demo")
    flask_command(database_url, "author", "create", AUTHOR, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    logs = tmp_path_factory.mktemp("logs")
    # Each server logs every request it answers (gunicorn's access log, on its output), to tell which one did.
    env = {"AFTERIMAGE_CACHE_MAX_AGE": str(MAX_AGE_S), "AFTERIMAGE_PROXY_COUNT": "1", "AFTERIMAGE_ACCESS_LOG": "-"}
    app_server = AppServer(database_url, workers=2, log_path=logs / "gunicorn.log", extra_env=env)
    # The studio's own gunicorn, as deploy/nginx-site.conf's afterimage_studio upstream expects in production.
    studio_server = AppServer(database_url, workers=1, log_path=logs / "studio.log", extra_env=env)
    with app_server, studio_server, NginxProxy(app_server.address, studio_upstream=studio_server.address) as proxy:
        yield Site(proxy, app_server, studio_server, database_url)


def get(base_url: str, path: str, headers: dict | None = None) -> tuple[int, str, dict]:
    """An anonymous reader's GET: status, body, headers with lower-case names."""
    status, body, found = Browser(base_url).request(path, headers=headers)
    return status, body, {name.lower(): value for name, value in found.items()}


def item_id(database_url: str, slug: str) -> int:
    """The id of the item at `slug`, for its studio page."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(sa.text("SELECT id FROM items WHERE slug = :slug"), {"slug": slug})
    finally:
        engine.dispose()


def test_a_page_comes_from_the_app_once_then_from_the_proxy(site):
    proxy = site.proxy
    status, first, headers = get(proxy.base_url, "/items/hiroshima-mon-amour-1959")
    assert status == 200 and headers["x-cache-status"] == "MISS"
    assert "public" in headers["cache-control"] and f"max-age={MAX_AGE_S}" in headers["cache-control"]
    status, second, again = get(proxy.base_url, "/items/hiroshima-mon-amour-1959")
    assert status == 200 and again["x-cache-status"] == "HIT"
    assert second == first and again["etag"] == headers["etag"]


def test_the_app_sees_the_readers_address_and_the_public_host_through_the_proxy(site):
    proxy, app_server = site.proxy, site.app_server
    status, body, _ = get(proxy.base_url, "/api/v1/items/the-white-book-2016")
    assert status == 200, body
    # Absolute URLs name the address readers used (nginx's), not gunicorn's: X-Forwarded-* are trusted.
    assert json.loads(body)["url"] == f"{proxy.base_url}/items/the-white-book-2016"
    assert str(app_server.port) not in body


def test_a_signed_in_author_is_never_served_or_stored_by_the_proxy(site):
    proxy = site.proxy
    author = Browser(proxy.base_url)
    author.sign_in(AUTHOR, PASSWORD)  # the studio's form through nginx: CSRF and session cookie intact
    status, _, headers = author.request("/items/vagabond-1985")
    headers = {name.lower(): value for name, value in headers.items()}
    assert status == 200 and headers["x-cache-status"] == "BYPASS"
    assert "private" in headers["cache-control"] and "no-store" in headers["cache-control"]
    # Her visit stored nothing: the first reader after her is the page's first miss.
    assert get(proxy.base_url, "/items/vagabond-1985")[2]["x-cache-status"] == "MISS"
    assert get(proxy.base_url, "/items/vagabond-1985")[2]["x-cache-status"] == "HIT"
    status, _, headers = author.request("/items/vagabond-1985")
    assert status == 200 and headers["X-Cache-Status"] == "BYPASS"


def test_the_studio_is_answered_by_its_own_server_and_pages_by_the_readers_one(site):
    proxy, app_server = site.proxy, site.app_server
    author = Browser(proxy.base_url)
    author.sign_in(AUTHOR, PASSWORD)
    assert author.get("/studio/")[0] == 200
    get(proxy.base_url, "/items/come-and-see-1985")
    time.sleep(0.5)  # gunicorn writes its access log line after the answer
    studio_log, readers_log = site.studio_server.log_path.read_text(), app_server.log_path.read_text()
    assert "POST /studio/sign-in" in studio_log and "GET /studio/ " in studio_log
    assert "/studio/" not in readers_log
    assert "GET /items/come-and-see-1985" in readers_log
    assert "/items/come-and-see-1985" not in studio_log


def test_a_reader_with_a_liked_set_gets_their_own_page(site):
    proxy = site.proxy
    get(proxy.base_url, "/items/the-white-book-2016")
    status, _, headers = get(proxy.base_url, "/items/the-white-book-2016",
                             {"Cookie": "liked=the-white-book-2016"})
    assert status == 200 and headers["x-cache-status"] == "BYPASS"


def test_a_reader_who_has_the_page_gets_a_304_through_the_proxy(site):
    proxy = site.proxy
    _, _, headers = get(proxy.base_url, "/widget/items/hiroshima-mon-amour-1959")
    status, body, not_modified = get(proxy.base_url, "/widget/items/hiroshima-mon-amour-1959",
                                     {"If-None-Match": headers["etag"]})
    assert status == 304 and body == ""
    assert not_modified["etag"] == headers["etag"]


def test_static_files_are_served_by_nginx_compressed_and_kept(site):
    proxy = site.proxy
    status, _, headers = get(proxy.base_url, "/static/css/site.css", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert "x-cache-status" not in headers  # never reached the app
    assert headers["cache-control"] == "public, max-age=3600"
    _, _, versioned = get(proxy.base_url, "/static/css/site.css?v=0123abcd")
    assert versioned["cache-control"] == "public, max-age=31536000, immutable"
    status, _, page = get(proxy.base_url, "/items", {"Accept-Encoding": "gzip"})
    assert status == 200 and page["content-encoding"] == "gzip"


def test_readers_see_the_authors_save_within_the_configured_max_age(site):
    proxy, database_url = site.proxy, site.database_url
    slug = "sans-soleil-1983"
    for _ in range(2):
        status, before, headers = get(proxy.base_url, f"/items/{slug}")
    assert status == 200 and headers["x-cache-status"] == "HIT"
    note = "Seen again through the proxy: the emu farm, the cats of Tokyo."
    assert note not in before

    author = Browser(proxy.base_url)
    author.sign_in(AUTHOR, PASSWORD)
    assert author.post_form(f"/studio/items/{item_id(database_url, slug)}", {"note": note}) == 303

    # Readers may keep the copy they have for MAX_AGE_S; after that the first reader's request fetches the new
    # page (served stale once while it does). The bound adds room for a slow, shared CI machine.
    deadline = time.monotonic() + MAX_AGE_S + 8
    seen = []
    while time.monotonic() < deadline:
        status, body, headers = get(proxy.base_url, f"/items/{slug}")
        seen.append(headers.get("x-cache-status"))
        if status == 200 and note in body:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"readers still had the old page {MAX_AGE_S + 8} s after the save (cache statuses: {seen})")
    assert "BYPASS" not in seen
