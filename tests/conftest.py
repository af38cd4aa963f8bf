"""Fixtures: a fresh database per test from the factory, a client, a CLI runner and the demo catalog."""
from __future__ import annotations

import copy
import functools
import re
import shutil
import weakref
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, TypeVar

import jinja2
import pytest

if TYPE_CHECKING:
    from flask import Flask

T = TypeVar("T")

# The app and its packages (scikit-learn among them, 3 s of CPU) are imported by the fixtures that use them, not
# here: pytest-xdist's controller loads this file too, and collects and runs nothing.

pytest_plugins = ["tests.postgres"]


def pytest_collection_modifyitems(config, items):
    """Tests that drive Chromium carry the `browser` marker by where they live, so `-m "not browser"` skips them."""
    for item in items:
        if "browser" in item.path.name or item.path.parent.name == "browser":
            item.add_marker(pytest.mark.browser)


def pytest_addoption(parser):
    """--postgres runs the suite on a throwaway PostgreSQL cluster instead of SQLite."""
    parser.addoption("--postgres", action="store_true", help="run against a real PostgreSQL server")


class SharedTemplateBytecode(jinja2.BytecodeCache):
    """Compiled templates kept in memory for every app of this test process.

    Each test builds its own app, whose Jinja environment would compile every template it renders again
    (about 35 ms for a first page). Jinja keys the bytecode by template name and checks it against a hash
    of the source, so an edited or substituted template is compiled afresh. The code objects themselves are
    kept (they are immutable): no marshalling to bytes and back for every app.
    """

    def __init__(self) -> None:
        self.compiled: dict[str, tuple[str, CodeType]] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Give the bucket the code an earlier app compiled from the same source, if any."""
        checksum, code = self.compiled.get(bucket.key, (None, None))
        if checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Keep what this app compiled for the apps of later tests."""
        self.compiled[bucket.key] = (bucket.checksum, bucket.code)


TEMPLATE_BYTECODE = SharedTemplateBytecode()


def shared_url_builder(compile_builder):
    """Werkzeug's Rule._compile_builder, sharing the builder of each URL rule between the apps of this process.

    Werkzeug writes and compiles a Python function per rule for url_for (about 20 ms of every create_app).
    The function reads the rule's converters from the rule it is bound to, so one built for the same rule,
    trace and defaults serves every app; a rule whose defaults fill a URL part is built afresh.
    """
    builders: dict[tuple, object] = {}

    def build(rule, append_unknown: bool = True):
        defaults = rule.defaults or {}
        if defaults and any(is_dynamic and part in defaults for is_dynamic, part in rule._trace):
            return compile_builder(rule, append_unknown)
        key = (rule.rule, append_unknown, tuple(rule._trace), tuple(sorted(defaults.items(), key=repr)))
        try:
            return builders[key]
        except KeyError:
            builders[key] = compile_builder(rule, append_unknown)
            return builders[key]
        except TypeError:  # an unhashable default
            return compile_builder(rule, append_unknown)

    return build


def same_converter(converter):
    """What makes a URL converter class: a partial (the site's bounded `int`) is new in every app, equal in all."""
    if isinstance(converter, functools.partial):
        return (converter.func, converter.args, tuple(sorted(converter.keywords.items())))
    return converter


def shared_rule_parsing(parse_rule):
    """Werkzeug's Rule._parse_rule, parsing each URL rule once per process (three quarters of a create_app).

    The parts (matching regexes and weights) depend only on the rule's text and the map's converter classes;
    what parsing leaves on the rule (its trace, and converters bound to its own map) is replayed on later rules.
    """
    parsed: dict[tuple, tuple] = {}

    def parse(rule, text: str):
        key = (text, tuple((name, same_converter(made)) for name, made in rule.map.converters.items()))
        if key not in parsed:
            trace_start, known = len(rule._trace), set(rule._converters)
            parts = list(parse_rule(rule, text))
            # In the rule's order: the matcher pairs the regex's groups with the converters by position.
            made = {variable: converter for variable, converter in rule._converters.items() if variable not in known}
            parsed[key] = (parts, rule._trace[trace_start:], made)
            return parts
        parts, trace, made = parsed[key]
        rule._trace.extend(trace)
        for variable, template in made.items():
            converter = copy.copy(template)  # a converter holds its arguments and the map it was made for
            converter.map = rule.map
            rule._converters[variable] = converter
            rule.arguments.add(variable)
        return list(parts)

    return parse


