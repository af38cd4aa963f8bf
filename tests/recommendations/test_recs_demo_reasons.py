"""Every recommendation of the demo catalog, as readers see it: real evidence and reasons worth reading."""
from __future__ import annotations

import re

import sqlalchemy as sa

from afterimage.catalog.models import Item
from afterimage.extensions import db
from afterimage.recommendations.documents import MAKER_ROLES
from afterimage.recommendations.queries import recommend_by_kind
from recs.documents import STOP_WORDS, tag_key
from recs.text import fold_accents

# "Both about: affair, lovers" names words; the other reasons name tags, creators and series.
_WORDS = re.compile(r"^(?:Both|Also) about: (.+)$")
_TAGS = re.compile(r"^(?:Both|Also) tagged (.+)$")
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def demo_recommendations():
    """(item, recommended item, reasons) for every item page's films and books."""
    items = db.session.scalars(sa.select(Item).order_by(Item.id)).all()
    for item in items:
        for recs in recommend_by_kind(item, ("film", "book")).values():
            for rec in recs:
                yield item, rec.item, rec.reasons


def test_every_demo_recommendation_has_evidence_and_readable_reasons(demo_app):
    with demo_app.app_context():
        seen = 0
        for item, other, reasons in demo_recommendations():
            seen += 1
            assert reasons, (item.title, other.title)
            shared_tags = {tag_key(t.name) for t in item.tags} & {tag_key(t.name) for t in other.tags}
            shared_creators = {c.name for c in item.makers} & {c.name for c in other.makers}
            has_words = any(_WORDS.match(reason) for reason in reasons)
            also_by = any(reason.startswith(("Also by ", "Same series: ")) for reason in reasons)
            assert shared_tags - {""} or shared_creators or also_by or has_words, (item.title, other.title, reasons)
            named_creators = " ".join(r.removeprefix("Also by ") for r in reasons if r.startswith("Also by "))
            # "Also by" names only people who made both works; a shared translator is named as one.
            makers = ({c.name for c in item.creators_by_role(*MAKER_ROLES)}
                      & {c.name for c in other.creators_by_role(*MAKER_ROLES)})
            for name in named_creators.split(" and ") if named_creators else ():
                assert name in makers, (item.title, other.title, reasons)
            for reason in reasons:
                match = _WORDS.match(reason)
                if not match:
                    continue
                for word in match.group(1).split(", "):
                    assert word not in STOP_WORDS, (item.title, other.title, reason)
                    assert not word.isdigit(), (item.title, other.title, reason)
                    if _UNSPACED.search(word):
                        # A CJK word is a whole run both texts share, never a pair cut from one.
                        assert len(word) > 2, (item.title, other.title, reason)
                    else:
                        assert len(word) >= 3, (item.title, other.title, reason)
                    assert word not in fold_accents(named_creators).split(), (item.title, other.title, reason)
            assert len(reasons) == len(set(reasons))
        assert seen > 300


def test_demo_sanity_cases_still_hold(demo_app):
    with demo_app.app_context():
        by_title = {item.title: item for item in db.session.scalars(sa.select(Item))}
        hiroshima = recommend_by_kind(by_title["Hiroshima mon amour"], ("film", "book"))
        films = [rec.item.title for rec in hiroshima["film"]]
        assert {"Night and Fog", "Last Year at Marienbad"} & set(films[:3])
        assert any("Marguerite Duras" in {c.name for c in rec.item.makers} for rec in hiroshima["book"])
        han_kang = recommend_by_kind(by_title["The Vegetarian"], ("book",))["book"]
        assert all("Korean women writers" in {t.name for t in rec.item.tags} for rec in han_kang[:4])
        white_book = next(rec for rec in recommend_by_kind(by_title["The Vegetarian"], ("book",))["book"]
                          if rec.item.title == "The White Book")
        assert white_book.reasons[:2] == ["Also by Han Kang", "Also translated by Deborah Smith"]
