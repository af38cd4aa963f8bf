"""import choices: what the author chose to do with each shelf or Letterboxd tag, offered again next import

Revision ID: 0011_import_choices
Revises: 0010_diary
Create Date: 2026-12-06

A new table only; no stored row changes.
"""
from alembic import op
import sqlalchemy as sa

revision = '0011_import_choices'
down_revision = '0010_diary'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('shelf_key', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("action IN ('tag', 'map', 'status', 'ignore')", name='ck_import_choices_action'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'shelf_key', name='uq_import_choices_source_shelf')
    )


def downgrade():
    op.drop_table('import_choices')
