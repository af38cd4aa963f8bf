"""The collection map: items placed by similarity and grouped into clusters named by their tags (recs.projection),
stored at each refit and shown on /map, with the same items as lists by cluster for readers without scripts."""
from __future__ import annotations

import pickle
import re
from collections import Counter

import numpy as np
import pytest
import sqlalchemy as sa

from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db
from afterimage.catalog.models import Item
from afterimage.recommendations import rebuild
from afterimage.recommendations.models import MapCluster, MapPoint, Neighbour
from recs import ItemDoc, TfidfRecommender
from recs.projection import CollectionMap, map_model

# Other tests' refits keep the stored map as it was (tests/conftest.py); these read the one drawn.
pytestmark = pytest.mark.collection_map

GROUP_TAGS = ["war", "memory", "paris"]


def three_groups(per_group: int = 40, seed: int = 3):
    """Vectors in three well-apart blobs; each item tagged with its group's tag, and half of all with "film"."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 20)) * 6
    group = np.repeat(np.arange(3), per_group)
    vectors = centres[group] + rng.normal(size=(len(group), 20))
    tags = [[GROUP_TAGS[g]] + (["film"] if i % 2 else []) for i, g in enumerate(group)]
    return vectors, tags, group


def test_every_item_gets_a_point_on_the_plane_and_a_cluster():
    vectors, tags, _ = three_groups()
    fitted = CollectionMap(n_clusters=3).fit(vectors, tags)
    assert fitted.points_.shape == (120, 2)
    assert np.abs(fitted.points_).max() <= 1 + 1e-9
    assert fitted.clusters_.shape == (120,)
    assert set(fitted.clusters_.tolist()) == {0, 1, 2}
    assert fitted.centres_.shape == (3, 2) and len(fitted.cluster_tags_) == 3


def test_the_same_items_give_the_same_map():
    vectors, tags, _ = three_groups()
    first = CollectionMap(max_landmarks=50).fit(vectors, tags)
    second = CollectionMap(max_landmarks=50).fit(vectors, tags)
    np.testing.assert_array_equal(first.points_, second.points_)
    np.testing.assert_array_equal(first.clusters_, second.clusters_)
    assert first.cluster_tags_ == second.cluster_tags_


@pytest.mark.parametrize("max_landmarks", [1000, 45])
def test_clusters_are_named_by_the_tag_that_dominates_them(max_landmarks):
    vectors, tags, group = three_groups()
    fitted = CollectionMap(n_clusters=3, max_landmarks=max_landmarks).fit(vectors, tags)
    for cluster in range(3):
        members = group[fitted.clusters_ == cluster]
        dominant = GROUP_TAGS[Counter(members.tolist()).most_common(1)[0][0]]
        # One group per cluster, and "film", on half of every group, names none of them.
        assert np.mean(members == GROUP_TAGS.index(dominant)) == 1.0
        assert fitted.cluster_tags_[cluster] == [dominant]


def test_a_new_item_is_placed_beside_the_items_it_resembles():
    vectors, tags, group = three_groups()
    fitted = CollectionMap(n_clusters=3).fit(vectors[1:], tags[1:])
    point = fitted.transform(vectors[:1])
    assert fitted.predict(point)[0] == Counter(fitted.clusters_[group[1:] == group[0]].tolist()).most_common(1)[0][0]


def test_a_fitted_map_pickles():
    vectors, tags, _ = three_groups(per_group=10)
    fitted = CollectionMap(n_clusters=2).fit(vectors, tags)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.transform(vectors[:3]), fitted.transform(vectors[:3]))


def test_tiny_collections_are_mapped_too():
    for n in (1, 2, 5):
        vectors, tags, _ = three_groups(per_group=n)
        fitted = CollectionMap().fit(vectors[:n], tags[:n])
        assert fitted.points_.shape == (n, 2)


def test_items_without_any_feature_are_mapped_together():
    fitted = CollectionMap().fit(np.zeros((12, 0)), [[] for _ in range(12)])
    assert fitted.points_.shape == (12, 2) and fitted.cluster_tags_ == [[]] * len(fitted.centres_)


def test_a_recommenders_items_are_mapped_in_its_order_with_its_tag_spellings():
    docs = [ItemDoc(id=10 + i, kind="film" if i % 2 else "book", title=f"Title {i}",
                    tags=("Nouvelle Vague",) if i < 6 else ("Korean women writers",),
                    description=("paris cafe cinema jazz" if i < 6 else "seoul family novel rain") + f" word{i}")
            for i in range(12)]
    model = TfidfRecommender(top_n=5).fit(docs)
    fitted = map_model(model, n_clusters=2)
    assert fitted.points_.shape == (12, 2)
    assert sorted(map(tuple, fitted.cluster_tags_)) == [("Korean women writers",), ("Nouvelle Vague",)]
    first = fitted.clusters_[0]
    assert all(c == first for c in fitted.clusters_[:6]) and all(c != first for c in fitted.clusters_[6:])


# ----------------------------------------------------------------------------------------- the site


def add_item(app, **fields) -> str:
    """Save an item through the catalog's rules; returns its slug."""
    with app.app_context():
        item = save_item(ItemFields(**fields))
        db.session.commit()
        return item.slug


