"""items kept from readers: a partial index on the items readers may not see (her watchlist, to-read shelf and what
she is in the middle of), so that counting the published ones does not read every row

Revision ID: 0013_items_unpublished
Revises: 0012_collection_map
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0013_items_unpublished"
down_revision = "0012_collection_map"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_items_unpublished", "items", ["status"], sqlite_where=sa.text("status != 'seen'"),
                    postgresql_where=sa.text("status != 'seen'"))


def downgrade():
    op.drop_index("ix_items_unpublished", table_name="items")
