"""The oEmbed provider: rich answers holding the widget iframe, sized within the consumer's limits."""
from __future__ import annotations

from urllib.parse import quote

import pytest

HIROSHIMA = "hiroshima-mon-amour-1959"
KOREAN_LIST = "8-korean-books-written-by-women-every-reader-should-read-once"


def oembed(client, page_url: str, extra: str = ""):
    """GET /oembed for a page URL."""
    return client.get(f"/oembed?url={quote(page_url, safe='')}&format=json{extra}")


@pytest.mark.parametrize("page, widget, title", [
    (f"/items/{HIROSHIMA}", f"/widget/items/{HIROSHIMA}", "Hiroshima mon amour"),
    (f"/lists/{KOREAN_LIST}", f"/widget/lists/{KOREAN_LIST}", "8 Korean books written by women every reader should read once"),
    ("/tags/war", "/widget/tags/war", "War"),
])
def test_item_list_and_tag_pages_embed_as_rich_widget_iframes(demo_client, page, widget, title):
    response = oembed(demo_client, f"http://localhost{page}")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    answer = response.get_json()
    assert answer["type"] == "rich" and answer["version"] == "1.0"
    assert answer["title"] == title
    assert answer["provider_name"] == "Afterimage" and answer["provider_url"] == "http://localhost/"
    assert f'<iframe src="http://localhost{widget}" width="560" height="660"' in answer["html"]
    assert (answer["width"], answer["height"]) == (560, 660)
    # The page's link-preview card: a PNG, which consumers show (they do not show SVG).
    assert answer["thumbnail_url"].startswith(f"http://localhost/og/{page.split('/')[1][:-1]}/")
    assert (answer["thumbnail_width"], answer["thumbnail_height"]) == (1200, 630)


def test_the_discovery_link_on_an_item_page_leads_to_a_working_answer(demo_client):
    html = demo_client.get(f"/items/{HIROSHIMA}").get_data(as_text=True)
    start = html.index('type="application/json+oembed" href="') + len('type="application/json+oembed" href="')
    href = html[start:html.index('"', start)].replace("&amp;", "&")
    assert demo_client.get(href).get_json()["type"] == "rich"


def test_maxwidth_and_maxheight_are_respected(demo_client):
    answer = oembed(demo_client, f"http://localhost/items/{HIROSHIMA}", "&maxwidth=320&maxheight=240").get_json()
    assert answer["width"] <= 320 and answer["height"] <= 240
    assert 'width="320" height="240"' in answer["html"]
    assert "thumbnail_url" not in answer, "a 1200×630 thumbnail does not fit in 320×240"


def test_a_larger_maximum_keeps_the_natural_size(demo_client):
    answer = oembed(demo_client, f"http://localhost/items/{HIROSHIMA}", "&maxwidth=1200&maxheight=900").get_json()
    assert (answer["width"], answer["height"]) == (560, 660)


def test_xml_is_not_implemented(demo_client):
    response = demo_client.get(f"/oembed?url={quote(f'http://localhost/items/{HIROSHIMA}')}&format=xml")
    assert response.status_code == 501
    assert response.get_json()["message"]


@pytest.mark.parametrize("url", [
    "http://localhost/items/no-such-item",
    "http://localhost/search?q=duras",
    "http://localhost/nowhere",
    f"https://elsewhere.example/items/{HIROSHIMA}",
    f"javascript:alert(1)//localhost/items/{HIROSHIMA}",
])
def test_unknown_pages_and_other_sites_are_not_found(demo_client, url):
    response = oembed(demo_client, url)
    assert response.status_code == 404
    assert response.content_type == "application/json"


@pytest.mark.parametrize("query", ["", "&maxwidth=wide", "&maxheight=0"])
def test_a_missing_url_or_bad_size_is_a_400(demo_client, query):
    url = "" if not query else quote(f"http://localhost/items/{HIROSHIMA}", safe="")
    response = demo_client.get(f"/oembed?url={url}{query}")
    assert response.status_code == 400
    assert response.get_json()["message"]


def test_the_embed_html_escapes_titles(demo_app, demo_client):
    from afterimage.catalog.rules import ItemFields, save_item
    from afterimage.extensions import db

    with demo_app.app_context():
        slug = save_item(ItemFields(kind="book", title='"><script>alert(1)</script>', year=2001)).slug
        db.session.commit()
    answer = oembed(demo_client, f"http://localhost/items/{slug}").get_json()
    iframe = answer["html"][:answer["html"].index("</iframe>")]
    assert "<script>" not in iframe and answer["html"].count("<script>") == 1, "only the resize listener is a script"
    assert "&lt;script&gt;" in iframe and "&#34;&gt;" in iframe


def test_answers_name_the_catalogs_author(demo_app, demo_client):
    demo_app.config["SITE_AUTHOR"] = "Mina Park"
    answer = oembed(demo_client, f"http://localhost/items/{HIROSHIMA}").get_json()
    assert answer["author_name"] == "Mina Park"
    assert answer["author_url"] == "http://localhost/"


def test_the_embed_html_fits_the_iframe_to_the_height_the_widget_reports(demo_client):
    html = oembed(demo_client, f"http://localhost/lists/{KOREAN_LIST}").get_json()["html"]
    iframe_end = html.index("</iframe>")
    listener = html[iframe_end:]
    assert listener.count("<script>") == 1 and listener.endswith("</script>")
    assert 'e.origin!=="http://localhost"' in listener, "only messages from this site resize the frame"
    assert '"afterimage:resize"' in listener and "f.style.height=e.data.height" in listener
    widget = demo_client.get(f"/widget/lists/{KOREAN_LIST}").get_data(as_text=True)
    assert 'parent.postMessage({type:"afterimage:resize"' in widget, "the widget page reports its height"
