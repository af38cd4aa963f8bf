"""Her diary: dates imported from Letterboxd and Goodreads, edited in the studio, shown on item and year pages."""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db
from afterimage.catalog.models import DiaryEntry, Item
from app import create_app
from tests.conftest import built_once
from tests.importers.test_import_goodreads import COLUMNS_24, REMAINS, goodreads_csv, upload
from tests.importers.test_import_letterboxd import export_zip
from tests.importers.test_sample_exports import GOODREADS_FILES, letterboxd_zip
from tests.studio.test_studio_fixtures import author_client, post_form  # noqa: F401

# Two rows for one film (a first watch and a rewatch), one with a date that is not one, one logged twice a day.
DIARY = (
    "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\r\n"
    "2024-08-13,Hiroshima mon amour,1959,https://boxd.it/e1,4,,memory,2024-08-12\r\n"
    "2025-08-03,Hiroshima mon amour,1959,https://boxd.it/e2,4.5,Yes,memory,2025-08-03\r\n"
    "2023-02-01,花樣年華,2000,https://boxd.it/e3,3.5,,,2023-01-31\r\n"
    "2023-02-02,花樣年華,2000,https://boxd.it/e4,,Yes,,2023-01-31\r\n"
    "2023-03-01,Stalker,1979,https://boxd.it/e5,5,,,2023-02-30\r\n"
)
REREAD = {**REMAINS, "Date Read": "2019/05/01", "Read Count": "2"}
FLIGHTS = {
    "Book Id": "36373481", "Title": "Flights", "Author": "Olga Tokarczuk", "Exclusive Shelf": "read",
    "Date Read": "2021/03/14", "Read Count": "1", "Original Publication Year": "2007",
}
UNDATED = {"Book Id": "1", "Title": "Undated", "Author": "Someone", "Exclusive Shelf": "read", "Read Count": "1"}
BAD_DATE = {"Book Id": "2", "Title": "Misdated", "Author": "Someone", "Exclusive Shelf": "read",
            "Date Read": "2019/13/40", "Read Count": "1"}


def diary_of(title: str) -> list[tuple[str, bool, float | None]]:
    """An item's diary as (ISO day, rewatch, rating), oldest first."""
    item = db.session.scalar(sa.select(Item).where(Item.title == title))
    return [(e.seen_on.isoformat(), e.rewatch, e.rating) for e in item.diary_entries]


