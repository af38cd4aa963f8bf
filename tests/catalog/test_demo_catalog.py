"""The demo catalog: it loads, loads only once, and every item in it is valid and reachable."""
from __future__ import annotations

import json

import sqlalchemy as sa

from afterimage.catalog.demo import DEMO_PATH, demo_item_fields, load_demo_catalog
from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.catalog.rules import validate_item_fields
from afterimage.extensions import db


def test_demo_loads_at_least_sixty_items_and_three_lists(demo_app):
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) >= 60
        titles = db.session.scalars(sa.select(CuratedList.title)).all()
        assert len(titles) >= 3
        assert any("Korean" in t and "women" in t for t in titles)


def test_loading_the_demo_twice_changes_nothing(demo_app):
    with demo_app.app_context():
        before = [db.session.scalar(sa.select(sa.func.count(m.id))) for m in (Item, Tag, CuratedList)]
        report = load_demo_catalog()
        after = [db.session.scalar(sa.select(sa.func.count(m.id))) for m in (Item, Tag, CuratedList)]
        assert (report.items, report.tags, report.lists) == (0, 0, 0)
        assert before == after


def test_every_demo_item_passes_the_catalog_rules():
    data = json.loads(DEMO_PATH.read_text(encoding="utf-8"))
    declared = {t["name"] for t in data["tags"]}
    for raw in data["items"]:
        assert validate_item_fields(demo_item_fields(raw)) == {}, raw["title"]
        assert set(raw["tags"]) <= declared, raw["title"]
        assert raw["description"].strip(), raw["title"]


def test_hiroshima_mon_amour_is_dated_1959_with_its_japanese_title(demo_app):
    with demo_app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.slug == "hiroshima-mon-amour-1959"))
        assert item.year == 1959
        assert item.original_title == "二十四時間の情事"
        assert [c.name for c in item.makers] == ["Alain Resnais"]


def test_demo_command_loads_the_catalog_only_when_empty(runner, app):
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0 and "items" in result.output
    again = runner.invoke(args=["demo", "--if-empty"])
    assert "already has items" in again.output
