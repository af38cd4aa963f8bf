"""Reader search through its index: the same results, in the same order, as a scan of every item.

On SQLite an FTS5 trigram table narrows the rows (kept in step by triggers); on PostgreSQL a pg_trgm
GIN index serves the LIKE filters. Each test compares the indexed search with a plain scan (the
narrowing turned off) as well as with what a reader expects to find.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afterimage.catalog import search as search_module
from afterimage.catalog.models import Item
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.catalog.search import search_items
from afterimage.catalog.search_index import FTS_TABLE, TRIGGERS, TRIGRAM_INDEX, drop_search_index
from afterimage.database import MIGRATIONS_DIR
from afterimage.extensions import db
from afterimage.importers import apply_import, read_import_file
from afterimage.importers.backup import backup_json, clear_catalog
from tests.conftest import built_once

CATALOG = [
    ItemFields(kind="film", title="Cléo from 5 to 7", year=1962, creators=[("Agnès Varda", "director")],
               description="A singer waits two hours for the results of a biopsy."),
    ItemFields(kind="film", title="Hiroshima mon amour", year=1959, original_title="二十四時間の情事",
               creators=[("Alain Resnais", "director"), ("Marguerite Duras", "screenwriter")]),
    ItemFields(kind="film", title="River of No Return", year=1954, description="Rafting down a wild river."),
    ItemFields(kind="film", title="Under the Bridge", year=1990, description="The river runs under it."),
    ItemFields(kind="book", title='He said "AND" NEAR(the river)* -x', year=2001, description="^start col:umn"),
    ItemFields(kind="book", title="100% Cotton_Weave", year=2010, description="back\\slash 'quoted'"),
    ItemFields(kind="book", title="Ka", year=1999, creators=[("Roberto Calasso", "author")]),
    ItemFields(kind="book", title="Kaïro", year=2003, tags=["Ægypt"]),
]

HOSTILE_QUERIES = [
    '"', '""', '"river', 'river"', "AND", '"AND"', "OR NOT", "*", "riv*", "NEAR(", "NEAR(the river)",
    "near(the", "col:umn", "search_text:river", "^start", "-x", "+river", "{a b}", "(", ")", "'quoted'",
    "100%", "%", "_", "cotton_weave", "\\", "back\\slash", "\x00", "riv\x00er", "\x00river", "名前😀",
    "\u202eriver", "二十四時間", "情事", "ægypt", "AEGYPT", "a" * 300, "river " * 20,
]


def make_catalog() -> None:
    for fields in CATALOG:
        save_item(fields)
    db.session.commit()


def titles(q: str, kind: str | None = None) -> list[str]:
    """What the reader's search finds, in order."""
    return [item.title for item in db.session.scalars(search_items(q, kind))]


def scanned_titles(q: str, kind: str | None = None) -> list[str]:
    """What the search found before it had an index: LIKE over every item."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search_module, "narrowing_filter", lambda terms, dialect: None)
        return titles(q, kind)


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def assert_index_consistent() -> None:
    """On SQLite, FTS5 compares its index with the items table and fails on any difference."""
    if is_sqlite():
        db.session.execute(sa.text(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('integrity-check', 1)"))


def query_plan(statement: sa.Select) -> str:
    """The database's plan for a statement, as one text."""
    compiled = statement.compile(dialect=db.engine.dialect)
    params = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    prefix = "EXPLAIN QUERY PLAN " if is_sqlite() else "EXPLAIN "
    rows = db.session.connection().exec_driver_sql(prefix + compiled.string, params).all()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


@pytest.fixture
def catalog_app(app, request):
    built_once(app, request, make_catalog)
    return app


@pytest.mark.parametrize("query", ["cleo", "CLÉO", "Cléo", "agnes varda", "VARDA"])
def test_accents_and_case_are_folded(catalog_app, query):
    with catalog_app.app_context():
        assert titles(query) == ["Cléo from 5 to 7"]


@pytest.mark.parametrize("query, expected", [
    ("roshim", ["Hiroshima mon amour"]),
    ("iopsy", ["Cléo from 5 to 7"]),
    ("iroshima mon", ["Hiroshima mon amour"]),
    ("二十四時間", ["Hiroshima mon amour"]),
    ("ægypt", ["Kaïro"]),
])
def test_any_part_of_a_word_finds_the_item(catalog_app, query, expected):
    with catalog_app.app_context():
        assert titles(query) == expected


def test_terms_shorter_than_three_characters_still_filter(catalog_app):
    with catalog_app.app_context():
        # Years are searchable too: "5" is in 1954 and 1959 as well.
        assert "Cléo from 5 to 7" in titles("5") and titles("5") == scanned_titles("5")
        assert titles("ka") == scanned_titles("ka")
        assert {"Ka", "Kaïro"} <= set(titles("ka"))


