"""Links to item, person, tag, list and cover pages are the addresses url_for gives, under any SCRIPT_NAME."""
from __future__ import annotations

import pytest
from flask import url_for
from werkzeug.routing import BuildError

from afterimage.http.slug_urls import slug_url

SLUGS = ["hiroshima-mon-amour-1959", "cléo-de-5-à-7", "二十四時間の情事", "a b", "a/b", "100%", "?#&=", "x.svg", ""]
ENDPOINTS = ["public.item", "public.person", "public.tag", "public.curated_list", "public.cover"]


@pytest.mark.parametrize("base_url", ["http://localhost/", "https://example.org/blog/", "http://h/a%20b/"])
def test_slug_links_are_url_fors_addresses(app, base_url):
    with app.test_request_context("/", base_url=base_url):
        for endpoint in ENDPOINTS:
            for slug in SLUGS:
                assert slug_url(endpoint, slug) == url_for(endpoint, slug=slug), (endpoint, slug)


def test_a_rule_with_other_arguments_is_left_to_url_for(app):
    with app.test_request_context("/", base_url="https://example.org/blog/"):
        with pytest.raises(BuildError):  # url_for's own answer: the rule needs its kind too
            slug_url("public.preview_card", "x")


def test_item_page_under_a_prefix_links_its_cards_there(demo_app, demo_client):
    html = demo_client.get("/items/hiroshima-mon-amour-1959", base_url="http://localhost/blog/").get_data(as_text=True)
    assert 'href="/blog/tags/french-new-wave"' in html
    assert 'href="/blog/items/' in html and 'href="/items/' not in html
    assert 'href="/blog/people/' in html