def diary_count() -> int:
    """How many diary entries the catalog holds."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(DiaryEntry))


def add_item(title: str, kind: str = "film", status: str = "seen", year: int = 1959,
             days: tuple[tuple[str, bool, float | None], ...] = (), rating: float | None = None) -> int:
    """An item with diary entries, committed; returns its id."""
    item = save_item(ItemFields(kind=kind, title=title, year=year, status=status, rating=rating))
    item.diary_entries = [DiaryEntry(seen_on=date.fromisoformat(d), rewatch=r, rating=s) for d, r, s in days]
    db.session.commit()
    return item.id


# Importing ----------------------------------------------------------------------------------------------


def test_a_letterboxd_export_fills_the_diary_with_watched_dates_rewatches_and_ratings(app, author_client):
    response = upload(author_client, export_zip({"diary.csv": DIARY}), "letterboxd.zip")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "diary.csv row 6" in page and "2023-02-30" in page  # the date that is not one, by its row
    with app.app_context():
        # The Watched Date, not the day it was logged; Yes means a rewatch; the rating of that viewing.
        assert diary_of("Hiroshima mon amour") == [("2024-08-12", False, 4.0), ("2025-08-03", True, 4.5)]
        # Logged twice on one day: one entry.
        assert diary_of("花樣年華") == [("2023-01-31", False, 3.5)]
        assert diary_of("Stalker") == []
        assert diary_count() == 3


def test_reimporting_the_letterboxd_export_adds_no_second_entry(app, author_client):
    upload(author_client, export_zip({"diary.csv": DIARY}), "letterboxd.zip")
    upload(author_client, export_zip({"diary.csv": DIARY}), "letterboxd.zip")
    # diary.csv on its own (no film ids from watched.csv) finds the same films by title and year.
    upload(author_client, DIARY.encode(), "diary.csv")
    with app.app_context():
        assert diary_count() == 3


def test_goodreads_date_read_is_a_diary_entry_and_a_second_read_count_makes_it_a_reread(app, author_client):
    data = goodreads_csv(COLUMNS_24, [REREAD, FLIGHTS, UNDATED, BAD_DATE])
    page = upload(author_client, data).get_data(as_text=True)
    assert "row 5" in page and "2019/13/40" in page
    with app.app_context():
        # Read twice, one date kept by Goodreads: the dated read is the reread.
        assert diary_of("The Remains of the Day") == [("2019-05-01", True, None)]
        assert diary_of("Flights") == [("2021-03-14", False, None)]
        assert diary_of("Undated") == [] and diary_of("Misdated") == []
    upload(author_client, data)
    with app.app_context():
        assert diary_count() == 2


def test_a_newer_goodreads_read_is_added_beside_the_old_one(app, author_client):
    upload(author_client, goodreads_csv(COLUMNS_24, [FLIGHTS]))
    upload(author_client, goodreads_csv(COLUMNS_24, [{**FLIGHTS, "Date Read": "2024/01/05", "Read Count": "2"}]))
    with app.app_context():
        assert diary_of("Flights") == [("2021-03-14", False, None), ("2024-01-05", True, None)]


def test_a_date_she_removed_is_not_brought_back_by_the_next_import(app, author_client):
    upload(author_client, goodreads_csv(COLUMNS_24, [FLIGHTS]))
    with app.app_context():
        entry = db.session.scalar(sa.select(DiaryEntry))
        item_id, entry_id = entry.item_id, entry.id
    page = f"/studio/items/{item_id}/diary"
    response = post_form(author_client, page, {}, action=f"{page}/{entry_id}/delete")
    assert response.status_code == 303
    upload(author_client, goodreads_csv(COLUMNS_24, [FLIGHTS]))
    with app.app_context():
        assert diary_count() == 0


@pytest.mark.parametrize("path", GOODREADS_FILES, ids=lambda p: p.stem)
def test_every_goodreads_sample_variant_gives_the_same_diary(app, author_client, path):
    upload(author_client, path.read_bytes(), path.name)
    with app.app_context():
        diary = {e.item.title: (e.seen_on.isoformat(), e.rewatch) for e in db.session.scalars(sa.select(DiaryEntry))}
    # Books on the to-read and currently-reading shelves have no Date Read.
    assert diary == {"Flights": ("2021-03-14", False), "The Odyssey": ("2020-08-02", False),
                     "Human Acts": ("2019-05-01", False)}


def test_the_letterboxd_sample_export_gives_its_diary(app, author_client):
    upload(author_client, letterboxd_zip(), "letterboxd-mina-2024-05-01-10-00-utc.zip")
    with app.app_context():
        assert diary_of("Hiroshima mon amour") == [("2023-01-01", False, 4.5)]
        assert diary_of("In the Mood for Love") == [("2023-01-31", True, 5.0)]
        assert diary_count() == 2


def test_the_cli_import_says_how_many_dates_it_added(app, runner, tmp_path):
    path = tmp_path / "goodreads_library_export.csv"
    path.write_bytes(goodreads_csv(COLUMNS_24, [REREAD, FLIGHTS]))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Diary: 2 dates added." in result.output


# Item pages ---------------------------------------------------------------------------------------------


def test_the_item_page_says_when_she_watched_it_and_rewatched_it(app, client):
    with app.app_context():
        add_item("Hiroshima mon amour", days=(("2024-08-12", False, None), ("2025-08-03", True, 4.5)))
        add_item("Flights", kind="book", year=2007, days=(("2021-03-14", True, None),))
    page = client.get("/items/hiroshima-mon-amour-1959").get_data(as_text=True)
    line = re.search(r'<p class="diary-line">(.*?)</p>', page).group(1)
    assert re.sub(r"<[^>]+>", "", line) == "Watched 12 Aug 2024, rewatched 3 Aug 2025"
    assert 'href="/years/2024#month-8"' in line and 'href="/years/2025#month-8"' in line
    # Goodreads' reread of a book first read on an undated day.
    page = client.get("/items/flights-2007").get_data(as_text=True)
    line = re.search(r'<p class="diary-line">(.*?)</p>', page).group(1)
    assert re.sub(r"<[^>]+>", "", line) == "Read before, reread 14 Mar 2021"


def test_an_item_without_diary_dates_has_no_diary_line(app, client):
    with app.app_context():
        add_item("Stalker", year=1979)
    assert 'class="diary-line"' not in client.get("/items/stalker-1979").get_data(as_text=True)


# Year pages ---------------------------------------------------------------------------------------------


def add_diary_years() -> None:
    """Films and books over three years, with a private want-to-read book dated in 2024 and alone in 2022."""
    add_item("Hiroshima mon amour", days=(("2024-08-12", False, 4.0), ("2025-08-03", True, None)), rating=4.5)
    add_item("Flights", kind="book", year=2007, days=(("2024-03-14", False, None),), rating=5)
    add_item("Sans Soleil", year=1983, days=(("2024-03-02", False, 3.5), ("2020-01-01", False, None)))
    add_item("The Secret Shelf Book", kind="book", year=2020, status="want",
             days=(("2024-05-05", False, 5.0), ("2022-06-01", False, None)))


@pytest.fixture
def diary_years(app, request):
    """The app with add_diary_years' catalog."""
    built_once(app, request, add_diary_years)
    return app


