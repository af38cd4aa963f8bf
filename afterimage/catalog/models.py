"""The catalog: items (films and books), creators, tags, curated lists and slug redirects."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.ext.orderinglist import ordering_list

from afterimage.extensions import db

KINDS = ("film", "book")
# "contributor": credited without a stated part (Goodreads' Additional Authors: translators, illustrators...).
ROLES = ("director", "screenwriter", "author", "translator", "illustrator", "contributor")
# Who a reader names first for each kind (Item.makers; the cards' query joins the same credits in SQL).
MAKER_ROLE_OF_KIND = {"film": "director", "book": "author"}
# Her shelves: "seen" is watched or read, "current" is watching or reading now, "want" is the watchlist or
# the to-read shelf. Only "seen" items are public (catalog.published_items).
STATUSES = ("seen", "current", "want")


def utcnow() -> datetime:
    """Timezone-aware now, used as a column default (a callable, never evaluated at import)."""
    return datetime.now(timezone.utc)


def iso_utc(moment: datetime | None) -> str | None:
    """An RFC 3339 timestamp in UTC; SQLite hands back naive datetimes that were stored as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


item_tags = sa.Table(
    "item_tags",
    db.metadata,
    sa.Column("item_id", sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Item(db.Model):
    """A film or a book in the author's catalog."""

    __tablename__ = "items"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('film', 'book')", name="ck_items_kind"),
        sa.CheckConstraint("status IN ('seen', 'current', 'want')", name="ck_items_status"),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 0.5 AND rating <= 5 AND rating * 2 = CAST(rating * 2 AS INTEGER))",
            name="ck_items_rating_half_steps",
        ),
        sa.Index("ix_items_kind_title_year", "kind", "title_key", "year"),
        # Only the items readers may not see (rules.PUBLISHED_STATUSES): her saves count the published ones as
        # all items less these, on two small indexes. A whole index on status made SQLite, without statistics,
        # prefer it for readers' queries, where it is the slow choice; a partial one cannot serve them.
        sa.Index("ix_items_unpublished", "status", sqlite_where=sa.text("status != 'seen'"),
                 postgresql_where=sa.text("status != 'seen'")),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(8), index=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    # Folded title, for duplicate checks and title sorting that ignores accents and case.
    title_key: so.Mapped[str] = so.mapped_column(sa.String(300), index=True, default="")
    original_title: so.Mapped[Optional[str]] = so.mapped_column(sa.String(300))
    year: so.Mapped[Optional[int]] = so.mapped_column(index=True)
    country: so.Mapped[Optional[str]] = so.mapped_column(sa.String(100))
    language: so.Mapped[Optional[str]] = so.mapped_column(sa.String(100))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    rating: so.Mapped[Optional[float]] = so.mapped_column(sa.Float)
    status: so.Mapped[str] = so.mapped_column(sa.String(8), default="seen")
    cover_url: so.Mapped[Optional[str]] = so.mapped_column(sa.String(500))
    # Content hash of the cover she uploaded (its sizes are CoverImage rows); None shows cover_url or a placeholder.
    cover_digest: so.Mapped[Optional[str]] = so.mapped_column(sa.String(64))
    blog_url: so.Mapped[Optional[str]] = so.mapped_column(sa.String(500))
    letterboxd_uri: so.Mapped[Optional[str]] = so.mapped_column(sa.String(500), index=True)
    goodreads_id: so.Mapped[Optional[str]] = so.mapped_column(sa.String(32), index=True)
    isbn13: so.Mapped[Optional[str]] = so.mapped_column(sa.String(13))
    where_to_find: so.Mapped[Optional[str]] = so.mapped_column(sa.String(300))
    # Folded text of every searchable field, kept current by a flush hook (see catalog.py).
    search_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # Values as last imported, so a re-import can tell fields the author edited by hand.
    import_snapshot: so.Mapped[Optional[dict[str, Any]]] = so.mapped_column(sa.JSON)
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)
    updated_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    credits: so.Mapped[list[Credit]] = so.relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="Credit.position"
    )
    tags: so.Mapped[list[Tag]] = so.relationship(
        secondary=item_tags, back_populates="items", order_by="Tag.name_key"
    )
    list_entries: so.Mapped[list[ListEntry]] = so.relationship(
        back_populates="item", cascade="all, delete-orphan", passive_deletes=True
    )
    cover_images: so.Mapped[list[CoverImage]] = so.relationship(
        back_populates="item", cascade="all, delete-orphan", passive_deletes=True
    )
    # Her diary: each day she watched or read it, oldest first (afterimage/diary.py).
    diary_entries: so.Mapped[list[DiaryEntry]] = so.relationship(
        back_populates="item", cascade="all, delete-orphan", passive_deletes=True,
        order_by="DiaryEntry.seen_on",
    )

    def creators_by_role(self, *roles: str) -> list[Creator]:
        """The creators credited in any of the given roles, in credit order."""
        return [c.creator for c in self.credits if c.role in roles]

    @property
    def makers(self) -> list[Creator]:
        """Directors of a film or authors of a book: who a reader would name first."""
        return self.creators_by_role(MAKER_ROLE_OF_KIND[self.kind])

    @property
    def kind_label(self) -> str:
        """'Film' or 'Book', for headings."""
        return self.kind.capitalize()

    def __repr__(self) -> str:
        return f"<Item {self.slug}>"


def with_tags_and_credits(query: sa.Select) -> sa.Select:
    """Load what an item card shows (tags, credits) in a fixed number of round trips, not one per item."""
    return query.options(so.selectinload(Item.tags), so.selectinload(Item.credits))


