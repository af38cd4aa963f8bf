"""Her next post, ready to paste: a list or a tag as static HTML (no script, no iframe) and Markdown, with
covers at absolute URLs, her notes, years, creators and links back, previewed and copied from the studio."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from markdown_it import MarkdownIt

from afterimage.catalog.models import CuratedList, Item, ListEntry, Tag
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db
from tests.conftest import built_once
from tests.studio.test_studio_fixtures import author_client, demo_author_client  # noqa: F401
from tests.studio.test_studio_pages import csp_offences

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


def add_tricky_list() -> int:
    """A list whose titles and note are full of Markdown and HTML markup; returns its id."""
    curated = CuratedList(slug="tricky", title="Lists *with* [markup]", introduction="# Not a heading")
    db.session.add(curated)
    for n, title in enumerate(TRICKY_TITLES):
        item = save_item(ItemFields(kind="book", title=title, year=2000 + n, creators=[("Ann_Smith*", "author")]))
        curated.entries.append(ListEntry(item=item, position=n, note="- not a list\n\n**not strong** <i>x</i>"))
    db.session.commit()
    return curated.id


@pytest.fixture
def tricky_list(app, request) -> int:
    """The id of add_tricky_list's list."""
    return built_once(app, request, add_tricky_list)


def test_the_markdown_escapes_titles_and_notes_so_they_show_as_written(app, tricky_list, author_client):
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


def test_a_draft_list_does_not_link_to_its_unpublished_page(app, tricky_list, author_client):
    with app.app_context():
        db.session.get(CuratedList, tricky_list).published = False
        db.session.commit()
    codes = author_client.get(f"/studio/lists/{tricky_list}/paste").get_json()
    assert "/lists/tricky" not in codes["html"] and "/lists/tricky" not in codes["markdown"]
    assert "This list is a draft" in author_client.get(f"/studio/lists/{tricky_list}").get_data(as_text=True)


def test_options_leave_out_covers_and_notes(app, tricky_list, author_client):
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


def set_status(app, title: str, status: str) -> str:
    """Move an item to another shelf; its slug."""
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.title == title))
        item.status = status
        db.session.commit()
        return item.slug


def test_a_list_block_leaves_out_what_she_has_not_watched_or_read_and_numbers_the_rest(app, tricky_list, author_client):
    private = set_status(app, TRICKY_TITLES[1], "want")
    codes = author_client.get(f"/studio/lists/{tricky_list}/paste").get_json()
    for code in codes.values():
        assert private not in code and "Not a link" not in code
    rendered = MarkdownIt().render(codes["markdown"])
    assert re.findall(r"<h3>(\d+)\. ", rendered) == ["1", "2", "3"]
    assert "Not a link" not in author_client.get(
        f"/studio/lists/{tricky_list}/paste/preview").get_data(as_text=True)


def test_a_tag_block_shows_only_published_items_by_year_or_by_her_rating(demo_app, demo_author_client):
    with demo_app.app_context():
        tag = db.session.scalar(sa.select(Tag).where(Tag.slug == "war"))
        tag_id, members = tag.id, sorted(tag.items, key=lambda i: (i.year, i.title_key))
        hidden = members[0]
        hidden.status = "current"
        rated = [i for i in members[1:] if i.rating]
        db.session.commit()
        hidden_slug, shown = hidden.slug, [(i.slug, i.rating) for i in members[1:]]
        rated_first = [i.slug for i in sorted(rated, key=lambda i: -i.rating)][:1]
    by_year = demo_author_client.get(f"/studio/tags/{tag_id}/paste").get_json()
    assert hidden_slug not in by_year["html"] and hidden_slug not in by_year["markdown"]
    linked = list(dict.fromkeys(re.findall(r'href="http://localhost/items/([^"]+)"', by_year["html"])))
    assert linked == [slug for slug, _ in shown]
    by_rating = demo_author_client.get(f"/studio/tags/{tag_id}/paste?order=rating").get_json()
    ranked = list(dict.fromkeys(re.findall(r'href="http://localhost/items/([^"]+)"', by_rating["html"])))
    assert sorted(ranked) == sorted(linked) and ranked[:1] == rated_first
    assert re.search(r"<h3 [^>]*>1\. <a", by_rating["html"])  # a ranking is numbered
    page = demo_author_client.get(f"/studio/tags/{tag_id}").get_data(as_text=True)
    assert '<select id="paste-order" name="order">' in page and "By my rating, best first" in page
    # She can also take the tag's items to the set page, to choose some and put them in her own order.
    pick = re.search(r'<p class="paste-pick"><a href="([^"]+)">', page)[1].replace("&amp;", "&")
    picked = demo_author_client.get(pick).get_data(as_text=True)
    boxes = re.search(r'<textarea id="picked-items"[^>]*>(.*?)</textarea>', picked, re.S)[1].split()
    assert boxes == [slug for slug, _ in shown][:20] and hidden_slug not in picked
    # A block holds 20 (the demo's war tag has more): the rest are named, not dropped in silence.
    left_out = len(shown) - 20
    assert left_out > 0 and f"these {left_out} came after them and are left out" in picked and shown[-1][0] in picked
    assert 'id="picked-title" type="text" name="title" value="war"' in picked.lower()


