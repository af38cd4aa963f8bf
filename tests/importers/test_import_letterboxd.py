"""Importing the Letterboxd export: the ZIP as downloaded, its CSVs on their own, and its lists."""
from __future__ import annotations

import io
import zipfile

import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item
from afterimage.extensions import db
from tests.importers.test_import_goodreads import upload
from tests.studio.test_studio_fixtures import author_client  # noqa: F401

WATCHED = (
    "Date,Name,Year,Letterboxd URI\r\n"
    "2023-01-02,Hiroshima mon amour,1959,https://boxd.it/1a\r\n"
    "2023-01-05,Cléo de 5 à 7,1962,https://boxd.it/1b\r\n"
    "2023-02-01,花樣年華,2000,https://boxd.it/1c\r\n"
    "2023-02-03,Untitled home movie,,https://boxd.it/1d\r\n"
)
RATINGS = (
    "Date,Name,Year,Letterboxd URI,Rating\r\n"
    "2023-01-02,Hiroshima mon amour,1959,https://boxd.it/1a,4.5\r\n"
    "2023-01-05,Cléo de 5 à 7,1962,https://boxd.it/1b,5\r\n"
)
DIARY = (
    "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\r\n"
    "2023-02-01,花樣年華,2000,https://boxd.it/e1,3.5,,\"longing, hong kong\",2023-01-31\r\n"
    "2023-01-02,Hiroshima mon amour,1959,https://boxd.it/e2,4.5,Yes,memory,2023-01-01\r\n"
)
REVIEWS = (
    "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date\r\n"
    "2023-01-02,Hiroshima mon amour,1959,https://boxd.it/e2,4.5,Yes,\"You saw nothing in Hiroshima.\r\n"
    "Nothing.\",memory,2023-01-01\r\n"
)
WATCHLIST = (
    "Date,Name,Year,Letterboxd URI\r\n"
    "2023-03-01,Stalker,1979,https://boxd.it/2z\r\n"
)
LIST = (
    "Letterboxd list export v7\r\n"
    "Date,Name,Tags,URL,Description\r\n"
    "2023-04-01,Cities that remember,,https://letterboxd.com/mina/list/cities/,Films about places that remember.\r\n"
    "\r\n"
    "Position,Name,Year,URL,Description\r\n"
    "2,Cléo de 5 à 7,1962,https://letterboxd.com/film/cleo-from-5-to-7/,Paris in real time.\r\n"
    "1,Hiroshima mon amour,1959,https://letterboxd.com/film/hiroshima-mon-amour/,Where it starts.\r\n"
    "3,Sans Soleil,1983,https://letterboxd.com/film/sans-soleil/,\r\n"
)


