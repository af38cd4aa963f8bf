"""The author's accounts, their server-side sessions and the sign-in attempts that throttle guessing."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.catalog.models import utcnow
from afterimage.extensions import db


class Author(db.Model):
    """A person who may sign in to the studio and edit the catalog."""

    __tablename__ = "authors"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    # werkzeug's generate_password_hash (scrypt); the password itself is never stored.
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    password_changed_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)

    sessions: so.Mapped[list[AuthorSession]] = so.relationship(
        back_populates="author", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Author {self.name}>"


class AuthorSession(db.Model):
    """One signed-in browser; the cookie carries only the token, and deleting the row ends the session."""

    __tablename__ = "author_sessions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # SHA-256 of the token: a leaked database does not hand out live sessions.
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("authors.id", ondelete="CASCADE"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), index=True)
    address: so.Mapped[Optional[str]] = so.mapped_column(sa.String(64))
    user_agent: so.Mapped[Optional[str]] = so.mapped_column(sa.String(300))

    author: so.Mapped[Author] = so.relationship(back_populates="sessions", lazy="joined")


class SignInAttempt(db.Model):
    """A sign-in try, kept in the database so every app process sees the same count."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        sa.Index("ix_sign_in_attempts_name_at", "name_key", "at"),
        sa.Index("ix_sign_in_attempts_address_at", "address", "at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name_key: so.Mapped[str] = so.mapped_column(sa.String(80))
    address: so.Mapped[str] = so.mapped_column(sa.String(64))
    succeeded: so.Mapped[bool] = so.mapped_column(default=False)
    at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)


class ImportChoice(db.Model):
    """What she chose to do with a shelf or a Letterboxd tag at her last import, offered again at the next."""

    __tablename__ = "import_choices"
    __table_args__ = (
        sa.UniqueConstraint("source", "shelf_key", name="uq_import_choices_source_shelf"),
        sa.CheckConstraint("action IN ('tag', 'map', 'status', 'ignore')", name="ck_import_choices_action"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # "goodreads" or "letterboxd": a shelf of one service means nothing for the other.
    source: so.Mapped[str] = so.mapped_column(sa.String(20))
    # The shelf's name folded (case, accents, dashes), as importers.plan.shelf_key makes it.
    shelf_key: so.Mapped[str] = so.mapped_column(sa.String(100))
    action: so.Mapped[str] = so.mapped_column(sa.String(8))
    # The existing tag's name for "map", the status for "status"; empty otherwise.
    target: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    updated_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
