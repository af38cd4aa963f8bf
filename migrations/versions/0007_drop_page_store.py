"""drop the page store: pages are cached by HTTP (validators, Cache-Control, a caching proxy) instead

Revision ID: 0007_drop_page_store
Revises: 0006_search_version
Create Date: 2026-12-05

Drops the stored pages, their dependency names and the search counter (row 2 of catalog_version); the
catalog version itself (row 1) stays, as the base of the HTTP validators. A downgrade makes the empty
tables and the counter again: the older code fills its store as readers ask.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_drop_page_store'
down_revision = '0006_search_version'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('page_store_dependencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_page_store_dependencies_page_key'))
    op.drop_table('page_store_dependencies')
    op.drop_table('page_store')
    op.execute(sa.text("DELETE FROM catalog_version WHERE id = 2"))


def downgrade():
    op.execute(sa.text("INSERT INTO catalog_version (id, version) VALUES (2, 0)"))
    op.create_table('page_store',
    sa.Column('key', sa.String(length=700), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('page_store_dependencies',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('page_key', sa.String(length=700), nullable=False),
    sa.ForeignKeyConstraint(['page_key'], ['page_store.key'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('name', 'page_key')
    )
    with op.batch_alter_table('page_store_dependencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_page_store_dependencies_page_key'), ['page_key'], unique=False)
