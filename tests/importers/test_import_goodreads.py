"""Importing the Goodreads library export: header variants, its quirks, re-imports and hand edits."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import Item
from afterimage.extensions import db
from tests.conftest import csrf_token_from
from tests.studio.test_studio_fixtures import author_client  # noqa: F401

COLUMNS_24 = [
    "Book Id", "Title", "Author", "Author l-f", "Additional Authors", "ISBN", "ISBN13", "My Rating",
    "Average Rating", "Publisher", "Binding", "Number of Pages", "Year Published", "Original Publication Year",
    "Date Read", "Date Added", "Bookshelves", "Bookshelves with positions", "Exclusive Shelf", "My Review",
    "Spoiler", "Private Notes", "Read Count", "Owned Copies",
]
COLUMNS_23 = [c for c in COLUMNS_24 if c != "Owned Copies"]
COLUMNS_31 = COLUMNS_24[:-1] + [
    "Recommended For", "Recommended By", "Owned Copies", "Original Purchase Date", "Original Purchase Location",
    "Condition", "Condition Description", "BCID",
]

REMAINS = {
    "Book Id": "28921", "Title": "The Remains of the Day", "Author": "Kazuo Ishiguro", "Author l-f": "Ishiguro, Kazuo",
    "ISBN": '="0679731725"', "ISBN13": '="9780679731726"', "My Rating": "5", "Average Rating": "4.13",
    "Publisher": "Vintage", "Binding": "Paperback", "Number of Pages": "245", "Year Published": "1993",
    "Original Publication Year": "1989", "Date Read": "2019/05/01", "Date Added": "2019/04/20",
    "Bookshelves": "favorites, memory, 2019, read-2019", "Bookshelves with positions": "favorites (#3), 2019 (#12)",
    "Exclusive Shelf": "read", "My Review": "A butler<br/><br/>remembers &amp; regrets.", "Read Count": "1",
}
HUMAN_ACTS = {
    "Book Id": "25813963", "Title": "Human Acts", "Author": "Han Kang", "Author l-f": "Kang, Han",
    "Additional Authors": "Deborah Smith", "ISBN": '=""', "ISBN13": '=""', "My Rating": "0",
    "Year Published": "2017", "Original Publication Year": "2014", "Bookshelves": "to-read, korean-women-writers",
    "Exclusive Shelf": "to-read",
}


def goodreads_csv(columns: list[str], rows: list[dict], newline: str = "\n", bom: bool = False) -> bytes:
    """A library export as Goodreads writes it (quoted strings, ="..." ISBNs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def upload(client, data: bytes, filename: str = "goodreads_library_export.csv", **form):
    """Send a file through the studio's import form, then apply its preview as she would (the answer to the
    apply, or the form's answer when the file was refused)."""
    token = csrf_token_from(client.get("/studio/import").get_data(as_text=True))
    response = client.post("/studio/import", data={"csrf_token": token, "file": (io.BytesIO(data), filename), **form},
                           content_type="multipart/form-data")
    return apply_preview(client, response)


def apply_preview(client, response, **choices):
    """Click "Apply" on the preview an upload redirected to (with these shelf choices), and land on the import's
    progress page (its summary, the job having run in the request in tests); or pass a refusal on."""
    if response.status_code != 303 or "/studio/import/" not in response.headers["Location"]:
        return response
    preview = client.get(response.headers["Location"])
    token = csrf_token_from(preview.get_data(as_text=True))
    applied = client.post(response.headers["Location"], data={"csrf_token": token, "do": "apply", **choices})
    return to_progress(client, applied)


def to_progress(client, response):
    """The progress page an apply redirected to, or the apply's own answer (a re-planned preview, a refusal)."""
    if response.status_code == 303 and response.headers["Location"].endswith("/progress"):
        return client.get(response.headers["Location"])
    return response


def book(title: str) -> Item:
    """The imported book with this title."""
    return db.session.scalar(sa.select(Item).where(Item.title == title))


@pytest.mark.parametrize("columns", [COLUMNS_23, COLUMNS_24, COLUMNS_31], ids=["23-columns", "24-columns", "31-columns"])
def test_every_goodreads_header_variant_imports_by_column_name(app, author_client, columns):
    response = upload(author_client, goodreads_csv(columns, [REMAINS, HUMAN_ACTS]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>2</strong> created" in html
    with app.app_context():
        remains = book("The Remains of the Day")
        assert remains.kind == "book" and remains.goodreads_id == "28921"
        assert remains.isbn13 == "9780679731726"
        assert remains.year == 1989  # the original publication year, not the edition's
        assert remains.rating == 5 and remains.status == "seen"
        assert remains.note == "A butler\n\nremembers & regrets."
        assert [t.name for t in remains.tags] == ["favorites", "memory"]  # no reading states, no year shelves
        assert [(c.creator.name, c.role) for c in remains.credits] == [("Kazuo Ishiguro", "author")]
        human = book("Human Acts")
        assert human.status == "want" and human.rating is None and human.isbn13 is None
        assert [c.creator.name for c in human.credits] == ["Han Kang", "Deborah Smith"]
        assert [t.name for t in human.tags] == ["korean women writers"]


def test_a_bom_crlf_multiline_reviews_and_cjk_titles_are_read_as_written(app, author_client):
    rows = [
        {**REMAINS, "My Review": 'First line,\r\nsecond "quoted" line<br />third'},
        {"Book Id": "1", "Title": "ノルウェイの森", "Author": "村上春樹", "Original Publication Year": "1987",
         "Exclusive Shelf": "read", "My Rating": "4", "Bookshelves": "japan"},
        {"Book Id": "2", "Title": "Écrire", "Author": "Marguerite Duras", "Original Publication Year": "1993",
         "Exclusive Shelf": "currently-reading", "Bookshelves": "currently-reading, français"},
    ]
    response = upload(author_client, goodreads_csv(COLUMNS_24, rows, newline="\r\n", bom=True))
    assert "<strong>3</strong> created" in response.get_data(as_text=True)
    with app.app_context():
        assert book("The Remains of the Day").note == 'First line,\r\nsecond "quoted" line\nthird'
        norwegian = book("ノルウェイの森")
        assert norwegian.year == 1987 and norwegian.creators_by_role("author")[0].name == "村上春樹"
        ecrire = book("Écrire")
        assert ecrire.status == "current" and [t.name for t in ecrire.tags] == ["français"]
    assert author_client.get("/search?q=ノルウェイ").status_code == 200


def test_reimporting_the_same_file_changes_nothing(app, author_client):
    data = goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS])
    upload(author_client, data)
    with app.app_context():
        before = {i.title: (i.updated_at, i.import_snapshot) for i in db.session.scalars(sa.select(Item))}
    html = upload(author_client, data).get_data(as_text=True)
    assert "<strong>0</strong> created" in html and "<strong>0</strong> updated" in html
    assert "<strong>2</strong> unchanged" in html
    with app.app_context():
        after = {i.title: (i.updated_at, i.import_snapshot) for i in db.session.scalars(sa.select(Item))}
        assert after == before
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 2


def test_a_newer_file_updates_what_changed_but_not_what_the_author_edited(app, author_client):
    upload(author_client, goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS]))
    with app.app_context():
        remains = book("The Remains of the Day")
        remains.note = "My own words, typed in the studio."
        db.session.commit()
    newer = [
        {**REMAINS, "My Rating": "4", "My Review": "A newer review on Goodreads."},
        {**HUMAN_ACTS, "Exclusive Shelf": "read", "Bookshelves": "korean-women-writers", "My Rating": "5"},
    ]
    html = upload(author_client, goodreads_csv(COLUMNS_24, newer)).get_data(as_text=True)
    assert "<strong>2</strong> updated" in html
    assert "Left alone: your values were kept" in html
    assert "The Remains of the Day (1989): note (you edited it here since the last import)" in html
    assert "The Remains of the Day (1989): rating" in html  # overwritten: she had not touched it
    with app.app_context():
        remains = book("The Remains of the Day")
        assert remains.note == "My own words, typed in the studio."
        assert remains.rating == 4
        human = book("Human Acts")
        assert human.status == "seen" and human.rating == 5


