"""Her own covers: uploads checked by decoding, re-encoded without metadata in three sizes, served at
content-hashed URLs for a year; a hostile file is refused with a message and changes nothing."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from afterimage.catalog.models import CoverImage, Item
from afterimage.extensions import db
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.conftest import csrf_token_from
from tests.studio.test_studio_fixtures import author_client, demo_author_client, post_form  # noqa: F401
from tests.studio.test_studio_items import FILM

CORPUS = Path(__file__).resolve().parent.parent / "hostile_images"
REFUSED = sorted(p for p in CORPUS.iterdir() if p.suffix != ".py" and not p.name.startswith("ok-"))
ACCEPTED = sorted(p for p in CORPUS.iterdir() if p.name.startswith("ok-"))
UPLOADED = re.compile(r"/covers/uploaded/([0-9a-f]{64})-(page|card|preview)\.jpg")


def image_bytes(fmt: str, size=(800, 1200), mode="RGB", colour=(200, 30, 40)) -> bytes:
    """A real image of a format and size."""
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)
    return out.getvalue()


def upload(client, data: bytes, name: str, page: str = "/studio/items/new", **fields):
    """Post the item form with a cover file (encoded here, so a large body is not spooled to a temporary
    file the test client would leave open)."""
    form = client.get(page).get_data(as_text=True)
    fields = {**FILM, **fields, "csrf_token": csrf_token_from(form), "cover_file": FileStorage(io.BytesIO(data), name)}
    boundary, body = encode_multipart(fields)
    return client.post(page, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def the_item(app) -> Item:
    """The only item."""
    return db.session.scalars(sa.select(Item)).one()


def test_the_corpus_is_all_there():
    assert len(REFUSED) >= 12 and len(ACCEPTED) >= 2
    assert (CORPUS / "decompression-bomb.png").stat().st_size < 200_000


@pytest.mark.parametrize("path", REFUSED, ids=lambda p: p.name)
def test_a_hostile_file_is_refused_with_a_message_and_nothing_is_saved(app, author_client, path):
    response = upload(author_client, path.read_bytes(), path.name)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = re.search(r'<div class="error-summary"(.*?)</div>', html, re.S).group(1)
    assert 'href="#cover_file"' in summary and "Nothing was changed." in summary
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CoverImage)) == 0


@pytest.mark.parametrize("name, message", [
    ("png-header-on-html.png", "not a JPEG, PNG or WebP image, whatever its name says"),
    ("truncated.jpg", "damaged or not really an image"),
    ("svg-with-script.svg", "not a JPEG, PNG or WebP image"),
    ("decompression-bomb.png", "decompression bomb"),
    ("huge-width.png", "100000×10"),
    ("huge-declared-area.png", "at most 6000 pixels a side and 24 megapixels"),
    ("one-pixel.png", "too small"),
    ("zero-bytes.jpg", "The file is empty."),
])
def test_refusals_say_what_is_wrong(author_client, name, message):
    html = upload(author_client, (CORPUS / name).read_bytes(), name).get_data(as_text=True)
    assert message in html


def test_a_file_over_five_megabytes_is_refused_before_decoding(author_client):
    html = upload(author_client, b"\xff\xd8" + b"\x00" * (6 * 1024 * 1024), "big.jpg").get_data(as_text=True)
    assert "larger than 5 MB" in html


@pytest.mark.parametrize("fmt, mode", [("JPEG", "RGB"), ("PNG", "RGBA"), ("WEBP", "RGB")])
def test_an_uploaded_cover_is_stored_in_three_sizes_and_served_for_a_year(app, author_client, fmt, mode):
    response = upload(author_client, image_bytes(fmt, mode=mode, colour=(200, 30, 40, 255)[:len(mode)]), f"poster.{fmt.lower()}")
    assert response.status_code == 303
    with app.app_context():
        item = the_item(app)
        slug, digest = item.slug, item.cover_digest
        sizes = {c.size: (c.width, c.height) for c in item.cover_images}
    assert sizes == {"page": (600, 900), "card": (300, 450), "preview": (1200, 630)}
    for size, (width, height) in sizes.items():
        served = author_client.get(f"/covers/uploaded/{digest}-{size}.jpg")
        assert served.status_code == 200
        assert served.content_type == "image/jpeg"
        assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        with Image.open(io.BytesIO(served.data)) as image:
            assert (image.format, image.size) == ("JPEG", (width, height))
    page = author_client.get(f"/items/{slug}").get_data(as_text=True)
    assert f'src="/covers/uploaded/{digest}-page.jpg"' in page
    assert f'<meta property="og:image" content="http://localhost/og/item/{slug}.png?v=' in page
    assert f'/covers/uploaded/{digest}-card.jpg' in author_client.get("/items").get_data(as_text=True)
    assert f'/covers/uploaded/{digest}-card.jpg' in author_client.get(f"/widget/items/{slug}").get_data(as_text=True)
    api = author_client.get(f"/api/v1/items/{slug}").get_json()
    assert api["cover_url"] == f"http://localhost/covers/uploaded/{digest}-page.jpg"


def test_a_small_upload_is_never_enlarged(app, author_client):
    upload(author_client, image_bytes("PNG", size=(100, 150)), "small.png")
    with app.app_context():
        assert {c.size: (c.width, c.height) for c in the_item(app).cover_images}["page"] == (100, 150)


@pytest.mark.parametrize("path", ACCEPTED, ids=lambda p: p.name)
def test_an_accepted_file_keeps_only_its_pixels(app, author_client, path):
    assert upload(author_client, path.read_bytes(), path.name).status_code == 303
    with app.app_context():
        stored = [c.data for c in the_item(app).cover_images]
    for data in stored:
        assert b"SecretCam" not in data and b"home address" not in data and b"<html" not in data
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif() and "comment" not in image.info
        assert data.endswith(b"\xff\xd9")


def test_a_new_upload_gets_a_new_address_and_the_old_one_goes(app, author_client):
    upload(author_client, image_bytes("JPEG", colour=(10, 10, 10)), "one.jpg")
    with app.app_context():
        item = the_item(app)
        item_id, first = item.id, item.cover_digest
    edit = f"/studio/items/{item_id}"
    assert upload(author_client, image_bytes("JPEG", colour=(250, 250, 10)), "two.jpg", page=edit,
                  slug="").status_code == 303
    with app.app_context():
        second = the_item(app).cover_digest
    assert second != first
    assert author_client.get(f"/covers/uploaded/{first}-page.jpg").status_code == 404
    assert author_client.get(f"/covers/uploaded/{second}-page.jpg").status_code == 200


def test_a_refused_upload_on_edit_keeps_the_cover_she_had(app, author_client):
    upload(author_client, image_bytes("JPEG"), "one.jpg")
    with app.app_context():
        item = the_item(app)
        item_id, digest = item.id, item.cover_digest
    response = upload(author_client, (CORPUS / "svg-with-script.svg").read_bytes(), "evil.svg",
                      page=f"/studio/items/{item_id}", title="Renamed")
    assert response.status_code == 422
    with app.app_context():
        item = the_item(app)
        assert (item.cover_digest, item.title) == (digest, FILM["title"])


def test_removing_the_upload_brings_back_the_pasted_url(app, author_client):
    upload(author_client, image_bytes("JPEG"), "one.jpg")
    with app.app_context():
        item_id = the_item(app).id
    edit = f"/studio/items/{item_id}"
    assert "Remove the uploaded cover" in author_client.get(edit).get_data(as_text=True)
    assert post_form(author_client, edit, {**FILM, "remove_cover": "y"}).status_code == 303
    with app.app_context():
        item = the_item(app)
        assert item.cover_digest is None and item.cover_images == []
    assert 'src="https://example.org/cleo.jpg"' in author_client.get(f"/items/{item.slug}").get_data(as_text=True)


def test_an_item_without_an_upload_keeps_its_generated_placeholder(app, author_client):
    post_form(author_client, "/studio/items/new", {**FILM, "cover_url": ""})
    with app.app_context():
        slug = the_item(app).slug
    assert f'src="/covers/{slug}.svg"' in author_client.get(f"/items/{slug}").get_data(as_text=True)


def test_an_unknown_cover_address_is_not_found(client):
    assert client.get(f"/covers/uploaded/{'0' * 64}-page.jpg").status_code == 404
    assert client.get(f"/covers/uploaded/{'0' * 64}-huge.jpg").status_code == 404
