"""Reasons a person can read: "Also by Marguerite Duras", "Both tagged Memory · Love", "Both about: affair, lovers".

A reason names only features that carry the pair's score: among the ``TOP_CONTRIBUTORS`` shared
features with the largest share of the cosine. A creator is named once (its name's words are never
named again as words); a word is named only when it reads as one: no stop word, no filler of plot summaries
(``UNNAMED_WORDS``), nothing under three letters, no bare number, and no pair of characters cut from a longer
Chinese, Japanese or Korean run.
"""

from collections.abc import Iterable

import numpy as np

from recs.documents import CREATOR_PREFIX, SERIES_PREFIX, TAG_PREFIX, is_content_word
from recs.text import fold_accents, is_unspaced, word_tokens

# Only the shared features with the largest shares of a pair's cosine may be named.
TOP_CONTRIBUTORS = 8
# Most tags or words one reason names.
MAX_NAMED = 3

# Words of plot summaries that count towards a match (no stop words: the quality runs were tuned with them) but
# read as filler when a reason names them: "Both about: follows, war" says war. Found by reading every reason of
# the demo catalog.
UNNAMED_WORDS = frozenset(
    """
    follow follows following followed draws draw gets does did knew sent stays stay admits carry carries serve
    serves refuses wanders drifts adapts adapted remains seems shows shown called named known based including
    present moment slowly harder perfect bright famous outside sequence account plot feature ending born older
    younger hear weight pieces short small large long longer half near late later early whole single
    """.split()
)

# Pairs explained per sparse product in explain_many(): large enough to amortise the product,
# small enough that its two stacked row matrices stay a few megabytes.
_EXPLAIN_CHUNK = 8192

# What a feature is, for a reason.
HIDDEN, CREATOR, SERIES, TAG, WORD, CONTRIBUTOR = 0, 1, 2, 3, 4, 5
# How a reason names people credited besides the makers, by their role.
ROLE_PHRASES = {"translator": "Also translated by ", "illustrator": "Also illustrated by "}


def display_tag(label: str) -> str:
    """A tag as a reason shows it: "memory" -> "Memory", "French New Wave" unchanged."""
    return label[:1].upper() + label[1:] if label.islower() else label


class Explainer:
    """Turns a pair's shared features and their shares of the score into sentences.

    Built from a fitted model's feature names and labels; caches what each feature is.
    """

    def __init__(self, feature_names: np.ndarray, labels: dict[str, str], roles: dict[str, str] | None = None):
        self.feature_names = feature_names
        self.labels = labels
        self.roles = roles or {}
        self.creator_words = {
            word for feature, label in labels.items() if feature.startswith(CREATOR_PREFIX)
            for word in word_tokens(fold_accents(label))
        }
        self.group = np.full(len(feature_names), -1, dtype=np.int8)
        self.text = np.empty(len(feature_names), dtype=object)

    def _describe(self, feature: int) -> None:
        name = str(self.feature_names[feature])
        for prefix, group in ((CREATOR_PREFIX, CREATOR), (SERIES_PREFIX, SERIES), (TAG_PREFIX, TAG)):
            if name.startswith(prefix):
                label = self.labels.get(name, name[len(prefix):])
                self.group[feature], self.text[feature] = group, display_tag(label) if group == TAG else label
                if name in self.roles:
                    self.group[feature], self.text[feature] = CONTRIBUTOR, (self.roles[name], label)
                return
        # A pair of characters may be cut from a longer run ("김지" from "김지영"): it counts for
        # the score but is never named; the whole run, when both share it, is.
        readable = is_content_word(name) and name not in self.creator_words and name not in UNNAMED_WORDS
        if is_unspaced(name) and len(name) <= 2:
            readable = False
        self.group[feature], self.text[feature] = (WORD if readable else HIDDEN), name

    def sentences(self, features: np.ndarray, shares: np.ndarray, for_set: bool = False,
                  max_words: int = MAX_NAMED) -> list[str]:
        """Word the shared features (column numbers) given each one's share of the score."""
        positive = shares > 0
        features, shares = features[positive], shares[positive]
        order = np.lexsort((features, -shares))
        features = features[order]
        unknown = features[self.group[features] < 0]
        for feature in unknown.tolist():
            self._describe(feature)
        groups = self.group[features].tolist()
        texts = self.text[features].tolist()
        creators = [t for g, t in zip(groups, texts) if g == CREATOR]
        series = [t for g, t in zip(groups, texts) if g == SERIES]
        credited: dict[str, list[str]] = {}
        for role, name in (t for g, t in zip(groups, texts) if g == CONTRIBUTOR):
            credited.setdefault(ROLE_PHRASES.get(role, "Also credited: "), []).append(name)
        top_groups, top_texts = groups[:TOP_CONTRIBUTORS], texts[:TOP_CONTRIBUTORS]
        tags = [t for g, t in zip(top_groups, top_texts) if g == TAG][:max_words]
        words = [t for g, t in zip(top_groups, top_texts) if g == WORD][:max_words]
        reasons = []
        if creators:
            reasons.append("Also by " + " and ".join(creators[:2]))
        reasons += [phrase + " and ".join(names[:2]) for phrase, names in credited.items()]
        if series:
            reasons.append("Same series: " + series[0])
        if tags:
            reasons.append(("Also tagged " if for_set else "Both tagged ") + " · ".join(tags))
        if words and max_words > 0:
            reasons.append(("Also about: " if for_set else "Both about: ") + ", ".join(words))
        return reasons


