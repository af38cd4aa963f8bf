"""What a reader sees: every page renders, search folds accents, pagination and 404s behave."""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db


def all_slugs(app, model) -> list[str]:
    with app.app_context():
        return db.session.scalars(sa.select(model.slug)).all()


@pytest.mark.slow
def test_every_demo_item_tag_and_list_page_renders(demo_app, demo_client):
    for model, prefix in ((Item, "/items/"), (Tag, "/tags/"), (CuratedList, "/lists/")):
        slugs = all_slugs(demo_app, model)
        assert slugs
        for slug in slugs:
            response = demo_client.get(prefix + slug)
            assert response.status_code == 200, prefix + slug


@pytest.mark.parametrize("path", ["/", "/items", "/tags", "/lists", "/search", "/liked", "/items?kind=book&sort=-year"])
def test_index_pages_render(demo_client, path):
    assert demo_client.get(path).status_code == 200


def test_item_page_shows_facts_tags_lists_and_recommendations(demo_client):
    html = demo_client.get("/items/hiroshima-mon-amour-1959").get_data(as_text=True)
    assert "Hiroshima mon amour" in html and "(1959)" in html
    assert "二十四時間の情事" in html
    assert "Alain Resnais" in html and "Marguerite Duras" in html
    assert 'href="/tags/french-new-wave"' in html
    assert "Hiroshima and its afterimages" in html  # the list it is on
    assert "If you liked this" in html and "Watch" in html and "Read" in html


def test_item_page_carries_open_graph_and_json_ld(demo_client):
    html = demo_client.get("/items/hiroshima-mon-amour-1959").get_data(as_text=True)
    assert 'property="og:title" content="Hiroshima mon amour (1959)"' in html
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert data["@type"] == "Movie" and data["director"][0]["name"] == "Alain Resnais"
    book = demo_client.get("/items/the-lover-1984").get_data(as_text=True)
    assert '"@type": "Book"' in book


