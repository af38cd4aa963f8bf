"""The studio's front page: counts, recent edits and the way to everything."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.extensions import db
from afterimage.studio.blueprint import bp


def count_rows(model, *where) -> int:
    """How many rows of a model match the conditions."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@bp.route("/")
def dashboard():
    """Counts, recent edits and the way to everything."""
    counts = {
        "films": count_rows(Item, Item.kind == "film", Item.status == "seen"),
        "books": count_rows(Item, Item.kind == "book", Item.status == "seen"),
        "current": count_rows(Item, Item.status == "current"),
        "want": count_rows(Item, Item.status == "want"),
        "tags": count_rows(Tag),
        "lists": count_rows(CuratedList, CuratedList.published),
        "drafts": count_rows(CuratedList, CuratedList.published.is_(False)),
    }
    recent = db.session.scalars(sa.select(Item).order_by(Item.updated_at.desc(), Item.id.desc()).limit(10)).all()
    recent_lists = db.session.scalars(sa.select(CuratedList).order_by(CuratedList.updated_at.desc()).limit(5)).all()
    return render_template("studio/dashboard.html", counts=counts, recent=recent, recent_lists=recent_lists)
