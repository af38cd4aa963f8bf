"""Keeping a fitted recommender current between refits: fold an item in, take one out.

Both work on the fitted vocabulary and rank exactly; ``needs_rebuild()`` says when enough has
drifted from the fit that a full refit is due.
"""

import copy
from collections.abc import Sequence
from typing import Self

import numpy as np
import scipy.sparse as sp

from recs.documents import ItemDoc, count_features
from recs.neighbors import NeighbourTable

# New items scored against the catalog per block when folded in together (dense rows: block x catalog).
_APPEND_BLOCK = 256


class UpdateMixin:
    """Fold-in and removal for recs.model.TfidfRecommender (uses its scoring and neighbour tables).

    Arrays a fold-in writes in place are copied first unless this model made them itself since its last
    copy_for_update() (``_owned_``): a copy shares the others with the model readers still rank with.
    """

    # Names of the arrays this model may write in place; none after a fit, a load or a copy.
    _owned_: frozenset[str] = frozenset()

    def fold_in(self, doc: ItemDoc) -> set[int]:
        """Add or replace one item on the fitted vocabulary; return ids whose neighbour rows changed.

        An item the model already has as it is (same vector, kind and year: the save changed only what the
        engine does not read, such as a rating) changes nothing, and the set is empty.
        """
        return self.fold_in_many([doc])[1]

    def fold_in_many(self, docs: Sequence[ItemDoc]) -> tuple[set[int], set[int]]:
        """Add or replace several items at once; return the ids folded in (those the model did not already
        have as they are) and the ids whose neighbour rows changed.

        New items are appended together: each array grows once and they are scored against the catalog in
        blocks, where folding them in one by one copied every array once per item (an import of a few
        hundred books into a large catalog spent seconds on those copies). Known items are replaced in place.
        """
        docs = list({doc.id: doc for doc in docs}.values())  # one version of each item: the last given
        if not docs:
            return set(), set()
        vectors = self.vectorizer_.transform(docs)
        replaced, new = [], []
        for position, doc in enumerate(docs):
            row = self.row_of_.get(doc.id)
            if row is None:
                new.append(position)
            elif not self._has_as_it_is(row, doc, vectors[position]):
                replaced.append(position)
        folding = [docs[position] for position in replaced + new]
        if not folding:
            return set(), set()
        self._count_drift(folding)
        changed: set[int] = set()
        for position in replaced:
            changed |= self._replace(self.row_of_[docs[position].id], docs[position], vectors[position])
        if new:
            changed |= self._append([docs[position] for position in new], vectors[new])
        return {doc.id for doc in folding}, changed

    def _count_drift(self, docs: list[ItemDoc]) -> None:
        """Count the folded items and their features the fitted vocabulary lacks (needs_rebuild() reads it), and
        keep the labels of the features it has."""
        counted = count_features(docs)
        vocabulary = self.vectorizer_.vocabulary_
        unknown = np.array([name not in vocabulary for name in counted.names], dtype=bool)
        self.folded_count_ += len(docs)
        self.folded_tokens_ += counted.counts.nnz
        self.folded_unknown_tokens_ += int(unknown[counted.counts.indices].sum())
        self.drift_ = self.folded_unknown_tokens_ / max(self.folded_tokens_, 1)
        for feature, label in counted.labels.items():
            if feature in vocabulary:
                self.labels_.setdefault(feature, label)

    def _has_as_it_is(self, row: int, doc: ItemDoc, vector: sp.csr_matrix) -> bool:
        """Tell whether the row already holds this version of the item."""
        year = np.nan if doc.year is None else float(doc.year)
        if self.kinds_[row] != doc.kind or not (self.years_[row] == year or np.isnan(self.years_[row]) and np.isnan(year)):
            return False
        start, end = self.matrix_.indptr[row:row + 2].tolist()
        if vector.nnz != end - start:
            return False
        stored = np.argsort(self.matrix_.indices[start:end], kind="stable")
        given = np.argsort(vector.indices, kind="stable")
        return bool(np.array_equal(self.matrix_.indices[start:end][stored], vector.indices[given])
                    and np.allclose(self.matrix_.data[start:end][stored], vector.data[given], rtol=1e-6, atol=1e-7))

    def _append(self, docs: list[ItemDoc], vectors: sp.csr_matrix) -> set[int]:
        """Fold in items the model does not have yet, as its last rows, in that order."""
        first = len(self.ids_)
        rows = np.arange(first, first + len(docs))
        self.matrix_ = sp.vstack([self.matrix_, vectors], format="csr")
        self.latent_ = np.vstack([self.latent_, self.vectorizer_.latent(vectors)])
        self.years_ = np.append(self.years_, [np.nan if doc.year is None else float(doc.year) for doc in docs])
        self.ids_ = np.append(self.ids_, np.array([doc.id for doc in docs], dtype=np.int64))
        self.kinds_ = np.append(self.kinds_, np.array([doc.kind for doc in docs], dtype=object))
        self._owned_ = self._owned_ | {"matrix_", "latent_", "years_", "ids_", "kinds_"}
        self.row_of_.update(zip((doc.id for doc in docs), rows.tolist()))
        for kind, table in self.neighbours_.items():
            table.ids = np.vstack([table.ids, np.zeros((len(docs), self.top_n), dtype=table.ids.dtype)])
            table.scores = np.vstack([table.scores, np.zeros((len(docs), self.top_n), dtype=table.scores.dtype)])
        for kind in dict.fromkeys(doc.kind for doc in docs):
            if kind not in self.neighbours_:
                # A new kind: every item gains an (empty so far) list of it.
                empty = np.zeros((len(self.ids_), self.top_n))
                self.neighbours_[kind] = NeighbourTable(empty.astype(np.int64), empty.astype(np.float32))
        # The new rows' own lists are ranked exactly, with one another among the candidates; the older rows
        # take each new item where it ranks. A block at a time bounds the dense score rows held at once.
        older = np.zeros(len(self.ids_), dtype=bool)
        older[:first] = True
        changed = {doc.id for doc in docs}
        for start in range(0, len(rows), _APPEND_BLOCK):
            block = rows[start:start + _APPEND_BLOCK]
            own_tables, own_scores = self._exact_tables(block)
            for kind, table in self.neighbours_.items():
                table.ids[block], table.scores[block] = own_tables[kind].ids, own_tables[kind].scores
            for row, scores in zip(block.tolist(), own_scores):
                changed |= self._insert_where_it_ranks(row, scores, older)
        return changed

    def _replace(self, row: int, doc: ItemDoc, vector: sp.csr_matrix) -> set[int]:
        """Fold in a new version of the item at `row`, in place: the other rows and their order stay.

        Lists that held the item keep their other entries when its score did not fall (it only moves up
        in them); those where it fell, or that it left by changing kind, are ranked again exactly, since
        an item outside the list may now come before it. Lists that did not hold it take it where it ranks.
        """
        self._replace_row(row, vector)
        self._write("latent_")[row] = self.vectorizer_.latent(vector)[0]
        self._write("years_")[row] = np.nan if doc.year is None else float(doc.year)
        self._write("kinds_")[row] = doc.kind
        if doc.kind not in self.neighbours_:
            empty = np.zeros((len(self.ids_), self.top_n))
            self.neighbours_[doc.kind] = NeighbourTable(empty.astype(np.int64), empty.astype(np.float32))
        own_tables, own_scores = self._exact_tables(np.array([row]))
        scores = own_scores[0]
        changed = {doc.id}
        stale_by_kind = {}
        for kind, table in self.neighbours_.items():
            table.ids[row], table.scores[row] = own_tables[kind].ids[0], own_tables[kind].scores[0]
            holders, slots = np.nonzero((table.ids == doc.id) & (table.scores > 0))
            if kind == doc.kind:
                old, new = table.scores[holders, slots], scores[holders]
                risen = new >= old
                moved = holders[risen & (new != old)]
                table.scores[holders[risen], slots[risen]] = new[risen]
                self._sort_rows(table, moved)
                changed |= set(self.ids_[moved].tolist())
                stale_by_kind[kind] = holders[~risen]
                others = np.ones(len(self.ids_), dtype=bool)
                others[holders] = False
                others[row] = False
                changed |= self._insert_where_it_ranks(row, scores, others)
            else:
                stale_by_kind[kind] = holders
        return changed | self._rank_again(stale_by_kind)

    def _replace_row(self, row: int, vector: sp.csr_matrix) -> None:
        """Put `vector` in the matrix's row `row`: in place when it has as many entries and the arrays are this
        model's own, otherwise into new arrays (one copy of each, which readers of the old model keep)."""
        matrix = self.matrix_
        start, end = matrix.indptr[row:row + 2].tolist()
        if vector.nnz == end - start and "matrix_" in self._owned_:
            matrix.data[start:end] = vector.data
            matrix.indices[start:end] = vector.indices
            matrix.has_sorted_indices = False
            return
        data = np.concatenate([matrix.data[:start], vector.data.astype(matrix.data.dtype), matrix.data[end:]])
        indices = np.concatenate([matrix.indices[:start], vector.indices.astype(matrix.indices.dtype),
                                  matrix.indices[end:]])
        indptr = matrix.indptr.copy()
        indptr[row + 1:] += vector.nnz - (end - start)
        self.matrix_ = sp.csr_matrix((data, indices, indptr), shape=matrix.shape)
        self._owned_ = self._owned_ | {"matrix_"}

    def _write(self, name: str) -> np.ndarray:
        """The array `name`, copied first unless this model already owns it."""
        if name not in self._owned_:
            setattr(self, name, getattr(self, name).copy())
            self._owned_ = self._owned_ | {name}
        return getattr(self, name)

    @staticmethod
    def _sort_rows(table: NeighbourTable, rows: np.ndarray) -> None:
        """Order these rows of a table best first again, after some of their scores changed."""
        if rows.size:
            order = np.argsort(-table.scores[rows], axis=1, kind="stable")
            table.ids[rows] = np.take_along_axis(table.ids[rows], order, axis=1)
            table.scores[rows] = np.take_along_axis(table.scores[rows], order, axis=1)

    def _rank_again(self, stale_by_kind: dict[str, np.ndarray]) -> set[int]:
        """Rank these rows' lists of each kind again exactly; return their ids."""
        stale = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *stale_by_kind.values()]))
        if stale.size == 0:
            return set()
        fresh, _ = self._exact_tables(stale)
        position_in_stale = {row: position for position, row in enumerate(stale.tolist())}
        for kind, rows in stale_by_kind.items():
            table = self.neighbours_[kind]
            picked = [position_in_stale[row] for row in rows.tolist()]
            table.ids[rows] = fresh[kind].ids[picked]
            table.scores[rows] = fresh[kind].scores[picked]
        return set(self.ids_[stale].tolist())

    def _insert_where_it_ranks(self, row: int, scores: np.ndarray, eligible: np.ndarray) -> set[int]:
        """Put the item at `row` into the top lists of the `eligible` items it now beats."""
        if self.top_n == 0:
            return set()
        table = self.neighbours_[self.kinds_[row]]
        weakest = table.scores[:, -1]
        beats = np.flatnonzero(eligible & (scores > max(self.similarity_floor, 0.0)) & (scores > weakest))
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
        self._owned_ = self._owned_ | {"matrix_", "latent_", "years_", "ids_", "kinds_"}
        return self._rank_again(stale_by_kind)

    def copy_for_update(self) -> Self:
        """A copy that fold_in and remove may change while other threads keep ranking with this one.

        The id map, the labels and the neighbour tables are copied; the matrix and the other arrays are shared
        until a fold-in writes to them (each is copied once then). Neither model owns them after this.
        """
        clone = copy.copy(self)
        clone.row_of_ = dict(self.row_of_)
        clone.labels_ = dict(self.labels_)
        clone.neighbours_ = {
            kind: NeighbourTable(table.ids.copy(), table.scores.copy()) for kind, table in self.neighbours_.items()
        }
        self._owned_ = clone._owned_ = frozenset()
        return clone

    def needs_rebuild(self) -> bool:
        """Tell whether enough has been folded in, or enough unknown words seen, to refit."""
        folded_share = self.folded_count_ / max(self.fitted_count_, 1)
        return self.drift_ > self.rebuild_after or folded_share > self.rebuild_after
