"""Every page type at phone widths: nothing wider than the screen, one search box, the cover not filling the screen."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from afterimage.extensions import db
from afterimage.models import CuratedList, Item, Tag
from tests.browser.conftest import HIROSHIMA, LiveServer
from tests.test_studio_fixtures import PASSWORD, add_author

PHONES = [390, 360]
PUBLIC_PAGES = [
    "/", "/items", "/items?kind=book", f"/items/{HIROSHIMA}", "/tags", "/tags/korean-cinema", "/lists",
    "/lists/8-korean-books-written-by-women-every-reader-should-read-once", "/search?q=duras", "/search?q=zzzz",
    "/liked", "/people/alain-resnais", "/no-such-page", "/widget/", f"/widget/items/{HIROSHIMA}", "/widget/tags/war?compact=1",
]
OVERFLOW = "() => ({scroll: document.documentElement.scrollWidth, inner: innerWidth})"


@pytest.fixture
def phone_site(demo_app):
    """The demo catalog with an author, on a live server, and the ids and slugs of one of each kind of row."""
    add_author(demo_app)
    with demo_app.app_context():
        first = lambda model: db.session.scalar(sa.select(model).order_by(model.id).limit(1))  # noqa: E731
        rows = {"item": first(Item).id, "tag": first(Tag).id, "list": first(CuratedList).id}
    server = LiveServer(demo_app)
    yield server.url, rows
    server.stop()


def studio_pages(rows: dict) -> list[str]:
    """Every page of the studio a signed-in author can open with GET."""
    return [
        "/studio/", "/studio/items", "/studio/items?q=hiroshima", "/studio/items/new",
        f"/studio/items/{rows['item']}", f"/studio/items/{rows['item']}/delete", "/studio/tags",
        f"/studio/tags/{rows['tag']}", f"/studio/tags/{rows['tag']}/delete", "/studio/lists", "/studio/lists/new",
        f"/studio/lists/{rows['list']}", f"/studio/lists/{rows['list']}/delete", "/studio/import", "/studio/password",
    ]


def too_wide(page, url: str) -> list[str]:
    """The page at each phone width where it scrolls sideways, as "WIDTH url: scrollWidth"."""
    wide = []
    for width in PHONES:
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(url)
        page.wait_for_load_state("load")
        size = page.evaluate(OVERFLOW)
        if size["scroll"] > size["inner"]:
            wide.append(f"{width} {url}: {size['scroll']}")
    return wide


def test_no_page_is_wider_than_a_phone(browser, phone_site):
    base, rows = phone_site
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    wide = []
    for path in [*PUBLIC_PAGES, "/studio/sign-in"]:
        wide += too_wide(page, base + path)
    page.goto(base + "/studio/sign-in")
    page.fill("#name", "Mina")
    page.fill("#password", PASSWORD)
    page.click("form.studio-form button[type=submit]")
    page.wait_for_url(base + "/studio/")
    for path in studio_pages(rows):
        assert page.goto(base + path).status == 200, path
        wide += too_wide(page, base + path)
    context.close()
    assert wide == [], "\n".join(wide)


@pytest.mark.parametrize("path", ["/", "/search?q=duras", "/no-such-page", f"/items/{HIROSHIMA}", "/widget/"])
def test_each_page_has_one_search_box(browser, phone_site, path):
    base, _ = phone_site
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.goto(base + path)
    assert page.locator("input[type=search]").count() == 1
    assert page.locator("[role=search], search").count() == 1
    page.close()


def test_the_item_page_shows_its_title_and_text_on_the_first_phone_screen(browser, phone_site):
    base, _ = phone_site
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{base}/items/{HIROSHIMA}")
    title = page.locator("main h1").bounding_box()
    cover = page.locator("main img").first.bounding_box()
    assert title["y"] + title["height"] < 844 / 2, "the title is in the top half of the first screen"
    assert cover["height"] < 844 / 2, "the cover leaves room for the text"
    page.close()
