"""A reader who clicks a feed link sees a readable page saying what to do with the address, not raw XML."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/feeds/items.atom", "/feeds/tags/war.atom"])
def test_a_feed_opened_in_the_browser_is_a_page_that_says_to_copy_its_address(watched, site, artifacts, path):
    page = watched.page
    page.goto(site.url + "/")
    page.click("text=Feed of new items") if path == "/feeds/items.atom" else page.goto(site.url + path)
    page.wait_for_load_state("load")
    assert page.evaluate("document.contentType") == "application/xml"
    message = page.evaluate("getComputedStyle(document.documentElement, '::before').content")
    assert "copy this address into your feed reader" in message
    shown = page.evaluate("""() => {
      const visible = e => e.getBoundingClientRect().height > 0;
      const entries = [...document.getElementsByTagName('entry')];
      return {
        heading: visible(document.getElementsByTagName('title')[0]),
        titles: entries.filter(e => visible(e.getElementsByTagName('title')[0])).length,
        raw: entries.filter(e => ['content', 'id'].some(n => visible(e.getElementsByTagName(n)[0]))).length,
        entries: entries.length,
        wide: document.documentElement.scrollWidth > innerWidth,
      };
    }""")
    assert shown["heading"] and shown["entries"] > 0
    assert shown["titles"] == shown["entries"] and shown["raw"] == 0 and not shown["wide"]
    page.screenshot(path=str(artifacts / f"feed-in-browser{path.replace('/', '-')}.png"))
    assert watched.console_errors == []
