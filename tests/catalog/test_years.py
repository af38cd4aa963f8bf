"""Years as literature has them: books from 3000 BC, films from 1870, BC years written "c. 700 BC"."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import Item
from afterimage.extensions import db
from tests.studio.test_studio_fixtures import author_client  # noqa: F401
from tests.studio.test_studio_items import add_film

NEXT_YEAR = date.today().year + 1


def test_a_book_from_before_the_common_era_is_saved_and_shown_as_bc(app, author_client):
    response = add_film(author_client, kind="book", title="The Odyssey", year="-700", creators="Homer",
                        letterboxd_uri="", isbn13="")
    assert response.status_code == 303
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.title == "The Odyssey"))
        assert (item.year, item.slug) == (-700, "the-odyssey-700-bc")
    client = app.test_client()  # a reader
    page = client.get("/items/the-odyssey-700-bc").get_data(as_text=True)
    assert "<title>The Odyssey (c. 700 BC)" in page and ">-700" not in page and "(-700)" not in page
    assert "c. 700 BC" in client.get("/items").get_data(as_text=True)
    assert "The Odyssey (c. 700 BC)" in client.get("/feeds/items.atom").get_data(as_text=True)
    assert client.get("/api/v1/items/the-odyssey-700-bc").get_json()["year"] == -700
    assert "c. 700 BC" in client.get("/covers/the-odyssey-700-bc.svg").get_data(as_text=True)


@pytest.mark.parametrize("kind, year, message", [
    ("film", "1869", f"The year must be between 1870 and {NEXT_YEAR}."),
    ("book", "-3001", f"The year must be between -3000 (c. 3000 BC) and {NEXT_YEAR}."),
    ("book", str(NEXT_YEAR + 1), f"The year must be between -3000 (c. 3000 BC) and {NEXT_YEAR}."),
    ("book", "0", "There is no year 0: write 1 BC as -1."),
])
def test_years_outside_each_kinds_range_are_refused_with_a_message(app, author_client, kind, year, message):
    response = add_film(author_client, kind=kind, year=year, letterboxd_uri="", isbn13="")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


def test_an_old_book_is_accepted_from_1813_and_a_film_from_1870(app, author_client):
    assert add_film(author_client, kind="book", title="Persuasion", year="1817", letterboxd_uri="",
                    isbn13="").status_code == 303
    assert add_film(author_client, title="Roundhay Garden Scene", year="1888").status_code == 303


def test_a_backup_keeps_bc_years_and_private_shelves(app, tmp_path):
    from afterimage.catalog.rules import ItemFields, save_item
    from tests.importers.test_backup import fresh_app

    with app.app_context():
        save_item(ItemFields(kind="book", title="The Odyssey", year=-700, status="current"))
        db.session.commit()
    backup = tmp_path / "backup.json"
    assert app.test_cli_runner().invoke(args=["export", str(backup)]).exit_code == 0
    restored = fresh_app(tmp_path, "restored.db")
    result = restored.test_cli_runner().invoke(args=["import", str(backup)])
    assert result.exit_code == 0, result.output
    with restored.app_context():
        assert db.session.execute(sa.select(Item.year, Item.status)).one() == (-700, "current")
        db.session.remove()
        db.engine.dispose()
