"""What the recommender reads about an item, and how it turns items into weighted feature vectors.

The text pipeline, per item:

1. Words come from the title, the original title, the description and the author's note. Each is
   accent-folded and casefolded (``fold_accents``) and split into runs of letters and digits.
   Scripts written without spaces (Chinese, Japanese, Korean, Thai) become overlapping character
   pairs plus the whole run, so "二十四時間の情事" and "情事" share a feature. Stop words (English
   and the domain's own: film, book, novel, story, new, ...), words under three letters and bare
   numbers are never features.
2. Each tag becomes one whole-phrase feature ``tag:<key>`` after normalisation (hyphens, case,
   plurals, common synonyms such as "ya" / "young adult"); tags that record a state or a format
   ("owned", "kindle", "favorites", "to read") never become features. Each creator is one
   ``by:<folded name>``, and a Goodreads series in a title ("(The Hunger Games, #1)") one
   ``series:<name>``.
3. Per item and field, a feature seen c times counts 1 + ln c (saturation: a word repeated in a
   long description does not drown the rest), times its field's weight (``FIELD_WEIGHTS``), times
   the feature's smoothed idf; the sum over fields is L2-normalised.
"""

import re
from dataclasses import dataclass, field
from itertools import chain, count, islice

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from recs.text import fold_accents, is_unspaced, word_tokens

# How much each field's features count, as a factor on their values. Fitted by cross-validation on
# the goodbooks-dev and movielens-dev sets (docs/performance.md): creators and series twice what a
# title word or a tag counts. Descriptions and notes are not in those sets; they keep the ratio to
# titles the engine always had.
FIELD_WEIGHTS: dict[str, float] = {
    "title": 1.0,
    "original_title": 1.0,
    "series": 2.0,
    "creators": 2.0,
    "tags": 1.0,
    "description": 0.6,
    "note": 0.8,
}

TAG_PREFIX = "tag:"
CREATOR_PREFIX = "by:"
SERIES_PREFIX = "series:"
PHRASE_PREFIXES = (TAG_PREFIX, CREATOR_PREFIX, SERIES_PREFIX)

# Words that say nothing about what a film or book is about: English function words and the
# domain's own vocabulary, which every item of the catalog could carry.
DOMAIN_STOP_WORDS = frozenset(
    """
    film films movie movies cinema book books novel novels novella story stories tale tales read reads
    reading reader readers reread watch watched watching rewatch rewatched seen viewing new old one two
    three first second third last part volume vol edition series chapter version cut director
    directed author written writer writes writing work works title titles page pages time times way
    thing things really quite just like know think thought make makes made good great best better bad
    review reviews rating star stars favourite favorite favorites favourites loved love liked lot
    little much many get got also even still ever never every year years day days week today
    le la les de des du un une et en el los las del mi il der die das und ein eine
    man men woman women people person life lives world place end ends begin begins beginning
    scene scenes leave leaves left tell tells told happen happens happened repeat repeated stop stops
    move moves take takes took find finds go goes went come comes came become becomes became turn
    turns return returns live living want wants try tries set sets use uses used keep keeps kept
    look looks looking meet meets met give gives gave bring brings brought run runs whose
    """.split()
) - {"love"}  # love is a subject as often as a verdict ("Both about: love, war")
# scikit-learn's list also holds a few words that name what a work is about.
_CONTENT_WORDS_IN_STOP_LIST = frozenset("fire bill computer cry detail empty found front interest mill move system thick thin".split())
STOP_WORDS = (frozenset(ENGLISH_STOP_WORDS) - _CONTENT_WORDS_IN_STOP_LIST) | DOMAIN_STOP_WORDS

# Shelves and tags that record a reading or viewing state, ownership, a format or a verdict: they
# say nothing about the work, so they are never content ("owned" must not make two books alike).
STATE_TAGS = frozenset(
    line.strip() for line in """
    to read
    currently reading
    read
    reading
    want to read
    tbr
    to buy
    wishlist
    wish list
    owned
    own
    owned books
    i own
    books i own
    my books
    my library
    library
    borrowed
    default
    unread
    did not finish
    dnf
    abandoned
    on hold
    paused
    re read
    reread
    rewatch
    rewatched
    favorites
    favourites
    favorite
    favourite
    faves
    fave
    all time favorites
    all time favourites
    kindle
    ebook
    ebooks
    e book
    audiobook
    audiobooks
    audible
    audio
    paperback
    hardcover
    hardback
    physical
    epub
    pdf
    dvd
    blu ray
    netflix
    streaming
    watchlist
    seen
    watched
    book club
    bookclub
    five stars
    5 stars
    novel
    novels
    book
    books
    film
    films
    movie
    movies
    """.strip().splitlines()
)

