"""Reader search: accent- and case-insensitive, over titles, creators, tags and descriptions, and people.

An item is found when every word of the query is somewhere in its folded text (search_text). Results are
ranked by where the words are: the title (or original title) first, the whole query as the title above a
title that starts with it above one that holds it; then a person credited on the item; then a tag; then
anything else (the description). Within a rank, the database's full-text relevance decides: FTS5's bm25 on
SQLite, pg_trgm's similarity of the title on PostgreSQL. A query nothing matches is tried once more for
typos against titles ("hiroshma" finds Hiroshima mon amour), on three-letter pieces of the words.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from markupsafe import Markup, escape

from afterimage.catalog.models import Creator, Credit, Item, Tag, item_tags
from afterimage.catalog.people import public_credits
from afterimage.catalog.search_index import bm25_ranking, indexable, narrowing_filter, sharing_trigrams
from afterimage.extensions import db
from recs.text import fold_accents

MAX_TERMS = 8
MAX_QUERY = 200
# Points for where a word is found; the whole query as the title, or at its start, adds more.
TITLE_POINTS, PERSON_POINTS, TAG_POINTS = 8, 4, 2
WHOLE_TITLE_POINTS, TITLE_START_POINTS, TITLE_PHRASE_POINTS = 24, 16, 8
# Typo tolerance: how alike (shared three-letter pieces, as pg_trgm measures) each query word and its closest
# title word must be, and all of them on average ("amor" is 0.38 like "amour", "war" 0.33 like "was"); the
# shortest query word it applies to; and how many candidates the database proposes.
TYPO_WORD_SIMILARITY = 0.3
TYPO_SIMILARITY = 0.45
TYPO_MIN_LENGTH = 4
TYPO_CANDIDATES = 300
SNIPPET_CONTEXT = 70


def query_terms(q: str) -> list[str]:
    """The folded words of a query, at most MAX_TERMS of them: "Cléo 5" -> ["cleo", "5"]."""
    return fold_accents(q[:MAX_QUERY]).split()[:MAX_TERMS]


def _like(term: str) -> str:
    """A LIKE pattern that matches the term literally, wildcards included."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column, term: str) -> sa.ColumnElement[bool]:
    """column holds the term literally."""
    return column.like(_like(term), escape="\\")


@dataclass(frozen=True)
class SearchResults:
    """The items a query finds, best first, and whether they are only close to it (typos)."""

    query: sa.Select
    close_matches: bool = False


def points(condition: sa.ColumnElement[bool], value: int) -> sa.ColumnElement[int]:
    """value when the condition holds, else 0."""
    return sa.case((condition, value), else_=0)


def relevance_points(terms: list[str]) -> sa.ColumnElement[int]:
    """Where the words are found: title and original title, then people credited, then tags."""
    phrase = " ".join(terms)
    score = points(Item.title_key == phrase, WHOLE_TITLE_POINTS)
    score += points(Item.title_key.like(_like(phrase)[1:], escape="\\"), TITLE_START_POINTS)
    score += points(_contains(Item.title_key, phrase), TITLE_PHRASE_POINTS)
    for term in terms:
        # The original title is not stored folded: lower() serves scripts without case and unaccented text.
        in_title = sa.or_(_contains(Item.title_key, term), _contains(sa.func.lower(Item.original_title), term))
        score += points(in_title, TITLE_POINTS)
        credited = sa.exists().where(
            Credit.item_id == Item.id, Credit.creator_id == Creator.id, _contains(Creator.name_key, term)
        )
        score += points(credited, PERSON_POINTS)
        tagged = sa.exists().where(
            item_tags.c.item_id == Item.id, item_tags.c.tag_id == Tag.id, _contains(Tag.name_key, term)
        )
        score += points(tagged, TAG_POINTS)
    return score


def ranked(query: sa.Select, terms: list[str]) -> sa.Select:
    """The query ordered by relevance points, then the database's full-text relevance, then title."""
    dialect = db.engine.dialect.name
    order: list = [relevance_points(terms).desc()]
    bm25 = bm25_ranking(terms, dialect)
    if bm25 is not None:
        query = query.outerjoin(bm25, bm25.c.item_id == Item.id)
        order.append(sa.func.coalesce(bm25.c.rank, 0))
    elif dialect == "postgresql":
        order.append(sa.func.similarity(Item.title_key, " ".join(terms)).desc())
    return query.order_by(*order, Item.title_key, Item.year, Item.id)


