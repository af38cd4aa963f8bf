"""catalog version: one counter every commit that changes the catalog moves, for the page cache

Revision ID: 0002_catalog_version
Revises: 0001_initial
Create Date: 2026-11-25

"""
from alembic import op
import sqlalchemy as sa


revision = '0002_catalog_version'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('catalog_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(table, [{'id': 1, 'version': 0}])


def downgrade():
    op.drop_table('catalog_version')
