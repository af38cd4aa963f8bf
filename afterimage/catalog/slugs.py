"""Readable, stable slugs ("hiroshima-mon-amour-1959") and the redirects that outlive renames."""
from __future__ import annotations

import re
from typing import TypeVar

import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item, SlugRedirect, Tag
from afterimage.extensions import db
from recs.text import fold_accents

Sluggable = TypeVar("Sluggable", Item, Tag, CuratedList)
ENTITY_OF = {Item: "item", Tag: "tag", CuratedList: "list"}
MAX_SLUG = 80
# \w is unicode-aware, so CJK or Hangul titles keep readable slugs instead of collapsing to "".
_NON_WORD = re.compile(r"[\W_]+")


def slugify(text: str) -> str:
    """Fold accents and case, and join the words with hyphens: "Cléo de 5 à 7" -> "cleo-de-5-a-7"."""
    slug = _NON_WORD.sub("-", fold_accents(text)).strip("-")
    return slug[:MAX_SLUG].rstrip("-")


def item_slug_base(title: str, year: int | None) -> str:
    """Title and year, the way readers name a film: "hiroshima-mon-amour-1959", "the-odyssey-700-bc"."""
    base = slugify(title) or "item"
    if not year:
        return base
    return f"{base}-{-year}-bc" if year < 0 else f"{base}-{year}"


def unique_slug(model: type[Sluggable], base: str, exclude_id: int | None = None) -> str:
    """The base slug, or base-2, base-3... if another row or an old redirect already holds it."""
    entity = ENTITY_OF[model]
    candidate, n = base or entity, 1
    while True:
        taken = db.session.scalar(
            sa.select(model.id).where(model.slug == candidate, model.id != (exclude_id or -1))
        ) or db.session.scalar(
            sa.select(SlugRedirect.id).where(
                SlugRedirect.entity == entity,
                SlugRedirect.old_slug == candidate,
                SlugRedirect.target_id != (exclude_id or -1),
            )
        )
        if not taken:
            return candidate
        n += 1
        candidate = f"{base}-{n}"


def change_slug(obj: Item | Tag | CuratedList, new_slug: str) -> None:
    """Give a row a new slug and keep the old one redirecting to it."""
    entity = ENTITY_OF[type(obj)]
    old = obj.slug
    if not old or old == new_slug:
        obj.slug = new_slug
        return
    # A redirect that pointed at the new slug's previous holder must not shadow the row itself.
    db.session.execute(
        sa.delete(SlugRedirect).where(SlugRedirect.entity == entity, SlugRedirect.old_slug == new_slug)
    )
    db.session.add(SlugRedirect(entity=entity, old_slug=old, target_id=obj.id))
    obj.slug = new_slug


# Built once per model: every page looks its row up by slug.
_BY_SLUG = {model: sa.select(model).where(model.slug == sa.bindparam("slug")) for model in ENTITY_OF}


def find_by_slug(model: type[Sluggable], slug: str, lookup: sa.Select | None = None) -> tuple[Sluggable | None, bool]:
    """The row for a slug and whether it was found through an old slug (so the caller redirects); `lookup` is a
    prebuilt statement with a `slug` parameter that loads what the page shows with the row."""
    if lookup is None:
        row = db.session.scalar(_BY_SLUG[model], {"slug": slug})
    else:
        row = db.session.scalars(lookup, {"slug": slug}).unique().one_or_none()
    if row is not None:
        return row, False
    target = db.session.scalar(
        sa.select(SlugRedirect.target_id).where(
            SlugRedirect.entity == ENTITY_OF[model], SlugRedirect.old_slug == slug
        )
    )
    if target is None:
        return None, False
    return db.session.get(model, target), True
