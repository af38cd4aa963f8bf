"""Every page type at phone widths: nothing wider than the screen, one search box, the cover not filling the screen."""
from __future__ import annotations

import pytest

from tests.browser.conftest import HIROSHIMA

PHONES = [390, 360]
PUBLIC_PAGES = [
    "/", "/items", "/items?kind=book", f"/items/{HIROSHIMA}", "/tags", "/tags/korean-cinema", "/lists",
    "/lists/8-korean-books-written-by-women-every-reader-should-read-once", "/search?q=duras", "/search?q=zzzz",
    "/liked", "/people/alain-resnais", "/no-such-page", "/widget/", f"/widget/items/{HIROSHIMA}",
    "/widget/tags/war?compact=1", "/years/2025",
]
OVERFLOW = "() => ({scroll: document.documentElement.scrollWidth, inner: innerWidth})"


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


def test_no_page_is_wider_than_a_phone(browser, author_site):
    base = author_site.url
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    wide = []
    for path in [*PUBLIC_PAGES, "/studio/sign-in"]:
        wide += too_wide(page, base + path)
    author_site.sign_in(page)
    for path in author_site.studio_pages():
        assert page.goto(base + path).status == 200, path
        wide += too_wide(page, base + path)
    context.close()
    assert wide == [], "\n".join(wide)


@pytest.mark.parametrize("path", ["/", "/search?q=duras", "/no-such-page", f"/items/{HIROSHIMA}", "/widget/"])
def test_each_page_has_one_search_box(browser, author_site, path):
    base = author_site.url
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.goto(base + path)
    assert page.locator("input[type=search]").count() == 1
    assert page.locator("[role=search], search").count() == 1
    page.close()


def test_the_item_page_shows_its_title_and_text_on_the_first_phone_screen(browser, author_site):
    base = author_site.url
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{base}/items/{HIROSHIMA}")
    title = page.locator("main h1").bounding_box()
    cover = page.locator("main img").first.bounding_box()
    assert title["y"] + title["height"] < 844 / 2, "the title is in the top half of the first screen"
    assert cover["height"] < 844 / 2, "the cover leaves room for the text"
    page.close()


@pytest.mark.parametrize("path", ["/", "/search?q=hirosima+amor", f"/items/{HIROSHIMA}"])
def test_the_search_field_is_wide_enough_to_read_on_a_phone(browser, author_site, path):
    # The search page's kind menu once squeezed its field to five letters at 390 px.
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.goto(author_site.url + path)
    field = page.locator("input[type=search]").bounding_box()
    assert field["width"] >= 360 * 0.6, f"{path}: the search field is {field['width']:.0f} px wide"
    page.close()
