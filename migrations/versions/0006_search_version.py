"""search version: a second counter, moved only by commits that may change a search page

Revision ID: 0006_search_version
Revises: 0005_page_store_gzip
Create Date: 2026-11-29

Data only: row 2 of catalog_version. Until it exists the app keeps no search pages in its cache.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_search_version'
down_revision = '0005_page_store_gzip'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text("INSERT INTO catalog_version (id, version) VALUES (2, 0)"))


def downgrade():
    op.execute(sa.text("DELETE FROM catalog_version WHERE id = 2"))
