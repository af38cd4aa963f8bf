"""Link previews: item, list, tag and person pages name a 1200×630 PNG card (her cover, or a generated card set in
Noto CJK so Korean and Japanese titles show), with the Open Graph and Twitter tags each page type needs."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image, ImageDraw

from afterimage import preview_cards
from afterimage.catalog.models import CuratedList, Item
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db
from tests.ci import missing_requirement
from tests.catalog.test_cover_images import image_bytes, upload
from tests.studio.test_studio_fixtures import author_client  # noqa: F401

HIROSHIMA = "hiroshima-mon-amour-1959"
KOREAN_LIST = "8-korean-books-written-by-women-every-reader-should-read-once"
# A code point no font has (Unicode leaves it unassigned): what a missing glyph looks like in a font.
MISSING = "\u0378"


def meta(html: str, key: str) -> str | None:
    """The content of <meta property=key> or <meta name=key>."""
    match = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)"', html)
    return match.group(1) if match else None


def card_of(client, page: str) -> tuple[str, Image.Image, object]:
    """The og:image address of a page, the image it serves and the response."""
    html = client.get(page).get_data(as_text=True)
    url = meta(html, "og:image")
    assert url and url.startswith("http://localhost/og/")
    response = client.get(url.removeprefix("http://localhost"))
    assert response.status_code == 200 and response.content_type == "image/png"
    image = Image.open(io.BytesIO(response.data))
    image.load()
    return url, image, response


def require_cjk_font() -> None:
    """Skip where fonts-noto-cjk is missing; fail under CI, which installs it (.ci/run)."""
    if not preview_cards.has_cjk_font():
        missing_requirement("fonts-noto-cjk is not installed: cards cannot draw Korean or Japanese titles")


@pytest.mark.parametrize("page, og_type, title", [
    (f"/items/{HIROSHIMA}", "video.movie", "Hiroshima mon amour (1959)"),
    ("/items/the-lover-1984", "book", "The Lover (1984)"),
    (f"/lists/{KOREAN_LIST}", "website", "8 Korean books written by women every reader should read once"),
    ("/tags/war", "website", "War"),
    ("/people/han-kang", "profile", "Han Kang"),
])
def test_each_page_type_has_its_open_graph_tags_and_a_1200x630_png(demo_client, page, og_type, title):
    html = demo_client.get(page).get_data(as_text=True)
    assert meta(html, "og:type") == og_type
    assert meta(html, "og:title") == title
    assert meta(html, "og:description")
    assert meta(html, "og:url") == f"http://localhost{page}"
    assert meta(html, "twitter:card") == "summary_large_image"
    assert meta(html, "twitter:image") == meta(html, "og:image")
    assert (meta(html, "og:image:width"), meta(html, "og:image:height")) == ("1200", "630")
    url, image, response = card_of(demo_client, page)
    assert re.fullmatch(r"http://localhost/og/(item|list|tag|person)/[a-z0-9-]+\.png\?v=[0-9a-f]{16}", url)
    assert (image.format, image.size) == ("PNG", (1200, 630))
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_card_answers_304_to_a_reader_who_has_it(demo_client):
    html = demo_client.get(f"/items/{HIROSHIMA}").get_data(as_text=True)
    path = meta(html, "og:image").removeprefix("http://localhost")
    etag = demo_client.get(path).headers["ETag"]
    assert demo_client.get(path, headers={"If-None-Match": etag}).status_code == 304


def test_the_cjk_font_draws_hangul_kana_and_kanji(app):
    require_cjk_font()

    def drawn(text: str) -> bytes:
        """The pixels of text in the card's title font."""
        font = preview_cards.font_for("serif", 64, text)
        image = Image.new("L", (200, 100))
        ImageDraw.Draw(image).text((10, 10), text, font=font, fill=255)
        return image.tobytes()

    missing = drawn(MISSING)
    for character in ("A", "한", "강", "ひ", "シ", "漢", "桜"):
        assert drawn(character) != missing, f"{character!r} is drawn as the missing-glyph box"


def test_a_korean_title_renders_glyphs_not_boxes(app, client):
    require_cjk_font()
    korean = "맨발의 청춘"
    # The same shape of title in characters no font has: what the Korean title would look like as tofu.
    boxes = "".join(" " if c == " " else MISSING for c in korean)
    with app.app_context():
        slugs = [save_item(ItemFields(kind="film", title=title, year=1964)).slug for title in (korean, boxes)]
        db.session.commit()
    _, rendered, _ = card_of(client, f"/items/{slugs[0]}")
    _, tofu, _ = card_of(client, f"/items/{slugs[1]}")
    title_region = (470, 130, 1130, 400)
    assert rendered.crop(title_region).tobytes() != tofu.crop(title_region).tobytes()
    # And the title is really drawn there: ink on the background.
    assert len(rendered.crop(title_region).getcolors(100_000)) > 2


def test_her_uploaded_cover_is_on_the_card(app, author_client):
    assert upload(author_client, image_bytes("JPEG", colour=(200, 30, 40)), "poster.jpg").status_code == 303
    with app.app_context():
        slug = db.session.scalars(sa.select(Item.slug)).one()
    _, image, _ = card_of(author_client, f"/items/{slug}")
    red, green, blue = image.convert("RGB").getpixel((240, 315))  # the middle of the cover on the left
    assert abs(red - 200) < 12 and abs(green - 30) < 12 and abs(blue - 40) < 12


def test_an_edited_title_is_a_new_card_address_and_the_old_one_is_not_kept(app, client):
    with app.app_context():
        item = save_item(ItemFields(kind="book", title="The Vegetarian", year=2007, creators=[("Han Kang", "author")]))
        db.session.commit()
        slug = item.slug
    old_url, old_image, _ = card_of(client, f"/items/{slug}")
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.slug == slug))
        item.year = 2015
        db.session.commit()
    new_url, new_image, _ = card_of(client, f"/items/{slug}")
    assert new_url != old_url and new_image.tobytes() != old_image.tobytes()
    stale = client.get(old_url.removeprefix("http://localhost"))
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "public, no-cache"
    assert Image.open(io.BytesIO(stale.data)).tobytes() == new_image.tobytes()


def test_drafts_and_unknown_pages_have_no_card(app, client):
    with app.app_context():
        db.session.add(CuratedList(slug="secret-draft", title="Secret", published=False))
        db.session.commit()
    assert client.get("/og/list/secret-draft.png").status_code == 404
    assert client.get("/og/item/no-such-item.png").status_code == 404
    assert client.get("/og/person/nobody.png").status_code == 404
    assert client.get("/og/page/anything.png").status_code == 404


@pytest.fixture
def no_fonts(monkeypatch, tmp_path: Path):
    """A machine without fonts-noto-cjk or DejaVu: the font caches start empty and are emptied again after."""
    caches = (preview_cards.find_font_file, preview_cards.card_font, preview_cards.card_png)
    for cache in caches:
        cache.cache_clear()
    monkeypatch.setattr(preview_cards, "FONT_DIRS", (tmp_path,))
    yield
    for cache in caches:
        cache.cache_clear()


def test_without_installed_fonts_the_card_still_renders_in_pillows_font(app, client, no_fonts):
    with app.app_context():
        slug = save_item(ItemFields(kind="film", title="Cléo from 5 to 7", year=1962)).slug
        db.session.commit()
    _, image, _ = card_of(client, f"/items/{slug}")
    assert image.size == (1200, 630)
    assert not preview_cards.has_cjk_font()