def export_zip(extra: dict[str, str] | None = None) -> bytes:
    """A Letterboxd export ZIP, with a deleted/ folder that must be ignored."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        files = {
            "profile.csv": "Date Joined,Username\r\n2020-01-01,mina\r\n",
            "watched.csv": WATCHED, "ratings.csv": RATINGS, "diary.csv": DIARY, "reviews.csv": REVIEWS,
            "watchlist.csv": WATCHLIST, "lists/cities-that-remember.csv": LIST,
            "deleted/diary.csv": "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\r\n2022-01-01,Deleted Film,1990,https://boxd.it/x,1,,,2022-01-01\r\n",
            **(extra or {}),
        }
        for name, text in files.items():
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()


def film(title: str) -> Item:
    """The film with this title."""
    return db.session.scalar(sa.select(Item).where(Item.title == title))


def test_the_export_zip_imports_films_ratings_reviews_tags_watchlist_and_lists(app, author_client):
    response = upload(author_client, export_zip(), "letterboxd-mina-2024-05-01-10-00-utc.zip")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>6</strong> created" in html  # 4 watched + 1 watchlist + Sans Soleil from the list
    assert "<strong>1</strong> lists created" in html
    with app.app_context():
        hiroshima = film("Hiroshima mon amour")
        assert (hiroshima.kind, hiroshima.year, hiroshima.rating, hiroshima.status) == ("film", 1959, 4.5, "seen")
        assert hiroshima.letterboxd_uri == "https://boxd.it/1a"
        assert hiroshima.note == "You saw nothing in Hiroshima.\r\nNothing."
        assert [t.name for t in hiroshima.tags] == ["memory"]
        mood = film("花樣年華")
        assert mood.rating == 3.5 and sorted(t.name for t in mood.tags) == ["hong kong", "longing"]
        assert film("Cléo de 5 à 7").rating == 5
        untitled = film("Untitled home movie")
        assert untitled.year is None and untitled.rating is None
        stalker = film("Stalker")
        assert stalker.status == "want" and stalker.rating is None
        assert film("Deleted Film") is None
        curated = db.session.scalars(sa.select(CuratedList)).one()
        assert curated.title == "Cities that remember" and not curated.published
        assert curated.introduction == "Films about places that remember."
        assert [(e.item.title, e.note) for e in curated.entries] == [
            ("Hiroshima mon amour", "Where it starts."), ("Cléo de 5 à 7", "Paris in real time."), ("Sans Soleil", ""),
        ]


def test_reimporting_the_same_zip_changes_nothing(app, author_client):
    upload(author_client, export_zip(), "letterboxd.zip")
    with app.app_context():
        before = [(i.title, i.updated_at, i.import_snapshot) for i in db.session.scalars(sa.select(Item).order_by(Item.id))]
    html = upload(author_client, export_zip(), "letterboxd.zip").get_data(as_text=True)
    assert "<strong>0</strong> created" in html and "<strong>0</strong> updated" in html
    with app.app_context():
        after = [(i.title, i.updated_at, i.import_snapshot) for i in db.session.scalars(sa.select(Item).order_by(Item.id))]
        assert after == before
        assert len(db.session.scalars(sa.select(CuratedList)).one().entries) == 3


def test_each_csv_imports_on_its_own(app, author_client):
    assert "<strong>2</strong> created" in upload(author_client, RATINGS.encode(), "ratings.csv").get_data(as_text=True)
    html = upload(author_client, WATCHLIST.encode("utf-8-sig"), "watchlist.csv").get_data(as_text=True)
    assert "<strong>1</strong> created" in html
    html = upload(author_client, WATCHED.encode(), "watched.csv").get_data(as_text=True)
    assert "<strong>2</strong> created" in html and "<strong>2</strong> unchanged" in html
    html = upload(author_client, DIARY.encode(), "diary.csv").get_data(as_text=True)
    assert "<strong>2</strong> updated" in html  # tags arrive; the rating of ratings.csv stands
    with app.app_context():
        assert film("Stalker").status == "want"
        hiroshima = film("Hiroshima mon amour")
        assert hiroshima.rating == 4.5 and [t.name for t in hiroshima.tags] == ["memory"]
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 5


def test_a_list_csv_on_its_own_becomes_a_draft_list_in_order(app, author_client):
    html = upload(author_client, LIST.encode(), "cities-that-remember.csv").get_data(as_text=True)
    assert "<strong>3</strong> created" in html and "<strong>1</strong> lists created" in html
    with app.app_context():
        curated = db.session.scalars(sa.select(CuratedList)).one()
        assert [e.item.title for e in curated.entries] == ["Hiroshima mon amour", "Cléo de 5 à 7", "Sans Soleil"]


def test_a_zip_without_letterboxd_files_is_refused_and_nothing_written(app, author_client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("holiday.jpg", b"\xff\xd8\xff")
        archive.writestr("notes.txt", "hello")
    response = upload(author_client, buffer.getvalue(), "letterboxd.zip")
    assert response.status_code == 400
    assert "This ZIP holds no Letterboxd export files" in response.get_data(as_text=True)
    assert "Nothing was imported." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


def test_bad_letterboxd_rows_are_reported_and_good_ones_kept(app, author_client):
    text = RATINGS + "2023-01-09,,1970,https://boxd.it/zz,3\r\n2023-01-09,Odd year,19x0,https://boxd.it/zy,3\r\n2023-01-09,Odd rating,1970,https://boxd.it/zw,3.3\r\n"
    html = upload(author_client, text.encode(), "ratings.csv").get_data(as_text=True)
    assert "<strong>3</strong> created" in html and "<strong>2</strong> skipped" in html
    assert "ratings.csv row 4</td><td>it has no film name." in html
    assert "ratings.csv row 5</td><td>the year &#39;19x0&#39; is not a number." in html
    assert "rating &#39;3.3&#39; is not 0.5–5 in half stars; ignored." in html


def test_a_newer_list_adds_its_new_films_but_not_an_entry_the_author_removed(app, author_client):
    upload(author_client, LIST.encode(), "cities.csv")
    with app.app_context():
        curated = db.session.scalars(sa.select(CuratedList)).one()
        removed = next(e for e in curated.entries if e.item.title == "Sans Soleil")
        curated.entries.remove(removed)
        db.session.commit()
    newer = LIST + "4,La Jetée,1962,https://letterboxd.com/film/la-jetee/,Memory as a still image.\r\n"
    html = upload(author_client, newer.encode(), "cities.csv").get_data(as_text=True)
    assert "<strong>1</strong> created" in html
    with app.app_context():
        curated = db.session.scalars(sa.select(CuratedList)).one()
        assert [e.item.title for e in curated.entries] == ["Hiroshima mon amour", "Cléo de 5 à 7", "La Jetée"]
        assert curated.entries[-1].note == "Memory as a still image."