@pytest.fixture(autouse=True, scope="session")
def work_shared_between_apps():
    """What every test's create_app would repeat for the same result: the build fingerprint, URL rules' parsing
    and builders."""
    from werkzeug.routing.rules import Rule

    from afterimage.http import cache as http_cache

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(http_cache, "build_fingerprint", functools.cache(http_cache.build_fingerprint))
        patch.setattr(Rule, "_parse_rule", shared_rule_parsing(Rule._parse_rule))
        patch.setattr(Rule, "_compile_builder", shared_url_builder(Rule._compile_builder))
        yield


# scrypt with a small work factor: each hash or check costs about 1 ms instead of 50 (the site's default,
# werkzeug's, is checked in tests/studio/test_studio_auth.py).
TEST_PASSWORD_HASH_METHOD = "scrypt:1024:8:1"


def make_test_app(database_url: str, **config) -> Flask:
    """The factory's app with test settings, sharing compiled templates with the other tests of this process."""
    from app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "SQLALCHEMY_DATABASE_URI": database_url,
                      "PASSWORD_HASH_METHOD": TEST_PASSWORD_HASH_METHOD, **config})
    app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    if database_url.startswith("sqlite:///"):
        skip_sqlite_fsync(app)
        share_compiled_sql(app)
    return app


# The SQLite dialect of this process's first test app, once connected, and the compiled statements of every app.
SHARED_SQLITE: dict[str, object] = {}


def share_compiled_sql(app: Flask) -> None:
    """Give the app's engine the dialect and compiled-statement cache the earlier test apps of this process used.

    SQLAlchemy caches each statement's compiled SQL per engine and dialect; a new engine per test compiled every
    query again (a fifth of a small test's time). An app server keeps one engine for its life, so one cache
    across tests is closer to production. The dialect is shared only once it has been set up by a connection.
    """
    from sqlalchemy import util

    from afterimage.extensions import db

    with app.app_context():
        engine = db.engine
    dialect = SHARED_SQLITE.get("dialect")
    if dialect is None:
        SHARED_SQLITE["dialect"] = engine.dialect
        SHARED_SQLITE["cache"] = engine._compiled_cache = util.LRUCache(5000)
    elif type(dialect) is type(engine.dialect) and dialect.server_version_info is not None:
        engine.dialect = engine.pool._dialect = dialect
        engine._compiled_cache = SHARED_SQLITE["cache"]


def skip_sqlite_fsync(app: Flask) -> None:
    """A test's SQLite file need not survive a power cut: no fsync (6 ms each here, about four a test).

    As the PostgreSQL test cluster runs with fsync off (tests/postgres.py). Runs after the app's own pragmas
    (WAL, foreign keys), which stay as in production.
    """
    import sqlalchemy as sa

    from afterimage.extensions import db

    def no_fsync(dbapi_connection, connection_record):
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    with app.app_context():
        sa.event.listen(db.engine, "connect", no_fsync)


def close_connections(app: Flask) -> None:
    """Close the app's session and every pooled connection to its database."""
    from afterimage.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def dispose_sqlite(app: Flask) -> None:
    """Close the app's connections and fold the WAL into the file, so the file alone holds the database."""
    import sqlalchemy as sa

    from afterimage.extensions import db

    with app.app_context():
        db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    close_connections(app)


