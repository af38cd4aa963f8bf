"""The collection map: every published item as a point placed by similarity, with its clusters as lists too."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import jsonify, render_template, url_for

from afterimage.catalog.rules import published_items
from afterimage.catalog.covers import DEFAULT_FAMILY, FAMILY_COLOURS
from afterimage.extensions import db
from afterimage.catalog.models import Item, Tag, item_tags
from afterimage.public.blueprint import bp
from afterimage.recommendations.models import MapCluster, MapPoint, Neighbour

# Coordinates go out as integers in [-COORDINATE_SCALE, COORDINATE_SCALE]: a third of the bytes of floats.
COORDINATE_SCALE = 10_000
FAMILIES = list(FAMILY_COLOURS)


@dataclass
class MapEntry:
    """One published item on the map."""

    item_id: int
    slug: str
    title: str
    kind: str
    x: float
    y: float
    cluster: int
    language: str | None
    family: str = DEFAULT_FAMILY


@dataclass
class Cluster:
    """One labelled group of the map, with its items by title."""

    number: int
    label: str
    x: float
    y: float
    entries: list[MapEntry] = field(default_factory=list)


@dataclass
class CollectionMapView:
    """What the page and the JSON show: clusters with their entries, and the published items not placed yet."""

    clusters: list[Cluster]
    unplaced: list[MapEntry]


def families_of_published_items() -> dict[int, str]:
    """Each published item's colour family: its first tag (by name) whose family has a colour of its own.

    The rule of covers.family_of, for the whole catalog in one query.
    """
    coloured = [name for name in FAMILY_COLOURS if name != DEFAULT_FAMILY]
    families: dict[int, str] = {}
    for item_id, family in db.session.execute(
        sa.select(item_tags.c.item_id, Tag.family).join(Tag, Tag.id == item_tags.c.tag_id)
        .join(Item, Item.id == item_tags.c.item_id)
        .where(published_items(), Tag.family.in_(coloured)).order_by(item_tags.c.item_id, Tag.name_key)
    ):
        families.setdefault(item_id, family)
    return families


def folded_in_places(item_ids: list[int]) -> dict[int, tuple[float, float, int]]:
    """Points for items added since the last refit: the mean of their placed neighbours' points, and the
    cluster most of those neighbours are in (the neighbour lists are kept current at every save)."""
    placed: dict[int, list[tuple[float, float, int]]] = {}
    for at in range(0, len(item_ids), 500):
        for item_id, x, y, cluster in db.session.execute(
            sa.select(Neighbour.item_id, MapPoint.x, MapPoint.y, MapPoint.cluster)
            .join(MapPoint, MapPoint.item_id == Neighbour.neighbour_id)
            .where(Neighbour.item_id.in_(item_ids[at:at + 500]))
        ):
            placed.setdefault(item_id, []).append((x, y, cluster))
    return {
        item_id: (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points),
                  Counter(p[2] for p in points).most_common(1)[0][0])
        for item_id, points in placed.items()
    }


def collection_map() -> CollectionMapView:
    """The published items on the stored map, by cluster and title; new items placed by their neighbours."""
    families = families_of_published_items()
    rows = db.session.execute(
        sa.select(Item.id, Item.slug, Item.title, Item.kind, MapPoint.x, MapPoint.y, MapPoint.cluster, Item.language)
        .outerjoin(MapPoint, MapPoint.item_id == Item.id).where(published_items()).order_by(Item.title_key, Item.id)
    ).all()
    clusters = {number: Cluster(number, label, x, y) for number, label, x, y in db.session.execute(
        sa.select(MapCluster.number, MapCluster.label, MapCluster.x, MapCluster.y).order_by(MapCluster.number))}
    missing = [row.id for row in rows if row.x is None]
    folded = folded_in_places(missing) if missing and clusters else {}
    unplaced = []
    for item_id, slug, title, kind, x, y, cluster, language in rows:
        if x is None and item_id in folded:
            x, y, cluster = folded[item_id]
        entry = MapEntry(item_id, slug, title, kind, x, y, cluster, language, families.get(item_id, DEFAULT_FAMILY))
        if x is None or cluster not in clusters:
            unplaced.append(entry)
        else:
            clusters[cluster].entries.append(entry)
    shown = [c for c in clusters.values() if c.entries]
    for number, cluster in enumerate(shown, start=1):
        cluster.label = cluster.label or f"Group {number}"
    return CollectionMapView(shown, unplaced)


@bp.route("/map")
def map_page():
    """The map of the collection, drawn by static/js/map.js, and the same items as lists by cluster."""
    view = collection_map()
    return render_template(
        "public/map.html", view=view, families=[(name, FAMILY_COLOURS[name][0]) for name in FAMILIES],
        item_count=sum(len(c.entries) for c in view.clusters),
    )


@bp.route("/map.json")
def map_json():
    """The map's data, in columns: integer coordinates, family and cluster indexes, slugs and titles."""
    view = collection_map()
    entries = [e for c in view.clusters for e in c.entries]
    return jsonify({
        "scale": COORDINATE_SCALE,
        "item_url": url_for("public.item", slug="SLUG").replace("SLUG", "{slug}"),
        "families": [{"name": name, "colour": FAMILY_COLOURS[name][0]} for name in FAMILIES],
        "clusters": [{"label": c.label, "x": round(c.x * COORDINATE_SCALE), "y": round(c.y * COORDINATE_SCALE)}
                     for c in view.clusters],
        "x": [round(e.x * COORDINATE_SCALE) for e in entries],
        "y": [round(e.y * COORDINATE_SCALE) for e in entries],
        "family": [FAMILIES.index(e.family) for e in entries],
        "cluster": [index for index, c in enumerate(view.clusters) for _ in c.entries],
        "slug": [e.slug for e in entries],
        "title": [e.title for e in entries],
    })
