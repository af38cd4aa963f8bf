"""The studio in a real headless Chromium: sign in, drag a list entry into place, type-ahead for tags.

Uses the browser fixtures of tests/browser (skips without Chromium, fails under CI=true).
"""
from __future__ import annotations

import sqlalchemy as sa

from afterimage.extensions import db
from afterimage.models import CuratedList
from tests.browser.conftest import LiveServer, artifacts, browser, watched  # noqa: F401  (fixtures)
from tests.test_studio_fixtures import PASSWORD, add_author


def real_errors(watched, failed: list[str]) -> list[str]:
    """Console errors and failed requests, minus the browser's own favicon probe (the site has none)."""
    return [e for e in watched.console_errors if "Failed to load resource" not in e] + [
        url for url in failed if not url.endswith("/favicon.ico")
    ]


def sign_in_page(watched, url: str, failed: list[str]):
    """Open a studio URL, sign in on the way, and record failed requests."""
    page = watched.page
    page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
    page.goto(url)
    page.fill("#name", "Mina")
    page.fill("#password", PASSWORD)
    page.click("form.studio-form button[type=submit]")
    page.wait_for_url(url)
    return page


def test_dragging_a_list_entry_saves_the_new_order_and_the_page_stays_csp_clean(demo_app, watched, artifacts):
    add_author(demo_app)
    with demo_app.app_context():
        curated = db.session.scalar(sa.select(CuratedList).order_by(CuratedList.id).limit(1))
        list_id = curated.id
        before = [e.id for e in curated.entries]
    server = LiveServer(demo_app)
    try:
        failed: list[str] = []
        page = sign_in_page(watched, f"{server.url}/studio/lists/{list_id}", failed)
        assert page.is_visible(f"#entry-{before[0]} .drag-handle")
        with page.expect_navigation():
            page.drag_and_drop(f"#entry-{before[2]} .entry-title", f"#entry-{before[0]} .entry-title",
                               target_position={"x": 5, "y": 2})
        page.wait_for_selector(".studio-entries")
        page.screenshot(path=str(artifacts / "studio-list-edit.png"), full_page=False)
        with demo_app.app_context():
            after = [e.id for e in db.session.get(CuratedList, list_id).entries]
        assert after[0] == before[2] and sorted(after) == sorted(before)
        shown = page.eval_on_selector_all(".studio-entry", "els => els.map(e => Number(e.dataset.entryId))")
        assert shown == after
        assert real_errors(watched, failed) == []
    finally:
        server.stop()


def test_tag_type_ahead_offers_existing_tags_after_a_comma(demo_app, watched, artifacts):
    add_author(demo_app)
    server = LiveServer(demo_app)
    try:
        failed: list[str] = []
        page = sign_in_page(watched, f"{server.url}/studio/items/new", failed)
        page.fill("#tags", "War, mem")
        page.dispatch_event("#tags", "input")
        options = page.eval_on_selector_all("#tag-names option", "os => os.map(o => o.value)")
        assert "War, Memory" in options and not any(o.endswith(", War") for o in options)
        page.screenshot(path=str(artifacts / "studio-item-form.png"), full_page=True)
        assert real_errors(watched, failed) == []
    finally:
        server.stop()
