"""What a SQL statement writes, for the two watchers that act on it (catalog_version, page_dependencies)."""
from __future__ import annotations

import re

# Writes to these change nothing a reader sees: sign-in bookkeeping, migrations, the counter, the page store.
PRIVATE_TABLES = frozenset({
    "author_sessions", "sign_in_attempts", "authors", "catalog_version", "alembic_version",
    "page_store", "page_store_dependencies",
})
WRITE_STATEMENT = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)


def written_table(statement: str) -> str | None:
    """The table an INSERT, UPDATE or DELETE writes, lower-cased; None for any other statement."""
    match = WRITE_STATEMENT.match(statement)
    return match.group(1).lower() if match else None
