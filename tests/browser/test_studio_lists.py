"""Reordering a list in a real Chromium: a person's drag with real pointer events (press, move across rows,
release, also over the dragged row itself), the up/down buttons and the keyboard; each saves without a reload."""
from __future__ import annotations

import sqlalchemy as sa

from afterimage.catalog.models import CuratedList
from afterimage.extensions import db
from tests.studio.test_studio_browser import in_browser, live, screenshot_path  # noqa: F401


def first_list(app) -> tuple[int, list[int]]:
    """The first list's id and its entry ids in order."""
    with app.app_context():
        curated = db.session.scalar(sa.select(CuratedList).order_by(CuratedList.id).limit(1))
        assert len(curated.entries) >= 3
        return curated.id, [e.id for e in curated.entries]


def saved_order(app, list_id: int) -> list[int]:
    """The entry ids in the order the database holds."""
    with app.app_context():
        return [e.id for e in db.session.get(CuratedList, list_id).entries]


def centre(page, selector: str) -> tuple[float, float]:
    """The middle of an element on screen."""
    box = page.locator(selector).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def press_handle(page, entry_id: int) -> float:
    """Scroll the entries into view and press the mouse on an entry's handle; returns the pointer's x."""
    mark_page(page)
    x, y = centre(page, f"#entry-{entry_id} .drag-handle")
    page.mouse.move(x, y)
    page.mouse.down()
    return x


def mark_page(page) -> None:
    """Leave a mark on the window (a reload would wipe it) and scroll the entries to the top of the view."""
    page.evaluate("window.notReloaded = true; document.getElementById('entries').scrollIntoView()")


def wait_saved(page, order: list[int]) -> None:
    """Wait until the page says this order was saved."""
    page.wait_for_function(
        "order => document.querySelector('.studio-entries').getAttribute('data-saved-order') === order",
        arg=",".join(map(str, order)),
    )


def test_dragging_with_real_pointer_events_saves_the_order_without_a_reload(demo_app, live):
    list_id, before = first_list(demo_app)
    expected = [before[2], before[0], before[1], *before[3:]]
    seen: dict = {}

    def drag(page) -> None:
        x = press_handle(page, before[2])
        # Across the second row, then to the top half of the first, in small steps as a hand would.
        _, y1 = centre(page, f"#entry-{before[1]}")
        page.mouse.move(x, y1, steps=8)
        top = page.locator(f"#entry-{before[0]}").bounding_box()["y"]
        page.mouse.move(x, top + 5, steps=8)
        page.mouse.up()
        wait_saved(page, expected)
        page.wait_for_function("() => document.getElementById('reorder-status').textContent.includes('Order saved')")
        seen["status"] = page.text_content("#reorder-status")
        seen["not_reloaded"] = page.evaluate("window.notReloaded === true")
        seen["first_up_hidden"] = page.is_hidden(f"#entry-{before[2]} [data-entry-action=up]")
        page.screenshot(path=screenshot_path("studio-list-dragged.png"))

    problems = in_browser(live, f"/studio/lists/{list_id}", drag)
    assert saved_order(demo_app, list_id) == expected
    assert seen["not_reloaded"] and seen["first_up_hidden"]
    assert "moved to position 1 of" in seen["status"] and "Order saved." in seen["status"]
    assert problems == []


def test_releasing_over_the_dragged_row_itself_still_saves(demo_app, live):
    list_id, before = first_list(demo_app)
    expected = [before[1], before[0], *before[2:]]
    seen: dict = {}

    def drag(page) -> None:
        x = press_handle(page, before[0])
        second = page.locator(f"#entry-{before[1]}").bounding_box()
        page.mouse.move(x, second["y"] + second["height"] * 0.75, steps=10)
        # The dragged row has followed the pointer: it is the row under it now.
        px, py = x, second["y"] + second["height"] * 0.75
        seen["under_pointer"] = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('.studio-entry').dataset.entryId", [px, py])
        page.mouse.up()
        wait_saved(page, expected)

    problems = in_browser(live, f"/studio/lists/{list_id}", drag)
    assert seen["under_pointer"] == str(before[0])
    assert saved_order(demo_app, list_id) == expected
    assert problems == []


