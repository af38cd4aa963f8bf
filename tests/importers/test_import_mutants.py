"""Import behaviour the mutation run (docs/testing.md) found unasserted: an export's ISBN-10 kept as ISBN-13."""
from __future__ import annotations

from tests.importers.test_import_goodreads import COLUMNS_24, REMAINS, book, goodreads_csv, upload
from tests.studio.test_studio_fixtures import author_client  # noqa: F401


def test_an_isbn10_alone_is_kept_as_its_isbn13_and_a_malformed_one_is_dropped(app, author_client):
    rows = [
        {**REMAINS, "ISBN13": '=""'},  # 0679731725 -> 978067973172 + check digit 6
        {**REMAINS, "Book Id": "7", "Title": "An X check digit", "ISBN": '="0-8044-2957-X"', "ISBN13": '=""'},
        {**REMAINS, "Book Id": "8", "Title": "Not an ISBN", "ISBN": '="12345"', "ISBN13": '=""'},
    ]
    html = upload(author_client, goodreads_csv(COLUMNS_24, rows)).get_data(as_text=True)
    assert "<strong>3</strong> created" in html
    with app.app_context():
        assert book("The Remains of the Day").isbn13 == "9780679731726"
        assert book("An X check digit").isbn13 == "9780804429573"
        assert book("Not an ISBN").isbn13 is None
