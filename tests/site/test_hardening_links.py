"""Issue 20: redirects, `next` addresses and query arguments that an attacker or a careless client sends."""
from __future__ import annotations

from urllib.parse import quote

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.catalog.slugs import change_slug
from afterimage.extensions import db
from afterimage.http.next_url import local_path
from tests.conftest import csrf_token_from
from tests.studio.test_studio_fixtures import PASSWORD, add_author, demo_author_client  # noqa: F401

HIROSHIMA = "hiroshima-mon-amour-1959"


def rename_and_unpublish_a_list(app) -> tuple[str, str]:
    """Publish a list, rename it (new slug) and make it a draft again; returns (old slug, new slug)."""
    with app.app_context():
        curated = db.session.scalars(sa.select(CuratedList).where(CuratedList.published)).first()
        old = curated.slug
        curated.title = "Secret unannounced project"
        change_slug(curated, "secret-unannounced-project")
        curated.published = False
        db.session.commit()
        return old, curated.slug


@pytest.mark.parametrize("prefix", ["/lists/", "/api/v1/lists/", "/widget/lists/"])
def test_the_old_slug_of_a_list_made_a_draft_does_not_tell_its_new_name(demo_app, demo_client, prefix):
    old, new = rename_and_unpublish_a_list(demo_app)
    response = demo_client.get(prefix + old)
    assert response.status_code == 404
    assert new not in response.headers.get("Location", "")
    assert new not in response.get_data(as_text=True)
    assert "Secret unannounced" not in response.get_data(as_text=True)


def test_the_old_slug_of_a_published_list_still_redirects(demo_app, demo_client):
    with demo_app.app_context():
        curated = db.session.scalars(sa.select(CuratedList).where(CuratedList.published)).first()
        old = curated.slug
        change_slug(curated, "renamed-in-the-open")
        db.session.commit()
    response = demo_client.get(f"/lists/{old}")
    assert response.status_code == 301
    assert response.headers["Location"] == "/lists/renamed-in-the-open"


@pytest.mark.parametrize("target", [
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\\\\evil.example", "/\\evil.example",
    "//evil.example", "https://evil.example/", "http:evil.example", "javascript:alert(1)", " //evil.example",
    "/\u200b/evil.example", "\x00/evil.example",
])
def test_liking_never_redirects_to_another_site(demo_client, target):
    response = demo_client.post(f"/liked/{HIROSHIMA}", data={"next": target})
    if "\x00" in target:
        assert response.status_code == 400  # NUL is refused before any route runs
        return
    assert response.status_code == 303
    assert response.headers["Location"] == "/liked"


def test_liking_returns_to_the_page_it_came_from(demo_client):
    response = demo_client.post(f"/liked/{HIROSHIMA}", data={"next": f"/items/{HIROSHIMA}?from=list#top"})
    assert response.headers["Location"] == f"/items/{HIROSHIMA}?from=list#top"


@pytest.mark.parametrize("target", ["/studio/tags\r\nSet-Cookie: x=1", "/studio/\n", "/studio\t/x", "/studiox/"])
def test_sign_in_with_control_characters_in_next_lands_on_the_dashboard(demo_app, client, target):
    add_author(demo_app)
    page = client.get("/studio/sign-in?next=" + quote(target)).get_data(as_text=True)
    response = client.post("/studio/sign-in", data={
        "csrf_token": csrf_token_from(page), "name": "Mina", "password": PASSWORD, "next": target,
    })
    assert response.status_code == 303
    assert response.headers["Location"] == "/studio/"
    # Signed in, the sign-in page sends her on with the same rule.
    again = client.get("/studio/sign-in?next=" + quote(target))
    assert again.status_code == 302
    assert again.headers["Location"] == "/studio/"


def test_the_next_helper_keeps_paths_of_this_site_only():
    assert local_path("/items/x?page=2#top") == "/items/x?page=2#top"
    assert local_path("/studio/tags", under="/studio") == "/studio/tags"
    assert local_path("/studio", under="/studio") == "/studio"
    for hostile in ("//x", "/\t/x", "https://x/", "x", "", None, "/a\\b", "/studio-evil", "/\u2028/x"):
        assert local_path(hostile, under="/studio") is None


