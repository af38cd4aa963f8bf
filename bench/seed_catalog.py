"""Fill a site database with a large synthetic catalog quickly (bulk inserts), for benchmarks."""
from __future__ import annotations

import sqlalchemy as sa

from afterimage.catalog.models import Creator, Credit, Item, Tag, item_tags
from afterimage.catalog.rules import searchable_text
from afterimage.catalog.slugs import slugify
from afterimage.extensions import db
from recs import ItemDoc, fold_accents

CHUNK = 2000


def _insert(table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(table), rows[start:start + CHUNK])


def year_of(doc: ItemDoc) -> int:
    """A synthetic item's year."""
    return 1900 + doc.id % 120


def seed_catalog(docs: list[ItemDoc]) -> list[str]:
    """Insert the documents as items with tags and credits (no per-row ORM work); return their slugs."""
    tag_ids = {name: n + 1 for n, name in enumerate(sorted({t for d in docs for t in d.tags}))}
    creator_ids = {name: n + 1 for n, name in enumerate(sorted({c for d in docs for c in d.creators}))}
    _insert(Tag.__table__, [
        dict(id=i, name=name, name_key=fold_accents(name), slug=f"{slugify(name)}-{i}", family="other", description="")
        for name, i in tag_ids.items()
    ])
    _insert(Creator.__table__, [
        dict(id=i, name=name, name_key=fold_accents(name), slug=f"{slugify(name)}-{i}")
        for name, i in creator_ids.items()
    ])
    slugs = [f"{slugify(d.title) or 'item'}-{d.id}" for d in docs]
    _insert(Item.__table__, [
        dict(
            id=d.id, kind=d.kind, slug=slug, title=d.title, title_key=fold_accents(d.title), year=year_of(d),
            description=d.description, note=d.note, status="seen",
            search_text=searchable_text(d.title, None, year_of(d), None, None, d.description, list(d.creators),
                                        sorted(d.tags, key=fold_accents)),
        )
        for d, slug in zip(docs, slugs)
    ])
    _insert(Credit.__table__, [
        dict(item_id=d.id, creator_id=creator_ids[c], role="director" if d.kind == "film" else "author", position=p)
        for d in docs for p, c in enumerate(d.creators)
    ])
    _insert(item_tags, [dict(item_id=d.id, tag_id=tag_ids[t]) for d in docs for t in d.tags])
    return slugs