# Spellings of one genre that readers use interchangeably, folded to one key.
TAG_SYNONYMS: dict[str, str] = {
    "ya": "young adult", "ya fiction": "young adult", "teen": "young adult", "teen fiction": "young adult",
    "young adult fiction": "young adult", "sci fi": "science fiction", "scifi": "science fiction",
    "sf": "science fiction", "science fiction fantasy": "science fiction", "childrens": "children",
    "children s": "children", "kids": "children", "non fiction": "nonfiction", "rom com": "romantic comedy",
    "romcom": "romantic comedy", "lit fic": "literary fiction", "litfic": "literary fiction",
    "classic": "classics", "dystopia": "dystopian", "comic": "comics", "graphic novel": "graphic novels",
    "historical": "historical fiction", "hist fic": "historical fiction", "mysteries": "mystery",
    "thrillers": "thriller", "film noir": "noir", "biography memoir": "memoir", "memoirs": "memoir",
    "bio": "biography", "doc": "documentary", "documentaries": "documentary", "nouvelle vague": "french new wave",
}

# A Goodreads title names its series in a trailing parenthesis: "Catching Fire (The Hunger Games, #2)".
_SERIES = re.compile(r"\(([^()]*?),?\s*#\s*\d[\d.\-–]*\)\s*$")


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
    year: int | None = None
    # (name, role) of people credited besides the makers: a translator, an illustrator. They match as
    # creators do; a reason names them by their role ("Also translated by Deborah Smith").
    contributors: tuple[tuple[str, str], ...] = ()


def phrase_key(phrase: str) -> str:
    """Return the folded, space-normalised form under which a creator (or a series) is matched."""
    return " ".join(fold_accents(phrase).split())


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tag_key(tag: str) -> str:
    """Return the key under which a tag is matched, or "" for a tag that records no content.

    "Sci-Fi", "science_fiction" and "science fiction" meet; "vampires" meets "vampire"; "owned",
    "kindle" and "favorites" are states and formats, not content.
    """
    key = " ".join(fold_accents(tag).replace("-", " ").replace("_", " ").replace("'", " ").split())
    if not key or key in STATE_TAGS or key.isdigit():
        return ""
    key = TAG_SYNONYMS.get(key, key)
    return " ".join(map(_singular, key.split()))


def split_series(title: str) -> tuple[str, str]:
    """Return (the title without a trailing Goodreads series mark, the series name or "")."""
    match = _SERIES.search(title)
    if not match or not match.group(1).strip():
        return title, ""
    return title[: match.start()].rstrip(), match.group(1).strip()


def is_content_word(word: str) -> bool:
    """True for a word that may be a feature: not a stop word, not a bare number, three letters or
    more unless written in a script without spaces (where a pair of characters is a word)."""
    if word in STOP_WORDS or word.isdigit():
        return False
    return len(word) >= 3 or is_unspaced(word)


@dataclass
class FeatureCounts:
    """Every item's weighted, saturated feature values before idf."""

    counts: sp.csr_matrix  # (n_items, n_features) float32, columns in the order of `names`
    names: list[str]
    labels: dict[str, str] = field(default_factory=dict)  # phrase feature -> first spelling seen
    roles: dict[str, str] = field(default_factory=dict)  # creator feature -> role, for people never a maker


# Word fields, each one segment of a document; phrase fields follow.
_WORD_FIELDS = ("title", "original_title", "description", "note")
_PHRASE_FIELDS = ("series", "creators", "tags")
_SEGMENT_WEIGHTS = np.array([FIELD_WEIGHTS[name] for name in _WORD_FIELDS + _PHRASE_FIELDS], dtype=np.float32)
_SEGMENTS = len(_SEGMENT_WEIGHTS)

# Folded ASCII text split by bytes.translate and bytes.split gives the words of word_tokens()
# (runs of [a-z0-9]) twice as fast as a regular expression; lowercases A-Z too.
_ASCII_SEPARATORS = bytes(
    byte + 32 if 65 <= byte <= 90 else byte if 48 <= byte <= 57 or 97 <= byte <= 122 else 32
    for byte in range(256)
)
# Items tokenised at once before their tokens become column numbers: bounds the strings alive.
_COUNT_BATCH = 512


