"""Stored pages answered in front of Flask, gzip as stored: the same answer a reader gets through Flask."""
from __future__ import annotations

import gzip
import re

import pytest
from flask import request_started

from afterimage.extensions import db
from app import create_app
from tests.test_page_cache import HIROSHIMA_WIDGET, set_item_fields

HIROSHIMA = "/items/hiroshima-mon-amour-1959"
HIROSHIMA_API = "/api/v1/items/hiroshima-mon-amour-1959/recommendations"
NONCE = re.compile(r"'nonce-[^']+'")


@pytest.fixture
def counted(demo_app):
    """The demo app, counting the requests that reach Flask (its request_started signal)."""
    calls = []

    def started(sender, **extra):
        calls.append(1)

    request_started.connect(started, demo_app)
    yield demo_app, calls
    request_started.disconnect(started, demo_app)


def comparable(headers) -> dict[str, str]:
    """Headers by name, without the per-response nonce and the date."""
    return {name: NONCE.sub("'nonce-*'", value) for name, value in headers.items() if name != "Date"}


@pytest.mark.parametrize("path", [HIROSHIMA, HIROSHIMA_WIDGET, HIROSHIMA_API])
@pytest.mark.parametrize("encoding", ["", "gzip, deflate, br"])
def test_a_hit_answered_before_flask_matches_the_one_flask_gives(counted, path, encoding):
    app, calls = counted
    client = app.test_client()
    headers = {"Accept-Encoding": encoding} if encoding else {}
    assert client.get(path).headers["X-Page-Cache"] == "miss"

    calls.clear()
    fast = client.get(path, headers=headers)
    assert calls == [], "a plain request for a stored page never enters Flask"
    # A cookie no view reads: the request then goes through Flask, which answers from the same stored row.
    flask_client = app.test_client()
    flask_client.set_cookie("analytics", "1")
    through_flask = flask_client.get(path, headers=headers)
    assert calls == [1]

    assert fast.status_code == through_flask.status_code == 200
    assert fast.headers["X-Page-Cache"] == through_flask.headers["X-Page-Cache"] == "hit"
    assert fast.data == through_flask.data
    assert comparable(fast.headers) == comparable(through_flask.headers)
    assert int(fast.headers["Content-Length"]) == len(fast.data)


