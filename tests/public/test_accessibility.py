"""What screen-reader users rely on: titles in other languages marked as such, landmarks and named links."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import Item
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db

HIROSHIMA = "hiroshima-mon-amour-1959"


def original_title_tag(html: str) -> str:
    """The element showing the original title on an item page."""
    match = re.search(r'<p class="original-title"[^>]*>', html)
    assert match, "the page shows an original title"
    return match.group(0)


@pytest.mark.parametrize("title, lang", [
    ("Hiroshima mon amour", "ja"),  # a French film shown under its Japanese release title: the script decides
    ("Human Acts", "ko"),
    ("Grave of the Fireflies", "ja"),
    ("Ivan's Childhood", "ru"),
    ("Waltz with Bashir", "he"),
    ("Son of Saul", "hu"),
    ("Night and Fog", "fr"),
    ("The Emigrants", "de"),
    ("If This Is a Man", "it"),
])
def test_original_titles_carry_the_language_they_are_written_in(demo_app, demo_client, title, lang):
    with demo_app.app_context():
        slug = db.session.scalar(sa.select(Item.slug).where(Item.title == title))
    assert f'lang="{lang}"' in original_title_tag(demo_client.get(f"/items/{slug}").get_data(as_text=True))


def test_every_original_title_in_the_demo_catalog_has_a_lang(demo_app, demo_client):
    with demo_app.app_context():
        slugs = db.session.scalars(
            sa.select(Item.slug).where(Item.original_title.is_not(None), Item.original_title != Item.title)
        ).all()
    assert len(slugs) > 10
    for slug in slugs:
        assert ' lang="' in original_title_tag(demo_client.get(f"/items/{slug}").get_data(as_text=True)), slug


@pytest.mark.parametrize("original, language, lang", [
    ("花樣年華", "Cantonese", "yue"),
    ("花樣年華", "Chinese", "zh"),
    ("七人の侍", "Japanese", "ja"),
    ("東京物語", "Korean, Japanese", "ja"),
    ("Les Quatre Cents Coups", "French", "fr"),
    ("The Original Cut", "English", None),
    ("Sans titre", None, None),
])
def test_han_and_latin_titles_follow_the_items_language(app, client, original, language, lang):
    with app.app_context():
        slug = save_item(ItemFields(
            kind="film", title="A Film Under Another Name", original_title=original, language=language, year=1960,
        )).slug
        db.session.commit()
    tag = original_title_tag(client.get(f"/items/{slug}").get_data(as_text=True))
    assert tag == (f'<p class="original-title" lang="{lang}">' if lang else '<p class="original-title">')


def test_the_widget_page_has_a_main_landmark_an_h1_and_a_named_cover_link(demo_client):
    html = demo_client.get(f"/widget/items/{HIROSHIMA}").get_data(as_text=True)
    assert html.count("<main") == 1 and html.count("<h1") == 1
    assert re.search(r'<h1 class="title"><a [^>]*>Hiroshima mon amour</a></h1>', html)
    head_cover = re.search(r'<div class="head">\s*<a [^>]*><img [^>]*></a>', html).group(0)
    assert 'alt="Hiroshima mon amour"' in head_cover, "the cover link is named by its image"
