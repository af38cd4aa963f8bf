"""Keeps stored recommendations in step with the catalog: any commit that changes items refreshes them."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_app_context

from afterimage.models import Item
from afterimage.recommendations.store import REFRESHING as BUSY
from afterimage.recommendations.store import REFIT_DUE, apply_item_changes, refit_in_background

CHANGED, REMOVED = "recs_changed", "recs_removed"


@sa.event.listens_for(so.Session, "after_flush")
def _note_item_changes(session: so.Session, flush_context: Any) -> None:
    """Remember which items this transaction added, edited or deleted."""
    if session.info.get(BUSY):
        return
    changed = session.info.setdefault(CHANGED, set())
    removed = session.info.setdefault(REMOVED, set())
    for obj in session.new:
        if isinstance(obj, Item):
            changed.add(obj.id)
    for obj in session.dirty:
        if isinstance(obj, Item) and session.is_modified(obj, include_collections=True):
            changed.add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, Item):
            removed.add(obj.id)


@sa.event.listens_for(so.Session, "before_commit")
def _refresh_recommendations(session: so.Session) -> None:
    """Fold the transaction's item changes into the model in the same commit: readers never see half."""
    if session.info.get(BUSY):
        return
    session.flush()
    changed = session.info.pop(CHANGED, set())
    removed = session.info.pop(REMOVED, set())
    if not changed and not removed:
        return
    session.info[BUSY] = True
    try:
        apply_item_changes(changed - removed, removed)
        session.flush()
    finally:
        session.info[BUSY] = False


@sa.event.listens_for(so.Session, "after_commit")
def _refit_when_due(session: so.Session) -> None:
    """The committed changes drifted the model too far: refit it in the background."""
    if session.info.pop(REFIT_DUE, False) and has_app_context():
        refit_in_background(current_app._get_current_object())


@sa.event.listens_for(so.Session, "after_rollback")
def _forget_item_changes(session: so.Session) -> None:
    """A rolled-back transaction changed nothing to refresh."""
    session.info.pop(CHANGED, None)
    session.info.pop(REMOVED, None)
    session.info.pop(REFIT_DUE, None)
    session.info[BUSY] = False
