"""The collection map's stored points and clusters, drawn at each refit from the fitted model (recs.projection).

Stored in tables beside the model's (MapPoint, MapCluster in models.py) rather than a file in instance/: every
app server reads the same database, and the map is written in the refit's transaction, so it never disagrees
with the model.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from afterimage.extensions import db
from afterimage.recommendations.models import MapCluster, MapPoint
from recs.projection import map_model

log = logging.getLogger(__name__)

CHUNK = 2000
# A refit inside someone's commit (an import that changed a fifth of the catalog) draws the map then only up to
# this many items (2.5 s of CPU at 1,000); a larger map is left to the background refit it asks for.
DRAW_DURING_COMMIT_UP_TO = 2000


def store_collection_map(model) -> None:
    """Replace the stored map with one drawn from this freshly fitted model, inside the caller's transaction.

    A map that cannot be drawn leaves the previous one in place: the recommendations matter more.
    """
    # Imported here: store.py calls this module from store_refit.
    from afterimage.recommendations.store import REFIT_DUE, REFRESHING

    if db.session.info.get(REFRESHING) and len(model.ids_) > DRAW_DURING_COMMIT_UP_TO:
        # Her import waits for this commit: the old map stays (new items beside their neighbours) until the
        # refit this asks for, in a process of its own, draws the new one.
        db.session.info[REFIT_DUE] = True
        return
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