def add_picked_films() -> list[str]:
    """Three films for a set: one with brackets and stars in its title, one she has not watched yet."""
    items = [
        save_item(ItemFields(kind="film", title="[Rec] *Director's cut*", year=2007, note="Still *scary*.",
                             creators=[("Jaume Balagueró", "director")])),
        save_item(ItemFields(kind="film", title="Stalker", year=1979, creators=[("Andrei Tarkovsky", "director")])),
        save_item(ItemFields(kind="film", title="Not yet", year=2024, status="want")),
    ]
    db.session.commit()
    return [item.slug for item in items]


@pytest.fixture
def picked_films(app, request) -> list[str]:
    """The slugs of add_picked_films' films."""
    return list(built_once(app, request, add_picked_films))


def test_a_picked_set_pastes_in_her_order_from_slugs_addresses_and_a_liked_link(app, picked_films, author_client):
    rec, stalker, private = picked_films
    given = f"http://localhost/items/{stalker}\nhttp://localhost/liked?items={rec},{private}\n{stalker}"
    asked = {"items": given, "title": "Two [great] films"}
    codes = author_client.get("/studio/paste/code", query_string=asked).get_json()
    html, markdown = codes["html"], codes["markdown"]
    tags = elements(html)
    assert not {tag for tag, _ in tags} & {"script", "iframe", "object", "embed", "form", "style"}
    linked = list(dict.fromkeys(re.findall(r'href="http://localhost/items/([^"]+)"', html)))
    assert linked == [stalker, rec]  # her order, each once, and never the film she has not watched
    assert private not in html and private not in markdown and "Not yet" not in html + markdown
    covers = [attrs["src"] for tag, attrs in tags if tag == "img"]
    assert len(covers) == 2 and all(c.startswith("http://localhost/") and ".svg" not in c for c in covers)
    assert "Andrei Tarkovsky" in html and "(1979)" in html and "Still *scary*." in html
    # Brackets and stars in a title stay text in Markdown: the only links are ours.
    assert r"\[Rec\] \*Director's cut\*" in markdown and r"Two \[great\] films" in markdown
    rendered = MarkdownIt().render(markdown)
    assert f'>[Rec] *Director\'s cut*</a> (2007)</h3>' in rendered.replace("&#x27;", "'")
    assert "<strong>" not in rendered and rendered.count("<em>") == 1  # ours; her "Still *scary*." stays literal
    # The heading links to the readers' "I liked these" page for the same set.
    assert f'<h2><a href="http://localhost/liked?items={stalker},{rec}">Two [great] films</a></h2>' in html
    liked = author_client.get(f"/liked?items={stalker},{rec}").get_data(as_text=True)
    assert "Stalker" in liked and "Director" in liked


def test_the_picked_set_page_names_what_it_left_out_and_offers_the_panel(app, picked_films, author_client):
    rec, stalker, private = picked_films
    page = author_client.get("/studio/paste", query_string={"items": f"{rec}, no-such-film, {private}"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and csp_offences(html) == []
    assert "2 of what you gave names no published item" in html and "no-such-film, " + private in html
    assert 'id="paste-heading"' in html and 'data-copy="paste-markdown"' in html
    assert f'<input type="hidden" name="items" value="{rec}">' in html
    assert f'src="/studio/paste/preview?items={rec}&amp;title=My+picks' in html
    preview = author_client.get(f"/studio/paste/preview?items={rec},{private}")
    assert preview.status_code == 200 and "default-src 'none'" in preview.headers["Content-Security-Policy"]
    assert "Not yet" not in preview.get_data(as_text=True)
    assert not {"script", "iframe"} & {tag for tag, _ in elements(preview.get_data(as_text=True))}
    empty = author_client.get("/studio/paste").get_data(as_text=True)
    assert 'id="paste-heading"' not in empty and 'name="items"' in empty


def test_the_studio_items_table_ticks_only_published_items_for_a_post(app, picked_films, author_client):
    html = author_client.get("/studio/items").get_data(as_text=True)
    boxes = [attrs["value"] for tag, attrs in elements(html) if tag == "input" and attrs.get("name") == "items"]
    assert sorted(boxes) == sorted(picked_films[:2])
    assert 'action="/studio/paste"' in html


def test_readers_cannot_reach_a_picked_set(client, picked_films):
    for url in ("/studio/paste", "/studio/paste/code", "/studio/paste/preview"):
        assert client.get(f"{url}?items={picked_films[0]}").status_code in (302, 401)


def test_any_address_naming_an_item_or_a_set_of_items_is_read_for_a_picked_set(app, picked_films, author_client):
    rec, stalker, private = picked_films
    given = [
        f"http://localhost/api/v1/items/{stalker}/recommendations",  # an item's address with more after its slug
        f"http://localhost/studio/paste?items={rec}",  # the studio's own address of a set, not /liked
    ]
    codes = author_client.get("/studio/paste/code", query_string={"items": "\n".join(given)}).get_json()
    linked = list(dict.fromkeys(re.findall(r'href="http://localhost/items/([^"]+)"', codes["html"])))
    assert linked == [stalker, rec]


def test_a_picked_set_carries_her_introduction_and_links_to_the_set_only_when_it_has_items(picked_films, author_client):
    rec, stalker, _ = picked_films
    query = {"items": f"{rec}\n{stalker}", "title": "Two for winter", "introduction": "Slow films for long nights."}
    codes = author_client.get("/studio/paste/code", query_string=query).get_json()
    assert "Slow films for long nights." in codes["html"] and "/liked?items=" in codes["html"]
    nothing = author_client.get("/studio/paste/code", query_string={"items": "no-such-film"}).get_json()
    assert "/liked" not in nothing["html"]
