"""What a stored page shows, and what a commit changed: the two sides of per-page invalidation.

A page records the rows it loaded while it was rendered ("items:12", "lists:2", "recs:12" for the first
ranks of item 12's recommendation list and "recs-deep:12" for the rest, "model" when it asked the fitted
model) and its own subject ("tags:3" for a tag's page; an item's page also "item-details:12", for what no
card shows). A commit records the same names for the rows it wrote: a saved note names only the item's
details, a new title the item itself. The tags and creators on an item's card are part of that item:
renaming a tag names every item carrying it, which keeps a page's own record to the dozen items it
shows. Only stored pages sharing a name with a commit are dropped, so an edit to one film leaves the
other ten thousand pages stored. Anything not understood here drops every page (EVERYTHING): a missed
dependency would serve a stale page, an extra one only costs a render.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import g, has_request_context

from afterimage.models import (
    CatalogVersion, Creator, Credit, CuratedList, Item, ListEntry, SlugRedirect, Tag, item_tags,
)
from afterimage.recommendations.models import Neighbour, RecModel, RecModelBlob, RecModelChange, RecOverride
from afterimage.write_statements import PRIVATE_TABLES, written_table

EVERYTHING = "*"
MODEL = "model"
# Named by a commit that may change a search page: which items match, their order, or what their cards
# show. No page records it; it moves the search version (catalog_version.py) instead.
SEARCH = "search"
# What search matches, sorts by, or shows on a card (in search results, recommendations, tag and list
# pages, the API's item objects); an item's other fields (note, rating, status, links) are on its own
# page only.
SEARCHED_ITEM_FIELDS = (
    "kind", "slug", "title", "title_key", "original_title", "year", "country", "language", "description",
    "cover_url", "search_text", "credits", "tags",
)
_RECORDING = "page_dependencies"
# session.info: names this transaction changed; conn.info: the same for writes seen below the ORM.
CHANGED = "page_changes"
_ORM_FLUSHING = "afterimage_orm_flushing"
_EXPLAINED = "afterimage_explained_writes"
# Tables whose rows no stored page shows: those no reader sees, and redirects (never stored).
UNSHOWN_TABLES = PRIVATE_TABLES | {"slug_redirects"}
MODEL_TABLES = frozenset({"rec_models", "rec_model_blobs", "rec_model_changes"})


# ---- the reading side: what the page being rendered loaded ----

def start_recording() -> None:
    """Record every catalog row this request loads from now on."""
    setattr(g, _RECORDING, set())


def recorded() -> set[str] | None:
    """The names recorded for this request, or None when it was not recording."""
    return g.get(_RECORDING)


def depend_on(*names: str) -> None:
    """Note that the page being rendered shows these (for reads the load events below cannot see)."""
    if has_request_context():
        names_so_far = g.get(_RECORDING)
        if names_so_far is not None:
            names_so_far.update(names)


def _on_load(name_of):
    def listener(target: Any, context: Any) -> None:
        depend_on(name_of(target))
    return listener


def subject_names(row: Item | Tag | CuratedList) -> tuple[str, ...]:
    """The names of a page's own subject (a tag's page lists its items: adding one changes it). An item's
    page also shows the fields no card shows, which a save naming only those drops it for."""
    name = f"{row.__tablename__}:{row.id}"
    return (name, details_name(row.id)) if isinstance(row, Item) else (name,)


def details_name(item_id: int) -> str:
    """Named by a change to an item's fields that only its own page shows, never its card elsewhere."""
    return f"item-details:{item_id}"


for _model, _name_of in (
    (Item, lambda row: f"items:{row.id}"),
    (CuratedList, lambda row: f"lists:{row.id}"),
    (RecOverride, lambda row: f"recs:{row.item_id}"),
):
    sa.event.listen(_model, "load", _on_load(_name_of))

# Item, tag and list pages show five recommendations per kind and read a few more ranks for the author's
# pins and hides. A save moves the lists holding the saved item, mostly far down (ranks 8 to 19), where
# only the API's long answers look: such a change names "recs-deep:12", which pages reading no deeper
# than this do not record, so they stay stored.
SHALLOW_RANKS = 8


def list_names(prefix: str, item_id: int, depth: int) -> tuple[str, ...]:
    """The names of item_id's recommendation list ("recs") or its scores ("scores") read to ranks < depth."""
    name = f"{prefix}:{item_id}"
    return (name,) if depth <= SHALLOW_RANKS else (name, f"{prefix}-deep:{item_id}")


@sa.event.listens_for(Neighbour, "load")
def _on_neighbour_load(row: Neighbour, context: Any) -> None:
    depend_on(*list_names("recs", row.item_id, row.rank + 1))


# ---- the writing side: what a transaction changed ----

def _items_with(session: so.Session, query: sa.Select) -> set[str]:
    return {f"items:{item_id}" for (item_id,) in session.connection().execute(query)}


