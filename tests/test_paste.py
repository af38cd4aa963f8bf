"""Her next post, ready to paste: a list or a tag as static HTML (no script, no iframe) and Markdown, with
covers at absolute URLs, her notes, years, creators and links back, previewed and copied from the studio."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from markdown_it import MarkdownIt

from afterimage.catalog.models import CuratedList, ListEntry, Tag
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db
from tests.test_studio_fixtures import author_client, demo_author_client  # noqa: F401
from tests.test_studio_pages import csp_offences

KOREAN_LIST = "8-korean-books-written-by-women-every-reader-should-read-once"
TRICKY_TITLES = ["*Not bold* and _not italic_", "[Not a link](http://evil.example)", "1. Not a list", "<b>Not bold</b> & co"]


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    """The start tags of an HTML fragment."""
    parser = Elements()
    parser.feed(html)
    return parser.tags


def list_id(app, slug: str) -> int:
    """The id of a list by its slug."""
    with app.app_context():
        return db.session.scalar(sa.select(CuratedList.id).where(CuratedList.slug == slug))


def entries_in_order(app, slug: str) -> list[tuple[str, str, int | None, list[str], str]]:
    """(item slug, title, year, makers, note) of each entry of a list, in her order."""
    with app.app_context():
        curated = db.session.scalar(sa.select(CuratedList).where(CuratedList.slug == slug))
        return [(e.item.slug, e.item.title, e.item.year, [c.name for c in e.item.makers], e.note or e.item.note)
                for e in curated.entries]


def test_a_list_pastes_as_static_html_in_her_order_with_absolute_urls(demo_app, demo_author_client):
    codes = demo_author_client.get(f"/studio/lists/{list_id(demo_app, KOREAN_LIST)}/paste").get_json()
    html = codes["html"]
    tags = elements(html)
    names = {tag for tag, _ in tags}
    assert not names & {"script", "iframe", "object", "embed", "form", "style", "link", "base"}
    assert not [name for _, attrs in tags for name in attrs if name.startswith("on")]
    urls = [attrs.get("href") or attrs.get("src") for tag, attrs in tags if tag in ("a", "img")]
    assert urls and all(url.startswith("http://localhost/") for url in urls)
    # Covers are raster (blog hosts refuse SVG), at absolute URLs that answer.
    covers = [attrs["src"] for tag, attrs in tags if tag == "img"]
    entries = entries_in_order(demo_app, KOREAN_LIST)
    assert len(covers) == len(entries) and not any(".svg" in c for c in covers)
    assert demo_author_client.get(covers[0].removeprefix("http://localhost")).content_type == "image/png"
    linked = list(dict.fromkeys(re.findall(r'href="http://localhost/items/([^"]+)"', html)))
    assert linked == [slug for slug, *_ in entries]
    for slug, title, year, makers, note in entries:
        assert f">{title}</a> ({year})" in html
        assert all(name in html for name in makers)
        if note:
            assert note.split()[0] in html
    assert f'href="http://localhost/lists/{KOREAN_LIST}"' in html


def test_the_markdown_has_the_same_items_notes_and_links_in_order(demo_app, demo_author_client):
    markdown = demo_author_client.get(f"/studio/lists/{list_id(demo_app, KOREAN_LIST)}/paste").get_json()["markdown"]
    rendered = MarkdownIt().render(markdown)
    entries = entries_in_order(demo_app, KOREAN_LIST)
    headings = re.findall(r"<h3>(\d+)\. <a href=\"http://localhost/items/([^\"]+)\">", rendered)
    assert headings == [(str(n), slug) for n, (slug, *_) in enumerate(entries, 1)]
    assert "<script" not in rendered and "<iframe" not in rendered
    assert len(re.findall(r'<img src="http://localhost/og/poster/[^"]+" alt="Cover of ', rendered)) == len(entries)
    assert entries[0][4] in rendered


@pytest.fixture
def tricky_list(app) -> int:
    """A list whose titles and note are full of Markdown and HTML markup."""
    with app.app_context():
        curated = CuratedList(slug="tricky", title="Lists *with* [markup]", introduction="# Not a heading")
        db.session.add(curated)
        for n, title in enumerate(TRICKY_TITLES):
            item = save_item(ItemFields(kind="book", title=title, year=2000 + n, creators=[("Ann_Smith*", "author")]))
            curated.entries.append(ListEntry(item=item, position=n, note="- not a list\n\n**not strong** <i>x</i>"))
        db.session.commit()
        return curated.id


def test_the_markdown_escapes_titles_and_notes_so_they_show_as_written(app, author_client, tricky_list):
    codes = author_client.get(f"/studio/lists/{tricky_list}/paste").get_json()
    markdown = codes["markdown"]
    assert r"\*Not bold\* and \_not italic\_" in markdown and r"\[Not a link\]" in markdown
    rendered = MarkdownIt().render(markdown)
    # Only our own markup: one link per heading and cover, no emphasis, no extra list, no raw HTML.
    assert rendered.count("<em>") == 1  # our own "More on Afterimage"
    assert "<strong>" not in rendered and "<ul>" not in rendered and "<ol>" not in rendered
    assert "<b>" not in rendered and "<i>" not in rendered and "evil.example\"" not in rendered
    for title in TRICKY_TITLES:
        shown = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert f">{shown}</a>" in rendered, title
    assert "Ann_Smith*" in rendered and ">Lists *with* [markup]</a></h2>" in rendered
    assert "<p># Not a heading</p>" in rendered and "<p>- not a list</p>" in rendered
    # The HTML escapes the same titles as text.
    assert "&lt;b&gt;Not bold&lt;/b&gt; &amp; co" in codes["html"] and "<b>" not in codes["html"]


def test_a_draft_list_does_not_link_to_its_unpublished_page(app, author_client, tricky_list):
    with app.app_context():
        db.session.get(CuratedList, tricky_list).published = False
        db.session.commit()
    codes = author_client.get(f"/studio/lists/{tricky_list}/paste").get_json()
    assert "/lists/tricky" not in codes["html"] and "/lists/tricky" not in codes["markdown"]
    assert "This list is a draft" in author_client.get(f"/studio/lists/{tricky_list}").get_data(as_text=True)


def test_options_leave_out_covers_and_notes(app, author_client, tricky_list):
    codes = author_client.get(f"/studio/lists/{tricky_list}/paste?options=1&notes=1").get_json()
    assert "<img" not in codes["html"] and "![" not in codes["markdown"]
    assert "not a list" in codes["html"]
    bare = author_client.get(f"/studio/lists/{tricky_list}/paste?options=1").get_json()
    assert "not a list" not in bare["html"] and "not a list" not in bare["markdown"]


def test_a_tag_pastes_its_items_by_year(demo_app, demo_author_client):
    with demo_app.app_context():
        tag = db.session.scalar(sa.select(Tag).where(Tag.slug == "war"))
        tag_id, years = tag.id, sorted(i.year for i in tag.items)
    html = demo_author_client.get(f"/studio/tags/{tag_id}/paste").get_json()["html"]
    assert [int(y) for y in re.findall(r"</a> \((\d{4})\)</h3>", html)] == years
    assert 'href="http://localhost/tags/war"' in html
    assert not {"script", "iframe"} & {tag for tag, _ in elements(html)}


def test_the_studio_list_and_tag_pages_show_the_panel_with_preview_and_copy(demo_app, demo_author_client):
    lid = list_id(demo_app, KOREAN_LIST)
    with demo_app.app_context():
        tag_id = db.session.scalar(sa.select(Tag.id).where(Tag.slug == "war"))
    for page, base in ((f"/studio/lists/{lid}", f"/studio/lists/{lid}"), (f"/studio/tags/{tag_id}", f"/studio/tags/{tag_id}")):
        html = demo_author_client.get(page).get_data(as_text=True)
        assert 'id="paste-heading"' in html and 'data-copy="paste-html"' in html and 'data-copy="paste-markdown"' in html
        assert f'src="{base}/paste/preview"' in html and 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in html
        assert "&lt;h3 style=" in html  # the HTML code, escaped into its textarea
        assert csp_offences(html) == []
        preview = demo_author_client.get(f"{base}/paste/preview")
        assert preview.status_code == 200
        policy = preview.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'self'" in policy
        assert "no-store" in preview.headers["Cache-Control"]
        assert not {"script", "iframe"} & {tag for tag, _ in elements(preview.get_data(as_text=True))}


def test_readers_cannot_reach_the_paste_code(app, client, tricky_list):
    assert client.get(f"/studio/lists/{tricky_list}/paste").status_code in (302, 401)
    assert client.get(f"/studio/lists/{tricky_list}/paste/preview").status_code in (302, 401)
