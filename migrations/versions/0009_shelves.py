"""shelves: items may be on the "current" shelf (watching or reading); credits may name an illustrator or a contributor

Revision ID: 0009_shelves
Revises: 0008_people
Create Date: 2026-12-05

Stored values stay as they were ("seen" is watched or read, "want" the watchlist or to-read shelf), so no
row changes on the way up; only two CHECK constraints admit the new values. Credits gain the roles
"illustrator" and "contributor" (Goodreads' Additional Authors).

On SQLite the constraints are rewritten in place, by SQLite's documented procedure for changing a table's
CHECK constraints (https://sqlite.org/lang_altertable.html#otheralter), not by batch mode: batch mode
recreates `items`, and dropping the old table with foreign keys enforced cascades to every credit, tag,
list entry and neighbour row (and drops the search index's triggers). No row is copied or moved.

A downgrade puts "current" items back on the "want" shelf (the nearest private one) and makes contributors
authors again, as they were imported before (illustrators too), before narrowing the constraints.
"""
from alembic import op
import sqlalchemy as sa

revision = '0009_shelves'
down_revision = '0008_people'
branch_labels = None
depends_on = None

STATUS_BEFORE = "status IN ('seen', 'want')"
STATUS_AFTER = "status IN ('seen', 'current', 'want')"
ROLE_BEFORE = "role IN ('director', 'screenwriter', 'author', 'translator')"
ROLE_AFTER = "role IN ('director', 'screenwriter', 'author', 'translator', 'illustrator', 'contributor')"


def check_span(sql: str, name: str) -> tuple[int, int]:
    """Where the condition of CONSTRAINT <name> CHECK (...) lies in a CREATE TABLE statement."""
    marker = f"CONSTRAINT {name} CHECK ("
    start = sql.index(marker) + len(marker)
    depth, at = 1, start
    while depth:
        depth += {"(": 1, ")": -1}.get(sql[at], 0)
        at += 1
    return start, at - 1


def set_check(table: str, name: str, condition: str) -> None:
    """Give a named CHECK constraint a new condition that every stored row already meets."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(name, table, type_="check")
        op.create_check_constraint(name, table, condition)
        return
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    start, end = check_span(sql, name)
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql[:start] + condition + sql[end:], table)
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check failed after changing {name}: {problems}")


def upgrade():
    set_check('items', 'ck_items_status', STATUS_AFTER)
    set_check('credits', 'ck_credits_role', ROLE_AFTER)


def downgrade():
    op.execute(sa.text("UPDATE items SET status = 'want' WHERE status = 'current'"))
    # A contributor who is also credited as an author of the item keeps the one credit.
    op.execute(sa.text(
        "DELETE FROM credits WHERE role IN ('illustrator', 'contributor') AND EXISTS (SELECT 1 FROM credits AS other WHERE "
        "other.item_id = credits.item_id AND other.creator_id = credits.creator_id AND other.role = 'author')"
    ))
    # An illustrator who is also a contributor of the item keeps one credit too.
    op.execute(sa.text(
        "DELETE FROM credits WHERE role = 'contributor' AND EXISTS (SELECT 1 FROM credits AS other WHERE "
        "other.item_id = credits.item_id AND other.creator_id = credits.creator_id AND other.role = 'illustrator')"
    ))
    op.execute(sa.text("UPDATE credits SET role = 'author' WHERE role IN ('illustrator', 'contributor')"))
    set_check('items', 'ck_items_status', STATUS_BEFORE)
    set_check('credits', 'ck_credits_role', ROLE_BEFORE)