class Creator(db.Model):
    """A person credited on items: director, screenwriter, author or translator."""

    __tablename__ = "creators"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    # Accent- and case-folded name: "Agnes Varda" and "Agnès Varda" are one person.
    name_key: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    # The person's page address, from the folded name: "alain-resnais", "han-kang".
    slug: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)

    credits: so.Mapped[list[Credit]] = so.relationship(back_populates="creator")


class Credit(db.Model):
    """One creator's role on one item, in the order the author listed them."""

    __tablename__ = "credits"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('director', 'screenwriter', 'author', 'translator', 'illustrator', 'contributor')",
            name="ck_credits_role",
        ),
    )

    item_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    creator_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("creators.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: so.Mapped[str] = so.mapped_column(sa.String(20), primary_key=True)
    position: so.Mapped[int] = so.mapped_column(default=0)

    item: so.Mapped[Item] = so.relationship(back_populates="credits")
    creator: so.Mapped[Creator] = so.relationship(back_populates="credits", lazy="joined")


class Tag(db.Model):
    """A theme the author files items under ("French New Wave", "war")."""

    __tablename__ = "tags"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    # Names are unique ignoring case and accents; the key enforces it in the schema.
    name_key: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    # Colour family for placeholders and chips: war, memory, french-new-wave, korean-women-writers, other.
    family: so.Mapped[Optional[str]] = so.mapped_column(sa.String(40))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    items: so.Mapped[list[Item]] = so.relationship(secondary=item_tags, back_populates="tags")


class CuratedList(db.Model):
    """The author's ordered selection of items, with an introduction and a note per entry."""

    __tablename__ = "lists"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    introduction: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    published: so.Mapped[bool] = so.mapped_column(default=True, index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)
    updated_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow, index=True
    )

    entries: so.Mapped[list[ListEntry]] = so.relationship(
        back_populates="list",
        cascade="all, delete-orphan",
        order_by="ListEntry.position",
        collection_class=ordering_list("position"),
    )

    @property
    def items(self) -> list[Item]:
        """The list's items in the author's order."""
        return [e.item for e in self.entries]


class ListEntry(db.Model):
    """One item's place on a curated list, with the author's note for it."""

    __tablename__ = "list_entries"
    __table_args__ = (
        sa.UniqueConstraint("list_id", "item_id", name="uq_list_entries_list_item"),
        sa.Index("ix_list_entries_list_position", "list_id", "position"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    list_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("lists.id", ondelete="CASCADE"))
    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"), index=True)
    position: so.Mapped[int] = so.mapped_column(default=0)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    list: so.Mapped[CuratedList] = so.relationship(back_populates="entries")
    item: so.Mapped[Item] = so.relationship(back_populates="list_entries")


class CoverImage(db.Model):
    """One size of a cover the author uploaded, re-encoded without metadata (cover_images.py)."""

    __tablename__ = "cover_images"
    __table_args__ = (
        sa.CheckConstraint("size IN ('page', 'card', 'preview')", name="ck_cover_images_size"),
    )

    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    size: so.Mapped[str] = so.mapped_column(sa.String(8), primary_key=True)
    # The same upload on two items shares a digest, and so a URL: the bytes are the same.
    digest: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    mimetype: so.Mapped[str] = so.mapped_column(sa.String(32))
    width: so.Mapped[int] = so.mapped_column()
    height: so.Mapped[int] = so.mapped_column()
    data: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)

    item: so.Mapped[Item] = so.relationship(back_populates="cover_images")


class DiaryEntry(db.Model):
    """One day she watched or read an item, perhaps again, with her rating for that time if she gave one."""

    __tablename__ = "diary_entries"
    __table_args__ = (
        # One entry a day per item: a re-import finds the day it wrote before instead of adding it twice.
        sa.UniqueConstraint("item_id", "seen_on", name="uq_diary_entries_item_day"),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 0.5 AND rating <= 5 AND rating * 2 = CAST(rating * 2 AS INTEGER))",
            name="ck_diary_entries_rating_half_steps",
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"))
    # The year page reads a range of days across every item.
    seen_on: so.Mapped[date] = so.mapped_column(sa.Date, index=True)
    rewatch: so.Mapped[bool] = so.mapped_column(default=False)
    rating: so.Mapped[Optional[float]] = so.mapped_column(sa.Float)

    item: so.Mapped[Item] = so.relationship(back_populates="diary_entries")


class SlugRedirect(db.Model):
    """An old slug that keeps pointing at its item, tag or list after a rename."""

    __tablename__ = "slug_redirects"
    __table_args__ = (
        sa.UniqueConstraint("entity", "old_slug", name="uq_slug_redirects_entity_slug"),
        sa.CheckConstraint("entity IN ('item', 'tag', 'list')", name="ck_slug_redirects_entity"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    entity: so.Mapped[str] = so.mapped_column(sa.String(8))
    old_slug: so.Mapped[str] = so.mapped_column(sa.String(200))
    target_id: so.Mapped[int] = so.mapped_column()


class CatalogVersion(db.Model):
    """Row 1: a number that goes up with every commit that changes what readers see (catalog_version.py).

    HTTP validators are built from it: one indexed read tells whether a reader's copy of a page is current.
    """

    __tablename__ = "catalog_version"

    id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    version: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)


# Databases made by create_all (the tests, old `init-db`) get the row the migration inserts.
sa.event.listen(
    CatalogVersion.__table__, "after_create", sa.DDL("INSERT INTO catalog_version (id, version) VALUES (1, 0)")
)
