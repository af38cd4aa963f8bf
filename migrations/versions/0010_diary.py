"""diary: the days she watched or read an item, rewatches and rereads, with her rating for that time

Revision ID: 0010_diary
Revises: 0009_shelves
Create Date: 2026-12-06

A new table only: no stored row changes. One entry a day per item (what makes a re-import idempotent);
ratings in half stars as on items. Deleting an item deletes its diary.
"""
from alembic import op
import sqlalchemy as sa

revision = '0010_diary'
down_revision = '0009_shelves'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('diary_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('seen_on', sa.Date(), nullable=False),
    sa.Column('rewatch', sa.Boolean(), nullable=False),
    sa.Column('rating', sa.Float(), nullable=True),
    sa.CheckConstraint(
        'rating IS NULL OR (rating >= 0.5 AND rating <= 5 AND rating * 2 = CAST(rating * 2 AS INTEGER))',
        name='ck_diary_entries_rating_half_steps',
    ),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id', 'seen_on', name='uq_diary_entries_item_day')
    )
    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_diary_entries_seen_on'), ['seen_on'], unique=False)


def downgrade():
    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_diary_entries_seen_on'))
    op.drop_table('diary_entries')
