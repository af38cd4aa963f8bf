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
