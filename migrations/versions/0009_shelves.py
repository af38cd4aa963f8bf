"""shelves: items may be on the "current" shelf (watching or reading) as well as "seen" and "want"

Revision ID: 0009_shelves
Revises: 0008_people
Create Date: 2026-12-05

Stored values stay as they were ("seen" is watched or read, "want" the watchlist or to-read shelf), so no
row changes; only the CHECK constraint admits the new value. A downgrade puts "current" items back on the
"want" shelf (the nearest private one) before narrowing the constraint again.
"""
from alembic import op
import sqlalchemy as sa

revision = '0009_shelves'
down_revision = '0008_people'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint('ck_items_status', type_='check')
        batch_op.create_check_constraint('ck_items_status', "status IN ('seen', 'current', 'want')")


def downgrade():
    op.execute(sa.text("UPDATE items SET status = 'want' WHERE status = 'current'"))
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint('ck_items_status', type_='check')
        batch_op.create_check_constraint('ck_items_status', "status IN ('seen', 'want')")
