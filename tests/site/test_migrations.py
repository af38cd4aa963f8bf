"""The migrations are the only way the schema is made, and they make exactly the models' schema."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade

from afterimage.catalog.search_index import include_name, search_index_tables
from afterimage.database import MIGRATIONS_DIR, create_schema
from afterimage.extensions import db


def schema_differences() -> list:
    """What alembic autogenerate would still change to reach the models (empty when they agree).

    With migrations/env.py's filter: the search index lives outside the metadata, on purpose.
    """
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
        return compare_metadata(context, db.metadata)


def head_revision() -> str:
    """The newest migration."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def stored_revision() -> str | None:
    """The revision the database says it is at."""
    return db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))


def test_init_db_migrates_an_empty_database_to_exactly_the_models_schema(bare_app):
    result = bare_app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with bare_app.app_context():
        assert schema_differences() == []
        assert stored_revision() == head_revision()
        tables = set(sa.inspect(db.engine).get_table_names())
        search_tables = search_index_tables(db.engine.dialect.name)
    expected = {
        "items", "creators", "credits", "tags", "item_tags", "lists", "list_entries", "slug_redirects",
        "neighbours", "rec_overrides", "rec_models", "authors", "author_sessions", "sign_in_attempts", "diary_entries",
    }
    assert expected <= tables
    assert tables == set(db.metadata.tables) | {"alembic_version"} | search_tables


def test_flask_db_upgrade_is_the_same_path_and_running_it_twice_changes_nothing(bare_app):
    runner = bare_app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["init-db"]).exit_code == 0
    with bare_app.app_context():
        assert schema_differences() == []
        assert stored_revision() == head_revision()


def test_every_migration_downgrades_and_upgrades_again(bare_app):
    with bare_app.app_context():
        create_schema()
        downgrade(directory=str(MIGRATIONS_DIR), revision="base")
        db.session.remove()
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        create_schema()
        assert schema_differences() == []


def test_a_database_made_before_migrations_is_adopted_not_recreated(app, runner):
    """The test fixture (and init-db before migrations) made tables with create_all: init-db stamps them."""
    with app.app_context():
        db.session.execute(sa.text("INSERT INTO tags (name, name_key, slug, description, created_at, updated_at) "
                                   "VALUES ('War', 'war', 'war', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        db.session.commit()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert stored_revision() == head_revision()
        assert schema_differences() == []
        assert db.session.scalar(sa.text("SELECT name FROM tags")) == "War"


def test_a_site_with_stored_pages_upgrades_to_http_caching_and_keeps_its_catalog(bare_app):
    from flask_migrate import downgrade, upgrade

    with bare_app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR), revision="0006_search_version")
        db.session.execute(sa.text(
            "INSERT INTO page_store (key, body, headers, stored_at) VALUES ('http://localhost/items/cleo?', "
            ":body, '[]', '2026-11-28 10:00:00')"), {"body": b"old page"})
        db.session.execute(sa.text("INSERT INTO tags (name, name_key, slug, description, created_at, updated_at) "
                                   "VALUES ('War', 'war', 'war', '', '2026-11-28', '2026-11-28')"))
        db.session.commit()
        upgrade(directory=str(MIGRATIONS_DIR))
        db.session.remove()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert not tables & {"page_store", "page_store_dependencies"}
        assert db.session.scalar(sa.text("SELECT name FROM tags")) == "War"
        assert db.session.scalars(sa.text("SELECT id FROM catalog_version")).all() == [1]
        assert schema_differences() == []
        downgrade(directory=str(MIGRATIONS_DIR), revision="0006_search_version")
        db.session.remove()
        assert {"page_store", "page_store_dependencies"} <= set(sa.inspect(db.engine).get_table_names())


def test_upgrading_a_populated_catalog_keeps_every_row_of_every_table(bare_app):
    """Batch mode rebuilds tables on SQLite (0008 rebuilds creators); no rebuild may cascade to the rows
    that point at the rebuilt table (credits, tags of items, list entries)."""
    from flask_migrate import downgrade, upgrade

    def counts() -> dict[str, int]:
        found = {
            t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}"))
            for t in ("items", "creators", "credits", "item_tags", "tags", "lists", "list_entries")
        }
        db.session.remove()  # an open read would hold PostgreSQL's locks against the migration's DDL
        return found

    runner = bare_app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0
    with bare_app.app_context():
        before = counts()
        assert all(before.values()), before
        downgrade(directory=str(MIGRATIONS_DIR), revision="0007_drop_page_store")
        assert counts() == before
        upgrade(directory=str(MIGRATIONS_DIR))
        assert counts() == before
        assert stored_revision() == head_revision()