def changed_names(session: so.Session, obj: Any, deleted: bool) -> set[str]:
    """The names a flushed change to one ORM object makes stale."""
    if isinstance(obj, (Item, Tag, Creator)) and deleted:
        # Its cards vanish from lists, tag pages and every list of recommendations: simpler to start over.
        return {EVERYTHING}
    if isinstance(obj, Item):
        history = so.attributes.get_history(obj, "tags", passive=so.attributes.PASSIVE_NO_INITIALIZE)
        # A tag page lists (and counts) its items: adding or removing a tag changes it.
        names = {f"tags:{tag.id}" for tag in (*history.added, *history.deleted)}
        if obj in session.new or searched_fields_changed(obj):
            return names | {f"items:{obj.id}", SEARCH}
        # Only what its own page shows (the note, rating, status, links): every page that loaded it as a
        # card or a recommendation is as it was, and stays stored.
        return names | {details_name(obj.id)}
    # A tag or creator is "dirty" too when an item joins it (the other side of the relationship); only a
    # change to its own columns (a rename, a colour) shows on the cards of every item carrying it.
    if isinstance(obj, Tag):
        if not session.is_modified(obj, include_collections=False):
            return {f"tags:{obj.id}"}
        return {f"tags:{obj.id}", SEARCH} | _items_with(
            session, sa.select(item_tags.c.item_id).where(item_tags.c.tag_id == obj.id))
    if isinstance(obj, Creator):
        if not session.is_modified(obj, include_collections=False):
            return set()
        return {SEARCH} | _items_with(session, sa.select(Credit.item_id).where(Credit.creator_id == obj.id))
    if isinstance(obj, Credit):
        # Saving an item's form reassigns its credits: one left as it was is dirty, yet changes nothing.
        shown = deleted or obj in session.new or session.is_modified(obj)
        return {f"items:{obj.item_id}", SEARCH} if shown else set()
    if isinstance(obj, CuratedList):
        if not so.attributes.get_history(obj, "published").has_changes():
            return {f"lists:{obj.id}"}
        # An item page lists only published lists, so it never loaded a draft: name the items on it.
        return {f"lists:{obj.id}"} | _items_with(session, sa.select(ListEntry.item_id).where(ListEntry.list_id == obj.id))
    if isinstance(obj, ListEntry):
        # The list shows the entry; the item page shows the lists it is on.
        return {f"lists:{obj.list_id}", f"items:{obj.item_id}"}
    if isinstance(obj, (RecOverride, Neighbour)):
        return {f"recs:{obj.item_id}"}
    if isinstance(obj, (RecModel, RecModelBlob, RecModelChange)):
        return {MODEL}
    if isinstance(obj, (SlugRedirect, CatalogVersion)) or obj.__table__.name in UNSHOWN_TABLES:
        return set()
    return {EVERYTHING}


def searched_fields_changed(item: Item) -> bool:
    """Whether a flushed change to an item touches what search matches, sorts by or shows."""
    return any(
        so.attributes.get_history(item, field, passive=so.attributes.PASSIVE_NO_INITIALIZE).has_changes()
        for field in SEARCHED_ITEM_FIELDS
    )


def note_changes(session: so.Session, *names: str) -> None:
    """Record names this transaction changed (callers that write rows around the ORM say what they wrote)."""
    session.info.setdefault(CHANGED, set()).update(names)


class explained_writes:
    """Inside this block, core writes to the connection are accounted for by the caller's note_changes."""

    def __init__(self, session: so.Session) -> None:
        self.connection = session.connection()

    def __enter__(self) -> None:
        self.connection.info[_EXPLAINED] = self.connection.info.get(_EXPLAINED, 0) + 1

    def __exit__(self, *exc: object) -> None:
        self.connection.info[_EXPLAINED] -= 1


def changes_so_far(session: so.Session) -> set[str]:
    """What this transaction changed so far, left for take_changes."""
    names = set(session.info.get(CHANGED, ()))
    if session.in_transaction():
        names |= session.connection().info.get(CHANGED, set())
    return names


def changes_search(names: set[str]) -> bool:
    """Whether a commit that changed these may change a search page."""
    return SEARCH in names or EVERYTHING in names


def take_changes(session: so.Session) -> set[str]:
    """Everything this transaction changed so far, from the ORM and from writes below it; forgets them."""
    names = session.info.pop(CHANGED, set())
    if session.in_transaction():
        names |= session.connection().info.pop(CHANGED, set())
    return names


@sa.event.listens_for(so.Session, "before_flush")
def _mark_flush(session: so.Session, flush_context: Any, instances: Any) -> None:
    # The flush's own statements are accounted for object by object in after_flush.
    session.connection().info[_ORM_FLUSHING] = True


@sa.event.listens_for(so.Session, "after_flush")
def _note_flushed_changes(session: so.Session, flush_context: Any) -> None:
    names = session.info.setdefault(CHANGED, set())
    for obj in session.new:
        names |= changed_names(session, obj, deleted=False)
    for obj in session.dirty:
        names |= changed_names(session, obj, deleted=False)
    for obj in session.deleted:
        names |= changed_names(session, obj, deleted=True)


@sa.event.listens_for(so.Session, "after_flush_postexec")
def _unmark_flush(session: so.Session, flush_context: Any) -> None:
    session.connection().info.pop(_ORM_FLUSHING, None)


# Bulk deletes, raw SQL and driver-level inserts never reach after_flush: the statement itself tells.
@sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
def _note_statement(conn: sa.Connection, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
    table = written_table(statement)
    if table is None or table in UNSHOWN_TABLES:
        return
    if table in MODEL_TABLES:
        conn.info.setdefault(CHANGED, set()).add(MODEL)
    elif not conn.info.get(_ORM_FLUSHING) and not conn.info.get(_EXPLAINED):
        conn.info.setdefault(CHANGED, set()).add(EVERYTHING)


@sa.event.listens_for(sa.engine.Engine, "commit")
@sa.event.listens_for(sa.engine.Engine, "rollback")
def _forget_statements(conn: sa.Connection) -> None:
    conn.info.pop(CHANGED, None)
    # A flush that raised never reached after_flush_postexec.
    conn.info.pop(_ORM_FLUSHING, None)


@sa.event.listens_for(so.Session, "after_rollback")
def _forget_changes(session: so.Session) -> None:
    session.info.pop(CHANGED, None)
