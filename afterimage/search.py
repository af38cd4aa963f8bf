"""Reader search: accent- and case-insensitive, over titles, creators, tags and descriptions, and people."""
from __future__ import annotations

import sqlalchemy as sa

from afterimage.extensions import db
from afterimage.models import Creator, Item
from afterimage.people import public_credits
from afterimage.search_index import narrowing_filter
from recs.text import fold_accents

MAX_TERMS = 8
MAX_QUERY = 200


def query_terms(q: str) -> list[str]:
    """The folded words of a query, at most MAX_TERMS of them: "Cléo 5" -> ["cleo", "5"]."""
    return fold_accents(q[:MAX_QUERY]).split()[:MAX_TERMS]


def _like(term: str) -> str:
    """A LIKE pattern that matches the term literally, wildcards included."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_items(q: str, kind: str | None = None) -> sa.Select:
    """Items matching every word of the query, title matches first; empty for an empty query."""
    terms = query_terms(q)
    query = sa.select(Item)
    if not terms:
        return query.where(sa.false())
    # The index narrows to the candidate rows; LIKE on every term still decides, so short terms (which
    # a trigram index cannot look up) count too and the results are exactly those of a full scan.
    narrowed = narrowing_filter(terms, db.engine.dialect.name)
    if narrowed is not None:
        query = query.where(narrowed)
    for term in terms:
        query = query.where(Item.search_text.like(_like(term), escape="\\"))
    if kind:
        query = query.where(Item.kind == kind)
    phrase = " ".join(terms)
    title_first = sa.case((Item.title_key.like(_like(phrase), escape="\\"), 0), else_=1)
    return query.order_by(title_first, Item.title_key, Item.year)


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
