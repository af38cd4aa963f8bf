"""What the importer refuses, how a failure rolls back, and the import command."""
from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import Item, Tag
from afterimage.extensions import db
from afterimage.importers import detect, records
from tests.importers.test_import_goodreads import COLUMNS_24, HUMAN_ACTS, REMAINS, goodreads_csv, upload
from tests.importers.test_import_letterboxd import RATINGS, export_zip
from tests.studio.test_studio_fixtures import author_client  # noqa: F401


def catalog_size(app) -> tuple[int, int]:
    """Items and tags in the database."""
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count(Item.id))), db.session.scalar(sa.select(sa.func.count(Tag.id))))


@pytest.mark.parametrize("data, filename, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "goodreads_library_export.csv", "is a binary file"),
    (b"Film,Seen on\nStalker,2020\n", "films.csv", "not a Goodreads library export, a Letterboxd export or an Afterimage backup"),
    (b"Book Id,Name\n1,x\n", "goodreads_library_export.csv", "Title"),
    (b"Book Id,Title\n1,Caf\x81\x8d\n", "goodreads_library_export.csv", "not valid UTF-8"),
    (b'{"hello": "world"}', "backup.json", "not an Afterimage backup"),
    (b'{"format": {"name": "afterimage-backup", "version": 9}, "items": [], "tags": [], "lists": []}', "b.json", "format version 9"),
    (b"PK\x03\x04 not really a zip", "letterboxd.zip", "damaged or not a ZIP"),
    (b"", "empty.csv", "The file is empty."),
])
def test_a_file_that_is_not_what_it_claims_is_refused_and_nothing_is_written(app, author_client, data, filename, message):
    response = upload(author_client, data, filename)
    assert response.status_code in (200, 400)
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert catalog_size(app) == (0, 0)


def test_a_file_over_the_size_limit_is_refused(app, author_client, monkeypatch):
    monkeypatch.setattr(detect, "MAX_IMPORT_BYTES", 1000)
    response = upload(author_client, goodreads_csv(COLUMNS_24, [REMAINS] * 20))
    assert "The file is too large" in response.get_data(as_text=True)
    assert catalog_size(app) == (0, 0)


def test_a_zip_that_inflates_past_the_limit_is_refused_before_reading(app, author_client, monkeypatch):
    monkeypatch.setattr(detect, "MAX_IMPORT_BYTES", 50_000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("watched.csv", "Date,Name,Year,Letterboxd URI\n" + "x" * 200_000)
    assert "The file is too large" in upload(author_client, buffer.getvalue(), "letterboxd.zip").get_data(as_text=True)


def test_windows_1252_files_are_read_when_they_are_not_utf8(app, author_client):
    data = goodreads_csv(COLUMNS_24, [{**REMAINS, "Title": "Café society", "My Review": "Très bien"}]).decode().encode("cp1252")
    assert "<strong>1</strong> created" in upload(author_client, data).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Item.note)) == "Très bien"


def test_a_crash_midway_leaves_the_database_as_it_was(app, runner, tmp_path, monkeypatch):
    path = tmp_path / "goodreads_library_export.csv"
    path.write_bytes(goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS, {**REMAINS, "Book Id": "5", "Title": "Third"}]))
    real_save, calls = records.save_item, []

    def failing_save(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(records, "save_item", failing_save)
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    assert catalog_size(app) == (0, 0)


def test_the_import_command_shows_progress_and_a_summary(app, runner, tmp_path):
    path = tmp_path / "goodreads_library_export.csv"
    path.write_bytes(goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS, {**HUMAN_ACTS, "Title": ""}]))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Importing Goodreads library export" in result.output
    assert "Goodreads library export: 2 created, 0 updated, 0 unchanged, 1 skipped." in result.output
    assert "Skipped row 4: it has no title." in result.output
    again = runner.invoke(args=["import", str(path)])
    assert "0 created, 0 updated, 2 unchanged" in again.output


def test_the_import_command_reads_a_letterboxd_zip_and_refuses_junk(app, runner, tmp_path):
    archive = tmp_path / "letterboxd-mina-2024-05-01-10-00-utc.zip"
    archive.write_bytes(export_zip())
    result = runner.invoke(args=["import", str(archive)])
    assert result.exit_code == 0, result.output
    assert "Letterboxd export: 6 created" in result.output
    junk = tmp_path / "ratings.csv"
    junk.write_bytes(b"\x00\x01binary")
    refused = runner.invoke(args=["import", str(junk)])
    assert refused.exit_code != 0
    assert "binary file" in refused.output and "Nothing was imported." in refused.output


def test_replace_is_refused_for_anything_but_a_backup(app, runner, tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(RATINGS)
    result = runner.invoke(args=["import", "--replace", str(path)])
    assert result.exit_code != 0 and "only applies to an Afterimage backup" in result.output
    assert catalog_size(app) == (0, 0)


def test_an_upload_is_never_written_to_disk_under_its_name(app, author_client, tmp_path):
    upload(author_client, RATINGS.encode(), "../../evil name.csv")
    import os

    for root in (app.instance_path, app.static_folder, os.getcwd()):
        assert not any("evil name" in f for _, _, files in os.walk(root) for f in files)


def test_an_upload_over_the_request_limit_gets_a_clear_message(app, author_client):
    # Small sizes: werkzeug keeps such uploads in memory, so no temporary file is left open.
    app.config["MAX_CONTENT_LENGTH"] = 100 * 1024
    response = upload(author_client, b"x" * (200 * 1024), "goodreads_library_export.csv")
    assert response.status_code == 413
    assert "larger than the upload limit (100 KB)" in response.get_data(as_text=True)
    assert catalog_size(app) == (0, 0)