def matching_items(terms: list[str], kind: str | None) -> sa.Select:
    """Items holding every term somewhere in their folded text, unordered."""
    query = sa.select(Item)
    # The index narrows to the candidate rows; LIKE on every term still decides, so short terms (which
    # a trigram index cannot look up) count too and the results are exactly those of a full scan.
    narrowed = narrowing_filter(terms, db.engine.dialect.name)
    if narrowed is not None:
        query = query.where(narrowed)
    for term in terms:
        query = query.where(_contains(Item.search_text, term))
    if kind:
        query = query.where(Item.kind == kind)
    return query


def search_items(q: str, kind: str | None = None) -> sa.Select:
    """Items matching every word of the query, best first; empty for an empty query. Literal: the API and
    anything else that must find exactly what was typed use this."""
    terms = query_terms(q)
    if not terms:
        return sa.select(Item).where(sa.false())
    return ranked(matching_items(terms, kind), terms)


def search_catalog(q: str, kind: str | None = None) -> SearchResults:
    """What a person searching sees: search_items, or, when nothing matches, titles close to the query."""
    exact = search_items(q, kind)
    terms = query_terms(q)
    if not terms or db.session.scalar(sa.select(exact.with_only_columns(Item.id).limit(1).exists())):
        return SearchResults(exact)
    close = close_titles(terms, kind)
    if not close:
        return SearchResults(exact)
    position = sa.case({item_id: n for n, item_id in enumerate(close)}, value=Item.id)
    return SearchResults(sa.select(Item).where(Item.id.in_(close)).order_by(position), close_matches=True)


# --- Typos -------------------------------------------------------------------------------------------------

def trigrams(word: str) -> set[str]:
    """The word's three-letter pieces, padded as pg_trgm pads them so first and last letters count."""
    padded = f"  {word} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def likeness(a: str, b: str) -> float:
    """Shared pieces over all pieces of two words (pg_trgm's similarity): 1 for equal words."""
    x, y = trigrams(a), trigrams(b)
    return len(x & y) / len(x | y)


def typo_score(terms: list[str], title_words: list[str]) -> float:
    """How well each query word finds a title word, averaged; 0 when one finds none or the average is low."""
    scores = []
    for term in terms:
        best = max((likeness(term, word) for word in title_words), default=0.0)
        if best < TYPO_WORD_SIMILARITY:
            return 0.0
        scores.append(best)
    mean = sum(scores) / len(scores)
    return mean if mean >= TYPO_SIMILARITY else 0.0


def typo_candidates(terms: list[str], kind: str | None) -> list[tuple[int, str, str | None]]:
    """(id, folded title, original title) of items the database finds alike: FTS5 pieces on SQLite, pg_trgm's
    word similarity on PostgreSQL."""
    query = sa.select(Item.id, Item.title_key, Item.original_title)
    if not any(indexable(t) for t in terms):
        return []
    if db.engine.dialect.name == "postgresql":
        alike = [sa.func.word_similarity(t, Item.title_key) >= TYPO_WORD_SIMILARITY for t in terms]
        query = query.where(sa.or_(*alike)).limit(TYPO_CANDIDATES)
    elif db.engine.dialect.name == "sqlite":
        query = query.where(Item.id.in_(sharing_trigrams(terms, TYPO_CANDIDATES)))
    else:
        return []
    if kind:
        query = query.where(Item.kind == kind)
    return [tuple(row) for row in db.session.execute(query)]


def close_titles(terms: list[str], kind: str | None) -> list[int]:
    """Ids of items whose title (or original title) has a word close to each query word, closest first."""
    if not any(len(t) >= TYPO_MIN_LENGTH for t in terms):
        return []
    phrase = " ".join(terms)
    scored = []
    for item_id, title_key, original_title in typo_candidates(terms, kind):
        words = title_key.split() + fold_accents(original_title or "").split()
        score = typo_score(terms, words)
        if score:
            # Among equally close words, the title most like the whole query ("Hiroshima" before
            # "Children of Hiroshima").
            scored.append((-score, -likeness(phrase, title_key), title_key, item_id))
    return [item_id for *_, item_id in sorted(scored)]


