"""Studio forms in a real Chromium: the error summary takes focus and leads to each field; the half-star
rating works with the keyboard alone and says its value to a screen reader."""
from __future__ import annotations

import sqlalchemy as sa

from afterimage.catalog.models import Item
from afterimage.extensions import db
from tests.studio.test_studio_browser import in_browser, live, screenshot_path  # noqa: F401


def test_the_error_summary_takes_focus_lists_every_error_and_leads_to_the_field(live):
    seen: dict = {}

    def submit_badly(page) -> None:
        page.fill("#title", "")
        page.fill("#year", "20o8")
        page.fill("#blog_url", "javascript:alert(1)")
        with page.expect_navigation():
            page.click("form.item-form button[type=submit]")
        page.wait_for_selector("[data-error-summary]")
        page.wait_for_function("() => document.activeElement && document.activeElement.matches('[data-error-summary]')")
        seen["links"] = page.eval_on_selector_all(".error-summary-list a", "as => as.map(a => a.textContent)")
        page.screenshot(path=screenshot_path("studio-error-summary.png"))
        page.click(".error-summary-list a[href='#year']")
        seen["after_click"] = page.evaluate("document.activeElement.id")
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        seen["value_kept"] = page.input_value("#year")

    problems = in_browser(live, "/studio/items/new", submit_badly)
    assert seen["links"] == [
        "Title: A title is required.",
        "Year: Enter the year as a number, like 1959.",
        "Blog review URL: Enter a full web address starting with http:// or https://.",
    ]
    assert seen["after_click"] == "year"
    assert seen["value_kept"] == "20o8"
    # The refused form answers 422 on purpose; nothing else failed.
    assert [p for p in problems if not p.startswith("422 ")] == []


def test_the_half_star_rating_works_with_the_keyboard_and_is_saved(demo_app, live):
    states: list[tuple] = []

    def rate(page) -> None:
        slider = page.locator("[role=slider]")
        assert page.locator("#rating").is_hidden()
        assert slider.get_attribute("aria-labelledby") == "rating-label"
        page.fill("#title", "Keyboard Rated")
        page.fill("#year", "1961")
        slider.focus()
        for keys in (["ArrowRight"] * 7, ["ArrowLeft", "PageUp"], ["Home"], ["End", "ArrowDown"]):
            for key in keys:
                page.keyboard.press(key)
            states.append((slider.get_attribute("aria-valuenow"), slider.get_attribute("aria-valuetext"),
                           page.input_value("#rating")))
        page.screenshot(path=screenshot_path("studio-half-stars.png"))
        with page.expect_navigation():
            page.click("form.item-form button[type=submit]")

    problems = in_browser(live, "/studio/items/new", rate)
    assert states == [
        ("3.5", "3.5 stars", "3.5"),
        ("4", "4 stars", "4"),
        ("0", "No rating", ""),
        ("4.5", "4.5 stars", "4.5"),
    ]
    with demo_app.app_context():
        assert db.session.scalar(sa.select(Item.rating).where(Item.title == "Keyboard Rated")) == 4.5
    assert problems == []


def test_clicking_a_half_star_picks_it_and_the_status_follows_the_kind(live):
    seen: dict = {}

    def click_and_switch(page) -> None:
        box = page.locator(".half-stars-track").bounding_box()
        # The left half of the third star.
        page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] / 2)
        seen["clicked"] = page.input_value("#rating")
        seen["focused"] = page.evaluate("document.activeElement.getAttribute('role')")
        seen["film"] = page.eval_on_selector_all("#status option", "os => os.map(o => o.textContent)")
        page.check("#kind-1")
        seen["book"] = page.eval_on_selector_all("#status option", "os => os.map(o => o.textContent)")

    problems = in_browser(live, "/studio/items/new", click_and_switch)
    assert seen["clicked"] == "2.5" and seen["focused"] == "slider"
    assert seen["film"] == ["Watched", "Watching", "Want to watch"]
    assert seen["book"] == ["Read", "Reading", "Want to read"]
    assert problems == []
