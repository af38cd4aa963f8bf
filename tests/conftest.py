"""Fixtures: a fresh database per test from the factory, a client, a CLI runner and the demo catalog."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from afterimage.catalog.demo import load_demo_catalog
from afterimage.extensions import db
from afterimage.recommendations import refit as recommendation_refit
from afterimage.recommendations import store as recommendation_store
from app import create_app

pytest_plugins = ["tests.postgres"]


def pytest_collection_modifyitems(config, items):
    """Tests that drive Chromium carry the `browser` marker by where they live, so `-m "not browser"` skips them."""
    for item in items:
        if "browser" in item.path.name or item.path.parent.name == "browser":
            item.add_marker(pytest.mark.browser)


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
def app(database_url: str, tmp_path: Path):
    """The site on its own database, schema created, CSRF on as in production."""
    # Each test is a fresh "process": no recommendation model carried over from another database.
    recommendation_store._forget_cached_model()
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "IMPORT_UPLOAD_FOLDER": str(tmp_path / "imports"),
    })
    with app.app_context():
        db.create_all()
    yield app
    # A refit a test's commits started in the background goes with its database; tests that read its
    # result wait for it themselves.
    recommendation_refit.stop_refit()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def bare_app(database_url: str):
    """The site on an empty database: no db.create_all, so only the migrations can make tables."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "SQLALCHEMY_DATABASE_URI": database_url})
    yield app
    recommendation_refit.stop_refit()
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


@pytest.fixture(scope="session")
def demo_sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file with the demo catalog and its recommendations, built once per run."""
    path = tmp_path_factory.mktemp("demo-template") / "demo.db"
    template_app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with template_app.app_context():
        db.create_all()
        load_demo_catalog()
        db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture
def demo_app(app, request):
    """The app with the demo catalog loaded (on SQLite, a copy of a catalog built once per run)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        if url.startswith("sqlite:///"):
            db.session.remove()
            db.engine.dispose()
            target = Path(url.removeprefix("sqlite:///"))
            for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
                leftover.unlink(missing_ok=True)
            shutil.copyfile(request.getfixturevalue("demo_sqlite_template"), target)
        else:
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


MARKUP_TITLE = "<img src=x onerror=alert(1)>"


def add_film_titled_with_markup(app, creators: list[tuple[str, str]]) -> str:
    """Add a film whose title is markup, made the closest film to Hiroshima mon amour; returns its slug."""
    from afterimage.catalog.rules import ItemFields, save_item
    from afterimage.catalog.models import Item

    with app.app_context():
        hiroshima = db.session.scalar(sa.select(Item).where(Item.slug == "hiroshima-mon-amour-1959"))
        film = save_item(ItemFields(
            kind="film", title=MARKUP_TITLE, year=1961, tags=[t.name for t in hiroshima.tags],
            creators=creators, description=hiroshima.description,
        ))
        db.session.commit()
        return film.slug
