"""Studio pages as a browser gets them: no inline scripts or styles, the embed panel when it exists."""
from __future__ import annotations

from html.parser import HTMLParser

import sqlalchemy as sa
from jinja2 import ChoiceLoader, DictLoader

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.extensions import db
from tests.studio.test_studio_fixtures import demo_author_client  # noqa: F401


class CspOffenders(HTMLParser):
    """Collects what the CSP would block: style attributes, event handlers, inline scripts without a nonce."""

    def __init__(self):
        super().__init__()
        self.offences: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        for name in names:
            if name == "style" or name.startswith("on"):
                self.offences.append(f"<{tag} {name}=...>")
        if tag == "script" and not ({"src", "nonce"} & names.keys()) and names.get("type") != "application/ld+json":
            self.offences.append("inline <script>")
        if tag == "style" and "nonce" not in names:
            self.offences.append("inline <style>")


def csp_offences(html: str) -> list[str]:
    """Everything on the page a strict CSP would refuse."""
    parser = CspOffenders()
    parser.feed(html)
    return parser.offences


def studio_pages(app) -> list[str]:
    """A URL for every studio page a GET can show."""
    with app.app_context():
        item_id = db.session.scalar(sa.select(Item.id).limit(1))
        tag_id = db.session.scalar(sa.select(Tag.id).limit(1))
        list_id = db.session.scalar(sa.select(CuratedList.id).limit(1))
    return [
        "/studio/", "/studio/items", "/studio/items?q=memory", "/studio/items/new", f"/studio/items/{item_id}",
        f"/studio/items/{item_id}/delete", "/studio/tags", f"/studio/tags/{tag_id}", f"/studio/tags/{tag_id}/delete",
        "/studio/lists", "/studio/lists/new", f"/studio/lists/{list_id}", f"/studio/lists/{list_id}?q=war",
        f"/studio/lists/{list_id}/delete", "/studio/import", "/studio/password",
        "/studio/paste", "/studio/paste?items=hiroshima-mon-amour-1959",
    ]


def test_every_studio_page_renders_without_inline_scripts_or_styles(demo_app, demo_author_client):
    for url in studio_pages(demo_app):
        response = demo_author_client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert "/static/css/studio.css" in html, url
        assert csp_offences(html) == [], url
        assert "no-store" in response.headers["Cache-Control"]


def test_the_embed_panel_appears_on_item_list_and_tag_pages_once_the_widget_provides_it(demo_app, demo_author_client):
    panel = DictLoader({"widget/_embed_panel.html":
                        "{% macro embed_panel(kind, slug) %}<div class=embed-test>{{ kind }}:{{ slug }}</div>{% endmacro %}"})
    with demo_app.app_context():
        item = db.session.scalar(sa.select(Item).limit(1))
        tag = db.session.scalar(sa.select(Tag).limit(1))
        curated = db.session.scalar(sa.select(CuratedList).limit(1))
        pages = {f"/studio/items/{item.id}": f"items:{item.slug}", f"/studio/tags/{tag.id}": f"tags:{tag.slug}",
                 f"/studio/lists/{curated.id}": f"lists:{curated.slug}"}
    original = demo_app.jinja_env.loader
    demo_app.jinja_env.loader = ChoiceLoader([panel, original])
    try:
        for url, expected in pages.items():
            assert f"<div class=embed-test>{expected}</div>" in demo_author_client.get(url).get_data(as_text=True)
    finally:
        demo_app.jinja_env.loader = original
