"""Every listing comes in the order it promises, checked against the database rows sorted here in Python.

The expected orders are computed from the rows (title_key, year, created_at, positions) with plain sort keys,
never with the queries under test. The catalog's creation times are shuffled first, so "recently added"
cannot pass by following ids, and the lists' update times are spread out for the same reason.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import feedparser
import pytest
import sqlalchemy as sa
from flask import current_app

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.extensions import db
from recs.text import fold_accents
from tests.conftest import built_once
from tests.fixtures_html import linked_slugs

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
HIROSHIMA_LIST = "hiroshima-and-its-afterimages-films-and-books"


def every_page(client, url: str, css_class: str = "grid") -> list[str]:
    """Item slugs of a paginated listing, page after page until one is missing or empty."""
    slugs: list[str] = []
    for number in range(1, 50):
        response = client.get(f"{url}{'&' if '?' in url else '?'}page={number}")
        if response.status_code == 404:
            break
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        if 'class="grid"' not in html:
            break
        slugs += linked_slugs(html, css_class)
    return slugs


def as_utc(moment: datetime) -> datetime:
    """SQLite returns naive UTC datetimes."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


class Rows:
    """The catalog's rows as plain values, read straight from the tables."""

    def __init__(self, app):
        with app.app_context():
            self.items = {
                row.slug: row for row in db.session.execute(sa.select(
                    Item.id, Item.slug, Item.kind, Item.title, Item.title_key, Item.year, Item.created_at,
                ))
            }
            self.tags_of = {slug: set() for slug in self.items}
            for item_slug, tag_slug in db.session.execute(sa.select(Item.slug, Tag.slug).join(Item.tags)):
                self.tags_of[item_slug].add(tag_slug)
            self.tags = db.session.execute(sa.select(Tag.slug, Tag.name)).all()
            self.lists = db.session.execute(
                sa.select(CuratedList.id, CuratedList.slug, CuratedList.updated_at, CuratedList.published)
            ).all()
            self.entries = {
                c.slug: [e.item.slug for e in sorted(c.entries, key=lambda e: e.position)]
                for c in db.session.scalars(sa.select(CuratedList))
            }
            db.session.remove()
        assert all(row.year is not None for row in self.items.values())

    def select(self, kind: str | None = None, tag: str | None = None) -> list[str]:
        """Slugs of the items of a kind and/or tag, in no particular order."""
        return [s for s, row in self.items.items()
                if (kind is None or row.kind == kind) and (tag is None or tag in self.tags_of[s])]

    def ordered(self, slugs: list[str], sort: str) -> list[str]:
        """The slugs in a listing's order, with sort keys written out here."""
        keys = {
            "title": lambda r: (r.title_key, r.year),
            "year": lambda r: (r.year, r.title_key),
            "-year": lambda r: (-r.year, r.title_key),
            "recent": lambda r: (-as_utc(r.created_at).timestamp(), -r.id),
        }
        return sorted(slugs, key=lambda s: keys[sort](self.items[s]))


def spread_out_times() -> Rows:
    """The demo catalog with shuffled creation times and spread-out list updates, as plain rows."""
    shuffle = random.Random(23)
    ids = list(db.session.scalars(sa.select(Item.id)))
    hours = list(range(len(ids)))
    shuffle.shuffle(hours)
    # Two items share a creation time, so the tie-break (newest id first) is checked too.
    hours[1] = hours[0]
    items = Item.__table__
    for item_id, hour in zip(ids, hours):
        db.session.execute(sa.update(items).where(items.c.id == item_id)
                           .values(created_at=START + timedelta(hours=hour)))
    lists = CuratedList.__table__
    list_ids = list(db.session.scalars(sa.select(CuratedList.id).order_by(CuratedList.title)))
    for day, list_id in enumerate([list_ids[2], list_ids[0], list_ids[3], list_ids[1]]):
        db.session.execute(sa.update(lists).where(lists.c.id == list_id)
                           .values(updated_at=START + timedelta(days=day)))
    db.session.commit()
    db.session.remove()
    return Rows(current_app._get_current_object())


@pytest.fixture
def rows(demo_app, request) -> Rows:
    """spread_out_times on the demo catalog (its rows are only read)."""
    return built_once(demo_app, request, spread_out_times)


FILTERS = [("", None, None), ("kind=book", "book", None), ("kind=film&tag=memory", "film", "memory")]


@pytest.mark.parametrize("sort", ["title", "year", "-year", "recent"])
@pytest.mark.parametrize("query, kind, tag", FILTERS, ids=["all", "books", "memory-films"])
def test_the_items_listing_follows_each_sort_across_its_pages(demo_client, rows, sort, query, kind, tag):
    shown = every_page(demo_client, f"/items?sort={sort}" + (f"&{query}" if query else ""))
    assert shown == rows.ordered(rows.select(kind, tag), sort)