@pytest.mark.parametrize("url", [
    "/items?page=²", "/items?page=٣", "/tags/memory?page=²", "/search?q=a&page=²",
    "/api/v1/items?page=²", "/api/v1/items?page=٣",
    f"/api/v1/items/{HIROSHIMA}/recommendations?limit=²", "/api/v1/recommendations?liked=" + HIROSHIMA + "&limit=²",
    f"/widget/items/{HIROSHIMA}?limit=²", f"/widget/items/{HIROSHIMA}?limit=٣",
    f"/oembed?url=http://localhost/items/{HIROSHIMA}&maxwidth=²", f"/oembed?url=http://localhost/items/{HIROSHIMA}&maxheight=٣",
])
def test_non_ascii_digits_are_a_clear_refusal_not_a_server_error(demo_client, url):
    response = demo_client.get(url)
    assert response.status_code in (400, 404), response.status_code


@pytest.mark.parametrize("url", [
    "/items?endpoint=x&page=2", "/items?_method=POST", "/items?page=2&_external=1&_anchor=zz&_scheme=ftp",
    "/search?q=a&endpoint=x", "/search?q=war&endpoint=x&values=y", "/tags/memory?endpoint=x&slug=y",
])
def test_query_arguments_never_reach_url_for_on_pages(demo_client, url):
    response = demo_client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "#zz" not in html
    assert "ftp://" not in html and "endpoint=" not in html and "_method" not in html


@pytest.mark.parametrize("query", ["slug=x", "endpoint=x", "_method=POST", "_external=1&_anchor=zz", "_scheme=ftp", "values=1"])
@pytest.mark.parametrize("prefix, kind", [
    ("/items/", "item"), ("/covers/", "cover"), ("/tags/", "tag"), ("/api/v1/items/", "item"), ("/widget/items/", "item"),
])
def test_old_slug_redirects_ignore_arguments_meant_for_url_for(demo_app, demo_client, prefix, kind, query):
    with demo_app.app_context():
        row = db.session.scalar(sa.select(Tag if kind == "tag" else Item).limit(1))
        old = row.slug
        change_slug(row, f"moved-{kind}")
        db.session.commit()
    suffix = ".svg" if kind == "cover" else ""
    response = demo_client.get(f"{prefix}{old}{suffix}?{query}")
    assert response.status_code == 301
    location = response.headers["Location"]
    assert location.split("?")[0].endswith(f"{prefix}moved-{kind}{suffix}")
    assert "#" not in location and "ftp:" not in location and "endpoint" not in location and "_method" not in location


def test_old_slug_redirects_keep_the_pages_own_arguments(demo_app, demo_client):
    with demo_app.app_context():
        tag = db.session.scalar(sa.select(Tag).where(Tag.slug == "memory"))
        change_slug(tag, "remembering")
        db.session.commit()
    assert demo_client.get("/tags/memory?page=2&endpoint=x").headers["Location"] == "/tags/remembering?page=2"
    widget = demo_client.get("/widget/tags/memory?theme=dark&limit=3&endpoint=x").headers["Location"]
    assert "theme=dark" in widget and "limit=3" in widget and "endpoint" not in widget


def test_page_links_keep_only_the_pages_own_filters(demo_client):
    html = demo_client.get("/items?kind=film&sort=year&endpoint=x&evil=%3Cb%3E").get_data(as_text=True)
    assert 'href="/items?kind=film&amp;sort=year&amp;page=2"' in html
    assert "evil" not in html


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999/items/x", "http://[bad/items", "https://[::1]x/"])
def test_oembed_with_a_malformed_url_is_a_400(demo_client, url):
    response = demo_client.get(f"/oembed?url={quote(url, safe='')}")
    assert response.status_code in (400, 404)
    assert response.status_code == 400 or "not a page of this site" in response.get_json()["message"]
    assert response.is_json


def test_oembed_with_an_unclosed_ipv6_host_names_the_problem(demo_client):
    response = demo_client.get("/oembed?url=http://[::1")
    assert response.status_code == 400
    assert "not a valid URL" in response.get_json()["message"]
