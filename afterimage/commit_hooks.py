"""What a commit does besides writing rows, in one place and in one order.

Every save (studio form, import, restore, CLI) goes through the session, so these run for all of them:

0. before each flush: refresh the items' derived columns (title_key and search_text, catalog.py);
1. after each flush: note which items changed (recommendations) and whether readers can see the change;
2. before commit: fold the changed items into the recommendation model and rewrite their neighbour rows,
   then move the catalog version. In this order every writer takes the model's row lock before the
   version's, so two writers never deadlock on PostgreSQL;
3. after commit: the model it folded becomes this process's copy (not before: a failed commit must leave
   readers the old one); start a background refit when the fold-ins drifted the model too far;
4. after rollback: forget all of it.

They are registered here and nowhere else (register_commit_hooks, from the app factory): no module attaches a
session listener by being imported.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from afterimage.catalog import rules as catalog
from afterimage.catalog import version as catalog_version
from afterimage.recommendations import hooks as recommendations


def before_flush(session: so.Session, flush_context: Any, instances: Any) -> None:
    """Step 0."""
    catalog.refresh_derived_item_columns(session)


def after_flush(session: so.Session, flush_context: Any) -> None:
    """Step 1."""
    recommendations.note_item_changes(session)
    catalog_version.note_flushed_changes(session)


def before_commit(session: so.Session) -> None:
    """Step 2."""
    recommendations.refresh_recommendations(session)
    session.flush()
    catalog_version.bump_if_changed(session)


def after_commit(session: so.Session) -> None:
    """Step 3."""
    recommendations.publish_folded_model(session)
    recommendations.refit_when_due(session)


def after_rollback(session: so.Session) -> None:
    """Step 4."""
    recommendations.forget_item_changes(session)
    catalog_version.forget_changes(session)


HOOKS = (
    ("before_flush", before_flush),
    ("after_flush", after_flush),
    ("before_commit", before_commit),
    ("after_commit", after_commit),
    ("after_rollback", after_rollback),
    ("do_orm_execute", catalog_version.note_statement),
)


def register_commit_hooks() -> None:
    """Attach the hooks to every session; idempotent, since tests build many apps in one process."""
    for name, hook in HOOKS:
        if not sa.event.contains(so.Session, name, hook):
            sa.event.listen(so.Session, name, hook)
