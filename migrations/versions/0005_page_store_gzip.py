"""page store gzip: stored pages recompressed from zlib to gzip, so browsers get them as they are

Revision ID: 0005_page_store_gzip
Revises: 0004_page_store
Create Date: 2026-11-29

Data only: the schema is unchanged. Pages are re-encoded, not re-rendered, so nothing a reader sees
changes; each row is rewritten in chunks of one transaction. The stored Content-Length goes too (the
answer sets its own). A downgrade leaves the gzip rows, which the older code cannot read: it drops them,
and they are rendered again by their next reader.
"""
import json
import zlib

from alembic import op
import sqlalchemy as sa


revision = '0005_page_store_gzip'
down_revision = '0004_page_store'
branch_labels = None
depends_on = None

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 500


def gzip_body(body: bytes) -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    return packer.compress(zlib.decompress(body)) + packer.flush()


def upgrade():
    connection = op.get_bind()
    keys = [key for (key,) in connection.execute(sa.text("SELECT key FROM page_store ORDER BY key"))]
    update = sa.text("UPDATE page_store SET body = :body, headers = :headers WHERE key = :key")
    for start in range(0, len(keys), CHUNK):
        rows = connection.execute(
            sa.text("SELECT key, body, headers FROM page_store WHERE key IN :keys")
            .bindparams(sa.bindparam("keys", expanding=True)), {"keys": keys[start:start + CHUNK]}
        ).all()
        changed = [
            {"key": key, "body": gzip_body(bytes(body)),
             "headers": json.dumps([pair for pair in json.loads(headers) if pair[0].lower() != "content-length"])}
            for key, body, headers in rows if bytes(body[:2]) != GZIP_MAGIC
        ]
        if changed:
            connection.execute(update, changed)


def downgrade():
    op.execute("DELETE FROM page_store_dependencies")
    op.execute("DELETE FROM page_store")