class ExplainMixin:
    """The recommender's reasons: what a pair, or a set and an item, share, read off the fitted vectors.

    Needs ``matrix_``, ``row_of_``, ``explainer_`` and the set weights of recs.model.TfidfRecommender.
    """

    def explain(self, a_id: int, b_id: int, max_words: int = 3) -> list[str]:
        """Say in words what items a and b have in common: creators, series, tags, then words."""
        row_a, row_b = self.row_of_.get(a_id), self.row_of_.get(b_id)
        if row_a is None or row_b is None:
            return []
        indices, data = self._row_entries(row_a)
        return self._reasons(indices, data, row_b, max_words)

    def explain_set(self, item_ids: Iterable[int], b_id: int, max_words: int = 3) -> list[str]:
        """Say what item b shares with a set of items: the features of the members' vectors, weighted
        as recommend_for_set weighs the members."""
        return self.explain_set_many(item_ids, [b_id], max_words)[0]

    def explain_set_many(self, item_ids: Iterable[int], b_ids: Iterable[int], max_words: int = 3) -> list[list[str]]:
        """Return [self.explain_set(item_ids, b, max_words) for b in b_ids], weighing the set's members once
        (a set's page explains each of its recommendations: the members' weights cost more than the wording)."""
        b_ids = list(b_ids)
        rows = self._member_rows(item_ids)
        if not rows.size:
            return [[] for _ in b_ids]
        total = np.asarray(self._member_weights(rows) @ self.matrix_[rows], dtype=np.float32).ravel()
        features = np.flatnonzero(total)
        shares = total[features]
        return [
            self._reasons(features, shares, self.row_of_[b_id], max_words, for_set=True) if b_id in self.row_of_ else []
            for b_id in b_ids
        ]

    def explain_many(self, pairs: Iterable[tuple[int, int]], max_words: int = 3) -> list[list[str]]:
        """Return [self.explain(a, b, max_words) for a, b in pairs], a chunk of pairs at a time.

        A rebuild explains hundreds of thousands of pairs; one sparse product per chunk spares
        most of the per-pair cost.
        """
        pairs = list(pairs)
        reasons: list[list[str]] = [[] for _ in pairs]
        found = [
            (position, row_a, row_b)
            for position, (row_a, row_b) in enumerate(
                (self.row_of_.get(a_id), self.row_of_.get(b_id)) for a_id, b_id in pairs
            )
            if row_a is not None and row_b is not None
        ]
        for start in range(0, len(found), _EXPLAIN_CHUNK):
            positions, rows_a, rows_b = zip(*found[start:start + _EXPLAIN_CHUNK])
            # Row i of the elementwise product holds each shared feature's share of pair i's cosine.
            product = self.matrix_[np.array(rows_a)].multiply(self.matrix_[np.array(rows_b)]).tocsr()
            product.sort_indices()
            indptr = product.indptr.tolist()
            for i, position in enumerate(positions):
                begin, end = indptr[i], indptr[i + 1]
                reasons[position] = self.explainer_.sentences(
                    product.indices[begin:end], product.data[begin:end], max_words=max_words
                )
        return reasons

    def _row_entries(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Return one row's feature indices and weights as views of the CSR arrays.

        Indexing matrix_[row] builds a 1-row matrix, whose checks cost far more than the work.
        """
        start, end = self.matrix_.indptr[row:row + 2].tolist()
        return self.matrix_.indices[start:end], self.matrix_.data[start:end]

    def _reasons(self, indices: np.ndarray, data: np.ndarray, row: int, max_words: int,
                 for_set: bool = False) -> list[str]:
        """Name the features present in both vectors, by their share of the cosine."""
        target_indices, target_data = self._row_entries(row)
        shared, in_query, in_target = np.intersect1d(indices, target_indices, assume_unique=True, return_indices=True)
        return self.explainer_.sentences(
            shared, data[in_query] * target_data[in_target], for_set=for_set, max_words=max_words
        )
