"""A real headless Chromium against the site on a real HTTP server, and a host page on another origin.

Without Chromium the browser tests skip with a message naming the Debian packages to install;
under CI (tests/ci.py) a missing browser fails the run instead, so CI can never pass without them.
"""
from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import render_template_string
from werkzeug.serving import make_server

from tests.ci import missing_requirement
from tests.conftest import MARKUP_TITLE, add_film_titled_with_markup
from tests.studio.test_studio_fixtures import PASSWORD, add_author

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HIROSHIMA = "hiroshima-mon-amour-1959"
XSS_TITLE = MARKUP_TITLE
HOSTILE_CSS = (
    "* { color: red !important; font-size: 40px !important; font-family: 'Comic Sans MS', cursive !important;"
    " line-height: 3 !important; letter-spacing: 5px !important }"
    " a { display: none !important } img { display: none !important } div { padding: 30px !important }"
)
PANEL = '{% from "widget/_embed_panel.html" import embed_panel %}{{ embed_panel(kind, slug) }}'


def no_browser(reason: str) -> None:
    """Skip on a laptop without Chromium, but fail under CI: CI must never pass by skipping."""
    message = (
        f"{reason}. The browser tests need Chromium: install the Debian packages "
        "`chromium` and `chromium-driver` (sudo apt install chromium chromium-driver)."
    )
    missing_requirement(message)


def chromium_path() -> str | None:
    """The system Chromium (Playwright's own download does not work here)."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


# One Playwright and one Chromium per process, however many modules import the `browser` fixture:
# each import is its own session fixture, and two sync Playwrights cannot run in one thread.
_shared: dict[str, object] = {"users": 0}


def playwright_and_chromium():
    """Playwright's sync entry point and the Chromium to drive, or a skip (a failure under CI) naming what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        no_browser("The Python package playwright is not installed")
    path = chromium_path()
    if path is None:
        no_browser("Chromium was not found at /usr/bin/chromium")
    return sync_playwright, path


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    sync_playwright, path = playwright_and_chromium()
    if "browser" not in _shared:
        playwright = sync_playwright().start()
        try:
            _shared["browser"] = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        except Exception as error:  # a broken install is as good as none
            playwright.stop()
            no_browser(f"Chromium at {path} did not start ({error.__class__.__name__})")
        _shared["playwright"] = playwright
    _shared["users"] += 1
    yield _shared["browser"]
    _shared["users"] -= 1
    if not _shared["users"]:
        _shared.pop("browser").close()
        _shared.pop("playwright").stop()


def one_request_at_a_time(wsgi_app):
    """Connections are accepted in parallel, but requests run the app in turn, so a test's steps (her save,
    then the page that shows it) reach the test's SQLite file in the order the browser sent them."""
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            body = wsgi_app(environ, start_response)
            try:
                return list(body)
            finally:
                if hasattr(body, "close"):
                    body.close()

    return serialised


