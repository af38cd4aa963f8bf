"""page store: rendered subject pages shared by every app server, with the names each one shows

Revision ID: 0004_page_store
Revises: 0003_search_index
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_page_store'
down_revision = '0003_search_index'
branch_labels = None
depends_on = None


def upgrade():
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


def downgrade():
    with op.batch_alter_table('page_store_dependencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_page_store_dependencies_page_key'))
    op.drop_table('page_store_dependencies')
    op.drop_table('page_store')
