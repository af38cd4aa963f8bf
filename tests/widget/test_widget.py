"""The iframe widget pages and widget.js: content, options, escaping, framing, size and caching."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import Item
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.catalog.slugs import change_slug
from afterimage.extensions import db
from afterimage.widget.assets import csp_hash
from app import create_app
from tests.conftest import MARKUP_TITLE, add_film_titled_with_markup

HIROSHIMA = "hiroshima-mon-amour-1959"
KOREAN_LIST = "8-korean-books-written-by-women-every-reader-should-read-once"
XSS_TITLE = MARKUP_TITLE


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, and the text of its inline style and script."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.inline: dict[str, str] = {}
        self._open: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in ("style", "script") else None

    def handle_data(self, data):
        if self._open:
            self.inline[self._open] = self.inline.get(self._open, "") + data

    def handle_endtag(self, tag):
        self._open = None

    def links(self) -> list[dict]:
        """The attributes of every <a>."""
        return [attrs for tag, attrs in self.tags if tag == "a"]


@pytest.fixture
def xss_item(demo_app) -> str:
    """A film whose title is markup, made to be the closest film to Hiroshima mon amour."""
    return add_film_titled_with_markup(demo_app, [("<b>Bold</b> Director", "director"), ("Alain Resnais", "director")])


def widget(client, path: str = f"/widget/items/{HIROSHIMA}", query: str = ""):
    """GET a widget page, asserting it answered 200."""
    response = client.get(f"{path}?{query}" if query else path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_item_widget_shows_the_item_and_the_recommendations_the_api_gives(demo_client):
    html = widget(demo_client).get_data(as_text=True)
    api = demo_client.get(f"/api/v1/items/{HIROSHIMA}/recommendations").get_json()
    assert "Hiroshima mon amour" in html
    assert ">Watch</h2>" in html and ">Read</h2>" in html
    for rec in api["recommendations"]:
        assert f'href="{rec["item"]["url"]}"' in html
    assert api["recommendations"][0]["reasons"][0] in html


def test_widget_links_open_the_site_in_a_new_tab(demo_client):
    for attrs in Elements(widget(demo_client).get_data(as_text=True)).links():
        assert attrs["href"].startswith("http://localhost/")
        assert attrs["target"] == "_blank"
        assert attrs["rel"] == "noopener"


def test_widget_makes_no_request_outside_the_site(demo_client):
    page = Elements(widget(demo_client).get_data(as_text=True))
    for tag, attrs in page.tags:
        assert not (tag == "script" and "src" in attrs)
        assert not (tag == "link" and attrs.get("rel") == "stylesheet")
        if tag == "img":
            assert attrs["src"].startswith("/covers/")
    assert "@import" not in page.inline["style"] and "url(" not in page.inline["style"]


def test_widget_inline_style_and_script_are_exactly_those_the_policy_allows(demo_client):
    response = widget(demo_client, query="accent=336699")
    page = Elements(response.get_data(as_text=True))
    policy = response.headers["Content-Security-Policy"]
    assert f"style-src {csp_hash(page.inline['style'])}" in policy
    assert f"script-src {csp_hash(page.inline['script'])}" in policy
    assert "default-src 'none'" in policy


def test_widget_escapes_markup_in_titles_and_names(demo_client, xss_item):
    html = widget(demo_client).get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;Bold&lt;/b&gt; Director" in html
    assert "<img src=x" not in html and "<b>Bold" not in html
    own = widget(demo_client, f"/widget/items/{xss_item}").get_data(as_text=True)
    assert "<title>If you liked &lt;img src=x onerror=alert(1)&gt; · Afterimage</title>" in own


@pytest.mark.parametrize("type_, slug, heading", [
    ("lists", KOREAN_LIST, "8 Korean books written by women"), ("tags", "french-new-wave", "French New Wave"),
])
def test_list_and_tag_widgets_show_their_subject_and_recommendations(demo_client, type_, slug, heading):
    html = widget(demo_client, f"/widget/{type_}/{slug}").get_data(as_text=True)
    api = demo_client.get(f"/api/v1/{type_}/{slug}").get_json()
    assert heading in html
    assert f"If you liked this {type_[:-1]}" in html
    expected = [rec["item"]["url"] for rec in api["recommendations"]]
    # Five films then five books (the default limit per kind): the demo catalog has plenty of both.
    assert [rec["item"]["kind"] for rec in api["recommendations"]] == ["film"] * 5 + ["book"] * 5
    shown = re.findall(r'href="(http://localhost/items/[^"]+)"', html)
    assert list(dict.fromkeys(shown)) == expected


def test_limit_and_kind_choose_what_the_widget_recommends(demo_client):
    html = widget(demo_client, query="limit=2&kind=books").get_data(as_text=True)
    assert ">Read</h2>" in html and ">Watch</h2>" not in html
    assert html.count('class="cv"') == 2
    films = widget(demo_client, query="kind=films&limit=3").get_data(as_text=True)
    assert ">Watch</h2>" in films and ">Read</h2>" not in films and films.count('class="cv"') == 3


@pytest.mark.parametrize("query, css_class", [
    ("", 'class="aw auto"'), ("theme=dark", 'class="aw dark"'), ("theme=light&compact=1", 'class="aw light compact"'),
])
def test_theme_and_compact_set_the_widget_classes(demo_client, query, css_class):
    assert css_class in widget(demo_client, query=query).get_data(as_text=True)


def test_auto_theme_follows_the_readers_colour_scheme(demo_client):
    html = widget(demo_client).get_data(as_text=True)
    assert "@media (prefers-color-scheme:dark){.aw.auto{" in html


@pytest.mark.parametrize("accent, css", [
    ("%23336699", ".aw{--accent:#336699}"), ("336699", ".aw{--accent:#336699}"),
    ("%23A3c", ".aw{--accent:#aa33cc}"),
])
def test_accent_takes_a_hex_colour_with_or_without_the_hash(demo_client, accent, css):
    assert css in widget(demo_client, query=f"accent={accent}").get_data(as_text=True)


@pytest.mark.parametrize("query, word", [
    ("accent=red", "accent"), ("accent=%2312", "accent"), ("accent=%231234567", "accent"),
    ("accent=%23fff%7Dbody%7Bdisplay:none", "accent"), ("accent=expression(alert(1))", "accent"),
    ("theme=sepia", "theme"), ("kind=film", "kind"), ("kind=all", "kind"), ("compact=maybe", "compact"),
    ("limit=0", "limit"), ("limit=21", "limit"), ("limit=two", "limit"),
])
def test_bad_options_are_a_400_that_says_which_option(demo_client, query, word):
    response = demo_client.get(f"/widget/items/{HIROSHIMA}?{query}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert word in text and "Bad Request" in text
    assert len(response.data) < 2000, "a small message fits in the iframe, not a whole site page"
    assert "</style>body" not in text


def test_an_unknown_widget_is_a_small_404(demo_client):
    response = demo_client.get("/widget/items/no-such-item")
    assert response.status_code == 404
    assert b"no longer in the catalog" in response.data and len(response.data) < 2000


def test_an_old_slug_redirects_to_the_current_widget_with_its_options(demo_app, demo_client):
    with demo_app.app_context():
        change_slug(db.session.scalar(sa.select(Item).where(Item.slug == HIROSHIMA)), "hiroshima-my-love-1959")
        db.session.commit()
    response = demo_client.get(f"/widget/items/{HIROSHIMA}?theme=dark")
    assert response.status_code == 301
    assert response.headers["Location"] == "http://localhost/widget/items/hiroshima-my-love-1959?theme=dark"


def test_widget_pages_may_be_framed_by_any_site_by_default(demo_client):
    response = widget(demo_client)
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers


def test_widget_framing_follows_the_configured_ancestors(database_url):
    app = create_app({
        "TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database_url,
        "WIDGET_FRAME_ANCESTORS": "https://blog.example",
    })
    with app.app_context():
        db.create_all()
        slug = save_item(ItemFields(kind="book", title="Human Acts", year=2014)).slug
        db.session.commit()
    response = app.test_client().get(f"/widget/items/{slug}")
    assert response.status_code == 200
    assert "frame-ancestors https://blog.example" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("url", ["/", f"/items/{HIROSHIMA}", "/api/v1/items", "/feeds/items.atom"])
def test_every_other_page_refuses_to_be_framed(demo_client, url):
    response = demo_client.get(url)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("query", ["", "limit=20", "limit=20&compact=1"])
def test_the_widget_page_is_well_under_30_kb(demo_client, query):
    assert len(widget(demo_client, query=query).data) < 30 * 1024


def test_the_widget_page_revalidates_with_304(demo_client):
    first = widget(demo_client)
    assert first.headers["ETag"]
    assert "public" in first.headers["Cache-Control"] and "max-age=60" in first.headers["Cache-Control"]
    again = demo_client.get(f"/widget/items/{HIROSHIMA}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_the_widget_page_costs_a_few_queries_beyond_the_recommendations(demo_app, demo_client):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with demo_app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        first = widget(demo_client)
        made = list(statements)
        statements.clear()
        again = widget(demo_client)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    # The item, then tags and credits of the recommended items in bulk; the stand-in recommender's own
    # queries. Apart: the catalog version the validator is made of.
    bookkeeping = ("catalog_version", "PRAGMA", "BEGIN")
    rendering = [s for s in made if not any(word in s for word in bookkeeping)]
    assert len(rendering) <= 9, rendering
    # The next reader is drawn the same page: nothing is stored between requests.
    assert again.get_data() == first.get_data()
    assert len(statements) == len(made), statements


def test_widget_js_is_small_javascript(demo_client):
    response = demo_client.get("/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert len(response.data) < 10 * 1024
    assert response.headers["ETag"] and "max-age" in response.headers["Cache-Control"]


def test_widget_js_writes_api_text_only_with_text_content(demo_client):
    script = demo_client.get("/widget.js").get_data(as_text=True)
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script
    assert "textContent" in script
    assert "attachShadow" in script
    assert "document.currentScript" in script
    assert '"__WIDGET_CSS__"' not in script and ".aw{" in script


def test_the_embedding_guide_documents_every_option_and_the_400_rule(demo_client):
    response = demo_client.get("/widget/")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for option in ("limit", "kind", "theme", "accent", "compact"):
        assert f"<code>{option}</code>" in text
    assert "HTTP 400" in text
    assert "http://localhost/widget.js" in text and "e.origin!==&#34;http://localhost&#34;" in text
