"""axe-core (the copy shipped in the axe-playwright-python package) on every page type, light and dark, wide and
narrow: no violations. It runs with the page's CSP bypassed only so that the axe script can be injected."""
from __future__ import annotations

from importlib import resources

import pytest

from tests.browser.conftest import HIROSHIMA
from tests.browser.test_phone_widths import PUBLIC_PAGES
from tests.ci import missing_requirement

WIDGET_PAGES = [
    f"/widget/items/{HIROSHIMA}?theme=dark",
    "/widget/lists/8-korean-books-written-by-women-every-reader-should-read-once?compact=1",
]


def axe_source() -> str:
    """The path of axe.min.js, or a skip (a failure under CI) naming the package to install."""
    try:
        return str(resources.files("axe_playwright_python") / "axe.min.js")
    except ModuleNotFoundError:
        missing_requirement(
            "The accessibility tests need axe-core: pip install axe-playwright-python (in the test extras)"
        )


def violations(page, url: str) -> list[str]:
    """axe's violations on a page, one line each: rule, impact and the first elements at fault."""
    page.goto(url)
    page.add_script_tag(path=axe_source())
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")["violations"]
    return [f"{url} {v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}" for v in found]


@pytest.mark.parametrize("scheme, width", [("light", 1280), ("dark", 390)])
def test_no_page_has_an_axe_violation(browser, author_site, scheme, width):
    context = browser.new_context(bypass_csp=True, color_scheme=scheme, viewport={"width": width, "height": 900})
    page = context.new_page()
    found = []
    for path in [*PUBLIC_PAGES, *WIDGET_PAGES, "/studio/sign-in"]:
        found += violations(page, author_site.url + path)
    author_site.sign_in(page)
    for path in author_site.studio_pages():
        found += violations(page, author_site.url + path)
    context.close()
    assert found == [], "\n".join(found)


def test_axe_finds_what_it_should(browser, author_site):
    # Without this, a broken injection (axe never running) would pass the test above.
    page = browser.new_page(bypass_csp=True)
    page.goto(author_site.url + "/")
    page.evaluate("document.querySelector('main img').removeAttribute('alt')")
    page.add_script_tag(path=axe_source())
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")["violations"]
    assert "image-alt" in {v["id"] for v in found}
    page.close()
