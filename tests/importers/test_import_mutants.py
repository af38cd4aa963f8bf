"""Import and backup behaviour the mutation run (docs/testing.md) found unasserted."""
from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import datetime

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item
from afterimage.catalog.rules import ItemFields, get_or_create_tag, save_item
from afterimage.extensions import db
from afterimage.importers import read_import_file
from afterimage.importers.detect import ImportRefused
from tests.importers.test_backup import import_backup, minimal_backup, with_item
from tests.importers.test_import_goodreads import COLUMNS_24, REMAINS, book, goodreads_csv, upload
from tests.importers.test_import_letterboxd import LIST, film
from tests.importers.test_import_preview import preview_of, write
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


def test_a_hand_edited_backup_list_without_entries_restores_as_an_empty_list(app, runner, client, tmp_path):
    data = minimal_backup(lists=[{"slug": "firsts", "title": "Firsts"}])
    result = import_backup(runner, tmp_path, data)
    assert result.exit_code == 0, result.output
    assert "Afterimage backup: 13 created" in result.output and "Lists: 1 created, 0 updated." in result.output
    with app.app_context():
        firsts = db.session.scalar(sa.select(CuratedList).where(CuratedList.slug == "firsts"))
        assert firsts.title == "Firsts" and firsts.entries == [] and firsts.published
        db.session.remove()
    assert client.get("/lists/firsts").status_code == 200


def test_the_csv_export_writes_both_timestamps_as_the_backup_does(app, author_client):
    with app.app_context():
        item = save_item(ItemFields(kind="film", title="Stalker", year=1979))
        item.created_at = datetime(2024, 1, 2, 3, 4, 5)
        item.updated_at = datetime(2024, 6, 7, 8, 9, 10)
        db.session.commit()
    response = author_client.get("/studio/export.csv")
    [row] = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert row["created_at"] == "2024-01-02T03:04:05+00:00"
    assert row["updated_at"] == "2024-06-07T08:09:10+00:00"


@pytest.mark.parametrize("option, message", [
    ("owned=discard", "--shelf owned=discard: 'discard' is not a choice: use tag, tag:NAME, map:TAG, status:STATUS or ignore."),
    ("owned=:x", "--shelf owned=:x: ':x' is not a choice"),
    ("owned=status:later", "--shelf owned=status:later: the status must be one of seen, current, want (not 'later')."),
    ("owned=ignore:all", "--shelf owned=ignore:all: ignore takes no value after a colon."),
    ("owned=tag:", "--shelf owned=tag:: name the tag after tag:, or write tag alone to keep the shelf's name."),
    ("owned=map:", "--shelf owned=map:: name the tag to file it under after map:."),
    ("owned=map:" + "x" * 101, ": tag names stay under 100 characters."),
    ("owned=map:Nowhere", "--shelf owned=map:Nowhere: there is no tag called 'Nowhere' (use tag:Nowhere to make it)."),
    ("=ignore", "--shelf =ignore: a shelf needs a name."),
])
def test_each_bad_shelf_option_is_refused_with_what_to_write_instead(app, runner, tmp_path, option, message):
    export = write(tmp_path, "goodreads_library_export.csv", goodreads_csv(COLUMNS_24, [REMAINS]))
    result = runner.invoke(args=["import", export, "--shelf", option])
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert "Nothing was imported." in result.output


@pytest.mark.parametrize("choice", ["status: Want ", "STATUS:want", "Ignore", " map : Favourites", "tag:Keepers"])
def test_a_shelf_option_is_read_whatever_its_case_and_spaces(app, runner, tmp_path, choice):
    with app.app_context():
        get_or_create_tag("Favourites")
        db.session.commit()
    export = write(tmp_path, "goodreads_library_export.csv", goodreads_csv(COLUMNS_24, [REMAINS]))
    result = runner.invoke(args=["import", "--dry-run", export, "--shelf", f"favorites={choice}"])
    assert result.exit_code == 0, result.output
    expected = {"status: Want ": "status:want", "STATUS:want": "status:want", "Ignore": "ignore",
                " map : Favourites": "map:Favourites", "tag:Keepers": "map:Keepers"}[choice]
    assert f"Shelf favorites (1 rows): {expected}" in result.output