def _word_tokens_bytes(text: str) -> list[bytes]:
    """Return word_tokens(fold_accents(text)) as UTF-8, unfiltered (columns are filtered once)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_SEPARATORS).split()
    return list(map(str.encode, word_tokens(fold_accents(text), whole_runs=True)))


class _Phrases:
    """Map each spelling of a tag, creator or series to its feature (UTF-8) once, remembering labels."""

    def __init__(self, prefix: str, key, labels: dict[str, str]):
        self.prefix, self.key, self.labels = prefix, key, labels
        self.known: dict[str, bytes] = {}

    def distinct(self, phrases) -> list[bytes]:
        """The distinct features of these spellings, in order: a tag given twice is one tag."""
        try:
            keys = dict.fromkeys(map(self.known.__getitem__, phrases))
        except KeyError:
            keys = dict.fromkeys(map(self._learn, phrases))
        keys.pop(b"", None)
        return list(keys)

    def _learn(self, phrase: str) -> bytes:
        feature = self.known.get(phrase)
        if feature is None:
            key = self.key(phrase)
            feature = (self.prefix + key).encode() if key else b""
            if key:
                self.labels.setdefault(self.prefix + key, " ".join(phrase.split()))
            self.known[phrase] = feature
        return feature


def _segments(doc: ItemDoc, phrases: list[_Phrases]) -> list[list[bytes]]:
    title, series = split_series(doc.title)
    return [
        _word_tokens_bytes(title),
        _word_tokens_bytes(doc.original_title),
        _word_tokens_bytes(doc.description),
        _word_tokens_bytes(doc.note),
        phrases[0].distinct((series,) if series else ()),
        phrases[1].distinct(doc.creators + tuple(name for name, _ in doc.contributors)),
        phrases[2].distinct(doc.tags),
    ]


def count_features(docs: list[ItemDoc], vocabulary: dict[str, int] | None = None) -> FeatureCounts:
    """Count every item's features (on a fixed vocabulary when given: unknown features are left out).

    Tokens (as UTF-8 bytes, cheaper to make than str) become column numbers by dict lookups run
    from C; saturation and field weights are applied to whole arrays: no Python code runs per token.
    """
    labels: dict[str, str] = {}
    phrases = [
        _Phrases(SERIES_PREFIX, phrase_key, labels),
        _Phrases(CREATOR_PREFIX, phrase_key, labels),
        _Phrases(TAG_PREFIX, tag_key, labels),
    ]
    column_of: dict[bytes, int] = {}
    batches = []
    for start in range(0, len(docs), _COUNT_BATCH):
        segments = list(chain.from_iterable(_segments(doc, phrases) for doc in docs[start : start + _COUNT_BATCH]))
        batches.append(_count_batch(segments, column_of))
    names = [token.decode() for token in column_of]
    roles = contributor_roles(docs)
    counts = sp.vstack(
        [sp.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], len(names))) for b in batches]
        or [sp.csr_matrix((0, len(names)), dtype=np.float32)],
        format="csr",
    )
    if vocabulary is None:
        keep = np.array([name.startswith(PHRASE_PREFIXES) or is_content_word(name) for name in names], dtype=bool)
        kept_names = [name for name, kept in zip(names, keep) if kept]
        counts = counts[:, np.flatnonzero(keep)].tocsr()
        return FeatureCounts(counts, kept_names, labels, roles)
    # Onto the given vocabulary's columns.
    target = np.array([vocabulary.get(name, -1) for name in names], dtype=np.int64)
    coo = counts.tocoo()
    known = target[coo.col] >= 0 if coo.nnz else np.zeros(0, dtype=bool)
    counts = sp.csr_matrix(
        (coo.data[known], (coo.row[known], target[coo.col[known]])), shape=(len(docs), len(vocabulary)),
        dtype=np.float32,
    )
    return FeatureCounts(counts, [], labels, roles)


def contributor_roles(docs: list[ItemDoc]) -> dict[str, str]:
    """The creator features of people credited only besides the makers (translators, illustrators), with the
    first role seen; someone who is a maker anywhere is named as one."""
    roles: dict[str, str] = {}
    for doc in docs:
        for name, role in doc.contributors:
            if key := phrase_key(name):
                roles.setdefault(CREATOR_PREFIX + key, role)
    if roles:
        for doc in docs:
            for name in doc.creators:
                roles.pop(CREATOR_PREFIX + phrase_key(name), None)
    return roles


def _count_batch(segments: list[list[bytes]], column_of: dict[bytes, int]) -> sp.csr_matrix:
    """Turn a batch's token lists into a (docs x columns) matrix of saturated, weighted counts."""
    lengths = np.fromiter(map(len, segments), dtype=np.int64, count=len(segments))
    tokens = list(chain.from_iterable(segments))
    known = len(column_of)
    columns = np.fromiter(map(column_of.setdefault, tokens, count(known)), dtype=np.int64, count=len(tokens))
    # setdefault numbered new tokens by their position; renumber them in first-seen order.
    fresh = list(islice(column_of, known, None))
    if fresh:
        provisional = np.fromiter(map(column_of.__getitem__, fresh), dtype=np.int64, count=len(fresh))
        final = np.zeros(len(tokens) + 1, dtype=np.int64)
        final[provisional - known] = np.arange(known, known + len(fresh))
        new = columns >= known
        columns[new] = final[columns[new] - known]
        column_of.update(zip(fresh, range(known, known + len(fresh))))
    n_segments = len(segments)
    per_segment = sp.csr_matrix(
        (np.ones(len(tokens), dtype=np.float32), (np.repeat(np.arange(n_segments), lengths), columns)),
        shape=(n_segments, len(column_of)),
    )
    per_segment.sum_duplicates()
    per_segment.data = 1 + np.log(per_segment.data)
    n_docs = n_segments // _SEGMENTS
    # Each document's row sums its segments, each times its field's weight.
    combine = sp.csr_matrix(
        (np.tile(_SEGMENT_WEIGHTS, n_docs), (np.repeat(np.arange(n_docs), _SEGMENTS), np.arange(n_segments))),
        shape=(n_docs, n_segments),
    )
    return (combine @ per_segment).tocsr().astype(np.float32)


def item_features(doc: ItemDoc) -> dict[str, float]:
    """Return one item's feature values before idf (what a row of count_features holds)."""
    counted = count_features([doc])
    row = counted.counts.tocsr()
    return {counted.names[column]: float(value) for column, value in zip(row.indices, row.data)}
