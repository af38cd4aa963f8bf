"""Keeps stored recommendations in step with the catalog: a commit that changes items folds them in.

These are plain functions; commit_hooks.py calls them from the session's events, in its documented order.
"""
from __future__ import annotations

import sqlalchemy.orm as so
from flask import current_app, has_app_context

from afterimage.catalog.models import Item
from afterimage.recommendations.refit import refit_in_background
from afterimage.recommendations.store import (
    REFIT_AT_COMMIT, REFIT_DUE, REFRESHING, apply_item_changes, drop_pending_model, publish_pending_model,
)

CHANGED, REMOVED = "recs_changed", "recs_removed"


def note_item_changes(session: so.Session) -> None:
    """After a flush: remember which items this transaction added, edited or deleted."""
    if session.info.get(REFRESHING):
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


def refresh_recommendations(session: so.Session) -> None:
    """Before commit: fold the transaction's item changes into the model, so readers never see half."""
    if session.info.get(REFRESHING):
        return
    session.flush()
    changed = session.info.pop(CHANGED, set())
    removed = session.info.pop(REMOVED, set())
    if not changed and not removed:
        session.info.pop(REFIT_AT_COMMIT, None)
        return
    session.info[REFRESHING] = True
    try:
        apply_item_changes(changed - removed, removed)
        session.flush()
    finally:
        session.info[REFRESHING] = False


def publish_folded_model(session: so.Session) -> None:
    """After commit: the model the transaction folded or refitted becomes this process's copy."""
    publish_pending_model(session.info)


def refit_when_due(session: so.Session) -> None:
    """After commit: the committed changes drifted the model too far, so refit it in the background."""
    if session.info.pop(REFIT_DUE, False) and has_app_context():
        refit_in_background(current_app._get_current_object())


def forget_item_changes(session: so.Session) -> None:
    """After rollback: nothing to refresh, and the model it folded is not the database's."""
    drop_pending_model(session.info)
    session.info.pop(CHANGED, None)
    session.info.pop(REMOVED, None)
    session.info.pop(REFIT_DUE, None)
    session.info.pop(REFIT_AT_COMMIT, None)
    session.info[REFRESHING] = False
