"""What the recommender reads about an item, and how it turns an item into weighted features.

The text pipeline, per item:

1. Words come from the title, the original title, the description and the author's note. Each is
   accent-folded and casefolded (``fold_accents``), split into runs of letters and digits, and
   English stop words and one-letter words are dropped. Scripts written without spaces (Chinese,
   Japanese, Korean, Thai) become overlapping character pairs, so "二十四時間の情事" still yields
   features. A word is the same feature whichever field it came from.
2. Each tag becomes one whole-phrase feature ``tag:<folded tag>`` and each creator one
   ``by:<folded name>``, so "tag:french new wave" is never confused with the words "french" or
   "wave", and a reason can name the tag or the person.
3. ``FIELD_WEIGHTS`` says how many times a field's features are counted. TF-IDF uses sublinear tf
   (1 + ln count), so a feature seen once in a field of weight w scores 1 + ln w before idf.
"""

from dataclasses import dataclass
from itertools import chain, count, islice

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from recs.text import fold_accents, word_tokens

# The one place that says how much each field counts (integer repeat counts, see above).
FIELD_WEIGHTS: dict[str, int] = {
    "title": 2,
    "original_title": 2,
    "creators": 3,
    "tags": 3,
    "description": 1,
    "note": 2,
}

TAG_PREFIX = "tag:"
CREATOR_PREFIX = "by:"

_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS)


@dataclass(frozen=True)
class ItemDoc:
    """One film or book as plain data: its database id, kind and the text it is known by."""

    id: int
    kind: str  # "film" | "book"
    title: str
    original_title: str = ""
    creators: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    description: str = ""
    note: str = ""


def phrase_key(phrase: str) -> str:
    """Return the folded, space-normalised form under which a tag or creator is matched."""
    return " ".join(fold_accents(phrase).split())


def _phrase_features(prefix: str, phrases: tuple[str, ...]) -> list[str]:
    # A tag given twice is still one tag.
    keys = dict.fromkeys(phrase_key(phrase) for phrase in phrases)
    return [prefix + key for key in keys if key]


def item_features(doc: ItemDoc) -> list[str]:
    """Return the item's feature tokens, each repeated as often as its field's weight."""
    fields = (
        ("title", word_tokens(fold_accents(doc.title), _STOP_WORDS)),
        ("original_title", word_tokens(fold_accents(doc.original_title), _STOP_WORDS)),
        ("creators", _phrase_features(CREATOR_PREFIX, doc.creators)),
        ("tags", _phrase_features(TAG_PREFIX, doc.tags)),
        ("description", word_tokens(fold_accents(doc.description), _STOP_WORDS)),
        ("note", word_tokens(fold_accents(doc.note), _STOP_WORDS)),
    )
    features = []
    for field, tokens in fields:
        features.extend(tokens * FIELD_WEIGHTS[field])
    return features


# Word fields of one weight are split as one text: no word run crosses the line break joining them.
_WORD_FIELDS_BY_WEIGHT: dict[int, list[str]] = {}
for _name in ("title", "original_title", "description", "note"):
    _WORD_FIELDS_BY_WEIGHT.setdefault(FIELD_WEIGHTS[_name], []).append(_name)

# Items tokenised at once before their tokens become column numbers: bounds the strings alive.
_COUNT_BATCH = 512


class _PhraseFeatures:
    """Map each spelling of a tag or creator to its feature (UTF-8) once, remembering the first label."""

    def __init__(self, prefix: str, labels: dict[str, str]):
        self.prefix = prefix
        self.labels = labels
        self.known: dict[str, bytes] = {}

    def distinct(self, phrases: tuple[str, ...]) -> list[bytes]:
        """Return the distinct features of these spellings, in order: a tag given twice is one tag."""
        try:
            # A plain dict lookup run from C; only an item with a spelling not seen before
            # takes the slow path.
            keys = dict.fromkeys(map(self.known.__getitem__, phrases))
        except KeyError:
            keys = dict.fromkeys(map(self._learn, phrases))
        keys.pop(b"", None)
        return list(keys)

    def _learn(self, phrase: str) -> bytes:
        feature = self.known.get(phrase)
        if feature is None:
            key = phrase_key(phrase)
            feature = (self.prefix + key).encode() if key else b""
            if key:
                self.labels.setdefault(self.prefix + key, " ".join(phrase.split()))
            self.known[phrase] = feature
        return feature


@dataclass
class FeatureCounts:
    """Every item's weighted feature counts: what item_features() gives, counted for all items."""

    counts: sp.csr_matrix  # (n_items, n_features) float32, columns in the order of `names`
    names: list[str]  # features in the order they were first seen
    labels: dict[str, str]  # tag and creator feature -> the first spelling seen, space-normalised