def test_item_without_cover_gets_a_generated_placeholder(demo_client):
    html = demo_client.get("/items/the-lover-1984").get_data(as_text=True)
    assert 'src="/covers/the-lover-1984.svg"' in html
    svg = demo_client.get("/covers/the-lover-1984.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"The Lover" in svg.data


@pytest.mark.parametrize(
    "query, expected",
    [
        ("cleo", "Cléo from 5 to 7"),
        ("CLÉO", "Cléo from 5 to 7"),
        ("han kang", "The Vegetarian"),
        ("二十四時間", "Hiroshima mon amour"),
        ("duras", "The Lover"),
        ("korean women writers", "Human Acts"),
        ("a bout de souffle", "Breathless"),
    ],
)
def test_search_folds_accents_and_case_across_fields(demo_client, query, expected):
    html = demo_client.get("/search", query_string={"q": query}).get_data(as_text=True)
    assert expected in html


def test_search_for_han_kang_finds_only_her_books(demo_client):
    html = demo_client.get("/search", query_string={"q": "han kang"}).get_data(as_text=True)
    assert "5 results" in html
    assert "Jaws" not in html


def test_search_treats_wildcards_literally(demo_client):
    html = demo_client.get("/search", query_string={"q": "%"}).get_data(as_text=True)
    assert "0 results" in html


def test_items_index_filters_by_kind_and_tag(demo_client):
    html = demo_client.get("/items?kind=book&tag=korean-women-writers").get_data(as_text=True)
    assert "The Vegetarian" in html and "Poetry" not in html


def make_films(app, count: int):
    with app.app_context():
        for n in range(count):
            save_item(ItemFields(kind="film", title=f"Film {n:03d}", year=1960 + n % 50))
        db.session.commit()


def test_pagination_splits_the_index_and_keeps_filters(app, client):
    make_films(app, 30)
    first = client.get("/items?kind=film&sort=title").get_data(as_text=True)
    assert "Film 000" in first and "Film 024" not in first
    assert "Page 1 of 2" in first
    assert 'href="/items?kind=film&amp;sort=title&amp;page=2"' in first
    second = client.get("/items?kind=film&sort=title&page=2").get_data(as_text=True)
    assert "Film 024" in second and "Film 029" in second and "Film 000" not in second


@pytest.mark.parametrize("page", ["0", "3", "-1", "abc", "99999999999"])
def test_pages_past_the_end_or_malformed_are_404(app, client, page):
    make_films(app, 30)
    assert client.get(f"/items?page={page}").status_code == 404


def test_unknown_slugs_get_the_designed_404_page(client):
    for path in ("/items/no-such-film-1999", "/tags/nothing", "/lists/nothing", "/covers/nothing.svg"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Not found" in response.get_data(as_text=True)
        assert "Traceback" not in response.get_data(as_text=True)


def test_unknown_sort_or_kind_is_a_clear_400(client):
    response = client.get("/items?sort=rating")
    assert response.status_code == 400 and "Unknown kind or sort" in response.get_data(as_text=True)


def test_a_draft_list_is_not_public(demo_app, demo_client):
    with demo_app.app_context():
        curated = db.session.scalars(sa.select(CuratedList)).first()
        curated.published = False
        slug = curated.slug
        db.session.commit()
    assert demo_client.get(f"/lists/{slug}").status_code == 404
    assert slug not in demo_client.get("/lists").get_data(as_text=True)


def test_list_page_keeps_the_authors_order_and_notes(demo_app, demo_client):
    with demo_app.app_context():
        curated = db.session.scalar(sa.select(CuratedList).where(CuratedList.title.like("8 Korean%")))
        titles = [e.item.title for e in curated.entries]
        slug = curated.slug
    html = demo_client.get(f"/lists/{slug}").get_data(as_text=True)
    positions = [html.index(t) for t in titles]
    assert positions == sorted(positions) and len(titles) == 8
    assert "More like this list" in html


def test_a_reader_can_build_a_liked_set_and_get_recommendations_for_it(demo_client):
    for slug in ("the-vegetarian-2007", "human-acts-2014"):
        # As a browser sends the form from the item page itself.
        response = demo_client.post(f"/liked/{slug}", data={"next": f"/items/{slug}"},
                                    headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"})
        assert response.status_code == 303
    html = demo_client.get("/liked").get_data(as_text=True)
    assert "Because you liked these" in html
    assert "The Vegetarian" in html and "Human Acts" in html
    # The item page shows the pressed button, not the one made for readers without a liked set.
    item_page = demo_client.get("/items/human-acts-2014").get_data(as_text=True)
    assert 'aria-pressed="true"' in item_page
    # Pressing again takes it out of the set.
    demo_client.post("/liked/human-acts-2014")
    assert "Human Acts" not in demo_client.get("/liked").get_data(as_text=True).split("Because you liked")[0]
    assert 'aria-pressed="false"' in demo_client.get("/items/human-acts-2014").get_data(as_text=True)


def test_an_item_page_sets_no_cookie_for_a_reader(demo_client):
    response = demo_client.get("/items/the-vegetarian-2007")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example"},
])
def test_a_like_sent_from_another_site_is_refused(demo_client, headers):
    response = demo_client.post("/liked/the-vegetarian-2007", headers=headers)
    assert response.status_code == 403
    assert "liked" not in response.headers.get("Set-Cookie", "")
    assert "The Vegetarian" not in demo_client.get("/liked").get_data(as_text=True)


def test_liked_redirects_only_to_this_site(demo_client):
    response = demo_client.post("/liked/the-vegetarian-2007", data={"next": "//evil.example/"})
    assert response.headers["Location"] == "/liked"


def test_a_javascript_link_is_never_rendered(app, client):
    with app.app_context():
        item = save_item(ItemFields(kind="film", title="Vivre sa vie", year=1962))
        item.blog_url = "javascript:alert(1)"  # as if written by an old bug, past validation
        db.session.commit()
    html = client.get("/items/vivre-sa-vie-1962").get_data(as_text=True)
    assert "javascript:" not in html


def test_pages_refuse_framing_and_carry_a_csp_without_unsafe_inline_scripts(client):
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp


def test_a_server_error_shows_the_designed_page_without_a_traceback(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in html and "Afterimage" in html
    assert "secret internals" not in html and "Traceback" not in html


def test_a_placeholder_cover_follows_a_title_edit_and_revalidates(app, client):
    with app.app_context():
        item = save_item(ItemFields(kind="film", title="Muriel", year=1963))
        db.session.commit()
        item_id = item.id
    first = client.get("/covers/muriel-1963.svg")
    assert "no-cache" in first.headers["Cache-Control"]
    assert client.get("/covers/muriel-1963.svg", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    with app.app_context():
        save_item(ItemFields(kind="film", title="Muriel, or the Time of Return", year=1963), db.session.get(Item, item_id))
        db.session.commit()
    again = client.get("/covers/muriel-1963.svg", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and b"Time of Return" in again.data


def test_the_site_icon_is_served_where_browsers_look_for_it(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