def test_the_items_listing_sorts_by_title_when_no_sort_is_given(demo_client, rows):
    assert every_page(demo_client, "/items") == rows.ordered(rows.select(), "title")


def test_sorts_really_differ_on_this_catalog(rows):
    """Each sort above checks something: no two of them give the same order of the demo catalog."""
    orders = {sort: tuple(rows.ordered(rows.select(), sort)) for sort in ("title", "year", "-year", "recent")}
    assert len(set(orders.values())) == 4
    assert orders["recent"] != tuple(sorted(rows.select(), key=lambda s: -rows.items[s].id))


@pytest.mark.parametrize("query, kind, tag", FILTERS, ids=["all", "books", "memory-films"])
def test_the_api_lists_items_newest_first_across_its_pages(demo_client, rows, query, kind, tag):
    slugs, url = [], f"/api/v1/items?{query}"
    while url:
        body = demo_client.get(url).get_json()
        slugs += [i["slug"] for i in body["items"]]
        url = body["next"] and body["next"].removeprefix("http://localhost")
    assert slugs == rows.ordered(rows.select(kind, tag), "recent")


@pytest.mark.parametrize("q", ["an", "hiroshima", "love"])
def test_search_puts_title_matches_first_those_starting_with_the_word_first(demo_client, rows, q):
    """The rest of the order is relevance (tests/catalog/test_search_ranking.py); here, what follows from the rows."""
    api, url = [], f"/api/v1/items?q={q}"
    while url:
        body = demo_client.get(url).get_json()
        api += [i["slug"] for i in body["items"]]
        url = body["next"] and body["next"].removeprefix("http://localhost")
    assert api and len(set(api)) == len(api)
    in_title = {s for s in api if q in fold_accents(rows.items[s].title)}
    assert 0 < len(in_title) < len(api)  # both kinds of match, so "title matches first" is put to the test
    assert set(api[:len(in_title)]) == in_title
    starting = {s for s in in_title if rows.items[s].title_key.startswith(q)}
    assert set(api[:len(starting)]) == starting
    assert every_page(demo_client, f"/search?q={q}") == api


def test_the_tag_index_is_in_name_order(demo_client, rows):
    html = demo_client.get("/tags").get_data(as_text=True)
    shown = linked_slugs(html, "tag-index", "/tags/")
    assert shown == [slug for slug, name in sorted(rows.tags, key=lambda t: fold_accents(t.name))]


@pytest.mark.parametrize("tag", ["memory", "war", "korean-women-writers"])
def test_a_tag_page_and_its_api_list_items_oldest_first(demo_client, rows, tag):
    expected = rows.ordered(rows.select(tag=tag), "year")
    assert every_page(demo_client, f"/tags/{tag}") == expected
    assert [i["slug"] for i in demo_client.get(f"/api/v1/tags/{tag}").get_json()["items"]] == expected


def test_the_lists_index_home_page_and_feed_put_the_latest_updated_list_first(demo_app, demo_client, rows):
    with demo_app.app_context():
        draft = db.session.scalar(sa.select(CuratedList).order_by(CuratedList.id))
        draft.published, draft_slug = False, draft.slug
        db.session.commit()
        db.session.remove()
    published = [row for row in rows.lists if row.slug != draft_slug]
    expected = [row.slug for row in sorted(published, key=lambda r: (-as_utc(r.updated_at).timestamp(), -r.id))]
    assert expected != sorted(expected)
    html = demo_client.get("/lists").get_data(as_text=True)
    assert linked_slugs(html, "list-cards", "/lists/") == expected
    home = demo_client.get("/").get_data(as_text=True)
    assert linked_slugs(home, "list-cards", "/lists/") == expected
    feed = feedparser.parse(demo_client.get("/feeds/lists.atom").data)
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == expected


def test_the_home_page_shows_the_twelve_newest_items_newest_first(demo_client, rows):
    html = demo_client.get("/").get_data(as_text=True)
    assert linked_slugs(html, "grid") == rows.ordered(rows.select(), "recent")[:12]


@pytest.mark.parametrize("slug", [HIROSHIMA_LIST, "8-korean-books-written-by-women-every-reader-should-read-once"])
def test_a_list_keeps_the_authors_order_on_its_page_and_in_the_api(demo_app, demo_client, rows, slug):
    expected = rows.entries[slug]
    assert expected != sorted(expected)
    html = demo_client.get(f"/lists/{slug}").get_data(as_text=True)
    assert linked_slugs(html, "entries") == expected
    assert [i["slug"] for i in demo_client.get(f"/api/v1/lists/{slug}").get_json()["items"]] == expected


@pytest.mark.parametrize("url, tag", [("/feeds/items.atom", None), ("/feeds/tags/memory.atom", "memory")])
def test_item_feeds_put_the_newest_addition_first(demo_client, rows, url, tag):
    feed = feedparser.parse(demo_client.get(url).data)
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == rows.ordered(rows.select(tag=tag), "recent")[:50]