def test_readers_who_accept_gzip_get_the_stored_bytes_with_their_own_validator(demo_app):
    client = demo_app.test_client()
    page = client.get(HIROSHIMA_WIDGET)
    plain = client.get(HIROSHIMA_WIDGET)
    packed = client.get(HIROSHIMA_WIDGET, headers={"Accept-Encoding": "gzip"})

    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data == page.data
    assert len(packed.data) < len(plain.data) / 2
    assert "Accept-Encoding" in plain.headers["Vary"] and "Accept-Encoding" in packed.headers["Vary"]
    assert "Accept-Encoding" in page.headers["Vary"], "the first reader's answer says so too"
    assert packed.headers["ETag"] != plain.headers["ETag"]

    # Revalidation: each representation matches its own validator only.
    again = client.get(HIROSHIMA_WIDGET, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304
    crossed = client.get(HIROSHIMA_WIDGET, headers={"Accept-Encoding": "gzip", "If-None-Match": plain.headers["ETag"]})
    assert crossed.status_code == 200 and crossed.headers["Content-Encoding"] == "gzip"
    assert client.get(HIROSHIMA_WIDGET, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("refusal", ["gzip;q=0", "identity", "br"])
def test_readers_who_refuse_gzip_get_the_page_itself(demo_client, refusal):
    first = demo_client.get(HIROSHIMA)
    answer = demo_client.get(HIROSHIMA, headers={"Accept-Encoding": refusal})
    assert answer.headers["X-Page-Cache"] == "hit"
    assert "Content-Encoding" not in answer.headers
    assert answer.data == first.data


def test_head_gets_the_headers_and_no_body(demo_client):
    page = demo_client.get(HIROSHIMA_API)
    head = demo_client.head(HIROSHIMA_API, headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.headers["X-Page-Cache"] == "hit"
    assert head.data == b""
    assert head.headers["Content-Encoding"] == "gzip"
    assert 0 < int(head.headers["Content-Length"]) < len(page.data)


def test_hits_answered_before_flask_keep_the_security_headers(demo_client):
    demo_client.get(HIROSHIMA)
    demo_client.get(HIROSHIMA_WIDGET)
    first, second = demo_client.get(HIROSHIMA), demo_client.get(HIROSHIMA)
    assert first.headers["X-Page-Cache"] == "hit"
    assert first.headers["X-Frame-Options"] == "DENY"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert "'unsafe-inline'" not in first.headers["Content-Security-Policy"]
    assert NONCE.search(first.headers["Content-Security-Policy"])[0] != \
        NONCE.search(second.headers["Content-Security-Policy"])[0], "a fresh nonce for every answer"

    widget = demo_client.get(HIROSHIMA_WIDGET)
    assert widget.headers["X-Page-Cache"] == "hit"
    assert "X-Frame-Options" not in widget.headers, "the widget is made to be framed"
    assert "frame-ancestors *" in widget.headers["Content-Security-Policy"]
    assert "'nonce-" not in widget.headers["Content-Security-Policy"], "the widget's own hash-based policy"


def test_an_edit_is_on_the_next_plain_request(demo_app):
    client = demo_app.test_client()
    client.get(HIROSHIMA)
    assert client.get(HIROSHIMA).headers["X-Page-Cache"] == "hit"
    set_item_fields(demo_app, "hiroshima-mon-amour-1959", note="Seen again at the cinematheque, better than I remembered.")
    page = client.get(HIROSHIMA)
    # Drawn again inside the edit's own commit (page_redraw.py): the next reader's request is already a hit.
    assert page.headers["X-Page-Cache"] == "hit"
    assert "better than I remembered" in page.get_data(as_text=True)
    again = client.get(HIROSHIMA, headers={"Accept-Encoding": "gzip"})
    assert again.headers["X-Page-Cache"] == "hit"
    assert "better than I remembered" in gzip.decompress(again.data).decode()


def test_requests_a_stored_page_cannot_answer_go_to_flask(counted):
    app, calls = counted
    client = app.test_client()
    client.get(HIROSHIMA_WIDGET)
    client.get(HIROSHIMA_WIDGET + "?theme=dark")
    calls.clear()
    # Plain parameters of the stored page, and ones no view reads, are still hits before Flask.
    assert client.get(HIROSHIMA_WIDGET + "?theme=dark").headers["X-Page-Cache"] == "hit"
    assert client.get(HIROSHIMA_WIDGET + "?utm_source=blog").headers["X-Page-Cache"] == "hit"
    assert calls == []
    # A page not stored yet, an escaped query and a POST are Flask's.
    assert client.get(HIROSHIMA_WIDGET + "?theme=light").headers["X-Page-Cache"] == "miss"
    assert client.get(HIROSHIMA_WIDGET + "?theme=%64ark").headers["X-Page-Cache"] == "hit"
    assert client.post(HIROSHIMA_WIDGET).status_code in (400, 405)
    assert len(calls) == 3


def test_behind_a_proxy_the_key_is_the_address_the_reader_used(database_url, demo_app):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "SQLALCHEMY_DATABASE_URI": database_url,
                      "PROXY_COUNT": 1})
    client = app.test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "films.example.org"}
    assert client.get(HIROSHIMA_WIDGET, headers=forwarded).headers["X-Page-Cache"] == "miss"
    hit = client.get(HIROSHIMA_WIDGET, headers=forwarded)
    assert hit.headers["X-Page-Cache"] == "hit"
    assert "https://films.example.org/items/hiroshima-mon-amour-1959" in hit.get_data(as_text=True)
    direct = client.get(HIROSHIMA_WIDGET)
    assert direct.headers["X-Page-Cache"] == "miss", "the proxy's address and the direct one are different pages"
    assert "https://films.example.org" not in direct.get_data(as_text=True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
