"""Stored recommendations: each item's best films and books, the author's pins and hides, and the fitted model."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.catalog.models import Item, utcnow
from afterimage.extensions import db


class Neighbour(db.Model):
    """One ranked recommendation of a given kind for an item, as the last model build or fold-in left it."""

    __tablename__ = "neighbours"

    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(8), primary_key=True)
    rank: so.Mapped[int] = so.mapped_column(primary_key=True)
    neighbour_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"), index=True)
    score: so.Mapped[float] = so.mapped_column(sa.Float)
    # Reasons are written for the first ranks only (what pages show); deeper ranks get them on demand.
    reasons: so.Mapped[Optional[list[str]]] = so.mapped_column(sa.JSON)

    neighbour: so.Mapped[Item] = so.relationship(foreign_keys=[neighbour_id])


class RecOverride(db.Model):
    """The author's decision about one recommendation: pin it to the top, or hide it."""

    __tablename__ = "rec_overrides"
    __table_args__ = (sa.CheckConstraint("action IN ('pin', 'hide')", name="ck_rec_overrides_action"),)

    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    target_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    action: so.Mapped[str] = so.mapped_column(sa.String(4))
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)

    target: so.Mapped[Item] = so.relationship(foreign_keys=[target_id])


class RecModel(db.Model):
    """The fitted model, shared by every app server; `version` goes up with every change to it."""

    __tablename__ = "rec_models"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    version: so.Mapped[int] = so.mapped_column(default=0)
    # A fresh random token per change: processes compare it to know their in-memory copy is current.
    token: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    # Changes only when the blob is rewritten (a refit); fold-ins since then are in rec_model_changes.
    blob_token: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    n_items: so.Mapped[int] = so.mapped_column(default=0)
    fitted_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class RecModelBlob(db.Model):
    """The pickled fitted model, apart from RecModel: bumping a version must not rewrite megabytes."""

    __tablename__ = "rec_model_blobs"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    blob: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)


class RecModelChange(db.Model):
    """An item folded into (or removed from) the model since the stored blob was fitted.

    Edits append a row here instead of rewriting the whole blob; a process that loads the blob replays
    them in order, so every server ends up with the writer's model without refitting.
    """

    __tablename__ = "rec_model_changes"

    seq: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=True)
    item_id: so.Mapped[int] = so.mapped_column()
    removed: so.Mapped[bool] = so.mapped_column(default=False)


class MapPoint(db.Model):
    """Where an item sits on the collection map, and its cluster, as the last refit placed it."""

    __tablename__ = "map_points"

    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    x: so.Mapped[float] = so.mapped_column(sa.Float)
    y: so.Mapped[float] = so.mapped_column(sa.Float)
    cluster: so.Mapped[int] = so.mapped_column()


class MapCluster(db.Model):
    """A cluster of the collection map: its centre and the tags that set it apart (label)."""

    __tablename__ = "map_clusters"

    number: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    x: so.Mapped[float] = so.mapped_column(sa.Float)
    y: so.Mapped[float] = so.mapped_column(sa.Float)
    # The strongest tags, strongest first, joined by " · "; empty when no tag sets the cluster apart.
    label: so.Mapped[str] = so.mapped_column(sa.String(400), default="")