# Folded ASCII text split by bytes.translate and bytes.split gives the words of
# word_tokens() (runs of [a-z0-9]) twice as fast as a regular expression; lowercases A-Z too.
_ASCII_SEPARATORS = bytes(
    byte + 32 if 65 <= byte <= 90 else byte if 48 <= byte <= 57 or 97 <= byte <= 122 else 32
    for byte in range(256)
)
# Features never kept: stop words, and the one-letter words that splitting ASCII text leaves.
_DROPPED = sorted(
    {word.encode() for word in _STOP_WORDS} | {bytes([byte]) for byte in b"abcdefghijklmnopqrstuvwxyz0123456789"}
)


def _word_tokens_bytes(text: str) -> list[bytes]:
    """Return word_tokens(fold_accents(text)) as UTF-8, with stop and one-letter words left in."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_SEPARATORS).split()
    return list(map(str.encode, word_tokens(fold_accents(text))))


def count_features(docs: list[ItemDoc]) -> FeatureCounts:
    """Count the features of many items at once, equal to counting item_features() of each.

    Tokens (as UTF-8 bytes, cheaper to make than str) become column numbers by dict lookups
    run from C, and field weights are multiplied in rather than repeated: no Python code runs
    per token.
    """
    # Dropped words take the first columns, which are removed at the end: filtering them out
    # of each token list would be a Python loop over every token.
    column_of = {word: column for column, word in enumerate(_DROPPED)}
    labels: dict[str, str] = {}
    phrase_fields = [
        ("creators", _PhraseFeatures(CREATOR_PREFIX, labels)),
        ("tags", _PhraseFeatures(TAG_PREFIX, labels)),
    ]
    segments_per_doc = len(_WORD_FIELDS_BY_WEIGHT) + len(phrase_fields)
    segment_weights = [weight for weight in _WORD_FIELDS_BY_WEIGHT] + [
        FIELD_WEIGHTS[name] for name, _ in phrase_fields
    ]
    batches = []
    for start in range(0, len(docs), _COUNT_BATCH):
        segments: list[list[bytes]] = []
        for doc in docs[start : start + _COUNT_BATCH]:
            for names in _WORD_FIELDS_BY_WEIGHT.values():
                segments.append(_word_tokens_bytes("\n".join([getattr(doc, name) for name in names])))
            for name, features in phrase_fields:
                segments.append(features.distinct(getattr(doc, name)))
        batches.append(_count_batch(segments, segment_weights, segments_per_doc, column_of))
    names = list(map(bytes.decode, islice(column_of, len(_DROPPED), None)))
    # Early batches knew fewer columns; all share the final width before being stacked.
    counts = sp.vstack(
        [sp.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], len(names))) for b in batches]
        or [sp.csr_matrix((0, len(names)), dtype=np.float32)],
        format="csr",
    )
    return FeatureCounts(counts=counts, names=names, labels=labels)


def _columns_of(tokens: list[bytes], column_of: dict[bytes, int]) -> np.ndarray:
    """Return each token's column, numbering unseen tokens after the known ones in first-seen order."""
    known = len(column_of)
    # setdefault run from C: a new token takes the running count as a provisional label, always
    # >= known, so labels below `known` are final columns and the rest are renumbered below.
    labels = np.fromiter(map(column_of.setdefault, tokens, count(known)), dtype=np.int64, count=len(tokens))
    fresh_tokens = list(islice(column_of, known, None))
    if fresh_tokens:
        provisional = np.fromiter(map(column_of.__getitem__, fresh_tokens), dtype=np.int64, count=len(fresh_tokens))
        final = np.zeros(len(tokens), dtype=np.int64)
        final[provisional - known] = np.arange(known, known + len(fresh_tokens))
        fresh = labels >= known
        labels[fresh] = final[labels[fresh] - known]
        column_of.update(zip(fresh_tokens, range(known, known + len(fresh_tokens))))
    return labels


def _count_batch(segments, segment_weights, segments_per_doc, column_of) -> sp.csr_matrix:
    """Turn a batch's token lists into a (docs x kept columns) matrix of weighted counts."""
    lengths = np.fromiter(map(len, segments), dtype=np.int64, count=len(segments))
    columns = _columns_of(list(chain.from_iterable(segments)), column_of)
    n_docs = len(segments) // segments_per_doc
    weights = np.repeat(np.tile(np.asarray(segment_weights, dtype=np.float32), n_docs), lengths)
    rows = np.repeat(np.arange(len(segments)) // segments_per_doc, lengths)
    kept = columns >= len(_DROPPED)
    batch = sp.csr_matrix(
        (weights[kept], (rows[kept], columns[kept] - len(_DROPPED))),
        shape=(n_docs, len(column_of) - len(_DROPPED)),
    )
    batch.sum_duplicates()
    return batch