@pytest.mark.parametrize("value, message", [
    ({"action": "tag", "colour": "red"}, "expected {\"action\": \"…\", \"target\": \"…\"} with text values (unknown key 'colour')."),
    ({"target": "Favourites"}, "expected {\"action\": \"…\", \"target\": \"…\"} with text values."),
    ({"action": "map", "target": 3}, "expected {\"action\": \"…\", \"target\": \"…\"} with text values."),
])
def test_a_mapping_file_entry_with_an_unknown_key_or_no_text_is_refused(app, runner, tmp_path, value, message):
    export = write(tmp_path, "goodreads_library_export.csv", goodreads_csv(COLUMNS_24, [REMAINS]))
    mapping = write(tmp_path, "shelves.json", json.dumps({"shelves": {"owned": value}}))
    result = runner.invoke(args=["import", "--mapping", mapping, export])
    assert result.exit_code != 0
    assert f'shelves.json: $.shelves["owned"]: {message}' in result.output, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


def test_a_watched_row_without_a_letterboxd_address_imports_without_a_link(app, author_client):
    text = "Date,Name,Year,Letterboxd URI\r\n2023-01-02,Stalker,1979,\r\n"
    html = upload(author_client, text.encode(), "watched.csv").get_data(as_text=True)
    assert "<strong>1</strong> created" in html and "<strong>0</strong> skipped" in html
    with app.app_context():
        assert film("Stalker").letterboxd_uri is None


def test_a_dated_diary_rating_wins_over_one_logged_without_any_date(app, author_client):
    text = (
        "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\r\n"
        ",Stalker,1979,https://boxd.it/e1,2,,,\r\n"
        "2023-03-02,Stalker,1979,https://boxd.it/e2,4.5,,,2023-03-01\r\n"
    )
    html = upload(author_client, text.encode(), "diary.csv").get_data(as_text=True)
    assert "diary.csv row 2</td><td>it has no Watched Date; no diary entry." in html
    with app.app_context():
        assert film("Stalker").rating == 4.5


def test_a_mapping_file_can_file_a_shelf_under_an_existing_tag(app, runner, tmp_path):
    with app.app_context():
        get_or_create_tag("Favourites")
        db.session.commit()
    export = write(tmp_path, "goodreads_library_export.csv", goodreads_csv(COLUMNS_24, [REMAINS]))
    mapping = write(tmp_path, "shelves.json", json.dumps({"shelves": {"favorites": {"action": "map", "target": "Favourites"}}}))
    result = runner.invoke(args=["import", "--dry-run", "--mapping", mapping, export])
    assert result.exit_code == 0, result.output
    assert "Shelf favorites (1 rows): map:Favourites" in result.output


def test_the_dry_run_names_a_changed_field_in_words(app, runner, tmp_path):
    with app.app_context():
        save_item(ItemFields(kind="film", title="Stalker", year=1979))
        db.session.commit()
    watched = write(tmp_path, "watched.csv", "Date,Name,Year,Letterboxd URI\r\n2023-01-02,Stalker,1979,https://boxd.it/2z\r\n")
    result = runner.invoke(args=["import", "--dry-run", watched])
    assert result.exit_code == 0, result.output
    assert "Letterboxd watched.csv: 0 new, 1 changed, 0 unchanged, 0 refused." in result.output
    assert "Changed Stalker (1979) (watched.csv row 2): letterboxd uri — → https://boxd.it/2z" in result.output


def test_a_book_listed_twice_in_a_file_is_previewed_as_one_change_then_unchanged(app, author_client):
    upload(author_client, goodreads_csv(COLUMNS_24, [REMAINS]))
    again = {**REMAINS, "My Rating": "3"}
    html = author_client.get(preview_of(author_client, goodreads_csv(COLUMNS_24, [again, again]))).get_data(as_text=True)
    assert re.search(r"<strong>1</strong> changed", html) and re.search(r"<strong>1</strong> unchanged", html)


