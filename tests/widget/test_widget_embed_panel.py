"""The studio's Embed panel macro: preview, copy-paste code for both embeds, and the page URL, without inline scripts."""
from __future__ import annotations

import html

import pytest
from flask import render_template_string

from tests.widget.test_widget import Elements

PANEL = '{% from "widget/_embed_panel.html" import embed_panel %}{{ embed_panel(kind, slug) }}'


def render_panel(app, kind: str, slug: str) -> str:
    """The panel's HTML as the studio's edit page would include it."""
    with app.test_request_context("/studio/"):
        return render_template_string(PANEL, kind=kind, slug=slug)


@pytest.mark.parametrize("kind, slug, attribute, page", [
    ("items", "hiroshima-mon-amour-1959", "data-item", "/items/"),
    ("lists", "after-the-camps", "data-list", "/lists/"),
    ("tags", "war", "data-tag", "/tags/"),
])
def test_the_panel_previews_the_widget_and_shows_code_for_both_embeds(app, kind, slug, attribute, page):
    panel = render_panel(app, kind, slug)
    widget_url = f"http://localhost/widget/{kind}/{slug}"
    parsed = Elements(panel)
    previews = [a for tag, a in parsed.tags if tag == "iframe"]
    assert previews and previews[0]["src"] == widget_url
    code = html.unescape(panel)
    assert f'<iframe src="{widget_url}" width="560" height="660"' in code
    assert f'<script src="http://localhost/widget.js" {attribute}="{slug}" async></script>' in code
    assert f'value="http://localhost{page}{slug}"' in panel


def test_the_panel_has_no_inline_script_and_loads_its_behaviour_from_a_file(app, client):
    parsed = Elements(render_panel(app, "items", "hiroshima-mon-amour-1959"))
    scripts = [a for tag, a in parsed.tags if tag == "script"]
    assert [{**a, "src": a["src"].split("?")[0]} for a in scripts] == [
        {"src": "/static/js/copy-buttons.js", "defer": None}, {"src": "/static/js/embed-panel.js", "defer": None}]
    for asset in ("/static/js/copy-buttons.js", "/static/js/embed-panel.js", "/static/widget/embed-panel.css"):
        with client.get(asset) as response:
            assert response.status_code == 200


def test_without_javascript_the_code_uses_default_options_and_copy_buttons_stay_hidden(app):
    parsed = Elements(render_panel(app, "items", "hiroshima-mon-amour-1959"))
    buttons = [a for tag, a in parsed.tags if tag == "button" and "embed-copy" in a.get("class", "")]
    assert len(buttons) == 3 and all("hidden" in b for b in buttons)
    form = next(a for tag, a in parsed.tags if tag == "form")
    assert form["action"] == "http://localhost/widget/items/hiroshima-mon-amour-1959"
    assert form["target"] == next(a["name"] for tag, a in parsed.tags if tag == "iframe")


def test_the_optional_resize_listener_checks_the_sites_origin(app):
    panel = html.unescape(render_panel(app, "items", "hiroshima-mon-amour-1959"))
    assert 'e.origin!=="http://localhost"' in panel and "afterimage:resize" in panel


def test_the_panel_options_cover_every_widget_option(app):
    parsed = Elements(render_panel(app, "tags", "war"))
    names = {a.get("name") for tag, a in parsed.tags if tag in ("input", "select")}
    assert {"limit", "kind", "theme", "accent", "compact"} <= names
