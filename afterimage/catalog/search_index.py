"""The index behind reader search, so a query reads the matching rows instead of scanning every item.

Search is substring matching on items.search_text (see afterimage.catalog.search). Both indexes work on
trigrams, the only kind of index that can answer "contains" for an arbitrary substring:

- SQLite: an FTS5 table with the trigram tokenizer, holding no copy of the text (external content on
  items) and kept in step by triggers, so every writer (ORM, bulk deletes, imports, restores) updates it.
  It only narrows the rows; the LIKE filters still decide, so results stay exactly those of a scan.
- PostgreSQL: a pg_trgm GIN index, which the planner uses for the LIKE filters themselves.

The schema's index is made by migration 0003 in production and by db.create_all (the tests) through an
after_create event on items. It is not in the models' metadata, so autogenerate is told to leave it alone.

Two ways to get the SQLite index out of step, to avoid: a later migration that rebuilds items (batch
mode: copy, drop, rename) drops the triggers with the old table, so it must create them again; and
INSERT OR REPLACE on items deletes rows without firing the delete trigger. A rebuild repairs it:
INSERT INTO items_search (items_search) VALUES ('rebuild').
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from afterimage.catalog.models import Item

FTS_TABLE = "items_search"
# The tables FTS5 makes for an external-content table (no _content: the text stays in items).
FTS_SHADOW_SUFFIXES = ("_data", "_idx", "_docsize", "_config")
TRIGRAM_INDEX = "ix_items_search_text_trgm"
TRIGGERS = ("items_search_insert", "items_search_delete", "items_search_update")
# A trigram index can only look up strings of at least three characters.
MIN_INDEXED_LENGTH = 3

SQLITE_CREATE = (
    # case_sensitive=0 (the default) folds case, so the index finds a superset of what LIKE finds.
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    f"search_text, content='items', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER IF NOT EXISTS items_search_insert AFTER INSERT ON items BEGIN "
    f"INSERT INTO {FTS_TABLE} (rowid, search_text) VALUES (new.id, new.search_text); END",
    # An external-content index forgets a row only when told the exact text it indexed.
    f"CREATE TRIGGER IF NOT EXISTS items_search_delete AFTER DELETE ON items BEGIN "
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS items_search_update AFTER UPDATE OF id, search_text ON items "
    f"WHEN old.search_text IS NOT new.search_text OR old.id IS NOT new.id BEGIN "
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    f"INSERT INTO {FTS_TABLE} (rowid, search_text) VALUES (new.id, new.search_text); END",
)
SQLITE_REBUILD = f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')"
SQLITE_DROP = tuple(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS) + (f"DROP TABLE IF EXISTS {FTS_TABLE}",)

POSTGRES_CREATE = (
    # pg_trgm is a trusted extension from PostgreSQL 13: the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON items USING gin (search_text gin_trgm_ops)",
)
# The extension stays: other objects may use it, and unused it costs nothing.
POSTGRES_DROP = (f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}",)

_fts = sa.table(FTS_TABLE, sa.column("rowid", sa.Integer), sa.column(FTS_TABLE, sa.Text))


def create_search_index(connection: sa.Connection) -> None:
    """Make the index if it is missing and fill it from the items already there; safe to run again."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        existed = sa.inspect(connection).has_table(FTS_TABLE)
        for statement in SQLITE_CREATE:
            connection.exec_driver_sql(statement)
        if not existed:
            connection.exec_driver_sql(SQLITE_REBUILD)
    elif dialect == "postgresql":
        for statement in POSTGRES_CREATE:
            connection.exec_driver_sql(statement)


def drop_search_index(connection: sa.Connection) -> None:
    """Remove the index and its triggers."""
    statements = {"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}.get(connection.dialect.name, ())
    for statement in statements:
        connection.exec_driver_sql(statement)


def search_index_tables(dialect: str) -> set[str]:
    """The tables the index adds to a database of this kind (FTS5's table and its shadow tables)."""
    if dialect != "sqlite":
        return set()
    return {FTS_TABLE, *(FTS_TABLE + suffix for suffix in FTS_SHADOW_SUFFIXES)}


def is_search_index(name: str | None, type_: str) -> bool:
    """True for the tables and index made here, which the models' metadata does not describe."""
    if type_ == "table":
        return name in search_index_tables("sqlite")
    return type_ == "index" and name == TRIGRAM_INDEX


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's include_name hook: autogenerate neither proposes dropping the index nor reports it."""
    return not is_search_index(name, type_)


def fts_phrase(term: str) -> str:
    """An FTS5 string that matches the term literally: quotes doubled, operators inert inside quotes."""
    return '"' + term.replace('"', '""') + '"'


def indexable(term: str) -> bool:
    """Whether the trigram index can look the term up; FTS5 reads a NUL as the end of its query."""
    return len(term) >= MIN_INDEXED_LENGTH and "\x00" not in term


def narrowing_filter(terms: Sequence[str], dialect: str) -> sa.ColumnElement[bool] | None:
    """A filter that keeps a superset of the items containing every term, read from the index; None
    when there is nothing to narrow by (no term long enough, or PostgreSQL, whose LIKE uses its index)."""
    long_terms = [t for t in terms if indexable(t)]
    if dialect != "sqlite" or not long_terms:
        return None
    # With trigrams, a phrase matches where its three-character tokens follow one another: a substring.
    expression = " AND ".join(fts_phrase(t) for t in dict.fromkeys(long_terms))
    matching = sa.select(_fts.c.rowid).where(_fts.c[FTS_TABLE].op("MATCH")(expression))
    return Item.id.in_(matching)


def bm25_ranking(terms: Sequence[str], dialect: str) -> sa.Subquery | None:
    """Each item the index finds for every term with its FTS5 bm25 score (lower is more relevant); None
    where there is no index to ask (PostgreSQL, or no term long enough)."""
    long_terms = [t for t in terms if indexable(t)]
    if dialect != "sqlite" or not long_terms:
        return None
    expression = " AND ".join(fts_phrase(t) for t in dict.fromkeys(long_terms))
    return (
        sa.select(_fts.c.rowid.label("item_id"), sa.func.bm25(sa.literal_column(FTS_TABLE)).label("rank"))
        .where(_fts.c[FTS_TABLE].op("MATCH")(expression))
        .subquery("fts_rank")
    )


def sharing_trigrams(terms: Sequence[str], limit: int) -> sa.Select:
    """The ids of the items sharing most three-letter pieces with the terms, best first: candidates for a
    misspelt query ("hiroshma" shares hir, iro, ros, osh with "hiroshima"). SQLite only."""
    pieces = {t[i:i + 3] for t in terms if indexable(t) for i in range(len(t) - 2)}
    expression = " OR ".join(fts_phrase(p) for p in sorted(pieces))
    return (
        sa.select(_fts.c.rowid).where(_fts.c[FTS_TABLE].op("MATCH")(expression))
        .order_by(sa.func.bm25(sa.literal_column(FTS_TABLE))).limit(limit)
    )


def _after_create(target: sa.Table, connection: sa.Connection, **kw: object) -> None:
    create_search_index(connection)


def _before_drop(target: sa.Table, connection: sa.Connection, **kw: object) -> None:
    # An external-content FTS5 table left behind would point at an items table that no longer exists.
    drop_search_index(connection)


# Registered once, when this module is first imported (afterimage.database.import_all_models).
sa.event.listen(Item.__table__, "after_create", _after_create)
sa.event.listen(Item.__table__, "before_drop", _before_drop)
