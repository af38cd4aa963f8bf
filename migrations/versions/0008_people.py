"""people: a page address for every creator, and the covers the author uploads

Revision ID: 0008_people
Revises: 0007_drop_page_store
Create Date: 2026-12-05

creators.slug is filled from each folded name ("Agnès Varda" -> "agnes-varda", -2 for a second name that
folds alike) before it becomes required and unique. cover_images holds the re-encoded sizes of an upload;
items.cover_digest names the set an item shows.
"""
import re

from alembic import op
import sqlalchemy as sa

from recs.text import fold_accents

revision = '0008_people'
down_revision = '0007_drop_page_store'
branch_labels = None
depends_on = None

_NON_WORD = re.compile(r"[\W_]+")


def person_slug(name: str) -> str:
    """The slug rule of afterimage.catalog.slugs.slugify, frozen here as it was when this migration was written."""
    return _NON_WORD.sub("-", fold_accents(name)).strip("-")[:80].rstrip("-") or "person"


def upgrade():
    with op.batch_alter_table('creators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slug', sa.String(length=200), nullable=True))
    connection = op.get_bind()
    taken: set[str] = set()
    for creator_id, name in connection.execute(sa.text("SELECT id, name FROM creators ORDER BY id")).all():
        base = person_slug(name)
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        connection.execute(sa.text("UPDATE creators SET slug = :slug WHERE id = :id"), {"slug": slug, "id": creator_id})
    with op.batch_alter_table('creators', schema=None) as batch_op:
        batch_op.alter_column('slug', existing_type=sa.String(length=200), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_creators_slug'), ['slug'])

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cover_digest', sa.String(length=64), nullable=True))
    op.create_table('cover_images',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('size', sa.String(length=8), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('mimetype', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint("size IN ('page', 'card', 'preview')", name='ck_cover_images_size'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'size')
    )
    with op.batch_alter_table('cover_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cover_images_digest'), ['digest'], unique=False)


def downgrade():
    with op.batch_alter_table('cover_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cover_images_digest'))
    op.drop_table('cover_images')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('cover_digest')
    with op.batch_alter_table('creators', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_creators_slug'), type_='unique')
        batch_op.drop_column('slug')
