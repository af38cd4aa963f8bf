"""Atom feeds of new items, lists and tags: valid Atom that feed readers parse without complaint."""
from __future__ import annotations

import re

import feedparser
import pytest
import sqlalchemy as sa

from afterimage.catalog import ItemFields, save_item
from afterimage.extensions import db
from afterimage.models import Item, Tag
from afterimage.slugs import change_slug


def parse(client, url: str):
    """Fetch and parse a feed, asserting it is well-formed Atom."""
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


@pytest.mark.parametrize("url", ["/feeds/items.atom", "/feeds/lists.atom", "/feeds/tags/war.atom"])
def test_feeds_are_valid_atom_with_ids_dates_authors_and_summaries(demo_client, url):
    feed = parse(demo_client, url)
    assert feed.feed.id and feed.feed.updated and feed.feed.author == "Afterimage"
    assert any(link.rel == "self" and link.href == f"http://localhost{url}" for link in feed.feed.links)
    assert feed.entries
    for entry in feed.entries:
        assert entry.id.startswith("tag:localhost,")
        assert entry.title and entry.summary and entry.updated and entry.published
        assert entry.link.startswith("http://localhost/")


def test_the_items_feed_puts_the_newest_item_first(demo_app, demo_client):
    with demo_app.app_context():
        save_item(ItemFields(
            kind="book", title="Notes on a Quiet Room", year=2016, creators=[("Han Kang", "author")],
            tags=["Grief"], description="A book of white things.",
        ))
        db.session.commit()
    entry = parse(demo_client, "/feeds/items.atom").entries[0]
    assert entry.title == "Notes on a Quiet Room (2016)"
    assert entry.summary == "Book, 2016, by Han Kang. A book of white things."
    assert entry.link == "http://localhost/items/notes-on-a-quiet-room-2016"
    assert "grief" in {t.term for t in entry.tags}


def test_the_lists_feed_names_each_lists_items(demo_client):
    feed = parse(demo_client, "/feeds/lists.atom")
    korean = next(e for e in feed.entries if e.title.startswith("8 Korean books"))
    assert "8 items: Human Acts, The Vegetarian" in korean.summary


def test_a_tag_feed_holds_only_that_tags_items(demo_app, demo_client):
    feed = parse(demo_client, "/feeds/tags/korean-cinema.atom")
    with demo_app.app_context():
        tag = db.session.scalar(sa.select(Tag).where(Tag.slug == "korean-cinema"))
        expected = {f"http://localhost/items/{i.slug}" for i in tag.items}
    assert {e.link for e in feed.entries} == expected
    assert feed.feed.title == "Afterimage: Korean cinema"


def test_an_entry_keeps_its_id_when_the_item_is_renamed(demo_app, demo_client):
    before = {e.link: e.id for e in parse(demo_client, "/feeds/items.atom").entries}
    with demo_app.app_context():
        item = db.session.scalars(sa.select(Item).order_by(Item.created_at.desc(), Item.id.desc())).first()
        old_url = f"http://localhost/items/{item.slug}"
        change_slug(item, "renamed-item")
        db.session.commit()
    after = {e.link: e.id for e in parse(demo_client, "/feeds/items.atom").entries}
    assert after["http://localhost/items/renamed-item"] == before[old_url]


def test_an_unknown_tag_feed_is_not_found_and_an_old_one_redirects(demo_app, demo_client):
    assert demo_client.get("/feeds/tags/no-such-tag.atom").status_code == 404
    with demo_app.app_context():
        change_slug(db.session.scalar(sa.select(Tag).where(Tag.slug == "war")), "wars")
        db.session.commit()
    response = demo_client.get("/feeds/tags/war.atom")
    assert response.status_code == 301 and response.headers["Location"].endswith("/feeds/tags/wars.atom")


def test_an_empty_catalog_still_has_a_valid_feed(client):
    feed = parse(client, "/feeds/items.atom")
    assert feed.entries == [] and feed.feed.updated


PUBLIC_PAGES = [
    "/", "/items", "/items?kind=book&sort=-year", "/items/hiroshima-mon-amour-1959", "/tags", "/tags/war", "/lists",
    "/lists/hiroshima-and-its-afterimages-films-and-books", "/search?q=duras", "/liked",
]


def feed_links(html: str) -> set[str]:
    """Every feed a page points to, in its head (rel=alternate) or its body."""
    return set(re.findall(r'href="([^"]+\.atom)"', html))


def test_feeds_link_from_every_page_resolve(demo_client):
    linked: set[str] = set()
    for page in PUBLIC_PAGES:
        response = demo_client.get(page)
        assert response.status_code == 200, page
        feeds = feed_links(response.get_data(as_text=True))
        assert {"/feeds/items.atom", "/feeds/lists.atom"} <= feeds, page
        linked |= feeds
    assert "/feeds/tags/war.atom" in feed_links(demo_client.get("/tags/war").get_data(as_text=True))
    for href in sorted(linked):
        assert parse(demo_client, href).entries, href


def test_feeds_revalidate_with_304(demo_client):
    first = demo_client.get("/feeds/lists.atom")
    again = demo_client.get("/feeds/lists.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
