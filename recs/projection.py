"""A map of the collection: every item as a point on a plane, placed by similarity, in labelled clusters.

The item vectors are reduced with a truncated SVD (cosine on unit rows), a sample of them ("landmarks")
is laid out with t-SNE, and every other item goes to the similarity-weighted mean of its nearest
landmarks' points, as a new item would (`transform`). KMeans groups the points; each group is named by
the tags its items carry far more often than the rest of the collection.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.manifold import TSNE
from sklearn.preprocessing import normalize

from recs.documents import TAG_PREFIX
from recs.threads import one_thread

# t-SNE on all 10,000 items of a synthetic catalog took 138 s (500 iterations, 2 shared cores); on 2,000
# landmarks, with the rest placed by their nearest landmarks, the whole map costs 10 s of CPU (docs/performance.md).
MAX_LANDMARKS = 2000
# A tag names a cluster only when at least this share of the cluster's items carry it.
LABEL_SHARE_FLOOR = 0.2


class CollectionMap:
    """Places items on a plane by similarity and groups the points into clusters named by their tags.

    Learned in fit(): ``points_`` (n, 2) in [-1, 1], ``clusters_`` (n,) cluster numbers,
    ``cluster_tags_`` (the strongest tags of each cluster, strongest first) and ``centres_`` (each
    cluster's centre on the plane). transform() places other vectors of the same space without refitting.
    """

    def __init__(
        self,
        svd_components: int = 50,
        max_landmarks: int = MAX_LANDMARKS,
        perplexity: float = 30.0,
        max_iter: int = 500,
        n_clusters: int | None = None,
        placement_neighbours: int = 5,
        label_tags: int = 2,
        random_state: int = 0,
    ):
        self.svd_components = svd_components
        self.max_landmarks = max_landmarks
        self.perplexity = perplexity
        self.max_iter = max_iter
        self.n_clusters = n_clusters
        self.placement_neighbours = placement_neighbours
        self.label_tags = label_tags
        self.random_state = random_state

    def fit(self, vectors, tags: Sequence[Sequence[str]]) -> "CollectionMap":
        """Lay out the items (one row of vectors each, sparse or dense) and cluster them; tags name the clusters."""
        n_items = vectors.shape[0]
        if len(tags) != n_items:
            raise ValueError(f"{len(tags)} tag lists for {n_items} item vectors")
        if n_items == 0:
            raise ValueError("cannot map an empty collection")
        # One thread for BLAS and OpenMP: their spinning threads made the fit several times slower on two
        # cores shared with the site (0.46 s against 0.05 s of CPU for 30 items).
        with one_thread():
            self._fit_points(vectors)
            self._fit_clusters(tags)
        return self

    def _fit_points(self, vectors) -> None:
        """Set reducer_, the landmarks and points_."""
        n_items = vectors.shape[0]
        components = min(self.svd_components, n_items - 1, vectors.shape[1] - 1)
        self.reducer_ = None
        if components >= 2 and vectors.shape[1] > self.svd_components:
            self.reducer_ = TruncatedSVD(components, n_iter=4, random_state=self.random_state).fit(vectors)
        reduced = self._reduced(vectors)
        rng = np.random.default_rng(self.random_state)
        landmarks = np.arange(n_items)
        if n_items > self.max_landmarks:
            landmarks = np.sort(rng.choice(n_items, self.max_landmarks, replace=False))
        self.landmark_vectors_ = reduced[landmarks]
        raw = self._layout(self.landmark_vectors_)
        self.offset_ = (raw.max(axis=0) + raw.min(axis=0)) / 2
        self.scale_ = float(np.abs(raw - self.offset_).max()) or 1.0
        self.landmark_points_ = (raw - self.offset_) / self.scale_
        others = np.setdiff1d(np.arange(n_items), landmarks)
        self.points_ = np.zeros((n_items, 2), dtype=np.float64)
        self.points_[landmarks] = self.landmark_points_
        if others.size:
            self.points_[others] = self._place(reduced[others])

    def transform(self, vectors) -> np.ndarray:
        """Points for other items of the same vector space: each at the weighted mean of its nearest landmarks."""
        return self._place(self._reduced(vectors))

    def predict(self, points: np.ndarray) -> np.ndarray:
        """The cluster of each point (a row of transform())."""
        return self.kmeans_.predict(np.asarray(points, dtype=np.float64))

    def _reduced(self, vectors) -> np.ndarray:
        """Unit rows in the reduced space, so that dot products are cosines."""
        reduced = vectors if self.reducer_ is None else self.reducer_.transform(vectors)
        reduced = reduced.toarray() if sp.issparse(reduced) else np.asarray(reduced)
        if reduced.shape[1] == 0:
            # Items with no features at all (no tags, people or words): all alike.
            return np.ones((reduced.shape[0], 1))
        return normalize(reduced.astype(np.float64))

    def _layout(self, vectors: np.ndarray) -> np.ndarray:
        """2-D coordinates of the landmarks: t-SNE, or PCA for too few items for a perplexity."""
        n_items = vectors.shape[0]
        if n_items < 2 or not np.ptp(vectors, axis=0).any():
            # One item, or items all alike: one spot (t-SNE's PCA start would divide by a zero spread).
            return np.zeros((n_items, 2))
        if n_items < 8 or vectors.shape[1] < 2:
            flat = np.zeros((n_items, 2))
            width = min(2, vectors.shape[1], n_items)
            flat[:, :width] = PCA(width, random_state=self.random_state).fit_transform(vectors)
            return flat
        # A small collection gets a smaller perplexity: at 30 of 80 items every item counts the whole map as its
        # neighbourhood and the groups spread into one cloud.
        perplexity = min(self.perplexity, max(5.0, n_items / 10), (n_items - 1) / 3)
        tsne = TSNE(2, perplexity=perplexity, init="pca", max_iter=self.max_iter,
                    random_state=self.random_state)
        return tsne.fit_transform(vectors)

    def _place(self, vectors: np.ndarray) -> np.ndarray:
        """The similarity-weighted mean of the nearest landmarks' points, for each row."""
        k = min(self.placement_neighbours, self.landmark_vectors_.shape[0])
        similarity = vectors @ self.landmark_vectors_.T
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        weights = np.clip(np.take_along_axis(similarity, nearest, axis=1), 0, None) + 1e-6
        weights /= weights.sum(axis=1, keepdims=True)
        return np.einsum("nk,nkd->nd", weights, self.landmark_points_[nearest])

    def _fit_clusters(self, tags: Sequence[Sequence[str]]) -> None:
        """Group the points with KMeans and name each group by the tags that set it apart."""
        n_items = self.points_.shape[0]
        distinct = np.unique(self.points_.round(9), axis=0).shape[0]
        wanted = self.n_clusters or int(np.clip(round(np.sqrt(n_items / 4)), 1, 20))
        self.kmeans_ = KMeans(min(wanted, distinct), n_init=4, random_state=self.random_state).fit(self.points_)
        self.clusters_ = self.kmeans_.labels_.astype(np.int64)
        self.centres_ = self.kmeans_.cluster_centers_
        self.cluster_tags_ = strongest_tags(tags, self.clusters_, self.centres_.shape[0], self.label_tags)


def strongest_tags(tags: Sequence[Sequence[str]], clusters: np.ndarray, n_clusters: int, top: int) -> list[list[str]]:
    """For each cluster, the tags whose share among its items most exceeds their share among the others.

    Only tags at least LABEL_SHARE_FLOOR of the cluster carries qualify; ties go to the tag named first
    alphabetically, so labels are stable.
    """
    names = sorted({tag for item_tags in tags for tag in item_tags})
    column = {name: at for at, name in enumerate(names)}
    rows = [row for row, item_tags in enumerate(tags) for _ in set(item_tags)]
    cols = [column[tag] for item_tags in tags for tag in set(item_tags)]
    carried = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(tags), len(names)))
    membership = sp.csr_matrix((np.ones(len(tags)), (clusters, np.arange(len(tags)))), shape=(n_clusters, len(tags)))
    inside = np.asarray((membership @ carried).todense())
    sizes = np.asarray(membership.sum(axis=1)).ravel()
    outside = np.asarray(carried.sum(axis=0)).ravel()[None, :] - inside
    share_in = inside / np.maximum(sizes, 1)[:, None]
    share_out = outside / np.maximum(len(tags) - sizes, 1)[:, None]
    lift = share_in - share_out
    labels = []
    for cluster in range(n_clusters):
        order = sorted(range(len(names)), key=lambda at: (-lift[cluster, at], names[at]))
        labels.append([names[at] for at in order[:top]
                       if share_in[cluster, at] >= LABEL_SHARE_FLOOR and lift[cluster, at] > 0])
    return labels


def model_vectors(model):
    """A fitted recommender's item vectors, weighted so their dot products are its blended cosine."""
    weight = model.latent_weight if model.latent_.shape[1] else 0.0
    parts = [model.matrix_ * np.sqrt(1 - weight)]
    if weight:
        parts.append(sp.csr_matrix(model.latent_ * np.sqrt(weight)))
    return sp.hstack(parts, format="csr")


def model_tags(model) -> list[list[str]]:
    """Each item's tags, as the fitted recommender knows them (its first spelling of each)."""
    names = model.feature_names_
    is_tag = np.array([str(name).startswith(TAG_PREFIX) for name in names], dtype=bool)
    matrix = model.matrix_.tocsr()
    tags = []
    for row in range(matrix.shape[0]):
        columns = matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]
        tags.append([model.labels_.get(names[c], str(names[c])[len(TAG_PREFIX):]) for c in columns if is_tag[c]])
    return tags


def map_model(model, **params) -> CollectionMap:
    """A collection map fitted on a recommender's items, in the order of its ``ids_``."""
    return CollectionMap(random_state=model.random_state, **params).fit(model_vectors(model), model_tags(model))
