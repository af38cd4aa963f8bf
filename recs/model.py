"""TF-IDF "if you liked this" recommender across films and books."""

import copy
import os
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer

from recs.documents import CREATOR_PREFIX, TAG_PREFIX, ItemDoc, count_features, item_features, phrase_key
from recs.search import pruning_losses, rerank, top_k_rows, without_empty_columns

# Bumped whenever the pickled layout changes; loads() refuses other versions.
FORMAT_VERSION = 1

# Pruned dot products at or below this are not candidates in the bulk search's first pass.
_CANDIDATE_FLOOR = 0.03

# Pairs explained per sparse product in explain_many(): large enough to amortise the product,
# small enough that its two stacked row matrices stay a few megabytes.
_EXPLAIN_CHUNK = 8192

# The groups of a reason, in the order explain() names them.
_TAG, _CREATOR, _WORD = 0, 1, 2


@dataclass
class NeighbourTable:
    """The best neighbours of one kind for every item: ids and scores, best first, 0-padded."""

    ids: np.ndarray  # (n_items, top_n) int64
    scores: np.ndarray  # (n_items, top_n) float32; 0 marks an empty slot

    def pairs(self, row: int) -> list[tuple[int, float]]:
        """Return the filled slots of one row as (id, score) pairs."""
        filled = self.scores[row] > 0
        return list(zip(self.ids[row][filled].tolist(), self.scores[row][filled].tolist()))


@dataclass
class PrunedSearch:
    """The matrices of the two-step neighbour search used while fitting a large catalog."""

    matrix: sp.csr_matrix  # the model's vectors without the light entries of common terms
    common_part: sp.csr_matrix  # the model's vectors restricted to the common terms' columns
    kept: np.ndarray  # which entries of common_part `matrix` kept (bool, aligned with its data)


def _only_columns(matrix: sp.csr_matrix, columns: np.ndarray) -> sp.csr_matrix:
    """Return a copy of matrix keeping only the entries in the masked columns."""
    kept = matrix.copy()
    kept.data[~columns[kept.indices]] = 0
    kept.eliminate_zeros()
    return kept


def _sentences(tags: list[str], creators: list[str], words: list[str], max_words: int) -> list[str]:
    """Word the shared tags, creators and words (each heaviest first) as reasons."""
    reasons = []
    if tags:
        reasons.append("shared tags: " + ", ".join(tags[:max_words]))
    if creators:
        reasons.append("both by " + " and ".join(creators))
    if words and max_words > 0:
        reasons.append("shared words: " + ", ".join(words[:max_words]))
    return reasons