@pytest.fixture(scope="session")
def empty_sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file with the schema db.create_all makes and no rows, built once per test process."""
    from afterimage.extensions import db

    path = tmp_path_factory.mktemp("empty-template") / "empty.db"
    template_app = make_test_app(f"sqlite:///{path}")
    with template_app.app_context():
        db.create_all()
    dispose_sqlite(template_app)
    return path


@pytest.fixture
def database_url(request, tmp_path: Path) -> str:
    """A fresh, empty database for this test: a SQLite file, or a new PostgreSQL database with --postgres."""
    if request.config.getoption("--postgres"):
        return request.getfixturevalue("postgres_database_url")
    return f"sqlite:///{tmp_path / 'afterimage.db'}"


def replace_sqlite_file(app: Flask, template: Path) -> None:
    """Make the app's SQLite database a copy of `template`, closing its connections to the old file first."""
    close_connections(app)
    target = sqlite_path(app)
    for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(template, target)
    FRESH_COPIES[app] = sqlite_state(app)


# Each test app's database as it was copied from a template: see untouched_copy.
FRESH_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def sqlite_state(app: Flask) -> tuple[int, int, int]:
    """The database file's modification time and size, and its write-ahead log's size: a write changes one."""
    main, log = sqlite_path(app), Path(f"{sqlite_path(app)}-wal")
    return main.stat().st_mtime_ns, main.stat().st_size, log.stat().st_size if log.exists() else 0


def untouched_copy(app: Flask) -> bool:
    """Whether nothing has written to the app's database since it was copied from its template."""
    return FRESH_COPIES.get(app) == sqlite_state(app)


def sqlite_path(app: Flask) -> Path:
    """The file of the app's SQLite database."""
    return Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))


# What fixtures built with built_once, per builder: a copy of the database it left and what it returned.
BUILT: dict[Callable[[], object], tuple[Path, object]] = {}


def built_once(app: Flask, request, build: Callable[[], T]) -> T:
    """Run build() in an app context on the app's database; on SQLite only for the first test of this process.

    That test's database is then kept as a file, and later tests get a copy of it (a copy costs a few ms; the
    saves, fits and commits of a small catalog 50 to 250). build() must start from the same database each time
    (its fixture's own, such as the empty schema or the demo catalog) and return plain values (ids, slugs),
    not rows. On PostgreSQL it runs for each test.
    """
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        with app.app_context():
            return build()
    # A fixture that wrote first (an author, say) would be lost under the copy, or kept in it for every test.
    assert untouched_copy(app), f"{build.__name__}: ask for this fixture before fixtures that write to the database"
    if build in BUILT:
        path, value = BUILT[build]
        replace_sqlite_file(app, path)
        return value  # type: ignore[return-value]
    with app.app_context():
        value = build()
    dispose_sqlite(app)
    path = request.getfixturevalue("tmp_path_factory").mktemp("built") / "built.db"
    shutil.copyfile(sqlite_path(app), path)
    BUILT[build] = (path, value)
    return value


def pytest_configure(config):
    """Register the markers of the few tests that need the real background refit, or a freshly drawn map."""
    config.addinivalue_line(
        "markers", "refit_process: the commits of this test start the real background refit process "
        "(other tests only note that a refit was asked for)",
    )
    config.addinivalue_line(
        "markers", "collection_map: the refits of this test draw the collection map (other tests keep the map "
        "the database had: the demo catalog's, or none)",
    )


def refit_process_or_note(request) -> None:
    """Unless the test is marked `refit_process`, a drifting commit notes its refit instead of starting one.

    The refit process loads the app and scikit-learn (seconds of CPU) to refit a catalog the test is about to
    throw away; tests stopped it at teardown, and one that finished early could change the recommendations
    or the map under a test that reads them. What the author sees at once comes from the fold-in at commit,
    which runs as in production; tests that check the refit itself run it (refit_unless_changed) or carry
    the marker.
    """
    if request.node.get_closest_marker("refit_process"):
        return
    from afterimage.recommendations import hooks

    asked = request.node.stash.setdefault(REFITS_ASKED, [])
    request.getfixturevalue("monkeypatch").setattr(hooks, "refit_in_background", asked.append)


