"""Reasons a person can read: "Also by Marguerite Duras", "Both tagged Memory · Love", "Both about: affair, lovers".

A reason names only features that carry the pair's score: among the ``TOP_CONTRIBUTORS`` shared
features with the largest share of the cosine. A creator is named once (its name's words are never
named again as words); a word is named only when it reads as one: no stop word, nothing under three
letters, no bare number, and no pair of characters cut from a longer Chinese, Japanese or Korean run.
"""

import numpy as np

from recs.documents import CREATOR_PREFIX, SERIES_PREFIX, TAG_PREFIX, is_content_word
from recs.text import fold_accents, is_unspaced, word_tokens

# Only the shared features with the largest shares of a pair's cosine may be named.
TOP_CONTRIBUTORS = 8
# Most tags or words one reason names.
MAX_NAMED = 3

# What a feature is, for a reason.
HIDDEN, CREATOR, SERIES, TAG, WORD = 0, 1, 2, 3, 4


def display_tag(label: str) -> str:
    """A tag as a reason shows it: "memory" -> "Memory", "French New Wave" unchanged."""
    return label[:1].upper() + label[1:] if label.islower() else label


class Explainer:
    """Turns a pair's shared features and their shares of the score into sentences.

    Built from a fitted model's feature names and labels; caches what each feature is.
    """

    def __init__(self, feature_names: np.ndarray, labels: dict[str, str]):
        self.feature_names = feature_names
        self.labels = labels
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
                return
        # A pair of characters may be cut from a longer run ("김지" from "김지영"): it counts for
        # the score but is never named; the whole run, when both share it, is.
        readable = is_content_word(name) and name not in self.creator_words
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
        top_groups, top_texts = groups[:TOP_CONTRIBUTORS], texts[:TOP_CONTRIBUTORS]
        tags = [t for g, t in zip(top_groups, top_texts) if g == TAG][:max_words]
        words = [t for g, t in zip(top_groups, top_texts) if g == WORD][:max_words]
        reasons = []
        if creators:
            reasons.append("Also by " + " and ".join(creators[:2]))
        if series:
            reasons.append("Same series: " + series[0])
        if tags:
            reasons.append(("Also tagged " if for_set else "Both tagged ") + " · ".join(tags))
        if words and max_words > 0:
            reasons.append(("Also about: " if for_set else "Both about: ") + ", ".join(words))
        return reasons