def listed_slugs(html: str) -> list[str]:
    """The item links in the page's lists by cluster."""
    lists = html[html.index('id="map-lists-heading"'):]
    return re.findall(r'<a href="/items/([^"]+)"', lists)


def published_slugs(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Item.slug).where(Item.status.in_(("seen", "current")))))


def test_the_map_shows_every_published_item_once_and_no_private_one(demo_app, demo_client):
    private = add_item(demo_app, kind="film", title="A Film Still To Watch", year=2020, status="want",
                       tags=["war"])
    html = demo_client.get("/map").get_data(as_text=True)
    data = demo_client.get("/map.json").get_json()
    published = published_slugs(demo_app)
    assert sorted(listed_slugs(html)) == sorted(published)
    assert sorted(data["slug"]) == sorted(published)
    assert private not in html and private not in data["slug"]
    assert len(data["x"]) == len(data["y"]) == len(data["family"]) == len(data["cluster"]) == len(data["title"])


def test_the_lists_are_headed_by_the_clusters_stored_labels(demo_app, demo_client):
    html = demo_client.get("/map").get_data(as_text=True)
    with demo_app.app_context():
        labels = db.session.scalars(sa.select(MapCluster.label).order_by(MapCluster.number)).all()
    headings = [re.sub(r"\s*<span.*", "", h) for h in re.findall(r'<h3 id="map-group-\d+">(.*?)</h3>', html)]
    assert headings == [label for label in labels if label] and len(headings) >= 2
    assert [c["label"] for c in demo_client.get("/map.json").get_json()["clusters"]] == headings


def test_the_map_is_drawn_at_refit_time_for_the_models_items(demo_app):
    with demo_app.app_context():
        db.session.execute(sa.delete(MapPoint))
        db.session.commit()
        model = rebuild()
        db.session.commit()
        placed = db.session.scalars(sa.select(MapPoint.item_id)).all()
        assert sorted(placed) == sorted(model.ids_.tolist())


def test_an_item_added_after_the_refit_stands_beside_its_neighbours(demo_app, demo_client):
    slug = add_item(demo_app, kind="film", title="Another Night and Fog", year=1956, tags=["war", "memory"],
                    creators=[("Alain Resnais", "director")], description="Camps, memory and the war.")
    data = demo_client.get("/map.json").get_json()
    with demo_app.app_context():
        item_id = db.session.scalar(sa.select(Item.id).where(Item.slug == slug))
        assert db.session.get(MapPoint, item_id) is None  # folded in, not refitted
        beside = db.session.execute(
            sa.select(MapPoint.x, MapPoint.y).join(Neighbour, Neighbour.neighbour_id == MapPoint.item_id)
            .where(Neighbour.item_id == item_id)).all()
    at = data["slug"].index(slug)
    scale = data["scale"]
    assert len(beside) >= 5
    assert abs(data["x"][at] - scale * np.mean([x for x, _ in beside])) <= 1
    assert abs(data["y"][at] - scale * np.mean([y for _, y in beside])) <= 1
    html = demo_client.get("/map").get_data(as_text=True)
    assert slug in listed_slugs(html) and "Not on the map yet" not in html


def test_an_item_with_nothing_placed_beside_it_waits_for_the_refit_and_the_page_says_so(demo_app, demo_client):
    with demo_app.app_context():
        db.session.execute(sa.delete(MapPoint))
        db.session.commit()
    html = demo_client.get("/map").get_data(as_text=True)
    assert "Not on the map yet" in html and "next refitted" in html
    assert sorted(listed_slugs(html)) == sorted(published_slugs(demo_app))
    assert demo_client.get("/map.json").get_json()["slug"] == []


@pytest.mark.parametrize("path", ["/map", "/map.json"])
def test_the_map_is_revalidated_with_a_304(demo_client, path):
    first = demo_client.get(path)
    assert first.status_code == 200 and first.headers["ETag"].startswith('W/"')
    assert "public" in first.headers["Cache-Control"]
    again = demo_client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_the_map_page_loads_its_script_from_a_file_and_is_linked_from_the_nav(demo_client):
    html = demo_client.get("/map").get_data(as_text=True)
    assert re.search(r'<script src="/static/js/map\.js\?v=\w+" defer></script>', html)
    assert "<script>" not in html and " style=" not in html
    assert '<a href="/map">Map</a>' in demo_client.get("/").get_data(as_text=True)


def test_the_map_of_an_empty_catalog_says_it_is_empty(client):
    html = client.get("/map").get_data(as_text=True)
    assert "The map is drawn when" in html
    assert client.get("/map.json").get_json()["x"] == []


def test_a_large_map_is_not_drawn_in_the_commit_that_refits_but_by_the_background_refit(app, monkeypatch):
    from afterimage.recommendations import collection_map, hooks, refit

    asked: list = []
    monkeypatch.setattr(hooks, "refit_in_background", asked.append)
    monkeypatch.setattr(collection_map, "DRAW_DURING_COMMIT_UP_TO", 2)
    with app.app_context():
        for n, tag in enumerate(["war", "war", "memory", "memory"]):
            save_item(ItemFields(kind="film", title=f"Film {n}", year=1960 + n, tags=[tag]))
        # The first commit fits the model in the commit hook: four items are "too many" to draw there.
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MapPoint)) == 0
        assert asked == [app]
        assert refit.refit_unless_changed() is True
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MapPoint)) == 4