def test_the_year_page_lists_films_and_books_month_by_month_with_her_ratings(diary_years, client):
    response = client.get("/years/2024")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    months = re.findall(r'<h2 id="month-(\d+)">(\w+)</h2>', page)
    assert months == [("3", "March"), ("8", "August")]
    march = page[page.index('id="month-3"'):page.index('id="month-8"')]
    # Films and books together, in the order she watched or read them.
    assert march.index("Sans Soleil") < march.index("Flights")
    assert "3.5 out of 5" in march and "5 out of 5" in march  # the viewing's rating, else the item's
    august = page[page.index('id="month-8"'):]
    assert "Hiroshima mon amour" in august and "4 out of 5" in august
    assert "2 films watched, 1 book read" in page
    assert 'rel="prev" href="/years/2020"' in page and 'rel="next" href="/years/2025"' in page
    assert 'class="cover cover-small"' in page


def test_a_want_to_read_item_never_shows_in_the_diary(diary_years, client):
    assert "The Secret Shelf Book" not in client.get("/years/2024").get_data(as_text=True)
    # A year where only the private book was read has nothing to show, and no link leads there.
    assert client.get("/years/2022").status_code == 404
    assert 'href="/years/2022"' not in client.get("/years/2024").get_data(as_text=True)
    assert 'href="/years/2022"' not in client.get("/years/2020").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/years/2023", "/years/1899", "/years/0", "/years/10000", "/years/-1", "/years/x"])
def test_a_year_with_nothing_is_not_found(diary_years, client, path):
    assert client.get(path).status_code == 404


