"""Fixtures: a fresh database per test from the factory, a client, a CLI runner and the demo catalog."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from afterimage.demo import load_demo_catalog
from afterimage.extensions import db
from app import create_app

pytest_plugins = ["tests.postgres"]


def pytest_addoption(parser):
    """--postgres runs the suite on a throwaway PostgreSQL cluster instead of SQLite."""
    parser.addoption("--postgres", action="store_true", help="run against a real PostgreSQL server")


@pytest.fixture
def database_url(request, tmp_path: Path) -> str:
    """A fresh, empty database for this test: a SQLite file, or a new PostgreSQL database with --postgres."""
    if request.config.getoption("--postgres"):
        return request.getfixturevalue("postgres_database_url")
    return f"sqlite:///{tmp_path / 'afterimage.db'}"


@pytest.fixture
def app(database_url: str):
    """The site on its own database, schema created, CSRF on as in production."""
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
    })
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for the app's commands."""
    return app.test_cli_runner()


@pytest.fixture
def demo_app(app):
    """The app with the demo catalog loaded."""
    with app.app_context():
        load_demo_catalog()
    return app


@pytest.fixture
def demo_client(demo_app):
    """A client on the demo catalog."""
    return demo_app.test_client()


def csrf_token_from(html: str) -> str:
    """The CSRF token a form on the page carries."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "the page has no CSRF token"
    return match.group(1)