def test_a_change_the_item_cannot_take_is_refused_under_the_items_own_title(app, author_client):
    upload(author_client, goodreads_csv(COLUMNS_24, [REMAINS]))
    with app.app_context():
        item = book("The Remains of the Day")
        item.kind, item.year, item.title = "film", None, "The Remains of the Day (film)"  # she made it the film
        db.session.commit()
    older = {**REMAINS, "Original Publication Year": "1600"}  # a book's year, not a film's
    html = author_client.get(preview_of(author_client, goodreads_csv(COLUMNS_24, [older]))).get_data(as_text=True)
    refused = html[html.index('id="group-refused"'):]
    assert "row 2</span> · The Remains of the Day (film)" in refused
    assert "The year must be between 1870" in refused


def test_half_a_star_is_the_lowest_rating_kept_and_anything_lower_is_dropped_with_a_warning(app, author_client):
    text = (
        "Date,Name,Year,Letterboxd URI,Rating\r\n"
        "2023-01-02,Stalker,1979,https://boxd.it/2z,0.5\r\n"
        "2023-01-03,Solaris,1972,https://boxd.it/2y,0\r\n"
        "2023-01-04,Mirror,1975,https://boxd.it/2x,5\r\n"
    )
    html = upload(author_client, text.encode(), "ratings.csv").get_data(as_text=True)
    assert "ratings.csv row 3</td><td>rating &#39;0&#39; is not 0.5–5 in half stars; ignored." in html
    with app.app_context():
        assert [film(t).rating for t in ("Stalker", "Solaris", "Mirror")] == [0.5, None, 5]


def test_a_backup_creator_with_a_blank_name_is_refused_by_item(app, runner, tmp_path):
    result = import_backup(runner, tmp_path, minimal_backup(items=with_item(3, creators=[{"name": " ", "role": "director"}])))
    assert result.exit_code != 0
    assert "Item 'film-3' in the backup is invalid: A creator needs a name." in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


def test_a_bad_byte_after_a_field_too_long_to_parse_is_still_reported_at_its_row(author_client):
    # The row count falls back to counting lines when the CSV reader gives up on a 140,000-character field.
    data = ('Book Id,Title,My Review\n1,Cléo,"' + "x" * 140_000 + '"\n').encode() + b"2,Broken \xc3\x28 title,\n"
    response = upload(author_client, data)
    assert response.status_code == 400
    assert "not valid UTF-8: row 3" in html.unescape(response.get_data(as_text=True))


def test_an_unranked_list_without_positions_imports_every_film_in_file_order(app, author_client):
    text = LIST.replace("2,Cléo", ",Cléo").replace("1,Hiroshima", ",Hiroshima").replace("3,Sans", ",Sans")
    html = upload(author_client, text.encode(), "cities.csv").get_data(as_text=True)
    assert "<strong>3</strong> created" in html and "not a number" not in html
    with app.app_context():
        cities = db.session.scalar(sa.select(CuratedList).where(CuratedList.title == "Cities that remember"))
        assert [entry.item.title for entry in cities.entries] == ["Cléo de 5 à 7", "Hiroshima mon amour", "Sans Soleil"]


def test_a_goodreads_year_that_is_not_a_year_is_ignored_with_a_warning_naming_its_row():
    row = {**REMAINS, "Original Publication Year": "19x0", "Year Published": ""}
    plan = read_import_file("goodreads_library_export.csv", goodreads_csv(COLUMNS_24, [row]))
    assert plan.items[0].fields.year is None
    assert plan.warnings == [("row 2", "Original Publication Year '19x0' is not a year; ignored.")]


def test_a_goodreads_file_without_a_title_column_is_refused_naming_the_column():
    with pytest.raises(ImportRefused) as refused:
        read_import_file("goodreads_library_export.csv", b"Book Id,Author\n1,Han Kang\n")
    assert str(refused.value) == "This is not a Goodreads library export: it has no 'Title' column."


def test_the_preview_of_a_list_she_already_has_says_its_new_entries_are_added_to_it(app, author_client):
    first = html.unescape(author_client.get(preview_of(author_client, LIST.encode(), "cities.csv")).get_data(as_text=True))
    assert "Cities that remember: created as a draft" in first
    upload(author_client, LIST.encode(), "cities.csv")
    again = html.unescape(author_client.get(preview_of(author_client, LIST.encode(), "cities.csv")).get_data(as_text=True))
    assert "Cities that remember: new entries are added to your list" in again