# The apps whose commits asked for a background refit during the test (see refit_process_or_note).
REFITS_ASKED = pytest.StashKey[list]()


def draw_map_only_where_looked_at(request) -> None:
    """Unless the test is marked `collection_map`, a refit keeps the stored collection map as it was.

    Drawing it (t-SNE and KMeans, even for three items) was a fifth of every refit's time, and only the map's
    own tests read it. The demo catalog, copied from a file built once, keeps the map drawn for it.
    """
    if request.node.get_closest_marker("collection_map"):
        return
    from afterimage.recommendations import store

    request.getfixturevalue("monkeypatch").setattr(store, "store_collection_map", lambda model: None)


def end_app(app: Flask) -> None:
    """Stop a refit the test's commits started (its database is about to go) and close the connections."""
    from afterimage.recommendations import refit

    refit.stop_refit()
    close_connections(app)


@pytest.fixture
def app(database_url: str, tmp_path: Path, request):
    """The site on its own database, schema created, CSRF on as in production."""
    from afterimage.extensions import db
    from afterimage.recommendations import store

    # Each test is a fresh "process": no recommendation model carried over from another database.
    store._forget_cached_model()
    refit_process_or_note(request)
    draw_map_only_where_looked_at(request)
    app = make_test_app(database_url, IMPORT_UPLOAD_FOLDER=str(tmp_path / "imports"))
    if database_url.startswith("sqlite:///"):
        # The schema db.create_all makes, copied from a file made once (a copy is a tenth of create_all).
        replace_sqlite_file(app, request.getfixturevalue("empty_sqlite_template"))
    else:
        with app.app_context():
            db.create_all()
    yield app
    end_app(app)


@pytest.fixture
def bare_app(database_url: str, request):
    """The site on an empty database: no db.create_all, so only the migrations can make tables."""
    refit_process_or_note(request)
    draw_map_only_where_looked_at(request)
    app = make_test_app(database_url)
    yield app
    end_app(app)


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for the app's commands."""
    return app.test_cli_runner()


def load_demo_catalog_and_its_map() -> None:
    """Load the demo catalog with its collection map drawn, whatever the markers of the test that asks."""
    from afterimage.catalog.demo import load_demo_catalog
    from afterimage.recommendations import collection_map, store

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "store_collection_map", collection_map.store_collection_map)
        load_demo_catalog()


@pytest.fixture(scope="session")
def demo_sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file with the demo catalog, its recommendations and its map, built once per run."""
    from afterimage.extensions import db

    path = tmp_path_factory.mktemp("demo-template") / "demo.db"
    template_app = make_test_app(f"sqlite:///{path}")
    with template_app.app_context():
        db.create_all()
        load_demo_catalog_and_its_map()
    dispose_sqlite(template_app)
    return path


@pytest.fixture
def demo_app(app, request):
    """The app with the demo catalog loaded (on SQLite, a copy of a catalog built once per run)."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        replace_sqlite_file(app, request.getfixturevalue("demo_sqlite_template"))
    else:
        with app.app_context():
            load_demo_catalog_and_its_map()
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
    import sqlalchemy as sa

    from afterimage.catalog.models import Item
    from afterimage.catalog.rules import ItemFields, save_item
    from afterimage.extensions import db

    with app.app_context():
        hiroshima = db.session.scalar(sa.select(Item).where(Item.slug == "hiroshima-mon-amour-1959"))
        film = save_item(ItemFields(
            kind="film", title=MARKUP_TITLE, year=1961, tags=[t.name for t in hiroshima.tags],
            creators=creators, description=hiroshima.description,
        ))
        db.session.commit()
        return film.slug
