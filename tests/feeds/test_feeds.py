"""Atom feeds of new items, lists and tags: valid Atom that feed readers parse without complaint."""
from __future__ import annotations

import re

import feedparser
import pytest
import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.catalog.slugs import change_slug
from afterimage.extensions import db


def parse(client, url: str, **kwargs):
    """Fetch and parse a feed, asserting it is well-formed Atom."""
    response = client.get(url, **kwargs)
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
        assert entry.id.startswith("urn:uuid:"), "without AFTERIMAGE_PUBLIC_URL, ids come from the site id"
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


KOREAN_LIST = "8-korean-books-written-by-women-every-reader-should-read-once"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def every_feed(app) -> list[str]:
    """The address of every feed of the site: items, lists, each published list and each tag."""
    with app.app_context():
        lists = db.session.scalars(sa.select(CuratedList.slug).where(CuratedList.published)).all()
        tags = db.session.scalars(sa.select(Tag.slug)).all()
    return (["/feeds/items.atom", "/feeds/lists.atom"] + [f"/feeds/lists/{s}.atom" for s in lists]
            + [f"/feeds/tags/{s}.atom" for s in tags])


def ids_of(feed) -> list[str]:
    """The feed's id followed by its entries' ids."""
    return [feed.feed.id] + [e.id for e in feed.entries]


@pytest.mark.slow
def test_every_feed_parses_with_the_same_ids_whatever_the_host(demo_app, demo_client):
    feeds = every_feed(demo_app)
    assert len(feeds) > 10
    for url in feeds:
        here = parse(demo_client, url)
        elsewhere = parse(demo_client, url, base_url="https://www.films.example")
        assert ids_of(here) == ids_of(elsewhere), url
        assert len(set(ids_of(here))) == len(ids_of(here)), f"{url}: ids are unique"


def test_with_a_public_url_ids_are_tag_uris_on_its_domain_and_links_point_there(demo_app, demo_client):
    demo_app.config["PUBLIC_URL"] = "https://films.example"
    feed = parse(demo_client, "/feeds/items.atom", base_url="http://127.0.0.1:8000")
    assert all(re.fullmatch(r"tag:films\.example,\d{4}-\d\d-\d\d:items/\d+", e.id) for e in feed.entries)
    assert any(link.rel == "self" and link.href == "https://films.example/feeds/items.atom" for link in feed.feed.links)
    assert ids_of(parse(demo_client, "/feeds/items.atom", base_url="http://localhost")) == ids_of(feed)


def test_an_item_entry_carries_the_cover_her_rating_and_her_note(demo_client):
    feed = parse(demo_client, "/feeds/tags/french-new-wave.atom")
    entry = next(e for e in feed.entries if e.link == "http://localhost/items/hiroshima-mon-amour-1959")
    cover = "http://localhost/covers/hiroshima-mon-amour-1959.svg"
    assert entry.media_thumbnail[0]["url"] == cover
    html = entry.content[0].value
    assert entry.content[0].type == "text/html"
    img = re.search(r"<img [^>]*>", html).group(0)
    assert f'src="{cover}"' in img and 'alt="Cover of Hiroshima mon amour"' in img
    assert "Rating: ★★★★★ (5 out of 5)" in html
    assert "<strong>Note:</strong> The film that started this blog." in html
    assert "Duras's dialogue" in html, "the whole description, unescaped once"


def test_an_unrated_item_shows_no_rating(demo_app, demo_client):
    with demo_app.app_context():
        save_item(ItemFields(kind="film", title="Seen, Not Rated", year=2020, status="seen", rating=None))
        db.session.commit()
    entry = parse(demo_client, "/feeds/items.atom").entries[0]
    assert entry.title == "Seen, Not Rated (2020)" and "Rating" not in entry.content[0].value


def test_a_list_feed_holds_its_items_in_order_with_her_notes_for_them(demo_app, demo_client):
    feed = parse(demo_client, f"/feeds/lists/{KOREAN_LIST}.atom")
    with demo_app.app_context():
        curated = db.session.scalar(sa.select(CuratedList).where(CuratedList.slug == KOREAN_LIST))
        expected = [(f"http://localhost/items/{e.item.slug}", e.note) for e in curated.entries]
    assert [e.link for e in feed.entries] == [link for link, _ in expected]
    first_note = expected[0][1]
    assert first_note and f"<blockquote><p>{first_note}</p></blockquote>" in feed.entries[0].content[0].value
    list_page = demo_client.get(f"/lists/{KOREAN_LIST}").get_data(as_text=True)
    assert f'href="/feeds/lists/{KOREAN_LIST}.atom"' in list_page


def test_a_draft_list_has_no_feed(demo_app, demo_client):
    with demo_app.app_context():
        curated = db.session.scalar(sa.select(CuratedList).where(CuratedList.slug == KOREAN_LIST))
        curated.published = False
        db.session.commit()
    assert demo_client.get(f"/feeds/lists/{KOREAN_LIST}.atom").status_code == 404


def test_a_browser_gets_xml_with_a_stylesheet_that_says_what_a_feed_is_for(demo_client):
    response = demo_client.get("/feeds/items.atom", headers={"Accept": BROWSER_ACCEPT})
    assert response.mimetype == "application/xml", "browsers style XML, not application/atom+xml"
    assert "Accept" in response.headers["Vary"]
    assert not feedparser.parse(response.data).bozo
    match = re.search(r'<\?xml-stylesheet type="text/css" href="([^"]+)"\?>', response.get_data(as_text=True))
    with demo_client.get(match.group(1)) as sheet:
        assert sheet.status_code == 200 and sheet.mimetype == "text/css"
        assert "copy this address into your feed reader" in sheet.get_data(as_text=True)
    reader = demo_client.get("/feeds/items.atom", headers={"Accept": "application/atom+xml, */*;q=0.1"})
    assert reader.mimetype == "application/atom+xml"