def test_the_keyboard_picks_an_entry_up_moves_it_and_drops_it_with_announcements(demo_app, live):
    list_id, before = first_list(demo_app)
    expected = [before[1], before[2], before[0], *before[3:]]
    said: list[str] = []

    def keyboard(page) -> None:
        page.focus(f"#entry-{before[0]} .drag-handle")
        page.keyboard.press("Space")
        page.wait_for_function("() => document.getElementById('reorder-status').textContent.includes('picked up')")
        said.append(page.text_content("#reorder-status"))
        assert page.get_attribute(f"#entry-{before[0]} .drag-handle", "aria-pressed") == "true"
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        page.wait_for_function("() => document.getElementById('reorder-status').textContent.includes('position 3')")
        said.append(page.text_content("#reorder-status"))
        assert page.evaluate("document.activeElement.closest('.studio-entry').dataset.entryId") == str(before[0])
        page.keyboard.press("Space")
        wait_saved(page, expected)
        page.wait_for_function("() => document.getElementById('reorder-status').textContent.includes('Order saved')")
        said.append(page.text_content("#reorder-status"))
        # Picked up again and put back with Escape: nothing moves.
        page.keyboard.press("Space")
        page.keyboard.press("ArrowUp")
        page.keyboard.press("Escape")
        page.wait_for_function("() => document.getElementById('reorder-status').textContent.includes('put back')")
        said.append(page.text_content("#reorder-status"))

    problems = in_browser(live, f"/studio/lists/{list_id}", keyboard)
    title = said[0].split(" picked up")[0]
    total = len(before)
    assert said[0].startswith(f"{title} picked up, position 1 of {total}.")
    assert said[1] == f"{title}, position 3 of {total}."
    assert said[2] == f"{title} dropped at position 3 of {total}. Order saved."
    assert said[3] == f"{title} put back at position 3 of {total}."
    assert saved_order(demo_app, list_id) == expected
    assert problems == []


def test_the_up_and_down_buttons_save_without_a_reload_and_keep_focus(demo_app, live):
    list_id, before = first_list(demo_app)
    seen: dict = {}

    def buttons(page) -> None:
        mark_page(page)
        page.click(f"#entry-{before[0]} [data-entry-action=down] button")
        wait_saved(page, [before[1], before[0], *before[2:]])
        seen["focus"] = page.evaluate("document.activeElement.getAttribute('aria-label')")
        page.keyboard.press("Enter")
        wait_saved(page, [before[1], before[2], before[0], *before[3:]])
        page.click(f"#entry-{before[0]} [data-entry-action=up] button")
        wait_saved(page, [before[1], before[0], *before[2:]])
        seen["not_reloaded"] = page.evaluate("window.notReloaded === true")

    problems = in_browser(live, f"/studio/lists/{list_id}", buttons)
    assert seen["not_reloaded"]
    assert seen["focus"].startswith("Move ") and seen["focus"].endswith(" down")
    assert saved_order(demo_app, list_id) == [before[1], before[0], *before[2:]]
    assert problems == []


def test_pinning_a_recommendation_updates_the_section_without_a_reload(demo_app, live):
    from afterimage.catalog.models import Item
    from afterimage.recommendations import studio_recommendations

    with demo_app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.title == "Hiroshima mon amour"))
        item_id, last = item.id, studio_recommendations(item, "film")[-1].item.id
    seen: dict = {}

    def pin(page) -> None:
        page.evaluate("window.notReloaded = true")
        page.click(f"#recommendations [data-target-id='{last}'] button:has-text('Pin to top')")
        page.wait_for_function("() => document.getElementById('recs-status').textContent.startsWith('Pinned')")
        seen["first"] = page.get_attribute("#recommendations .studio-rec-list li", "data-target-id")
        seen["focus"] = page.evaluate("document.activeElement.textContent")
        seen["not_reloaded"] = page.evaluate("window.notReloaded === true")

    problems = in_browser(live, f"/studio/items/{item_id}", pin)
    assert seen == {"first": str(last), "focus": "Undo pin", "not_reloaded": True}
    assert problems == []