class TfidfRecommender:
    """Items are similar when their weighted TF-IDF vectors point the same way (cosine).

    Catalogs of ``exact_below`` items or more are searched in two steps, because the exact
    all-pairs product is dominated by common terms: entries lighter than ``term_floor`` in terms
    found in more than ``common_df`` of the items are left out of a first sparse product that
    keeps ``candidate_factor * top_n`` candidates per item and kind; those candidates are then
    rescored with the exact cosine and the best ``top_n`` kept. Scores are always exact; only a
    true neighbour that never made the candidate list can be missed (the benchmark prints the
    recall). Fold-in and remove always rank exactly.
    """

    def __init__(
        self,
        top_n: int = 20,
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        similarity_floor: float = 0.0,
        rebuild_after: float = 0.2,
        exact_below: int = 5000,
        common_df: float = 0.01,
        term_floor: float = 0.08,
        candidate_factor: int = 2,
        n_jobs: int | None = None,
        engine: str = "auto",
    ):
        self.top_n = top_n
        self.min_df = min_df
        self.max_df = max_df
        self.similarity_floor = similarity_floor
        self.rebuild_after = rebuild_after
        self.exact_below = exact_below
        self.common_df = common_df
        self.term_floor = term_floor
        self.candidate_factor = candidate_factor
        self.n_jobs = n_jobs
        self.engine = engine

    # ----------------------------------------------------------------------------- fitting

    def fit(self, docs: Iterable[ItemDoc], vectorizer: TfidfVectorizer | None = None) -> "TfidfRecommender":
        """Learn the vocabulary and idf from docs and precompute every item's top lists per kind.

        Given another model's fitted ``vectorizer_``, keep its vocabulary and idf instead: the
        result is what fold_in() and remove() must agree with.
        """
        docs = list(docs)
        ids = [doc.id for doc in docs]
        if len(set(ids)) != len(ids):
            raise ValueError("item ids must be unique")
        self._fit_vectors(docs, vectorizer)
        self.ids_ = np.array(ids, dtype=np.int64)
        self.kinds_ = np.array([doc.kind for doc in docs], dtype=object)
        self.row_of_ = dict(zip(ids, range(len(ids))))
        self.fitted_count_ = len(docs)
        self.folded_count_ = 0
        self.folded_tokens_ = 0
        self.folded_unknown_tokens_ = 0
        self.drift_ = 0.0
        pruned = self._pruned_search() if len(docs) >= self.exact_below else None
        self.neighbours_ = {
            kind: self._table_for(kind, np.arange(len(docs)), pruned) for kind in self._kind_names()
        }
        return self

    def _fit_vectors(self, docs: list[ItemDoc], vectorizer: TfidfVectorizer | None) -> None:
        """Set vectorizer_, matrix_, feature_names_ and labels_ from the items' feature tokens."""
        if vectorizer is not None:
            self.vectorizer_ = vectorizer
            self.matrix_ = vectorizer.transform(item_features(doc) for doc in docs).tocsr()
            self.feature_names_ = vectorizer.get_feature_names_out()
            self.labels_ = self._phrase_labels(docs)
            return
        counted = count_features(docs)
        if not counted.names:
            # scikit-learn refuses an empty vocabulary; a catalog without words simply has none.
            self.vectorizer_ = None
            self.matrix_ = sp.csr_matrix((len(docs), 0), dtype=np.float32)
            self.feature_names_ = np.array([], dtype=object)
            self.labels_ = {}
            return
        counts, names = self._sorted_and_limited(counted.counts, counted.names)
        # The same weighting as TfidfVectorizer.fit_transform on the repeated feature tokens,
        # and a vectorizer equal to the one it would leave, for fold_in() and remove().
        transformer = TfidfTransformer(sublinear_tf=True).fit(counts)
        self.matrix_ = sp.csr_matrix(transformer.transform(counts, copy=False))
        self.vectorizer_ = TfidfVectorizer(
            analyzer=list, sublinear_tf=True, min_df=self.min_df, max_df=self.max_df, dtype=np.float32,
        )
        self.vectorizer_.vocabulary_ = dict(zip(names, range(len(names))))
        self.vectorizer_.fixed_vocabulary_ = False
        self.vectorizer_.idf_ = transformer.idf_
        self.feature_names_ = np.array(names, dtype=object)  # what get_feature_names_out() gives
        vocabulary = self.vectorizer_.vocabulary_
        self.labels_ = {feature: label for feature, label in counted.labels.items() if feature in vocabulary}

    def _sorted_and_limited(self, counts: sp.csr_matrix, names: list[str]) -> tuple[sp.csr_matrix, list[str]]:
        """Drop features outside min_df..max_df and order the rest by name, as CountVectorizer does."""
        n_docs = counts.shape[0]
        high = self.max_df if isinstance(self.max_df, Integral) else self.max_df * n_docs
        low = self.min_df if isinstance(self.min_df, Integral) else self.min_df * n_docs
        if high < low:
            raise ValueError("max_df corresponds to < documents than min_df")
        document_frequency = np.bincount(counts.indices, minlength=len(names))
        kept = np.flatnonzero((document_frequency <= high) & (document_frequency >= low))
        if kept.size == 0:
            raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
        kept_names = list(map(names.__getitem__, kept.tolist()))
        order = kept[sorted(range(kept.size), key=kept_names.__getitem__)]
        new_column = np.full(len(names), -1, dtype=np.int64)
        new_column[order] = np.arange(order.size)
        if kept.size < len(names):
            counts = counts[:, kept].tocsr()
            new_column = new_column[kept]
        counts.indices = new_column[counts.indices].astype(counts.indices.dtype)
        counts.has_sorted_indices = False
        counts.sort_indices()
        return counts, list(map(names.__getitem__, order.tolist()))

    def _pruned_search(self) -> PrunedSearch:
        """Build the matrices of the candidate search, with light entries of common terms dropped."""
        n_items, n_terms = self.matrix_.shape
        document_frequency = np.bincount(self.matrix_.indices, minlength=n_terms)
        common_terms = document_frequency > self.common_df * n_items
        pruned = self.matrix_.copy()
        pruned.data[(pruned.data < self.term_floor) & common_terms[pruned.indices]] = 0
        pruned.eliminate_zeros()
        common_part = without_empty_columns(_only_columns(self.matrix_, common_terms))
        return PrunedSearch(matrix=pruned, common_part=common_part, kept=common_part.data >= self.term_floor)

    def _phrase_labels(self, docs: list[ItemDoc]) -> dict[str, str]:
        """Map each tag and creator feature to the spelling a reader should see in a reason."""
        vocabulary = self.vectorizer_.vocabulary_ if self.vectorizer_ is not None else {}
        labels: dict[str, str] = {}
        for doc in docs:
            for prefix, phrases in ((TAG_PREFIX, doc.tags), (CREATOR_PREFIX, doc.creators)):
                for phrase in phrases:
                    feature = prefix + phrase_key(phrase)
                    if feature in vocabulary and feature not in labels:
                        labels[feature] = " ".join(phrase.split())
        return labels

    def _kind_names(self) -> list[str]:
        return sorted(set(self.kinds_.tolist()))

    def _threads(self) -> int:
        return self.n_jobs if self.n_jobs is not None else (os.cpu_count() or 1)

    def _table_for(self, kind: str, query_rows: np.ndarray, pruned: "PrunedSearch | None" = None) -> NeighbourTable:
        """Compute the top lists of kind `kind` for the given rows, exactly unless given a pruned search."""
        if pruned is None:
            positions, scores = self._top_of_kind(kind, query_rows, self.matrix_, self.top_n)
        else:
            positions, scores = self._rescored_top_of_kind(kind, query_rows, pruned)
        candidate_rows = np.flatnonzero(self.kinds_ == kind)
        ids = np.where(positions >= 0, self.ids_[candidate_rows][positions], 0)
        return NeighbourTable(ids=ids.astype(np.int64), scores=scores)

    def _exact_tables(self, query_rows: np.ndarray) -> tuple[dict[str, NeighbourTable], np.ndarray]:
        """Rank a few rows' neighbours of every kind exactly; also return their score rows.

        Used by fold_in() and remove(), where one sparse product against the whole matrix is
        much cheaper than setting up the bulk search.
        """
        scores = (self.matrix_ @ self.matrix_[query_rows].T).toarray().T
        scores[np.arange(len(query_rows)), query_rows] = 0  # never its own neighbour
        tables = {}
        for kind in self.neighbours_:
            candidate_rows = np.flatnonzero(self.kinds_ == kind)
            block = scores[:, candidate_rows]
            k = min(self.top_n, block.shape[1])
            positions = np.full((len(query_rows), self.top_n), -1, dtype=np.int64)
            if k:
                positions[:, :k] = np.argpartition(-block, k - 1, axis=1)[:, :k]
            best = np.take_along_axis(block, np.maximum(positions, 0), axis=1)
            positions, best = rerank(positions, best, self.top_n, self.similarity_floor)
            ids = np.where(positions >= 0, self.ids_[candidate_rows][np.maximum(positions, 0)], 0)
            tables[kind] = NeighbourTable(ids=ids.astype(np.int64), scores=best)
        return tables, scores

    def _top_of_kind(
        self, kind: str, query_rows: np.ndarray, matrix: sp.csr_matrix, k: int, floor: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the k best candidate positions among items of `kind` by dot product in `matrix` above floor."""
        if k == 0:
            return np.zeros((len(query_rows), 0), dtype=np.int64), np.zeros((len(query_rows), 0), np.float32)
        candidate_rows = np.flatnonzero(self.kinds_ == kind)
        # A query's own position among the candidates, so that it never comes back as its own match.
        position_of_row = np.full(len(self.ids_), -1, dtype=np.int64)
        position_of_row[candidate_rows] = np.arange(len(candidate_rows))
        every_row = np.array_equal(query_rows, np.arange(matrix.shape[0]))  # bulk: spare a copy
        return top_k_rows(
            matrix if every_row else matrix[query_rows], matrix[candidate_rows], k,
            skip=position_of_row[query_rows], floor=self.similarity_floor if floor is None else floor,
            n_threads=self._threads(), engine=self.engine,
        )

    def _rescored_top_of_kind(
        self, kind: str, query_rows: np.ndarray, pruned: "PrunedSearch"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Find candidates on the pruned matrix, then rank them by their exact cosine."""
        k = self.candidate_factor * self.top_n
        # Weak pairs are most of what the candidate product sorts through, so it first looks
        # above a floor; rows that then find fewer than top_n candidates are searched again
        # without it, so that an item with only weak matches still gets them.
        positions, approximate = self._top_of_kind(
            kind, query_rows, pruned.matrix, k, floor=max(self.similarity_floor, _CANDIDATE_FLOOR)
        )
        short = np.flatnonzero(positions[:, self.top_n - 1] < 0)
        if short.size:
            positions[short], approximate[short] = self._top_of_kind(kind, query_rows[short], pruned.matrix, k)
        candidate_rows = np.flatnonzero(self.kinds_ == kind)
        found = positions >= 0
        rows_a = np.broadcast_to(query_rows[:, None], positions.shape)[found]
        rows_b = candidate_rows[positions[found]]
        # Pruning touched common terms only, so the exact cosine is the pruned one plus what
        # pruning took from it in those columns.
        exact = np.zeros(positions.shape, dtype=np.float32)
        exact[found] = approximate[found] + pruning_losses(
            pruned.common_part, pruned.kept, rows_a, rows_b, self._threads()
        )
        return rerank(positions, exact, self.top_n, self.similarity_floor)

    # ----------------------------------------------------------------------------- queries

    def neighbours(
        self, item_id: int, kind: str | None = None, k: int | None = None, exclude: Iterable[int] = ()
    ) -> list[tuple[int, float]]:
        """Return the precomputed best (id, score) of one kind (or of all kinds) for an item."""
        row = self.row_of_.get(item_id)
        if row is None:
            return []
        kinds = [kind] if kind is not None else list(self.neighbours_)
        excluded = set(exclude)
        pairs = [
            pair
            for name in kinds
            if name in self.neighbours_
            for pair in self.neighbours_[name].pairs(row)
            if pair[0] not in excluded
        ]
        pairs.sort(key=lambda pair: (-pair[1], pair[0]))
        return pairs[: self.top_n if k is None else k]

    def all_neighbours(self) -> Iterator[tuple[int, str, list[tuple[int, float]]]]:
        """Yield (item id, neighbour kind, [(neighbour id, score), ...]) for every item and kind."""
        for row, item_id in enumerate(self.ids_.tolist()):
            for kind, table in self.neighbours_.items():
                yield item_id, kind, table.pairs(row)

    def _set_vector(self, item_ids: Iterable[int]) -> tuple[np.ndarray, list[int]]:
        """Return the normalised sum of the known members' vectors (dense), and those members' rows."""
        rows = sorted({self.row_of_[item_id] for item_id in item_ids if item_id in self.row_of_})
        total = np.asarray(self.matrix_[rows].sum(axis=0), dtype=np.float32).ravel()
        norm = np.linalg.norm(total)
        return (total / norm if norm > 0 else total), rows

    def recommend_for_set(
        self, item_ids: Iterable[int], kind: str | None = None, k: int = 10, exclude: Iterable[int] = ()
    ) -> list[tuple[int, float]]:
        """Return the k items closest to the normalised sum of the members' vectors, members excluded."""
        query, member_rows = self._set_vector(item_ids)
        if not member_rows or k <= 0:
            return []
        scores = self.matrix_ @ query
        eligible = scores > max(self.similarity_floor, 0.0)
        eligible[member_rows] = False
        if kind is not None:
            eligible &= self.kinds_ == kind
        excluded = [self.row_of_[item_id] for item_id in exclude if item_id in self.row_of_]
        eligible[excluded] = False
        return self._best(np.flatnonzero(eligible), scores, k)

    def _best(self, rows: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
        if rows.size > k:
            rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
        ranked = sorted(zip(self.ids_[rows].tolist(), scores[rows].tolist()), key=lambda p: (-p[1], p[0]))
        return [(item_id, float(score)) for item_id, score in ranked]

    # ----------------------------------------------------------------------------- reasons

    def explain(self, a_id: int, b_id: int, max_words: int = 3) -> list[str]:
        """Say in words what items a and b have in common: shared tags, creators, then words."""
        row_a, row_b = self.row_of_.get(a_id), self.row_of_.get(b_id)
        if row_a is None or row_b is None:
            return []
        return self._reasons(*self._row_entries(row_a), row_b, max_words)

    def explain_set(self, item_ids: Iterable[int], b_id: int, max_words: int = 3) -> list[str]:
        """Say what item b shares with a set of items, weighted as recommend_for_set weighs them."""
        query, member_rows = self._set_vector(item_ids)
        if not member_rows or b_id not in self.row_of_:
            return []
        features = np.flatnonzero(query)
        return self._reasons(features, query[features], self.row_of_[b_id], max_words)

    def explain_many(self, pairs: Iterable[tuple[int, int]], max_words: int = 3) -> list[list[str]]:
        """Return [self.explain(a, b, max_words) for a, b in pairs], a chunk of pairs at a time.

        A rebuild explains hundreds of thousands of pairs; one sparse product per chunk and
        one label lookup per feature spare most of the per-pair cost.
        """
        pairs = list(pairs)
        if max_words < 0:
            # A negative limit cuts lists from their end, which only the per-pair path does.
            return [self.explain(a_id, b_id, max_words) for a_id, b_id in pairs]
        reasons: list[list[str]] = [[] for _ in pairs]
        found = [
            (position, row_a, row_b)
            for position, (row_a, row_b) in enumerate(
                (self.row_of_.get(a_id), self.row_of_.get(b_id)) for a_id, b_id in pairs
            )
            if row_a is not None and row_b is not None
        ]
        n_features = len(self.feature_names_)
        group_of = np.full(n_features, -1, dtype=np.int8)  # -1: not looked up yet in this call
        text_of = np.empty(n_features, dtype=object)
        for start in range(0, len(found), _EXPLAIN_CHUNK):
            positions, rows_a, rows_b = zip(*found[start:start + _EXPLAIN_CHUNK])
            chunk = self._chunk_reasons(np.array(rows_a), np.array(rows_b), max_words, group_of, text_of)
            for position, sentences in zip(positions, chunk):
                reasons[position] = sentences
        return reasons

    def _chunk_reasons(
        self, rows_a: np.ndarray, rows_b: np.ndarray, max_words: int, group_of: np.ndarray, text_of: np.ndarray
    ) -> list[list[str]]:
        """Explain the pairs of rows (rows_a[i], rows_b[i]); group_of/text_of cache feature labels."""
        n_pairs = len(rows_a)
        # Row i of the elementwise product holds each shared feature's share of pair i's cosine.
        product = self.matrix_[rows_a].multiply(self.matrix_[rows_b]).tocsr()
        pair = np.repeat(np.arange(n_pairs), np.diff(product.indptr))
        positive = product.data > 0
        features, contribution, pair = product.indices[positive], product.data[positive], pair[positive]
        unseen = np.unique(features[group_of[features] < 0])
        for feature in unseen.tolist():
            group_of[feature], text_of[feature] = self._feature_part(self.feature_names_[feature])
        group = group_of[features]
        # Within a pair and group: heaviest first, ties by feature index, as in _reasons().
        order = np.lexsort((features, -contribution, group, pair))
        features, run = features[order], pair[order] * 3 + group[order]
        starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
        rank = np.arange(run.size) - np.repeat(starts, np.diff(np.r_[starts, run.size]))
        # _sentences() cuts tags and words to max_words itself; one is kept so that a limit of
        # 0 still knows there were tags.
        kept = (run % 3 == _CREATOR) | (rank < max(max_words, 1))
        texts = text_of[features[kept]].tolist()
        bounds = np.r_[0, np.cumsum(np.bincount(run[kept], minlength=3 * n_pairs))].tolist()
        return [
            _sentences(
                texts[bounds[3 * i]:bounds[3 * i + 1]],
                texts[bounds[3 * i + 1]:bounds[3 * i + 2]],
                texts[bounds[3 * i + 2]:bounds[3 * i + 3]],
                max_words,
            )
            for i in range(n_pairs)
        ]

    def _row_entries(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Return one row's feature indices and weights as views of the CSR arrays.

        Indexing matrix_[row] builds a 1-row matrix, whose checks cost far more than the work.
        """
        start, end = self.matrix_.indptr[row:row + 2].tolist()
        return self.matrix_.indices[start:end], self.matrix_.data[start:end]

    def _reasons(self, indices: np.ndarray, data: np.ndarray, row: int, max_words: int) -> list[str]:
        """Name the features present in both vectors, each group ordered by its share of the cosine."""
        target_indices, target_data = self._row_entries(row)
        # Rows may have unsorted indices after fold_in()'s vstack; intersect1d returns the shared
        # features sorted all the same, so ties below fall back to feature order.
        shared, in_query, in_target = np.intersect1d(indices, target_indices, assume_unique=True, return_indices=True)
        contribution = data[in_query] * target_data[in_target]
        keep = contribution > 0
        order = np.argsort(-contribution[keep], kind="stable")
        parts = [self._feature_part(name) for name in self.feature_names_[shared[keep][order]].tolist()]
        return _sentences(
            [text for group, text in parts if group == _TAG],
            [text for group, text in parts if group == _CREATOR],
            [text for group, text in parts if group == _WORD],
            max_words,
        )

    def _feature_part(self, name: str) -> tuple[int, str]:
        """Return which reason a feature belongs to and how it reads there."""
        if name.startswith(TAG_PREFIX):
            return _TAG, self.labels_.get(name, name[len(TAG_PREFIX):])
        if name.startswith(CREATOR_PREFIX):
            return _CREATOR, self.labels_.get(name, name[len(CREATOR_PREFIX):])
        return _WORD, name

    # ----------------------------------------------------------------------------- updates

    def _vectorize(self, features: list[str]) -> sp.csr_matrix:
        if self.vectorizer_ is None:
            return sp.csr_matrix((1, 0), dtype=np.float32)
        return self.vectorizer_.transform([features]).tocsr()

    def fold_in(self, doc: ItemDoc) -> set[int]:
        """Add or replace one item on the fitted vocabulary; return ids whose neighbour rows changed."""
        changed = self.remove(doc.id) if doc.id in self.row_of_ else set()
        features = item_features(doc)
        vocabulary = self.vectorizer_.vocabulary_ if self.vectorizer_ is not None else {}
        self.folded_count_ += 1
        self.folded_tokens_ += len(features)
        self.folded_unknown_tokens_ += sum(feature not in vocabulary for feature in features)
        self.drift_ = self.folded_unknown_tokens_ / max(self.folded_tokens_, 1)
        for prefix, phrases in ((TAG_PREFIX, doc.tags), (CREATOR_PREFIX, doc.creators)):
            for phrase in phrases:
                feature = prefix + phrase_key(phrase)
                if feature in vocabulary:
                    self.labels_.setdefault(feature, " ".join(phrase.split()))

        row = len(self.ids_)
        self.matrix_ = sp.vstack([self.matrix_, self._vectorize(features)], format="csr")
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

    def copy_for_update(self) -> "TfidfRecommender":
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

    # ----------------------------------------------------------------------------- persistence

    def dumps(self) -> bytes:
        """Serialise the fitted model, stamped with the format version."""
        return pickle.dumps({"format_version": FORMAT_VERSION, "model": self}, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def loads(cls, data: bytes) -> "TfidfRecommender":
        """Restore a model from dumps(); refuse one written in another format version."""
        payload = pickle.loads(data)
        version = payload.get("format_version") if isinstance(payload, dict) else None
        if version != FORMAT_VERSION:
            raise ValueError(f"model format {version!r} is not {FORMAT_VERSION}; rebuild the model")
        if not isinstance(payload["model"], cls):
            raise TypeError("payload is not a TfidfRecommender")
        return payload["model"]
