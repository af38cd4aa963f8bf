"""The studio in a real headless Chromium: sign in, drag a list entry into place, type-ahead for tags.

Chromium as in tests/browser (skips without it, fails under CI=true). The browser runs in its own
thread, so these tests coexist with the session-wide Playwright of tests/browser in one pytest run.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import CuratedList
from afterimage.extensions import db
from tests.browser.conftest import ARTIFACTS, CHROMIUM_ARGS, LiveServer, playwright_and_chromium
from tests.studio.test_studio_fixtures import PASSWORD, add_author


def in_browser(base_url: str, start: str, steps: Callable) -> list[str]:
    """Sign in on the way to `start`, run `steps(page)`; returns console errors and failed requests."""
    sync_playwright, path = playwright_and_chromium()
    problems: list[str] = []
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
                try:
                    page = browser.new_page(viewport={"width": 1000, "height": 1400})
                    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
                            and problems.append(m.text))
                    page.on("pageerror", lambda e: problems.append(str(e)))
                    # The site has no favicon; the browser's own probe for one is not the studio's fault.
                    page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico")
                            and problems.append(f"{r.status} {r.url}"))
                    page.goto(base_url + start)
                    page.fill("#name", "Mina")
                    page.fill("#password", PASSWORD)
                    page.click("form.studio-form button[type=submit]")
                    page.wait_for_url(base_url + start)
                    steps(page)
                finally:
                    browser.close()
        except BaseException as error:  # re-raised in the test's thread
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    if outcome:
        raise outcome[0]
    return problems


@pytest.fixture
def live(demo_app):
    """The demo catalog with an author, on a real HTTP server."""
    add_author(demo_app)
    server = LiveServer(demo_app)
    yield server.url
    server.stop()


def screenshot_path(name: str) -> str:
    """test-artifacts/<name> (gitignored)."""
    Path(ARTIFACTS).mkdir(exist_ok=True)
    return str(Path(ARTIFACTS) / name)


def test_dragging_a_list_entry_saves_the_new_order_and_the_page_stays_csp_clean(demo_app, live):
    with demo_app.app_context():
        curated = db.session.scalar(sa.select(CuratedList).order_by(CuratedList.id).limit(1))
        list_id, before = curated.id, [e.id for e in curated.entries]
    shown: list[int] = []

    def drag(page) -> None:
        assert page.is_visible(f"#entry-{before[0]} .drag-handle")
        page.drag_and_drop(f"#entry-{before[2]} .drag-handle", f"#entry-{before[0]} .entry-title",
                           target_position={"x": 5, "y": 2})
        # Saved without a reload; the page opened afresh shows the order the server kept.
        page.wait_for_function(
            "order => document.querySelector('.studio-entries').getAttribute('data-saved-order').startsWith(order)",
            arg=f"{before[2]},",
        )
        page.reload()
        page.wait_for_selector(".studio-entries")
        shown.extend(page.eval_on_selector_all(".studio-entry", "els => els.map(e => Number(e.dataset.entryId))"))
        page.screenshot(path=screenshot_path("studio-list-edit.png"))

    problems = in_browser(live, f"/studio/lists/{list_id}", drag)
    with demo_app.app_context():
        after = [e.id for e in db.session.get(CuratedList, list_id).entries]
    assert after[0] == before[2] and sorted(after) == sorted(before)
    assert shown == after
    assert problems == []


def test_tag_type_ahead_offers_existing_tags_after_a_comma(live):
    options: list[str] = []

    def type_tags(page) -> None:
        page.fill("#tags", "War, mem")
        page.dispatch_event("#tags", "input")
        options.extend(page.eval_on_selector_all("#tag-names option", "os => os.map(o => o.value)"))
        page.screenshot(path=screenshot_path("studio-item-form.png"), full_page=True)

    problems = in_browser(live, "/studio/items/new", type_tags)
    assert "War, Memory" in options and not any(o.endswith(", War") for o in options)
    assert problems == []