def test_short_and_long_terms_together_need_both(catalog_app):
    with catalog_app.app_context():
        assert titles("cleo 7") == ["Cléo from 5 to 7"]
        assert titles("7 cleo") == ["Cléo from 5 to 7"]
        assert titles("cleo 8") == []
        assert titles("ka calasso") == ["Ka"]


def test_title_matches_come_first_best_first(catalog_app):
    with catalog_app.app_context():
        found = titles("river")
        # A title starting with the word, then one holding it, then a description.
        assert found == ["River of No Return", "He said \"AND\" NEAR(the river)* -x", "Under the Bridge"]
        assert found == scanned_titles("river")
        assert titles("river", "film") == ["River of No Return", "Under the Bridge"] == scanned_titles("river", "film")


@pytest.mark.slow
@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_odd_input_is_searched_literally_like_a_scan(catalog_app, query):
    with catalog_app.app_context():
        # PostgreSQL text cannot hold a NUL at all; the web refuses one before search (below).
        if is_sqlite() or "\x00" not in query:
            assert titles(query) == scanned_titles(query)
    # Never a 500; the request checks refuse a NUL with a 400 before search sees it.
    status = catalog_app.test_client().get("/search", query_string={"q": query}).status_code
    assert status == (400 if "\x00" in query else 200)


def test_fts_operators_typed_in_a_query_match_only_their_own_text(catalog_app):
    with catalog_app.app_context():
        assert titles('"AND"') == ['He said "AND" NEAR(the river)* -x']
        assert titles("near(the") == ['He said "AND" NEAR(the river)* -x']
        assert titles("riv*") == []
        assert titles("cotton_weave") == ["100% Cotton_Weave"]
        assert titles("cottonxweave") == []


# Queries made of catalog letters and FTS5 syntax, so that they both match and try to break things.
QUERY_TEXT = st.lists(st.sampled_from([*'aeiorstnvcklé5"*^:()-+%_\\\' ', "AND", "NEAR(", "river", "二十"]),
                      max_size=12).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERY_TEXT)
def test_the_index_finds_exactly_what_a_scan_finds(catalog_app, query):
    with catalog_app.app_context():
        assert titles(query) == scanned_titles(query)


def test_an_edit_is_found_by_its_new_words_and_not_its_old_ones(catalog_app):
    with catalog_app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.title == "River of No Return"))
        fields = ItemFields(kind="film", title="Lake of Quiet Return", year=1954, description="Rowing on a calm lake.")
        save_item(fields, item)
        db.session.commit()
        assert titles("quiet") == ["Lake of Quiet Return"]
        assert titles("rafting") == []
        assert titles("river") == scanned_titles("river")
        assert "Lake of Quiet Return" not in titles("river")
        assert_index_consistent()


def test_a_deleted_item_is_no_longer_found(catalog_app):
    with catalog_app.app_context():
        db.session.delete(db.session.scalar(sa.select(Item).where(Item.title == "Hiroshima mon amour")))
        db.session.commit()
        assert titles("hiroshima") == []
        assert_index_consistent()


def test_bulk_deletes_and_clearing_the_catalog_keep_the_index_in_step(catalog_app):
    with catalog_app.app_context():
        db.session.execute(sa.delete(Item).where(Item.kind == "book"))
        db.session.commit()
        assert titles("river") == ["River of No Return", "Under the Bridge"]
        assert titles("kairo") == []
        assert_index_consistent()
        clear_catalog()
        db.session.commit()
        assert titles("river") == []
        assert_index_consistent()


def test_raw_sql_writes_are_indexed_too(catalog_app):
    """Triggers, not the ORM, keep the index: any writer's change is searchable."""
    with catalog_app.app_context():
        db.session.execute(sa.text("UPDATE items SET search_text = 'a submarine story' WHERE title = 'Ka'"))
        db.session.commit()
        assert titles("submarine") == ["Ka"]
        assert titles("calasso") == []
        assert_index_consistent()


def test_restoring_a_backup_over_the_catalog_leaves_a_consistent_index(catalog_app):
    with catalog_app.app_context():
        backup = backup_json()
        before = {q: titles(q) for q in ("river", "cleo", "ka", '"and"', "ægypt")}
        save_item(ItemFields(kind="film", title="Not in the backup", year=2020))
        db.session.commit()
        apply_import(read_import_file("backup.json", backup.encode()), replace=True)
        assert {q: titles(q) for q in before} == before
        assert titles("backup") == []
        assert_index_consistent()


def test_the_demo_catalog_is_indexed(demo_app):
    with demo_app.app_context():
        assert "Cléo from 5 to 7" in titles("cleo")
        for query in ("duras", "han kang", "amour", "ou", "a bout de souffle"):
            assert titles(query) == scanned_titles(query)
        assert_index_consistent()


