"""Keeping a fitted recommender current between refits: fold an item in, take one out.

Both work on the fitted vocabulary and rank exactly; ``needs_rebuild()`` says when enough has
drifted from the fit that a full refit is due.
"""

import copy
from typing import Self

import numpy as np
import scipy.sparse as sp

from recs.documents import ItemDoc, count_features
from recs.neighbors import NeighbourTable


class UpdateMixin:
    """Fold-in and removal for recs.model.TfidfRecommender (uses its scoring and neighbour tables)."""

    def fold_in(self, doc: ItemDoc) -> set[int]:
        """Add or replace one item on the fitted vocabulary; return ids whose neighbour rows changed."""
        changed = self.remove(doc.id) if doc.id in self.row_of_ else set()
        counted = count_features([doc])
        vocabulary = self.vectorizer_.vocabulary_
        self.folded_count_ += 1
        self.folded_tokens_ += len(counted.names)
        self.folded_unknown_tokens_ += sum(name not in vocabulary for name in counted.names)
        self.drift_ = self.folded_unknown_tokens_ / max(self.folded_tokens_, 1)
        for feature, label in counted.labels.items():
            if feature in vocabulary:
                self.labels_.setdefault(feature, label)

        row = len(self.ids_)
        vector = self.vectorizer_.transform([doc])
        self.matrix_ = sp.vstack([self.matrix_, vector], format="csr")
        self.latent_ = np.vstack([self.latent_, self.vectorizer_.latent(vector)])
        self.years_ = np.append(self.years_, np.nan if doc.year is None else float(doc.year))
        self.ids_ = np.append(self.ids_, np.int64(doc.id))
        self.kinds_ = np.append(self.kinds_, np.array([doc.kind], dtype=object))
        self.row_of_[doc.id] = row
        if doc.kind not in self.neighbours_:
            # A new kind: every item gains an (empty so far) list of it.
            empty = np.zeros((row, self.top_n))
            self.neighbours_[doc.kind] = NeighbourTable(empty.astype(np.int64), empty.astype(np.float32))
        own_tables, own_scores = self._exact_tables(np.array([row]))
        for kind, table in self.neighbours_.items():
            table.ids = np.vstack([table.ids, own_tables[kind].ids])
            table.scores = np.vstack([table.scores, own_tables[kind].scores])
        changed.add(doc.id)
        changed |= self._insert_where_it_ranks(row, own_scores[0])
        return changed

    def _insert_where_it_ranks(self, row: int, scores: np.ndarray) -> set[int]:
        """Put the item at `row` into the top lists of every other item it now beats."""
        if self.top_n == 0:
            return set()
        table = self.neighbours_[self.kinds_[row]]
        weakest = table.scores[:, -1]
        beats = np.flatnonzero((scores > max(self.similarity_floor, 0.0)) & (scores > weakest))
        if beats.size == 0:
            return set()
        merged_ids = np.hstack([table.ids[beats], np.full((beats.size, 1), self.ids_[row])])
        merged_scores = np.hstack([table.scores[beats], scores[beats, None].astype(np.float32)])
        order = np.argsort(-merged_scores, axis=1, kind="stable")[:, : self.top_n]
        table.ids[beats] = np.take_along_axis(merged_ids, order, axis=1)
        table.scores[beats] = np.take_along_axis(merged_scores, order, axis=1)
        return set(self.ids_[beats].tolist())

    def remove(self, item_id: int) -> set[int]:
        """Drop an item; return the ids of items whose neighbour lists had it and were refreshed."""
        row = self.row_of_.get(item_id)
        if row is None:
            return set()
        keep = np.ones(len(self.ids_), dtype=bool)
        keep[row] = False
        self.matrix_ = self.matrix_[keep]
        self.latent_ = self.latent_[keep]
        self.years_ = self.years_[keep]
        self.ids_ = self.ids_[keep]
        self.kinds_ = self.kinds_[keep]
        self.row_of_ = {other: position for position, other in enumerate(self.ids_.tolist())}
        stale_by_kind = {}
        for kind, table in self.neighbours_.items():
            table.ids = table.ids[keep]
            table.scores = table.scores[keep]
            stale_by_kind[kind] = np.flatnonzero(((table.ids == item_id) & (table.scores > 0)).any(axis=1))
        stale = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *stale_by_kind.values()]))
        if stale.size == 0:
            return set()
        fresh, _ = self._exact_tables(stale)
        position_in_stale = {row: position for position, row in enumerate(stale.tolist())}
        for kind, table in self.neighbours_.items():
            rows = stale_by_kind[kind]
            picked = [position_in_stale[row] for row in rows.tolist()]
            table.ids[rows] = fresh[kind].ids[picked]
            table.scores[rows] = fresh[kind].scores[picked]
        return set(self.ids_[stale].tolist())

    def copy_for_update(self) -> Self:
        """A copy that fold_in and remove may change while other threads keep ranking with this one.

        fold_in and remove replace the matrix and the id arrays but change the id map, the labels and
        the neighbour tables in place: only those are copied (a deep copy also copied the vocabulary).
        """
        clone = copy.copy(self)
        clone.row_of_ = dict(self.row_of_)
        clone.labels_ = dict(self.labels_)
        clone.neighbours_ = {
            kind: NeighbourTable(table.ids.copy(), table.scores.copy()) for kind, table in self.neighbours_.items()
        }
        return clone

    def needs_rebuild(self) -> bool:
        """Tell whether enough has been folded in, or enough unknown words seen, to refit."""
        folded_share = self.folded_count_ / max(self.fitted_count_, 1)
        return self.drift_ > self.rebuild_after or folded_share > self.rebuild_after
