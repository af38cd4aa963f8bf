"""TF-IDF "if you liked this" recommender across films and books.

An item's score for another is what they share, measured three ways and chosen by measurement on
real readers' data (docs/performance.md): the cosine of their weighted TF-IDF vectors, blended
with the cosine of their latent vectors (a truncated SVD of the TF-IDF matrix, which knows that
"vampire" and "paranormal romance" travel together), times a factor for being of the same era.
Only items that share at least one feature are candidates, and a recommendation needs evidence:
a shared tag, creator or series, or a cosine above ``evidence_floor``.

This module fits and answers queries; the model's reasons (recs/explain.py), fold-in and removal
(recs/updates.py) and saving (recs/persistence.py) are mixins of TfidfRecommender, and the top-k
kernel is recs/neighbors.py.
"""

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize

from recs.documents import PHRASE_PREFIXES, ItemDoc, count_features
from recs.explain import Explainer, ExplainMixin
from recs.neighbors import NeighbourTable, pruning_losses, rerank, top_k_rows, without_empty_columns
from recs.persistence import PersistenceMixin
from recs.threads import one_thread, threads_for
from recs.updates import UpdateMixin

# Pruned dot products at or below this are not candidates in the bulk search's first pass.
_CANDIDATE_FLOOR = 0.03

# Catalogs larger than this fit the latent part on a sample of this many rows (then map every row).
_LATENT_SAMPLE = 20_000

# Pairs scored at once (_blend): bounds the latent rows gathered for them (100 floats a pair, each side).
_BLEND_CHUNK = 32_768

# Query rows scored at once by score_rows: bounds its dense blocks (a float an item, a few per query row).
_SCORE_ROWS_CHUNK = 64


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


class FeatureSpace:
    """The fitted vocabulary, idf and latent axes: turns items into L2-normalised weighted TF-IDF rows."""

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray):
        self.vocabulary_ = vocabulary
        self.idf_ = idf
        self.latent_components_ = np.zeros((0, len(vocabulary)), dtype=np.float32)

    def transform(self, docs: list[ItemDoc]) -> sp.csr_matrix:
        """Rows for these items on this vocabulary; features it does not know are left out."""
        counts = count_features(docs, self.vocabulary_).counts
        return _unit_rows(sp.csr_matrix(counts.multiply(self.idf_[None, :]), dtype=np.float32))

    def latent(self, rows: sp.csr_matrix) -> np.ndarray:
        """The rows' unit vectors in the latent space (no columns when there is none)."""
        if self.latent_components_.shape[0] == 0:
            return np.zeros((rows.shape[0], 0), dtype=np.float32)
        return _unit_rows(np.asarray(rows @ self.latent_components_.T, dtype=np.float32))


def _unit_rows(matrix):
    """L2-normalised rows (a matrix without columns stays as it is)."""
    return matrix if matrix.shape[1] == 0 else normalize(matrix)


