"""The request guards of afterimage/security.py, case by case (the route-wide sweeps are in test_hostile_input.py)."""
from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from afterimage.accounts import auth
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db
from app import create_app
from tests.conftest import csrf_token_from
from tests.queries import statements_sent
from tests.site.test_security_headers import directives
from tests.studio.test_studio_fixtures import add_author, author_client, sign_in  # noqa: F401

NUL_REFUSED = "Text containing NUL characters is not accepted."


def says_nul_refused(response) -> bool:
    """The page says why, in those words and no others around them."""
    return re.search(rf"(?<![\w.]){re.escape(NUL_REFUSED)}(?![\w.])", response.get_data(as_text=True)) is not None


@pytest.fixture
def stalker(app) -> str:
    """A published film's slug."""
    with app.app_context():
        slug = save_item(ItemFields(kind="film", title="Stalker", year=1979)).slug
        db.session.commit()
    return slug


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "none"},  # the reader's own action: a bookmark, a typed address
    {"Origin": "http://localhost"},
    {"Origin": "http://localhost/"},
    {},  # an old browser that sends neither
])
def test_a_like_from_this_site_or_the_reader_is_kept(client, stalker, headers):
    response = client.post(f"/liked/{stalker}", headers=headers)
    assert response.status_code == 303
    assert stalker in response.headers["Set-Cookie"]


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},  # Fetch metadata wins over Origin
    {"Origin": "https://evil.example"},
    {"Origin": "http://localhost.evil.example"},
])
def test_a_like_sent_from_another_site_is_refused(client, stalker, headers):
    response = client.post(f"/liked/{stalker}", headers=headers)
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers


def test_a_page_with_its_own_policy_keeps_only_that_one(demo_client):
    # Two CSP headers are both enforced: the site's default would block the widget's hashed inline code.
    response = demo_client.get("/widget/items/the-white-book-2016")
    assert response.status_code == 200
    [policy] = response.headers.getlist("Content-Security-Policy")
    assert "'sha256-" in policy
    assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]


def test_a_widget_page_without_its_own_policy_may_still_be_framed_where_the_site_allows(demo_client):
    response = demo_client.get("/widget/items/no-such-item")
    assert response.status_code == 404
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in policy and "X-Frame-Options" not in response.headers
    # Any other page refuses to be framed.
    assert "frame-ancestors 'none'" in demo_client.get("/no/such/page").headers["Content-Security-Policy"]


@pytest.mark.parametrize("query", ["page=10001", "page=1000000", "page=" + "9" * 40, "per_page=10001"])
def test_a_page_number_past_any_listing_is_not_found_before_any_query(app, client, query):
    with statements_sent(app) as statements:
        assert client.get(f"/items?{query}").status_code == 404
        assert statements == []
        assert client.get("/items?page=1").status_code == 200 and statements  # the listener does hear queries


def test_the_last_page_a_listing_may_have_is_still_answered(author_client):
    # The studio's list shows an empty page past its end: page 10,000 is the largest any listing may reach.
    assert author_client.get("/studio/items?page=10000").status_code == 200
    assert author_client.get("/studio/items?page=10001").status_code == 404


def test_the_api_answers_its_own_page_numbers(client):
    assert client.get("/api/v1/items?page=10001").status_code != 404


@pytest.mark.parametrize("request_args", [
    {"path": "/search", "query_string": {"q": "a\x00b"}},
    {"path": "/search", "query_string": {"q\x00": "a"}},
    {"path": "/items/a%00b"},
])
def test_text_with_a_nul_character_is_refused_with_a_reason(client, request_args):
    response = client.get(**request_args)
    assert response.status_code == 400
    assert says_nul_refused(response)


def test_a_nul_character_in_a_posted_form_is_refused_too(client, stalker):
    # With its CSRF token: without one, the CSRF check answers 400 first and the NUL is never looked at.
    response = sign_in(client, name="Mina\x00")
    assert response.status_code == 400
    assert says_nul_refused(response)


@pytest.mark.parametrize("query, form", [
    ({"next": "a\x00b"}, [("name", "Mina")]),  # in the query string of a POST
    ({}, [("name", "Mina"), ("name", "Mina\x00")]),  # in a second value of one name
    ({}, [("name\x00", "Mina")]),  # in a name
])
def test_a_nul_character_anywhere_in_a_posted_query_or_form_is_refused(client, query, form):
    token = csrf_token_from(client.get("/studio/sign-in").get_data(as_text=True))
    response = client.post("/studio/sign-in", query_string=query, data=MultiDict([("csrf_token", token), *form]))
    assert response.status_code == 400
    assert says_nul_refused(response)


def test_a_nul_character_in_a_second_value_of_a_query_name_is_refused(client):
    response = client.get("/search", query_string=MultiDict([("q", "film"), ("q", "a\x00b")]))
    assert response.status_code == 400
    assert says_nul_refused(response)


@pytest.mark.parametrize("item_id", [2**31, 2**63 - 1, 2**63, 10**30])
def test_an_id_past_what_the_database_holds_is_not_found(app, author_client, item_id):
    assert author_client.get(f"/studio/items/{item_id}").status_code == 404


def test_behind_a_trusted_proxy_its_port_is_believed_too(database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": database_url, "PROXY_COUNT": 1})
    with app.app_context():
        db.create_all()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "films.example", "X-Forwarded-Port": "8443"}
    feed = app.test_client().get("/feeds/items.atom", headers=forwarded).get_data(as_text=True)
    assert "https://films.example:8443/" in feed
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_every_page_allows_code_only_from_this_site_and_no_plugins_or_framing(client):
    policy = directives(client.get("/studio/sign-in").headers["Content-Security-Policy"])
    assert policy == {"default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
                      "img-src": "'self' https: data:", "object-src": "'none'", "base-uri": "'self'",
                      "form-action": "'self'", "frame-ancestors": "'none'"}


def test_the_widget_may_be_framed_by_the_sites_the_setting_names(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}",
                      "WIDGET_FRAME_ANCESTORS": "https://blog.example"})
    policy = directives(app.test_client().get("/widget/items/no-such-item").headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == "https://blog.example"


def proxied_site(database_url, proxies: int):
    """The site behind `proxies` trusted reverse proxies, with its author."""
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": database_url,
                      "PROXY_COUNT": proxies})
    with app.app_context():
        db.create_all()
    add_author(app)
    return app


def test_behind_two_proxies_the_address_scheme_and_host_are_the_outer_proxys(database_url):
    app = proxied_site(database_url, 2)
    # The outer proxy (the one readers reach) adds the first value, the inner one the second.
    forwarded = {"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "films.example, backend",
                 "X-Forwarded-Port": "8443, 8000"}
    feed = app.test_client().get("/feeds/items.atom", headers=forwarded).get_data(as_text=True)
    assert "https://films.example:8443/" in feed and "backend" not in feed
    # A guesser slowed down at his own address does not slow her down, though both come through the same proxies.
    guesser = app.test_client()
    guesser.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.9, 10.0.0.2"
    for _ in range(auth.SLOW_DOWN_AFTER):
        assert sign_in(guesser, password="wrong guess").status_code == 401
    assert sign_in(guesser).status_code == 429
    hers = app.test_client()
    hers.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7, 10.0.0.2"
    assert sign_in(hers).status_code == 303
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