def test_the_year_page_is_cached_like_the_other_pages_and_changes_with_the_diary(diary_years, client, author_client):
    reader = diary_years.test_client()
    first = reader.get("/years/2025")
    assert "public" in first.headers["Cache-Control"]
    etag = first.headers["ETag"]
    assert reader.get("/years/2025", headers={"If-None-Match": etag}).status_code == 304
    with diary_years.app_context():
        item_id = db.session.scalar(sa.select(Item.id).where(Item.title == "Flights"))
    page = f"/studio/items/{item_id}/diary"
    assert post_form(author_client, page, {"seen_on": "2025-12-01", "rewatch": "y"}).status_code == 303
    fresh = reader.get("/years/2025", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and "Flights" in fresh.get_data(as_text=True)
    assert "Reread" in fresh.get_data(as_text=True)


# The studio ---------------------------------------------------------------------------------------------


def test_the_studio_item_page_links_to_its_diary(app, author_client):
    with app.app_context():
        item_id = add_item("Stalker", year=1979, days=(("2023-02-03", False, None),))
    page = author_client.get(f"/studio/items/{item_id}").get_data(as_text=True)
    assert f'href="/studio/items/{item_id}/diary"' in page and "Diary (1 date)" in page


def test_she_adds_a_date_marks_it_a_rewatch_and_removes_it(app, author_client):
    with app.app_context():
        item_id = add_item("Stalker", year=1979)
    page = f"/studio/items/{item_id}/diary"
    response = post_form(author_client, page, {"seen_on": "2023-02-03", "rating": "4.5"})
    assert response.status_code == 303
    with app.app_context():
        assert diary_of("Stalker") == [("2023-02-03", False, 4.5)]
        entry_id = db.session.scalar(sa.select(DiaryEntry.id))
    assert post_form(author_client, page, {}, action=f"{page}/{entry_id}/rewatch").status_code == 303
    with app.app_context():
        assert diary_of("Stalker") == [("2023-02-03", True, 4.5)]
    assert "Yes, a rewatch" in author_client.get(page).get_data(as_text=True)
    assert post_form(author_client, page, {}, action=f"{page}/{entry_id}/delete").status_code == 303
    with app.app_context():
        assert diary_of("Stalker") == []


@pytest.mark.parametrize("typed, message", [
    ("12/08/2024", "Enter a real date as YYYY-MM-DD"),
    ("2024-02-30", "Enter a real date as YYYY-MM-DD"),
    ("", "Enter the date you watched it."),
    ("2999-01-01", "The date cannot be in the future."),
    ("1850-01-01", "The date must be 1900 or later."),
    ("2023-02-03", "This day is already in the diary."),
])
def test_a_bad_date_is_shown_on_its_field_and_nothing_is_saved(app, author_client, typed, message):
    with app.app_context():
        item_id = add_item("Stalker", year=1979, days=(("2023-02-03", False, None),))
    response = post_form(author_client, f"/studio/items/{item_id}/diary", {"seen_on": typed, "rating": "7"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # Every problem at once, in the summary and beside its field.
    assert "There are 2 problems" in page
    assert f'<a href="#seen_on">Date: {message}' in page
    assert 'id="seen_on-error"' in page and 'id="rating-error"' in page
    with app.app_context():
        assert diary_count() == 1


def test_diary_changes_need_the_csrf_token(app, author_client):
    with app.app_context():
        item_id = add_item("Stalker", year=1979, days=(("2023-02-03", False, None),))
        entry_id = db.session.scalar(sa.select(DiaryEntry.id))
    assert author_client.post(f"/studio/items/{item_id}/diary", data={"seen_on": "2023-05-05"}).status_code == 400
    assert author_client.post(f"/studio/items/{item_id}/diary/{entry_id}/delete").status_code == 400
    with app.app_context():
        assert diary_count() == 1


def test_an_entry_of_another_item_is_not_found(app, author_client):
    with app.app_context():
        add_item("Stalker", year=1979, days=(("2023-02-03", False, None),))
        other = add_item("Sans Soleil", year=1983)
        entry_id = db.session.scalar(sa.select(DiaryEntry.id))
    page = f"/studio/items/{other}/diary"
    assert post_form(author_client, page, {}, action=f"{page}/{entry_id}/delete").status_code == 404


def test_deleting_an_item_deletes_its_diary(app, author_client):
    with app.app_context():
        item_id = add_item("Stalker", year=1979, days=(("2023-02-03", False, None), ("2024-02-03", True, 5.0)))
        add_item("Sans Soleil", year=1983, days=(("2023-02-03", False, None),))
    assert post_form(author_client, f"/studio/items/{item_id}/delete", {}).status_code in (302, 303)
    with app.app_context():
        assert diary_count() == 1 and diary_of("Sans Soleil") == [("2023-02-03", False, None)]


def test_the_diary_page_is_only_for_her(app, client):
    with app.app_context():
        item_id = add_item("Stalker", year=1979)
    assert client.get(f"/studio/items/{item_id}/diary").status_code in (302, 303)


# Backups ------------------------------------------------------------------------------------------------


def test_a_backup_restores_every_diary_entry(app, tmp_path):
    with app.app_context():
        add_item("Hiroshima mon amour", days=(("2024-08-12", False, 4.0), ("2025-08-03", True, None)))
        add_item("The Secret Shelf Book", kind="book", year=2020, status="want", days=(("2022-06-01", True, 2.5),))
    backup = tmp_path / "backup.json"
    assert app.test_cli_runner().invoke(args=["export", str(backup)]).exit_code == 0
    copy = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'copy.db'}"})
    with copy.app_context():
        db.create_all()
    result = copy.test_cli_runner().invoke(args=["import", str(backup)])
    assert result.exit_code == 0, result.output
    with copy.app_context():
        assert diary_of("Hiroshima mon amour") == [("2024-08-12", False, 4.0), ("2025-08-03", True, None)]
        assert diary_of("The Secret Shelf Book") == [("2022-06-01", True, 2.5)]
        db.session.remove()
        db.engine.dispose()


def test_replacing_the_catalog_with_a_backup_replaces_its_diary(app, runner, tmp_path):
    with app.app_context():
        add_item("Stalker", year=1979, days=(("2023-02-03", False, None),))
    backup = tmp_path / "backup.json"
    assert runner.invoke(args=["export", str(backup)]).exit_code == 0
    with app.app_context():
        add_item("Sans Soleil", year=1983, days=(("2024-01-01", False, None),))
    result = runner.invoke(args=["import", "--replace", str(backup)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert diary_count() == 1 and diary_of("Stalker") == [("2023-02-03", False, None)]


@pytest.mark.parametrize("entry, message", [
    ({"date": "2024-02-30"}, "diary[0]: '2024-02-30' is not a date"),
    ({"date": "2024-01-01", "rating": 7}, "diary[0]: Ratings go from 0.5 to 5"),
    ({"date": "24-01-01"}, "items[0].diary[0].date"),
])
def test_a_backup_with_a_bad_diary_date_is_refused_by_its_place(app, runner, tmp_path, entry, message):
    import json

    data = {"format": {"name": "afterimage-backup", "version": 1}, "tags": [], "lists": [],
            "items": [{"kind": "film", "slug": "stalker-1979", "title": "Stalker", "year": 1979, "diary": [entry]}]}
    path = tmp_path / "backup.json"
    path.write_text(json.dumps(data))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0 and message in result.output, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Item)) == 0
