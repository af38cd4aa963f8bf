"""Real export files as they come: every variant in tests/data/exports imports through the studio."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.extensions import db
from tests.importers.test_import_goodreads import upload
from tests.studio.test_studio_fixtures import author_client  # noqa: F401

EXPORTS = Path(__file__).parent.parent / "data" / "exports"
GOODREADS_FILES = sorted((EXPORTS / "goodreads").glob("*.csv"))
LETTERBOXD = EXPORTS / "letterboxd"


def test_there_is_a_sample_of_every_goodreads_variant():
    assert {p.name for p in GOODREADS_FILES} == {
        "goodreads_library_export.csv", "goodreads_library_export_31_columns.csv", "goodreads_space_padded.csv",
    }


@pytest.mark.parametrize("path", GOODREADS_FILES, ids=lambda p: p.stem)
def test_every_goodreads_variant_imports_the_same_books(app, author_client, path):
    html = upload(author_client, path.read_bytes(), path.name).get_data(as_text=True)
    assert "<strong>5</strong> created" in html and "<strong>0</strong> skipped" in html
    with app.app_context():
        books = {i.title: i for i in db.session.scalars(sa.select(Item))}
        assert set(books) == {"Flights", "The Odyssey", "Pride and Prejudice", "The Waves", "Human Acts"}
        flights = books["Flights"]
        assert (flights.year, flights.rating, flights.status, flights.isbn13) == (2007, 5, "seen", "9780525534204")
        assert flights.note == "Travel, bodies, islands.\n\nRead it in one week."
        assert [t.name for t in flights.tags] == ["favorites", "polish lit"]
        assert (books["The Odyssey"].year, books["The Odyssey"].isbn13) == (-700, "9780393089059")
        assert (books["Pride and Prejudice"].year, books["Pride and Prejudice"].status) == (1813, "want")
        assert books["The Waves"].status == "current"
        assert [t.name for t in books["Human Acts"].tags] == ["korean women writers"]
        assert set(db.session.scalars(sa.select(Tag.name))) == {
            "favorites", "polish lit", "classics", "korean women writers"}
    # Importing the same file again changes nothing.
    assert "<strong>5</strong> unchanged" in upload(author_client, path.read_bytes(), path.name).get_data(as_text=True)


def letterboxd_zip() -> bytes:
    """The sample files as the export ZIP holds them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(LETTERBOXD.rglob("*.csv")):
            archive.write(path, path.relative_to(LETTERBOXD).as_posix())
    return buffer.getvalue()


def test_the_letterboxd_sample_export_imports_films_watchlist_and_both_lists(app, author_client):
    html = upload(author_client, letterboxd_zip(), "letterboxd-mina-2024-05-01-10-00-utc.zip").get_data(as_text=True)
    assert "<strong>5</strong> created" in html
    with app.app_context():
        status = dict(db.session.execute(sa.select(Item.title, Item.status)).all())
        assert status == {"Hiroshima mon amour": "seen", "Cléo from 5 to 7": "seen", "In the Mood for Love": "seen",
                          "Stalker": "want", "Sans Soleil": "want"}
        lists = {c.title: [i.title for i in c.items] for c in db.session.scalars(sa.select(CuratedList))}
        assert lists == {"Cities that remember": ["Hiroshima mon amour", "Cléo from 5 to 7"],
                         "Slow evenings": ["In the Mood for Love", "Hiroshima mon amour"]}


@pytest.mark.parametrize("name, title, first", [
    ("cities-that-remember.csv", "Cities that remember", "Hiroshima mon amour"),
    ("slow-evenings-without-first-line.csv", "Slow evenings", "In the Mood for Love"),
])
def test_a_list_file_imports_on_its_own_with_or_without_its_first_line(app, author_client, name, title, first):
    response = upload(author_client, (LETTERBOXD / "lists" / name).read_bytes(), name)
    assert response.status_code == 200
    with app.app_context():
        curated = db.session.scalar(sa.select(CuratedList))
        assert curated.title == title and curated.items[0].title == first and not curated.published


def test_a_csv_that_is_neither_list_nor_film_file_is_still_refused(app, author_client):
    html = upload(author_client, b"Date,Name,Tags\r\n2023-01-01,Nothing,\r\n", "mystery.csv").get_data(as_text=True)
    assert "is not a Goodreads library export, a Letterboxd export or an Afterimage backup" in html


def test_goodreads_additional_authors_are_contributors_shown_after_the_author(app, author_client):
    path = EXPORTS / "goodreads" / "goodreads_library_export.csv"
    upload(author_client, path.read_bytes(), path.name)
    with app.app_context():
        flights = db.session.scalar(sa.select(Item).where(Item.title == "Flights"))
        assert [(c.creator.name, c.role) for c in flights.credits] == [
            ("Olga Tokarczuk", "author"), ("Jennifer Croft", "contributor")]
    page = app.test_client().get("/items/flights-2007").get_data(as_text=True)
    byline = page.split('<p class="byline">')[1].split("</p>")[0]
    assert ">Olga Tokarczuk</a> · with <a" in byline and ">Jennifer Croft</a>" in byline
    assert "Contributed to" in app.test_client().get("/people/jennifer-croft").get_data(as_text=True)
    # She gives the contributor the part they played; the page says so.
    with app.app_context():
        flights = db.session.scalar(sa.select(Item).where(Item.title == "Flights"))
        flights.credits[1].role = "translator"
        db.session.commit()
    page = app.test_client().get("/items/flights-2007").get_data(as_text=True)
    assert "· translated by <a" in page.split('<p class="byline">')[1].split("</p>")[0]


def test_a_book_credits_an_illustrator_in_its_byline_and_on_their_page(app, author_client):
    from tests.studio.test_studio_items import add_film

    add_film(author_client, kind="book", title="The Little Prince", year="1943", letterboxd_uri="", isbn13="",
             creators="Antoine de Saint-Exupéry\nAntoine de Saint-Exupéry (illustrator)\nKatherine Woods (translator)")
    page = app.test_client().get("/items/the-little-prince-1943").get_data(as_text=True)
    byline = page.split('<p class="byline">')[1].split("</p>")[0]
    assert byline.index("translated by") < byline.index("illustrated by")
    person = app.test_client().get("/people/antoine-de-saint-exupery").get_data(as_text=True)
    assert "Illustrated" in person and "Wrote" in person
