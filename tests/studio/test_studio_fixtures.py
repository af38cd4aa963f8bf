"""Shared studio test helpers: an author account and a signed-in client (imported by the studio tests)."""
from __future__ import annotations

import functools

import pytest
from flask import session
from werkzeug.security import generate_password_hash

from afterimage.accounts.auth import SESSION_KEY, find_author, start_session
from afterimage.accounts.models import Author
from afterimage.extensions import db
from tests.conftest import TEST_PASSWORD_HASH_METHOD, csrf_token_from

PASSWORD = "correct horse battery"


@functools.cache
def password_hash() -> str:
    """Hashing is slow on purpose; do it once for the whole run, with the test apps' small scrypt work factor."""
    return generate_password_hash(PASSWORD, method=TEST_PASSWORD_HASH_METHOD)


def add_author(app, name: str = "Mina") -> None:
    """Create an author with the shared password."""
    with app.app_context():
        db.session.add(Author(name=name, password_hash=password_hash()))
        db.session.commit()


def sign_in(client, name: str = "Mina", password: str = PASSWORD):
    """Sign in through the form, CSRF token and all; returns the response."""
    token = csrf_token_from(client.get("/studio/sign-in").get_data(as_text=True))
    return client.post("/studio/sign-in", data={"csrf_token": token, "name": name, "password": password})


def start_signed_in(app, client, name: str = "Mina") -> None:
    """Give the client the session a successful sign-in starts (start_session), without the form.

    For the fixtures of tests about something else: the form itself (a page, a password check, a recorded
    attempt, two commits: a fifth of a small studio test) is driven by sign_in, in the sign-in tests and
    test_the_shared_author_can_sign_in below.
    """
    with app.test_request_context(headers={"User-Agent": "Werkzeug"}):
        start_session(find_author(name))
        token = session[SESSION_KEY]
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = token
        cookie.permanent = True


def post_form(client, page_url: str, data: dict, action: str | None = None, **kwargs):
    """Fetch a studio page, take its CSRF token and post the form (to the page itself or `action`)."""
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(action or page_url, data={"csrf_token": token, **data}, **kwargs)


@pytest.fixture
def author_client(app, client):
    """A client signed in as an author, on an empty catalog."""
    add_author(app)
    start_signed_in(app, client)
    return client


@pytest.fixture
def demo_author_client(demo_app, client):
    """A client signed in as an author, on the demo catalog."""
    add_author(demo_app)
    start_signed_in(demo_app, client)
    return client


def test_the_shared_author_can_sign_in(app, client, author_client):
    """The helpers above work: the form signs in as the fixtures' session does, and the dashboard opens."""
    assert author_client.get("/studio/").status_code == 200
    form_client = app.test_client()
    assert form_client.get("/studio/").status_code != 200
    assert sign_in(form_client).status_code == 303
    assert form_client.get("/studio/").status_code == 200
