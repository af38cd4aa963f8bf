"""Synthetic and file catalogs for the recommender benchmark."""

import json

import numpy as np

from recs import ItemDoc

# Roughly the most frequent English words, most frequent first: real prose starts its Zipf
# curve with them, and the recommender must cope with that rather than with a curated text.
_COMMON_WORDS = (
    "the of and to in is was he for it with as his on be at by had are but from or have an they "
    "which one you were her all she there would their we him been has when who will more no if "
    "out so said what up its about into than them can only other new some could time these two "
    "may then do first any my now such like our over man me even most made after also did many "
    "before must through back years where much your way well down should because each just those "
    "people how too little state good very make world still own see men work long get here "
    "between both life being under never day same another know while last might us great old "
    "year off come since against go came right used take three"
).split()

_SYLLABLES = (
    "ka ri mo an el to sa lu ve di no ra ti ce ma be go fi la re ol um pa si de ju ne ha wo "
    "ar en is on us ba ko mi te na vi ro da ze qu yo"
).split()


def _pseudo_words(count: int, rng: np.random.Generator) -> list[str]:
    words: dict[str, None] = {}
    while len(words) < count:
        length = int(rng.integers(2, 5))
        words["".join(rng.choice(_SYLLABLES, size=length))] = None
    return list(words)


def _zipf_probabilities(size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1) ** exponent
    return weights / weights.sum()


def synthetic_catalog(n: int, seed: int = 20240611, first_id: int = 1000) -> list[ItemDoc]:
    """Return n reproducible items: Zipf words over topics, 100-200 words and 2-8 tags each."""
    rng = np.random.default_rng(seed)
    vocabulary_size = 60_000
    rare_words = _pseudo_words(vocabulary_size - len(_COMMON_WORDS), rng)
    vocabulary = np.array(_COMMON_WORDS + rare_words, dtype=object)
    word_probabilities = _zipf_probabilities(vocabulary_size, 1.0)
    word_cdf = np.cumsum(word_probabilities)

    # Topics reorder the rare words so each has its own frequent vocabulary; an item mixes its
    # topic's words with general prose, which gives real neighbours rather than pure noise.
    topic_count = max(20, n // 100)
    # Only the first few thousand ranks are reordered: beyond them words are rare either way,
    # and a full permutation per topic would cost more memory than the catalog itself.
    reordered_ranks = 5000
    topic_orders = [
        np.concatenate([
            np.arange(len(_COMMON_WORDS)),
            len(_COMMON_WORDS) + rng.choice(len(rare_words), reordered_ranks, replace=False),
        ]).astype(np.int32)
        for _ in range(min(topic_count, 1000))
    ]
    tag_pool = [" ".join(pair) for pair in zip(_pseudo_words(900, rng), _pseudo_words(900, rng))]
    tag_cdf = np.cumsum(_zipf_probabilities(len(tag_pool), 1.1))
    creator_pool = [
        f"{first.title()} {last.title()}"
        for first, last in zip(_pseudo_words(max(50, n // 4), rng), _pseudo_words(max(50, n // 4), rng))
    ]
    creator_cdf = np.cumsum(_zipf_probabilities(len(creator_pool), 0.8))

    def draw_words(count: int, topic_order: np.ndarray) -> str:
        ranks = np.minimum(np.searchsorted(word_cdf, rng.random(count)), vocabulary_size - 1)
        from_topic = (rng.random(count) < 0.5) & (ranks < len(topic_order))
        ranks[from_topic] = topic_order[ranks[from_topic]]
        return " ".join(vocabulary[ranks])

    # Tags and creators follow the topic too, as genres and authors do: most of an item's tags
    # come from its topic's favourites, the rest from the whole (Zipf-popular) tag pool.
    topic_tags = [rng.choice(len(tag_pool), size=8, replace=False) for _ in topic_orders]
    topic_creators = [rng.choice(len(creator_pool), size=4, replace=False) for _ in topic_orders]

    docs = []
    ids = first_id + rng.permutation(n * 3)[:n]
    for position in range(n):
        topic = int(rng.integers(len(topic_orders)))
        topic_order = topic_orders[topic]
        tag_count = int(rng.integers(2, 9))
        popular_tags = np.searchsorted(tag_cdf, rng.random(tag_count))
        favourite_tags = rng.choice(topic_tags[topic], size=tag_count)
        tags = {tag_pool[i] for i in np.where(rng.random(tag_count) < 0.6, favourite_tags, popular_tags)}
        popular_creator = int(np.searchsorted(creator_cdf, rng.random()))
        favourite_creator = int(rng.choice(topic_creators[topic]))
        creators = {creator_pool[favourite_creator if rng.random() < 0.7 else popular_creator]}
        description_length = int(rng.integers(100, 201))
        docs.append(ItemDoc(
            id=int(ids[position]),
            kind="film" if rng.random() < 0.55 else "book",
            title=draw_words(int(rng.integers(1, 5)), topic_order).title(),
            creators=tuple(sorted(creators)),
            tags=tuple(sorted(tags)),
            description=draw_words(description_length, topic_order),
            note=draw_words(int(rng.integers(0, 30)), topic_order) if rng.random() < 0.3 else "",
        ))
    return docs


def catalog_from_jsonl(path: str) -> list[ItemDoc]:
    """Read a catalog with one JSON object a line: id, kind, title, creators, tags, text, year.

    Ids may be numbers or strings ("tt0052893", a Goodreads id): strings are numbered in file order,
    since the engine keys items by integer.
    """
    docs = []
    number_of: dict[str, int] = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            docs.append(ItemDoc(
                id=_item_id(row["id"], number_of),
                kind=str(row.get("kind", "book")),
                title=str(row.get("title", "")),
                original_title=str(row.get("original_title", "")),
                creators=tuple(row.get("creators") or ()),
                tags=tuple(row.get("tags") or ()),
                description=str(row.get("text", "")),
                note=str(row.get("note", "")),
                year=int(row["year"]) if str(row.get("year") or "").isdigit() else None,
            ))
    return docs


def _item_id(raw, number_of: dict[str, int]) -> int:
    """An integer id as given, else the string's number in order of first appearance."""
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()):
        return int(raw)
    return number_of.setdefault(str(raw), 10_000_000_000 + len(number_of))
