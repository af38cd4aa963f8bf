"""The collection map's stored points and clusters, drawn at each refit from the fitted model (recs.projection).

Stored in tables beside the model rather than a file in instance/: every app server reads the same
database, and the map is written in the refit's transaction, so it never disagrees with the model.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.extensions import db
from recs.projection import map_model

log = logging.getLogger(__name__)

CHUNK = 2000


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


def store_collection_map(model) -> None:
    """Replace the stored map with one drawn from this freshly fitted model, inside the caller's transaction.

    A map that cannot be drawn leaves the previous one in place: the recommendations matter more.
    """
    if not len(model.ids_):
        db.session.execute(sa.delete(MapPoint))
        db.session.execute(sa.delete(MapCluster))
        return
    try:
        drawn = map_model(model)
    except (ValueError, FloatingPointError, MemoryError):
        log.exception("could not draw the collection map; keeping the previous one")
        return
    db.session.execute(sa.delete(MapPoint))
    db.session.execute(sa.delete(MapCluster))
    points = [dict(item_id=int(item_id), x=round(float(x), 5), y=round(float(y), 5), cluster=int(cluster))
              for item_id, (x, y), cluster in zip(model.ids_.tolist(), drawn.points_, drawn.clusters_)]
    for at in range(0, len(points), CHUNK):
        db.session.execute(sa.insert(MapPoint), points[at:at + CHUNK])
    db.session.execute(sa.insert(MapCluster), [
        dict(number=number, x=float(x), y=float(y), label=" · ".join(tags)[:400])
        for number, ((x, y), tags) in enumerate(zip(drawn.centres_, drawn.cluster_tags_))
    ])
