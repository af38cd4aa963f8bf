"""The diary's pages at phone widths: the year page, an item's diary line and the studio's diary page."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from afterimage.catalog.rules import published_items
from afterimage.extensions import db
from afterimage.catalog.models import DiaryEntry, Item
from tests.browser.conftest import HIROSHIMA
from tests.browser.test_phone_widths import too_wide


def fill_2023(app) -> int:
    """Put every published demo item in the 2023 diary (some twice, as rewatches; the demo's own diary starts in
    2024); returns Hiroshima's id."""
    with app.app_context():
        items = db.session.scalars(sa.select(Item).where(published_items()).order_by(Item.id)).all()
        for n, item in enumerate(items):
            day = date(2023, 1, 1) + timedelta(days=n * 11 % 330)
            item.diary_entries.append(DiaryEntry(seen_on=day, rating=4.5 if n % 3 else None))
            if n % 5 == 0:
                item.diary_entries.append(DiaryEntry(seen_on=day + timedelta(days=30), rewatch=True))
        db.session.commit()
        return db.session.scalar(sa.select(Item.id).where(Item.slug == HIROSHIMA))


def test_the_diary_pages_fit_a_phone(browser, author_site, demo_app):
    hiroshima = fill_2023(demo_app)
    base = author_site.url
    page = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
    assert page.goto(base + "/years/2023").status == 200
    assert page.locator(".diary-month h2").count() >= 10
    wide = too_wide(page, base + "/years/2023") + too_wide(page, f"{base}/items/{HIROSHIMA}")
    assert page.locator(".diary-line").inner_text().startswith("Watched ")
    author_site.sign_in(page)
    assert page.goto(f"{base}/studio/items/{hiroshima}/diary").status == 200
    wide += too_wide(page, f"{base}/studio/items/{hiroshima}/diary")
    page.context.close()
    assert wide == [], "\n".join(wide)
