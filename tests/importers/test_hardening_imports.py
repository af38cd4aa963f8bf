"""Issue 20: every hostile import file is refused with a message naming the problem, in bounded memory, and
the catalog is exactly as it was."""
from __future__ import annotations

import gc
import html
import io
import json
import tracemalloc
import zipfile

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from afterimage.catalog.models import Item
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db
from afterimage.importers import read_import_file
from tests.hostile import corpus, zip_of
from tests.conftest import csrf_token_from
from tests.importers.test_import_goodreads import apply_preview, upload
from tests.studio.test_studio_fixtures import author_client  # noqa: F401

PEAK_MEMORY_LIMIT = 300 * 1024 * 1024
CORPUS = corpus()


def catalog_json(client) -> dict:
    """The studio's JSON export, without its timestamp."""
    data = json.loads(client.get("/studio/export.json").get_data(as_text=True))
    data.pop("exported_at")
    return data


def upload_in_memory(client, data: bytes, filename: str):
    """Send a file through the studio's import form, the request body built in memory (the test client would
    spool a large one to a temporary file that it never closes)."""
    token = csrf_token_from(client.get("/studio/import").get_data(as_text=True))
    boundary, body = encode_multipart({"csrf_token": token, "file": FileStorage(io.BytesIO(data), filename)})
    response = client.post("/studio/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    return apply_preview(client, response)


@pytest.fixture
def small_catalog_client(app, author_client):
    """A signed-in author with two items in the catalog."""
    with app.app_context():
        save_item(ItemFields(kind="film", title="Hiroshima mon amour", year=1959, tags=["Memory"]))
        save_item(ItemFields(kind="book", title="Human Acts", year=2014, creators=[("Han Kang", "author")]))
        db.session.commit()
    return author_client


@pytest.mark.slow
@pytest.mark.parametrize("hostile", CORPUS, ids=[h.id for h in CORPUS])
def test_a_hostile_file_is_refused_by_name_in_bounded_memory_and_changes_nothing(app, small_catalog_client, hostile):
    data = hostile.build()
    before = catalog_json(small_catalog_client)
    gc.collect()
    tracemalloc.start()
    try:
        response = upload_in_memory(small_catalog_client, data, hostile.filename)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400, page[:2000]
    assert hostile.message in page
    assert "Nothing was imported." in page
    assert peak < PEAK_MEMORY_LIMIT, f"peak {peak / 1_048_576:.0f} MB"
    assert catalog_json(small_catalog_client) == before


def test_the_lying_zip_bomb_is_refused_after_reading_a_few_kilobytes(app):
    from tests.hostile import lying_zip_bomb

    data = lying_zip_bomb()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="declares 100 bytes"):
            read_import_file("letterboxd.zip", data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(data) + 1_048_576


def test_members_are_counted_as_they_inflate_whatever_their_headers_say(app, monkeypatch):
    """Were the declared sizes believed (the check on them off here), the real bytes still stop at the limit."""
    from afterimage.importers import detect, letterboxd

    monkeypatch.setattr(detect, "MAX_IMPORT_BYTES", 40_000)
    monkeypatch.setattr(letterboxd, "check_size", lambda size: None)
    rows = "Date,Name,Year,Letterboxd URI\n" + "2023-01-02,Hiroshima mon amour,1959,https://boxd.it/1a\n" * 600
    data = zip_of({"watched.csv": rows.encode(), "diary.csv": rows.replace("watched", "x").encode()})
    with pytest.raises(ValueError, match="inflates past the import limit"):
        read_import_file("letterboxd.zip", data)


def test_a_corrupt_member_is_a_clear_refusal_not_a_server_error(app, small_catalog_client):
    watched = b"Date,Name,Year,Letterboxd URI\n" + b"2023-01-02,Hiroshima mon amour,1959,https://boxd.it/1a\n" * 50
    data = bytearray(zip_of({"watched.csv": watched}))
    start = 30 + len("watched.csv")
    data[start:start + 40] = b"\xff" * 40  # zlib.error: invalid block type
    response = upload(small_catalog_client, bytes(data), "letterboxd.zip")
    assert response.status_code == 400
    assert "The ZIP file is damaged: watched.csv cannot be read" in html.unescape(response.get_data(as_text=True))


def test_invalid_utf8_in_an_otherwise_utf8_csv_is_refused_with_its_row(app, small_catalog_client):
    data = ("Book Id,Title\n1,Cléo de 5 à 7\n2,Ça\n").encode() + b"3,Broken \xc3\x28 title\n"
    response = upload(small_catalog_client, data)
    assert response.status_code == 400
    assert "not valid UTF-8: row 4" in html.unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 2


def test_a_windows_1252_file_is_read_and_the_report_says_so(app, small_catalog_client):
    data = "Book Id,Title\n1,Plain title\n2,Café society\n".encode("cp1252")
    page = html.unescape(upload(small_catalog_client, data).get_data(as_text=True))
    assert "<strong>2</strong> created" in page
    assert "read as Windows-1252, first at row 3" in page
    with app.app_context():
        assert db.session.scalar(sa.select(Item.title).where(Item.title.like("Caf%"))) == "Café society"


def test_a_zip_member_that_is_not_utf8_is_reported_too(app):
    member = "Date,Name,Year,Letterboxd URI\n2023-01-05,Cléo de 5 à 7,1962,https://boxd.it/1b\n".encode("cp1252")
    plan = read_import_file("letterboxd.zip", zip_of({"watched.csv": member}))
    assert plan.items[0].fields.title == "Cléo de 5 à 7"
    assert any("read as Windows-1252" in message for _, message in plan.warnings)


def test_an_encrypted_member_names_the_member(app):
    from tests.hostile import encrypted_member

    with pytest.raises(ValueError, match="watched.csv cannot be read"):
        read_import_file("letterboxd.zip", encrypted_member())


def test_a_zip_of_a_real_export_still_imports(app, small_catalog_client):
    from tests.importers.test_import_letterboxd import export_zip

    page = upload(small_catalog_client, export_zip(), "letterboxd.zip").get_data(as_text=True)
    assert "created" in page and "Nothing was imported" not in page


def test_a_stored_member_is_read_too(app):
    watched = b"Date,Name,Year,Letterboxd URI\n2023-01-02,Hiroshima mon amour,1959,https://boxd.it/1a\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("watched.csv", watched)
    assert read_import_file("letterboxd.zip", buffer.getvalue()).items[0].fields.title == "Hiroshima mon amour"
