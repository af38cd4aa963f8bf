"""search index: FTS5 trigram table and triggers on SQLite, pg_trgm GIN index on PostgreSQL

Revision ID: 0003_search_index
Revises: 0002_catalog_version
Create Date: 2026-11-25

The statements are written out here, not imported from afterimage.catalog.search_index, so this migration
keeps doing what it did whatever the app's code becomes; tests/catalog/test_search_index.py checks that it
makes the same objects as db.create_all.
"""
from alembic import op


revision = '0003_search_index'
down_revision = '0002_catalog_version'
branch_labels = None
depends_on = None

SQLITE_UPGRADE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS items_search USING fts5("
    "search_text, content='items', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS items_search_insert AFTER INSERT ON items BEGIN "
    "INSERT INTO items_search (rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS items_search_delete AFTER DELETE ON items BEGIN "
    "INSERT INTO items_search (items_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS items_search_update AFTER UPDATE OF id, search_text ON items "
    "WHEN old.search_text IS NOT new.search_text OR old.id IS NOT new.id BEGIN "
    "INSERT INTO items_search (items_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO items_search (rowid, search_text) VALUES (new.id, new.search_text); END",
    # Index the items already there.
    "INSERT INTO items_search (items_search) VALUES ('rebuild')",
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS items_search_insert",
    "DROP TRIGGER IF EXISTS items_search_delete",
    "DROP TRIGGER IF EXISTS items_search_update",
    "DROP TABLE IF EXISTS items_search",
)
POSTGRES_UPGRADE = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_items_search_text_trgm ON items USING gin (search_text gin_trgm_ops)",
)
# pg_trgm stays installed: something else may use it, and it costs nothing unused.
POSTGRES_DOWNGRADE = ("DROP INDEX IF EXISTS ix_items_search_text_trgm",)


def _run(sqlite: tuple, postgres: tuple) -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": sqlite, "postgresql": postgres}.get(dialect, ()):
        op.execute(statement)


def upgrade():
    _run(SQLITE_UPGRADE, POSTGRES_UPGRADE)


def downgrade():
    _run(SQLITE_DOWNGRADE, POSTGRES_DOWNGRADE)
