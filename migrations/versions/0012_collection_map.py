"""collection map: each item's point on the /map page and the clusters' labels, drawn at each refit

Revision ID: 0012_collection_map
Revises: 0011_import_choices
Create Date: 2026-12-06

Both tables start empty; the next refit (`flask recs rebuild`, or the first one the site starts) fills them.
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_collection_map'
down_revision = "0011_import_choices"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('map_points',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('x', sa.Float(), nullable=False),
    sa.Column('y', sa.Float(), nullable=False),
    sa.Column('cluster', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id')
    )
    op.create_table('map_clusters',
    sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('x', sa.Float(), nullable=False),
    sa.Column('y', sa.Float(), nullable=False),
    sa.Column('label', sa.String(length=400), nullable=False),
    sa.PrimaryKeyConstraint('number')
    )


def downgrade():
    op.drop_table('map_clusters')
    op.drop_table('map_points')