class TfidfRecommender(ExplainMixin, UpdateMixin, PersistenceMixin):
    """Items are similar when they share what they are known by: tags, creators, words.

    ``score(a, b) = ((1 - latent_weight) * cosine + latent_weight * latent cosine)
    * (1 + year_weight * exp(-|year a - year b| / year_scale)) / (1 + year_weight)``, for items
    with a positive cosine only. The best ``top_n`` of each kind are kept, among the
    ``candidate_pool`` best by cosine, when they have evidence (a shared tag, creator or series,
    or a cosine of at least ``evidence_floor``) and a score above ``similarity_floor``.

    Catalogs of ``exact_below`` items or more find the cosine candidates in two steps, because the
    exact all-pairs product is dominated by common terms: entries lighter than ``term_floor`` in
    terms found in more than ``common_df`` of the items are left out of a first sparse product
    that keeps ``candidate_factor * top_n`` candidates per item and kind; those candidates are
    rescored exactly. Fold-in and remove always rank exactly.

    ``n_jobs`` threads fit a catalog (BLAS and the neighbour search); by default one thread under
    1,000 items (recs/threads.py), every core above.

    A set's score for an item is the weighted mean of its members' scores, a member weighing
    between ``set_outlier_weight`` (it shares nothing with the other members) and 1 (it goes best
    with them): what most of the set shares says more of what she likes than one stray member.
    ``set_outlier_weight=1`` weighs every member alike.
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
        latent_components: int = 100,
        latent_weight: float = 0.5,
        year_weight: float = 1.0,
        year_scale: float = 4.0,
        evidence_floor: float = 0.2,
        candidate_pool: int = 200,
        random_state: int = 0,
        set_outlier_weight: float = 0.2,
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
        self.latent_components = latent_components
        self.latent_weight = latent_weight
        self.year_weight = year_weight
        self.year_scale = year_scale
        self.evidence_floor = evidence_floor
        self.candidate_pool = candidate_pool
        self.random_state = random_state
        self.set_outlier_weight = set_outlier_weight

    # ----------------------------------------------------------------------------- fitting

    def fit(self, docs: Iterable[ItemDoc], vectorizer: FeatureSpace | None = None) -> "TfidfRecommender":
        """Learn the vocabulary, idf and latent space from docs and precompute every item's top lists per kind.

        Given another model's fitted ``vectorizer_`` (and so its vocabulary and idf), keep them
        instead: the result is what fold_in() and remove() must agree with.
        """
        docs = list(docs)
        ids = [doc.id for doc in docs]
        if len(set(ids)) != len(ids):
            raise ValueError("item ids must be unique")
        self._fit_vectors(docs, vectorizer)
        # A small catalog's SVD on one BLAS thread, as its neighbour search (recs/threads.py).
        with one_thread() if threads_for(len(docs), self.n_jobs) == 1 else contextlib.nullcontext():
            self._fit_latent(refit=vectorizer is None)
        self.ids_ = np.array(ids, dtype=np.int64)
        self.kinds_ = np.array([doc.kind for doc in docs], dtype=object)
        self.years_ = np.array([np.nan if doc.year is None else doc.year for doc in docs], dtype=np.float64)
        self.row_of_ = dict(zip(ids, range(len(ids))))
        self.fitted_count_ = len(docs)
        self.folded_count_ = 0
        self.folded_tokens_ = 0
        self.folded_unknown_tokens_ = 0
        self.drift_ = 0.0
        self.explainer_ = Explainer(self.feature_names_, self.labels_, self.roles_)
        pruned = self._pruned_search() if len(docs) >= self.exact_below else None
        self.neighbours_ = {
            kind: self._table_for(kind, np.arange(len(docs)), pruned) for kind in self._kind_names()
        }
        return self

    def _fit_vectors(self, docs: list[ItemDoc], vectorizer: FeatureSpace | None) -> None:
        """Set vectorizer_, matrix_, feature_names_, phrase_columns_ and labels_ from the items' features."""
        counted = count_features(docs, None if vectorizer is None else vectorizer.vocabulary_)
        if vectorizer is not None:
            self.vectorizer_ = vectorizer
            names = [None] * len(vectorizer.vocabulary_)
            for name, column in vectorizer.vocabulary_.items():
                names[column] = name
            self.feature_names_ = np.array(names, dtype=object)
            self.matrix_ = vectorizer.transform(docs)
        elif not counted.names:
            self.vectorizer_ = FeatureSpace({}, np.zeros(0, dtype=np.float32))
            self.feature_names_ = np.array([], dtype=object)
            self.matrix_ = sp.csr_matrix((len(docs), 0), dtype=np.float32)
        else:
            counts, names = self._sorted_and_limited(counted.counts, counted.names)
            n_docs = counts.shape[0]
            document_frequency = np.bincount(counts.indices, minlength=len(names))
            # scikit-learn's smoothed idf.
            idf = (np.log((1 + n_docs) / (1 + document_frequency)) + 1).astype(np.float32)
            self.vectorizer_ = FeatureSpace(dict(zip(names, range(len(names)))), idf)
            self.feature_names_ = np.array(names, dtype=object)
            self.matrix_ = _unit_rows(sp.csr_matrix(counts.multiply(idf[None, :]), dtype=np.float32))
        vocabulary = self.vectorizer_.vocabulary_
        self.labels_ = {feature: label for feature, label in counted.labels.items() if feature in vocabulary}
        self.roles_ = {feature: role for feature, role in counted.roles.items() if feature in vocabulary}
        self.phrase_columns_ = np.array(
            [str(name).startswith(PHRASE_PREFIXES) for name in self.feature_names_], dtype=bool
        )

    def _fit_latent(self, refit: bool) -> None:
        """Learn the latent axes (unless reusing a given vectorizer's) and set latent_, every row's unit latent vector."""
        n_items, n_features = self.matrix_.shape
        components = min(self.latent_components, n_items - 1, n_features - 1)
        if refit:
            self.vectorizer_.latent_components_ = np.zeros((0, n_features), dtype=np.float32)
            if self.latent_weight > 0 and components >= 2:
                rng = np.random.default_rng(self.random_state)
                sample = self.matrix_
                if n_items > _LATENT_SAMPLE:
                    sample = self.matrix_[np.sort(rng.choice(n_items, _LATENT_SAMPLE, replace=False))]
                svd = TruncatedSVD(components, n_iter=4, random_state=self.random_state).fit(sample)
                self.vectorizer_.latent_components_ = svd.components_.astype(np.float32)
        self.latent_ = self.vectorizer_.latent(self.matrix_)

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

    def _kind_names(self) -> list[str]:
        return sorted(set(self.kinds_.tolist()))

    def _threads(self) -> int:
        return threads_for(len(self.ids_), self.n_jobs)

    def _table_for(self, kind: str, query_rows: np.ndarray, pruned: "PrunedSearch | None" = None) -> NeighbourTable:
        """Compute the top lists of kind `kind` for the given rows: cosine candidates (found exactly
        unless given a pruned search), then scored and the best kept."""
        if pruned is None:
            pool = max(self.candidate_pool, self.top_n)
            positions, cosine = self._top_of_kind(kind, query_rows, self.matrix_, pool, floor=0.0)
        else:
            positions, cosine = self._rescored_top_of_kind(kind, query_rows, pruned)
        candidate_rows = np.flatnonzero(self.kinds_ == kind)
        positions, scores = self._scored(query_rows, candidate_rows, positions, cosine)
        ids = np.where(positions >= 0, self.ids_[candidate_rows][positions], 0)
        return NeighbourTable(ids=ids.astype(np.int64), scores=scores)

    def _exact_tables(self, query_rows: np.ndarray) -> tuple[dict[str, NeighbourTable], np.ndarray]:
        """Rank a few rows' neighbours of every kind exactly; also return their score rows.

        Used by fold_in() and remove(), where one sparse product against the whole matrix is
        much cheaper than setting up the bulk search.
        """
        scores = self.score_rows(query_rows)
        tables = {}
        for kind in self.neighbours_:
            candidate_rows = np.flatnonzero(self.kinds_ == kind)
            block = scores[:, candidate_rows]
            k = min(self.top_n, block.shape[1])
            positions = np.full((len(query_rows), self.top_n), -1, dtype=np.int64)
            if not k:  # no item of this kind is left (her only book became a film): empty lists
                tables[kind] = NeighbourTable(ids=np.zeros(positions.shape, dtype=np.int64),
                                              scores=np.zeros(positions.shape, dtype=np.float32))
                continue
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
        """Find candidates on the pruned matrix, then rank them by their exact cosine (all kept)."""
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
        return rerank(positions, exact, positions.shape[1], 0.0)

    # ----------------------------------------------------------------------------- scoring

    def _blend(self, rows_a: np.ndarray, rows_b: np.ndarray, cosine: np.ndarray) -> np.ndarray:
        """The score of each pair (rows_a[i], rows_b[i]) from its cosine; 0 without evidence.

        A block of pairs at a time: a fit scores 200 candidates an item, and gathering both latent rows
        of every pair at once held 2 x 400,000 x 100 floats (over 300 MB) for a moment.
        """
        scores = np.zeros(len(cosine), dtype=np.float32)
        for start in range(0, len(cosine), _BLEND_CHUNK):
            block = slice(start, start + _BLEND_CHUNK)
            scores[block] = self._blend_block(rows_a[block], rows_b[block], cosine[block])
        return scores

    def _blend_block(self, rows_a: np.ndarray, rows_b: np.ndarray, cosine: np.ndarray) -> np.ndarray:
        """_blend for one block of pairs."""
        score = cosine.astype(np.float32)
        if self.latent_.shape[1]:
            latent = np.einsum("ij,ij->i", self.latent_[rows_a], self.latent_[rows_b])
            score = (1 - self.latent_weight) * score + self.latent_weight * np.maximum(latent, 0)
        score = score * self._era_factor(self.years_[rows_a], self.years_[rows_b])
        return np.where(self._has_evidence(rows_a, rows_b, cosine), score, 0).astype(np.float32)

    def _era_factor(self, years_a: np.ndarray, years_b: np.ndarray) -> np.ndarray:
        """1 for items of the same year, falling towards 1 / (1 + year_weight) as years part."""
        if self.year_weight <= 0:
            return np.ones(np.broadcast(years_a, years_b).shape, dtype=np.float32)
        with np.errstate(invalid="ignore"):
            closeness = np.exp(-np.abs(years_a - years_b) / self.year_scale)
        # An item without a year is neither near nor far: the closeness of years a scale apart.
        closeness = np.where(np.isnan(closeness), np.exp(-1.0), closeness)
        return ((1 + self.year_weight * closeness) / (1 + self.year_weight)).astype(np.float32)

    def _has_evidence(self, rows_a: np.ndarray, rows_b: np.ndarray, cosine: np.ndarray) -> np.ndarray:
        """True where the pair shares a tag, creator or series, or its cosine reaches evidence_floor."""
        evidence = cosine >= self.evidence_floor
        weak = np.flatnonzero(~evidence & (cosine > 0))
        if weak.size:
            shared = self.matrix_[rows_a[weak]].multiply(self.matrix_[rows_b[weak]]).tocsr()
            pair = np.repeat(np.arange(weak.size), np.diff(shared.indptr))
            phrase = self.phrase_columns_[shared.indices] & (shared.data > 0)
            evidence[weak] = np.bincount(pair[phrase], minlength=weak.size) > 0
        return evidence

    def _scored(self, query_rows: np.ndarray, candidate_rows: np.ndarray, positions: np.ndarray,
                cosine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score the cosine candidates (positions among candidate_rows) and keep the best top_n."""
        found = positions >= 0
        rows_a = np.broadcast_to(query_rows[:, None], positions.shape)[found]
        rows_b = candidate_rows[positions[found]]
        scores = np.zeros(positions.shape, dtype=np.float32)
        scores[found] = self._blend(rows_a, rows_b, cosine[found])
        return rerank(np.where(scores > 0, positions, -1), scores, self.top_n, self.similarity_floor)

    def score_rows(self, query_rows: np.ndarray) -> np.ndarray:
        """Every item's score for each query row (dense, queries x items), the row itself 0.

        The same scores as _blend gives pair by pair, computed a block of query rows at a time against the
        whole matrix: the cosines and the shared tags, creators or series as one product of the matrix with
        the few query rows (the matrix itself is never transposed), the latent cosines as a dense product.
        A save scores its item against every other; pairing each with the query row through _blend
        gathered a copy of every row that shares a word with it, most of a fold-in's time.
        """
        query_rows = np.asarray(query_rows, dtype=np.int64)
        scores = np.zeros((len(query_rows), len(self.ids_)), dtype=np.float32)
        for start in range(0, len(query_rows), _SCORE_ROWS_CHUNK):
            rows = query_rows[start:start + _SCORE_ROWS_CHUNK]
            scores[start:start + len(rows)] = self._score_block(rows)
        return scores

    def _score_block(self, rows: np.ndarray) -> np.ndarray:
        """score_rows for a few query rows."""
        queries = self.matrix_[rows]
        # The same rows with 1 in their tag, creator and series columns and nothing elsewhere: another row's
        # product with it is positive exactly when the two share one of those (weights are positive).
        phrases = queries.copy()
        phrases.data = self.phrase_columns_[phrases.indices].astype(np.float32)
        # One sparse product for both: a pass over the matrix's entries, whatever the number of query rows
        # (a product with dense query rows costs that pass once per row).
        both = (self.matrix_ @ sp.vstack([queries, phrases], format="csr").T).toarray().T
        cosine, shares_phrase = both[:len(rows)], both[len(rows):] > 0
        cosine[np.arange(len(rows)), rows] = 0
        # Only pairs with evidence get a score (a fifth of them on a synthetic catalog): the blend and the
        # era are worked out for those alone, as _blend does.
        query, other = np.nonzero((cosine > 0) & ((cosine >= self.evidence_floor) | shares_phrase))
        score = cosine[query, other].astype(np.float32)
        if self.latent_.shape[1]:
            # einsum, not BLAS: OpenBLAS's threads spin for a product this small, which costs the other
            # workers on a small server more than it saves.
            latent = np.einsum("ij,kj->ik", self.latent_[rows], self.latent_)[query, other]
            score = (1 - self.latent_weight) * score + self.latent_weight * np.maximum(latent, 0)
        score = score * self._era_factor(self.years_[rows][query], self.years_[other])
        scores = np.zeros(cosine.shape, dtype=np.float32)
        scores[query, other] = score
        return scores

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

    def recommend_for_set(
        self, item_ids: Iterable[int], kind: str | None = None, k: int = 10, exclude: Iterable[int] = ()
    ) -> list[tuple[int, float]]:
        """Return the k items that go best with the set, members excluded.

        Scores are the members' scores weighted by how well each goes with the rest of the set
        (see the class docstring): an item that goes with the set's common ground comes first.
        """
        member_rows = self._member_rows(item_ids)
        if not member_rows.size or k <= 0:
            return []
        scores = self._member_weights(member_rows) @ self.score_rows(member_rows)
        eligible = scores > max(self.similarity_floor, 0.0)
        eligible[member_rows] = False
        if kind is not None:
            eligible &= self.kinds_ == kind
        excluded = [self.row_of_[item_id] for item_id in exclude if item_id in self.row_of_]
        eligible[excluded] = False
        return self._best(np.flatnonzero(eligible), scores, k)

    def _member_rows(self, item_ids: Iterable[int]) -> np.ndarray:
        """The sorted rows of a set's members, unknown ids left out."""
        return np.array(sorted({self.row_of_[i] for i in item_ids if i in self.row_of_}), dtype=np.int64)

    def _member_weights(self, member_rows: np.ndarray) -> np.ndarray:
        """Each member's weight in the set's scores, summing to 1: in proportion, set_outlier_weight
        for a member sharing nothing with the others, 1 for the one with the highest score with them."""
        cosine = (self.matrix_[member_rows] @ self.matrix_[member_rows].T).toarray()
        np.fill_diagonal(cosine, 0)
        a, b = np.nonzero(cosine > 0)
        inner = np.zeros(cosine.shape, dtype=np.float64)
        inner[a, b] = self._blend(member_rows[a], member_rows[b], cosine[a, b])
        coherence = inner.sum(axis=1)
        if coherence.max() > 0:
            coherence /= coherence.max()
        weights = self.set_outlier_weight + (1 - self.set_outlier_weight) * coherence
        return weights / weights.sum()

    def _best(self, rows: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
        if rows.size > k:
            rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
        ranked = sorted(zip(self.ids_[rows].tolist(), scores[rows].tolist()), key=lambda p: (-p[1], p[0]))
        return [(item_id, float(score)) for item_id, score in ranked]