def close_words(terms: list[str], text: str) -> list[str]:
    """The folded words of a text close to a query word: what a typo-tolerant match found."""
    return [w for w in fold_accents(text).split() if any(likeness(t, w) >= TYPO_WORD_SIMILARITY for t in terms)]


# --- Snippets ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Snippet:
    """Why a result matched: the field and its text with the query's words marked."""

    field: str
    text: Markup


def folded_with_positions(text: str) -> tuple[str, list[int]]:
    """The text folded character by character, and for each folded character the index it came from."""
    folded, origin = [], []
    for index, character in enumerate(text):
        piece = fold_accents(character)
        folded.append(piece)
        origin.extend([index] * len(piece))
    return "".join(folded), origin


def highlight(text: str, terms: list[str], window: int | None = None) -> Markup | None:
    """The text with every occurrence of the terms in <mark>, cut to a window around the first; None if
    no term is in it."""
    folded, origin = folded_with_positions(text)
    spans = []
    for term in terms:
        start = folded.find(term)
        while start != -1 and term:
            spans.append((origin[start], origin[start + len(term) - 1] + 1))
            start = folded.find(term, start + len(term))
    if not spans:
        return None
    spans.sort()
    begin, end = 0, len(text)
    if window is not None and len(text) > 2 * window:
        begin = max(0, spans[0][0] - window)
        end = min(len(text), spans[0][1] + window)
    pieces, cursor = [], begin
    for start, stop in spans:
        if start < cursor or stop > end:
            continue
        pieces.append(escape(text[cursor:start]) + Markup("<mark>") + escape(text[start:stop]) + Markup("</mark>"))
        cursor = stop
    pieces.append(escape(text[cursor:end]))
    return Markup("…" if begin else "") + Markup("").join(pieces) + Markup("…" if end < len(text) else "")


def snippet_for(item: Item, terms: list[str]) -> Snippet | None:
    """The first field, in ranking order, holding a word of the query, with the words marked."""
    fields = [
        ("Title", item.title), ("Original title", item.original_title or ""),
        ("People", ", ".join(dict.fromkeys(c.creator.name for c in item.credits))),
        ("Tags", ", ".join(t.name for t in item.tags)), ("Description", item.description or ""),
        ("Country", item.country or ""), ("Language", item.language or ""),
    ]
    for field, text in fields:
        marked = highlight(text, terms, SNIPPET_CONTEXT if field == "Description" else None)
        if marked is not None:
            return Snippet(field, marked)
    return None


def close_snippet(item: Item, terms: list[str]) -> Snippet | None:
    """For a typo-tolerant match: the title (or original title) with the words close to the query marked."""
    for field, text in (("Title", item.title), ("Original title", item.original_title or "")):
        marked = highlight(text, close_words(terms, text))
        if marked is not None:
            return Snippet(f"{field}, close to your search", marked)
    return None


def snippets(items: list[Item], q: str, close_matches: bool = False) -> dict[int, Snippet]:
    """A snippet for each item that has one, by id."""
    terms = query_terms(q)
    make = close_snippet if close_matches else snippet_for
    found = {item.id: make(item, terms) for item in items}
    return {item_id: s for item_id, s in found.items() if s is not None}


def search_people(q: str, limit: int = 8) -> list[Creator]:
    """People with public works whose name holds every word of the query, names starting with the first word first."""
    terms = query_terms(q)
    if not terms:
        return []
    query = sa.select(Creator).where(Creator.id.in_(public_credits()))
    for term in terms:
        query = query.where(Creator.name_key.like(_like(term), escape="\\"))
    starts = sa.case((Creator.name_key.like(_like(terms[0])[1:], escape="\\"), 0), else_=1)
    return list(db.session.scalars(query.order_by(starts, Creator.name_key).limit(limit)))
