"""items.status index: what readers may see is counted from the index, not the whole table

Revision ID: 0013_items_status_index
Revises: 0012_collection_map
Create Date: 2026-12-06

Each save checks that the recommendation model holds every published item (a count of items by status); on
a 10,000-item catalog that count read the whole items table, descriptions and all.
"""
from alembic import op

revision = "0013_items_status_index"
down_revision = "0012_collection_map"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_status"), ["status"], unique=False)


def downgrade():
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_status"))
