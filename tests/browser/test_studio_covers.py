"""Uploading a cover in a real Chromium: chosen with the file picker, it shows on the item page, its card
and the widget, and the link preview names its large size."""
from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from afterimage.catalog.models import Item
from afterimage.extensions import db
from tests.studio.test_studio_browser import in_browser, live, screenshot_path  # noqa: F401

HIROSHIMA = "hiroshima-mon-amour-1959"


def poster_png() -> bytes:
    """A 400×600 poster with a stripe, as a PNG."""
    image = Image.new("RGB", (400, 600), (20, 40, 90))
    image.paste((240, 200, 40), (0, 250, 400, 350))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def natural_width(page, selector: str) -> int:
    """The decoded width of an image, once it has loaded (covers load lazily, after the page's own load event)."""
    return page.locator(selector).evaluate(
        "img => img.complete ? img.naturalWidth : new Promise(done => {"
        " img.addEventListener('load', () => done(img.naturalWidth)); img.addEventListener('error', () => done(0)); })"
    )


def test_an_uploaded_cover_shows_on_the_page_the_card_and_the_widget(demo_app, live):
    with demo_app.app_context():
        item_id = db.session.scalar(sa.select(Item.id).where(Item.slug == HIROSHIMA))
    seen: dict = {}

    def upload(page) -> None:
        page.set_input_files("#cover_file", files=[{"name": "poster.png", "mimeType": "image/png", "buffer": poster_png()}])
        with page.expect_navigation():
            page.click("form.item-form button[type=submit]")
        seen["studio"] = page.get_attribute("img.cover-now", "src")
        page.goto(live + f"/items/{HIROSHIMA}")
        seen["page"] = page.get_attribute(".item-cover img", "src")
        seen["loaded"] = natural_width(page, ".item-cover img")
        seen["og"] = page.get_attribute("meta[property='og:image']", "content")
        page.screenshot(path=screenshot_path("item-uploaded-cover.png"))
        page.goto(live + "/search?q=hiroshima")
        seen["card"] = page.get_attribute(f".card a[href='/items/{HIROSHIMA}'] img", "src")
        page.goto(live + f"/widget/items/{HIROSHIMA}")
        seen["widget"] = page.get_attribute(".head img", "src")
        seen["widget_loaded"] = natural_width(page, ".head img")

    problems = in_browser(live, f"/studio/items/{item_id}", upload)
    with demo_app.app_context():
        digest = db.session.get(Item, item_id).cover_digest
    assert digest
    assert seen["studio"] == seen["card"] == f"/covers/uploaded/{digest}-card.jpg"
    assert seen["page"] == f"/covers/uploaded/{digest}-page.jpg" and seen["loaded"] == 400
    assert seen["og"].startswith(f"{live}/og/item/{HIROSHIMA}.png?v=")  # her cover on the link-preview card
    assert seen["widget"] == f"/covers/uploaded/{digest}-card.jpg" and seen["widget_loaded"] == 300
    assert problems == []