def test_a_book_typed_by_hand_is_matched_by_title_and_year_not_duplicated(app, author_client):
    with app.app_context():
        from afterimage.catalog.rules import ItemFields, save_item

        save_item(ItemFields(kind="book", title="the remains of the day", year=1989, note="Typed first."))
        db.session.commit()
    html = upload(author_client, goodreads_csv(COLUMNS_24, [REMAINS])).get_data(as_text=True)
    assert "<strong>0</strong> created" in html and "<strong>1</strong> updated" in html
    assert "title (the item was entered by hand and its value differs)" in html
    with app.app_context():
        only = db.session.scalars(sa.select(Item)).one()
        assert only.note == "Typed first." and only.title == "the remains of the day" and only.goodreads_id == "28921" and only.rating == 5


def test_bad_rows_are_skipped_with_their_row_number_and_the_rest_imported(app, author_client):
    data = goodreads_csv(COLUMNS_24, [REMAINS, {**HUMAN_ACTS, "Title": ""}, {**HUMAN_ACTS, "Book Id": "9", "ISBN13": '="9780385493001"', "Title": "Bad ISBN"}])
    data += b'"77","Too few columns"\n'
    html = upload(author_client, data).get_data(as_text=True)
    assert "<strong>2</strong> created" in html and "<strong>2</strong> skipped" in html
    assert "row 3</td><td>it has no title." in html
    assert "row 5</td><td>it has 2 columns where the header has 24." in html
    assert "ISBN-13 9780385493001 has a wrong check digit; imported without it." in html
    with app.app_context():
        assert book("Bad ISBN").isbn13 is None


def test_old_books_keep_their_original_year_and_impossible_years_import_without_one(app, author_client):
    rows = [
        {**REMAINS, "Title": "Pride and Prejudice", "Book Id": "3", "Original Publication Year": "1813",
         "Year Published": "2002"},
        {**REMAINS, "Title": "The Iliad", "Book Id": "4", "Original Publication Year": "-750", "Year Published": "1998"},
        {**REMAINS, "Title": "Older than writing", "Book Id": "5", "Original Publication Year": "-4000",
         "Year Published": "1998"},
    ]
    html = upload(author_client, goodreads_csv(COLUMNS_24, rows)).get_data(as_text=True)
    assert "Original Publication Year -4000: The year must be between -3000 (c. 3000 BC) and" in html
    with app.app_context():
        assert book("Pride and Prejudice").year == 1813
        assert book("The Iliad").year == -750
        assert book("Older than writing").year is None


def test_rows_of_one_file_see_each_other_repeats_merge_and_same_titles_get_their_own_slugs(app, author_client):
    rows = [REMAINS, REMAINS,
            {"Book Id": "70", "Title": "Untitled", "Exclusive Shelf": "read"},
            {"Book Id": "71", "Title": "Untitled", "Exclusive Shelf": "read"}]
    html = upload(author_client, goodreads_csv(COLUMNS_24, rows)).get_data(as_text=True)
    assert "<strong>3</strong> created" in html and "<strong>1</strong> unchanged" in html
    with app.app_context():
        slugs = sorted(db.session.scalars(sa.select(Item.slug).where(Item.title == "Untitled")))
        assert slugs == ["untitled", "untitled-2"]
