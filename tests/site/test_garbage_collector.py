"""The cyclic garbage collector at its default settings through a few hundred ORM-heavy pages.

Up to Python 3.11 the collector could run half-way through building an instance's attribute dict (as
Session.close() detaches states), corrupting the heap; 3.12 collects only at safe points. Afterimage
requires 3.12, and runs with the collector untouched: this renders the pages that used to crash.
"""
from __future__ import annotations

import gc
import sys

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import Tag
from afterimage.extensions import db


def test_the_supported_interpreter_collects_only_at_safe_points():
    assert sys.version_info >= (3, 12)


@pytest.mark.slow
def test_hundreds_of_tag_pages_and_widgets_render_with_the_collector_on(demo_app):
    assert gc.isenabled()
    with demo_app.app_context():
        slugs = db.session.scalars(sa.select(Tag.slug).order_by(Tag.slug)).all()
    reader = demo_app.test_client()
    thresholds = gc.get_threshold()
    # Collect far more often than by default, so a collection lands inside the ORM's work many times over.
    gc.set_threshold(50, 5, 5)
    try:
        statuses = [reader.get(path).status_code
                    for _ in range(4) for slug in slugs for path in (f"/tags/{slug}", f"/widget/tags/{slug}")]
    finally:
        gc.set_threshold(*thresholds)
    assert len(statuses) >= 250 and set(statuses) == {200}
