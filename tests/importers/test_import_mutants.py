"""Import and backup behaviour the mutation run (docs/testing.md) found unasserted."""
from __future__ import annotations

from tests.importers.test_backup import import_backup, minimal_backup, with_item
from tests.importers.test_import_goodreads import COLUMNS_24, REMAINS, book, goodreads_csv, upload
from tests.importers.test_import_letterboxd import LIST
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


def test_a_backup_error_lists_the_allowed_values_and_cuts_a_long_value_at_forty_characters(app, runner, tmp_path):
    result = import_backup(runner, tmp_path, minimal_backup(
        slug_redirects=[{"entity": "page", "old_slug": "a", "target": "b"}],
        items=with_item(3, title=list(range(30))),
    ))
    assert result.exit_code != 0
    assert 'slug_redirects[0].entity: must be one of "item", "tag", "list", not \'page\'' in result.output, result.output
    assert "items[3].title: must be string, not [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11...;" in result.output


def test_a_bad_row_of_a_list_file_is_reported_by_its_line_in_the_file(app, author_client):
    text = LIST + "4,Odd year,19x0,https://letterboxd.com/film/odd/,\r\n"  # the file's ninth line
    html = upload(author_client, text.encode(), "cities.csv").get_data(as_text=True)
    assert "<strong>3</strong> created" in html
    assert "cities.csv row 9</td><td>its year or position is not a number." in html