def test_search_reads_the_index(catalog_app):
    with catalog_app.app_context():
        if is_sqlite():
            assert f"{FTS_TABLE} VIRTUAL TABLE" in query_plan(search_items("river"))
            assert f"{FTS_TABLE} VIRTUAL TABLE" in query_plan(search_items("river ka", "film"))
            # Nothing to look up for two letters: a scan with LIKE, as before.
            assert FTS_TABLE not in query_plan(search_items("ka"))
        else:
            db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
            assert TRIGRAM_INDEX in query_plan(search_items("river"))


def test_postgresql_chooses_the_trigram_index_on_a_larger_catalog(app):
    with app.app_context():
        if is_sqlite():
            pytest.skip("PostgreSQL's trigram index; SQLite's FTS5 table is checked above")
        db.session.execute(sa.text(
            "INSERT INTO items (kind, slug, title, title_key, description, note, status, search_text, "
            "created_at, updated_at) SELECT 'film', 'film-' || n, 'Film ' || n, 'film ' || n, '', '', 'seen', "
            # About a thousand characters each, like the catalog's titles, credits, tags and descriptions.
            "'film ' || n || ' ' || repeat(md5(n::text) || ' ', 30) || (ARRAY['rivers', 'gardens', 'cities'])[n % 3 + 1], "
            "now(), now() FROM generate_series(1, 4000) AS n"
        ))
        db.session.execute(sa.text("UPDATE items SET search_text = search_text || ' zanzibar' WHERE id % 1000 = 0"))
        db.session.commit()
        # What autovacuum (off in the test cluster) does: statistics, and GIN's pending list merged.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE items")
        assert TRIGRAM_INDEX in query_plan(search_items("zanzibar"))
        assert len(titles("zanzibar")) == 4


def index_objects() -> set[tuple[str, str, str]]:
    """The search index's objects as the database describes them (their SQL)."""
    if is_sqlite():
        rows = db.session.execute(sa.text(
            "SELECT type, name, sql FROM sqlite_master WHERE name = :fts OR type = 'trigger'"
        ), {"fts": FTS_TABLE})
    else:
        rows = db.session.execute(sa.text(
            "SELECT 'index', indexname, indexdef FROM pg_indexes WHERE indexname = :index"
        ), {"index": TRIGRAM_INDEX})
    return {tuple(row) for row in rows}


def test_the_migration_indexes_existing_items_and_its_downgrade_removes_the_index(bare_app):
    directory = str(MIGRATIONS_DIR)
    with bare_app.app_context():
        # The catalog is written with today's models, then the schema goes back to before the index: the
        # upgrade through 0003 must index the rows already there.
        upgrade(directory=directory)
        make_catalog()
        db.session.remove()
        downgrade(directory=directory, revision="0002_catalog_version")
        assert index_objects() == set()
        upgrade(directory=directory)
        assert titles("river") == scanned_titles("river") != []
        assert titles("二十四時間") == ["Hiroshima mon amour"]
        assert_index_consistent()
        migrated = index_objects()
        assert len(migrated) == (1 + len(TRIGGERS) if is_sqlite() else 1)
        db.session.remove()
        downgrade(directory=directory, revision="0002_catalog_version")
        assert index_objects() == set()
        assert not {FTS_TABLE, f"{FTS_TABLE}_data"} & set(sa.inspect(db.engine).get_table_names())
        # Without the index the rows are all still there, and still written without error (in SQL: the
        # models describe today's schema, not this old one).
        assert db.session.scalar(sa.text("SELECT COUNT(*) FROM items")) == len(CATALOG)
        db.session.execute(sa.text(
            "INSERT INTO items (kind, slug, title, title_key, description, note, status, search_text, created_at, "
            "updated_at) VALUES ('film', 'after-2024', 'After the downgrade', 'after the downgrade', '', '', 'seen', "
            "'after the downgrade', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        db.session.commit()
    with bare_app.app_context():
        db.drop_all()
        db.session.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()
        assert index_objects() == migrated


def test_a_database_without_the_index_gets_it_when_adopted(app, runner):
    """A database made before migrations (create_all, no alembic_version) is given a filled index."""
    with app.app_context():
        make_catalog()
        with db.engine.begin() as connection:
            drop_search_index(connection)
        assert index_objects() == set()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert titles("river") == scanned_titles("river") != []
        assert_index_consistent()


def test_autogenerate_leaves_the_index_alone(app, runner):
    """`flask db check` runs autogenerate through migrations/env.py: no change to propose."""
    assert runner.invoke(args=["init-db"]).exit_code == 0
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_at_the_newest_migration_the_index_is_complete_and_kept(bare_app):
    """A later migration that rebuilds items on SQLite would drop the triggers: this would notice."""
    assert bare_app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    with bare_app.app_context():
        names = {name for _, name, _ in index_objects()}
        assert names == ({FTS_TABLE, *TRIGGERS} if is_sqlite() else {TRIGRAM_INDEX})
        make_catalog()
        assert titles("iroshima") == ["Hiroshima mon amour"]
        assert_index_consistent()
