"""The studio's "Paste into a post" panel in a real Chromium: the sandboxed preview shows the block with its
covers, unticking an option updates the preview and both codes at once, and Copy puts the code on the clipboard."""
from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from afterimage.catalog.models import CuratedList
from afterimage.extensions import db
from tests.studio.test_studio_browser import in_browser, live, screenshot_path  # noqa: F401

KOREAN_LIST = "8-korean-books-written-by-women-every-reader-should-read-once"


def test_the_paste_panel_previews_updates_and_copies(demo_app, live):
    with demo_app.app_context():
        list_id = db.session.scalar(sa.select(CuratedList.id).where(CuratedList.slug == KOREAN_LIST))
    seen: dict = {}

    def steps(page) -> None:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live)
        page.locator(".paste-preview").scroll_into_view_if_needed()  # the frame loads lazily
        frame = page.frame_locator(".paste-preview")
        frame.locator("h3").first.wait_for()
        seen["preview_titles"] = frame.locator("h3").count()
        seen["preview_covers_loaded"] = frame.locator("img").first.evaluate("img => img.decode().then(() => img.naturalWidth)")
        page.locator(".paste-panel").screenshot(path=screenshot_path("studio-paste-panel.png"))
        page.uncheck(".paste-options input[name=covers]")
        # Polled from Python: the studio's CSP forbids the string evaluation wait_for_function uses.
        expect(page.locator("#paste-html")).not_to_have_value(re.compile("<img"))
        seen["markdown_has_image"] = "![" in page.input_value("#paste-markdown")
        expect(frame.locator("img")).to_have_count(0)  # the preview reloaded without covers
        expect(frame.locator("h3")).to_have_count(8)
        page.click("[data-copy=paste-markdown]")
        expect(page.locator(".paste-status")).to_contain_text("Copied")
        seen["clipboard"] = page.evaluate("navigator.clipboard.readText()")
        seen["markdown"] = page.input_value("#paste-markdown")

    problems = in_browser(live, f"/studio/lists/{list_id}", steps)
    assert seen["preview_titles"] == 8 and seen["preview_covers_loaded"] == 400
    assert seen["markdown_has_image"] is False
    assert seen["clipboard"] == seen["markdown"] and seen["markdown"].startswith("## [8 Korean books")
    assert problems == []


def test_ticked_items_become_a_block_that_keeps_them_as_the_options_change(demo_app, live):
    seen: dict = {}

    def steps(page) -> None:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live)
        boxes = page.locator("input[name=items][type=checkbox]")
        seen["ticked"] = [boxes.nth(n).get_attribute("value") for n in (1, 0)]
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.click("text=Paste the ticked items into a post")
        page.wait_for_url(re.compile(r"/studio/paste\?"))
        page.locator(".paste-preview").scroll_into_view_if_needed()
        frame = page.frame_locator(".paste-preview")
        expect(frame.locator("h3")).to_have_count(2)
        page.uncheck(".paste-options input[name=covers]")
        expect(page.locator("#paste-html")).not_to_have_value(re.compile("<img"))
        expect(frame.locator("img")).to_have_count(0)
        expect(frame.locator("h3")).to_have_count(2)  # the set travels with the options
        page.click("[data-copy=paste-html]")
        expect(page.locator(".paste-status")).to_contain_text("Copied")
        seen["clipboard"] = page.evaluate("navigator.clipboard.readText()")

    problems = in_browser(live, "/studio/items?status=seen", steps)
    linked = list(dict.fromkeys(re.findall(r'/items/([^"]+)"', seen["clipboard"])))
    assert sorted(linked) == sorted(seen["ticked"]) and "<img" not in seen["clipboard"]
    assert problems == []
