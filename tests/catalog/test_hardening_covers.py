"""Issue 20: generated SVG covers stay well-formed XML with no attribute a title could add."""
from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa

from afterimage.catalog.demo import DEMO_PATH
from afterimage.catalog.models import Item
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE_TITLES = [
    'Q" onload="alert(1)" x="',
    'The "Lost" Boys',
    "It's <b>bold</b> & 'quoted'",
    "A title with a line\nbreak and a\ttab",
    "Control \x01\x08\x0b\x0c\x1f characters",
    "&amp; &#x41; &unknown; ]]> <![CDATA[ x ]]>",
    "Names: " + "Ünïcødé 名前 😀 " * 4,
    "\u202eright-to-left override",
    "\ufffe\uffff non-characters",
    "x" * 299,
]


def elements_and_attributes(svg: str) -> tuple[ElementTree.Element, set[str]]:
    """The parsed SVG (which fails on malformed XML) and every attribute name in it."""
    root = ElementTree.fromstring(svg)
    return root, {name for element in root.iter() for name in element.attrib}


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_a_hostile_title_gives_a_well_formed_cover_with_no_added_attribute(app, client, title):
    with app.app_context():
        item = save_item(ItemFields(kind="film", title=title, year=1999, creators=[('Dir "X" <y>', "director")]))
        db.session.commit()
        slug, stored = item.slug, item.title
    response = client.get(f"/covers/{slug}.svg")
    assert response.status_code == 200
    root, attributes = elements_and_attributes(response.get_data(as_text=True))
    assert not {a for a in attributes if a.lower().startswith("on")}
    assert attributes <= {"xmlns", "viewBox", "width", "height", "role", "aria-label", "fill", "stroke",
                          "stroke-opacity", "x", "y", "dy", "font-family", "font-size", "opacity", "text-anchor",
                          "letter-spacing"}
    assert root.find(f"{SVG}title").text.startswith("Film: ")
    # The label is the title, quotes and all (characters XML cannot hold are left out).
    if stored.isprintable():
        assert root.get("aria-label") == f"Film: {stored}"


@pytest.mark.slow
def test_every_demo_title_gives_a_well_formed_cover(demo_app, demo_client):
    titles = {entry["title"] for entry in json.loads(DEMO_PATH.read_text(encoding="utf-8"))["items"]}
    with demo_app.app_context():
        items = db.session.execute(sa.select(Item.slug, Item.title)).all()
    assert {title for _, title in items} >= titles
    for slug, title in items:
        root, _ = elements_and_attributes(demo_client.get(f"/covers/{slug}.svg").get_data(as_text=True))
        assert root.get("aria-label").endswith(title)


@pytest.mark.parametrize("year, maker, subtitle", [
    (1972, "Andrei Tarkovsky", "1972 · Andrei Tarkovsky"),
    (None, "Andrei Tarkovsky", "Andrei Tarkovsky"),
    (-700, None, "c. 700 BC"),
    (None, None, None),
])
def test_a_cover_names_the_year_and_maker_it_has_and_nothing_for_what_it_lacks(app, client, year, maker, subtitle):
    with app.app_context():
        creators = [(maker, "author")] if maker else []
        slug = save_item(ItemFields(kind="book", title="Solaris", year=year, creators=creators)).slug
        db.session.commit()
    root, _ = elements_and_attributes(client.get(f"/covers/{slug}.svg").get_data(as_text=True))
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("y") == "270"] == [subtitle]
