"""Shared studio test helpers: an author account and a signed-in client (imported by the studio tests)."""
from __future__ import annotations

import functools

import pytest
from werkzeug.security import generate_password_hash

from afterimage.extensions import db
from afterimage.accounts.models import Author
from tests.conftest import csrf_token_from

PASSWORD = "correct horse battery"


@functools.cache
def password_hash() -> str:
    """Hashing is slow on purpose; do it once for the whole run, with a small scrypt work factor (the hash
    names its parameters) so that each sign-in's check costs 5 ms instead of 150. The site's own hashes keep
    werkzeug's default (tests/studio/test_studio_auth.py)."""
    return generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


def add_author(app, name: str = "Mina") -> None:
    """Create an author with the shared password."""
    with app.app_context():
        db.session.add(Author(name=name, password_hash=password_hash()))
        db.session.commit()


def sign_in(client, name: str = "Mina", password: str = PASSWORD):
    """Sign in through the form, CSRF token and all; returns the response."""
    token = csrf_token_from(client.get("/studio/sign-in").get_data(as_text=True))
    return client.post("/studio/sign-in", data={"csrf_token": token, "name": name, "password": password})


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
    assert sign_in(client).status_code == 303
    return client


@pytest.fixture
def demo_author_client(demo_app, client):
    """A client signed in as an author, on the demo catalog."""
    add_author(demo_app)
    assert sign_in(client).status_code == 303
    return client


def test_the_shared_author_can_sign_in(author_client):
    """The helpers above work: the dashboard opens."""
    assert author_client.get("/studio/").status_code == 200