class LiveServer:
    """A WSGI app on a real port of 127.0.0.1, served from a thread."""

    def __init__(self, wsgi_app):
        self.server = make_server("127.0.0.1", 0, one_request_at_a_time(wsgi_app), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@dataclass
class Site:
    """The running site and what the tests created in it."""

    url: str
    xss_slug: str
    listener: str = ""
    app: object = field(default=None, repr=False)


@pytest.fixture
def site(demo_app):
    """The demo catalog plus a film titled with markup, closest to Hiroshima mon amour, on a live server."""
    xss_slug = add_film_titled_with_markup(
        demo_app, [("Alain Resnais", "director"), ("<b onmouseover=alert(2)>Bold</b>", "director")]
    )

    # A page of the site showing the studio's Embed panel, as the studio's edit page includes it.
    demo_app.add_url_rule(
        "/test/embed-panel", "test_embed_panel",
        lambda: render_template_string(
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Embed</title></head><body>"
            + PANEL + "</body></html>", kind="items", slug=HIROSHIMA,
        ),
    )
    server = LiveServer(demo_app)
    with demo_app.test_request_context(base_url=server.url):
        html = render_template_string(PANEL, kind="items", slug=HIROSHIMA)
    start = html.index('data-listener="') + len('data-listener="')
    listener = html[start:html.index('"', start)].replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"')
    listener = listener.replace("&amp;", "&")
    yield Site(url=server.url, xss_slug=xss_slug, listener=listener, app=demo_app)
    server.stop()


def host_page(site: Site) -> str:
    """A blog post on another origin: an iframe embed with the resize listener, two script embeds, hostile CSS."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A blog post</title>
<style>{HOSTILE_CSS}</style></head>
<body>
<h1>What I watched this week</h1>
<div id="iframe-embed">
<iframe id="frame" src="{site.url}/widget/items/{HIROSHIMA}" width="560" height="660" title="If you liked this"
  loading="lazy" frameborder="0" data-afterimage></iframe>
{site.listener}
</div>
<div id="script-embed"><script src="{site.url}/widget.js" data-item="{site.xss_slug}" data-theme="dark" data-accent="#336699" async></script></div>
<div id="script-embed-tag"><script src="{site.url}/widget.js" data-tag="korean-cinema" data-kind="books" data-limit="2" async></script></div>
</body></html>"""


@pytest.fixture
def host(site):
    """The host blog, served from a different origin (another port) than the site."""

    def blog(environ, start_response):
        if environ["PATH_INFO"] != "/":
            start_response("204 No Content", [])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [host_page(site).encode()]

    server = LiveServer(blog)
    yield server.url
    server.stop()


@dataclass
class Watched:
    """A browser page and everything alarming it reported."""

    page: object
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def watched(browser):
    """A fresh page that records console errors, uncaught exceptions and dialogs (dismissing them)."""
    context = browser.new_context(viewport={"width": 1000, "height": 1400})
    page = context.new_page()
    watched = Watched(page)
    page.on("console", lambda m: m.type == "error" and watched.console_errors.append(m.text))
    page.on("pageerror", lambda e: watched.console_errors.append(str(e)))

    def on_dialog(dialog):
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield watched
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ at the repository root (gitignored), for screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@dataclass
class AuthorSite:
    """The demo catalog with an author on a live server, and the ids of a few rows for the studio's pages."""

    url: str
    item_id: int
    tag_id: int
    list_id: int

    def studio_pages(self) -> list[str]:
        """Every page of the studio a signed-in author can open with GET."""
        return [
            "/studio/", "/studio/items", "/studio/items?q=hiroshima", "/studio/items/new",
            f"/studio/items/{self.item_id}", f"/studio/items/{self.item_id}/delete", "/studio/tags",
            f"/studio/tags/{self.tag_id}", f"/studio/tags/{self.tag_id}/delete", "/studio/lists", "/studio/lists/new",
            f"/studio/lists/{self.list_id}", f"/studio/lists/{self.list_id}/delete", "/studio/import",
            "/studio/password", "/studio/paste", f"/studio/paste?items={HIROSHIMA}",
            f"/studio/items/{self.item_id}/diary",
        ]

    def sign_in(self, page) -> None:
        """Sign the author in on this browser page."""
        page.goto(self.url + "/studio/sign-in")
        page.fill("#name", "Mina")
        page.fill("#password", PASSWORD)
        page.click("form.studio-form button[type=submit]")
        page.wait_for_url(self.url + "/studio/")


@pytest.fixture
def author_site(demo_app):
    """The demo catalog with an author, on a live server."""
    import sqlalchemy as sa

    from afterimage.extensions import db
    from afterimage.catalog.models import CuratedList, Item, Tag

    add_author(demo_app)
    with demo_app.app_context():
        first = {m: db.session.scalar(sa.select(m.id).order_by(m.id).limit(1)) for m in (Item, Tag, CuratedList)}
    server = LiveServer(demo_app)
    yield AuthorSite(server.url, first[Item], first[Tag], first[CuratedList])
    server.stop()
