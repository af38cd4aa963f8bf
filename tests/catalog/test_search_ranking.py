"""Search that ranks: titles above people above tags above descriptions, the database's full-text relevance
within each (FTS5 bm25 on SQLite, pg_trgm similarity on PostgreSQL), a snippet per result with the words
marked, people first for a name, and titles found through a typo. Runs on SQLite, and on PostgreSQL with
--postgres; the test marked `postgres` checks what only PostgreSQL does."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from afterimage.catalog.rules import ItemFields, save_item
from afterimage.catalog.search import search_items
from afterimage.extensions import db
from tests.conftest import built_once

CATALOG = [
    ItemFields(kind="film", title="Hiroshima mon amour", year=1959, original_title="二十四時間の情事",
               creators=[("Alain Resnais", "director"), ("Marguerite Duras", "screenwriter")],
               tags=["French New Wave", "Memory"], description="A French actress and a Japanese architect in Hiroshima."),
    ItemFields(kind="book", title="Hiroshima", year=1946, creators=[("John Hersey", "author")], tags=["War"]),
    ItemFields(kind="film", title="Children of Hiroshima", year=1952, creators=[("Kaneto Shindo", "director")]),
    ItemFields(kind="film", title="Black Rain", year=1989, creators=[("Shohei Imamura", "director")],
               tags=["Hiroshima"], description="Five years after the bomb, a village."),
    ItemFields(kind="film", title="Grave of the Fireflies", year=1988, creators=[("Isao Takahata", "director")],
               description="Kobe, not Hiroshima: two children after the firebombing."),
    ItemFields(kind="book", title="The Lover", year=1984, creators=[("Marguerite Duras", "author")],
               description="Saigon, a ferry, a girl in a man's hat."),
    ItemFields(kind="book", title="Moderato Cantabile", year=1958, creators=[("Someone Else", "author")],
               description="Often read beside Duras, though <b>not</b> by her."),
    ItemFields(kind="film", title="Cléo from 5 to 7", year=1962, creators=[("Agnès Varda", "director")],
               tags=["Paris"], description="Two hours in real time."),
    ItemFields(kind="book", title="Human Acts", year=2014, original_title="소년이 온다",
               creators=[("Han Kang", "author")], tags=["Memory"], description="Gwangju, 1980."),
]


def save_catalog() -> None:
    """The catalog above, committed."""
    for fields in CATALOG:
        save_item(fields)
    db.session.commit()


@pytest.fixture
def catalog_client(app, request):
    """A client on a small catalog made for ranking."""
    built_once(app, request, save_catalog)
    return app.test_client()


def results(client, q: str, **args) -> tuple[str, list[str], list[str]]:
    """The search page's status line, result titles in order, and snippets (as HTML)."""
    html = client.get("/search", query_string={"q": q, **args}).get_data(as_text=True)
    status = re.search(r'role="status">(.*?)</p>', html, re.S).group(1)
    titles = re.findall(r'<span class="card-title">(.*?)</span>', html)
    snippets = re.findall(r'<p class="card-snippet">(.*?)</p>', html, re.S)
    return status, titles, snippets


def test_title_matches_rank_above_tags_and_descriptions(catalog_client):
    _, titles, _ = results(catalog_client, "hiroshima")
    # The whole title, then a title starting with the word, then one holding it; then a tag; then a description.
    assert titles == ["Hiroshima", "Hiroshima mon amour", "Children of Hiroshima", "Black Rain",
                      "Grave of the Fireflies"]


def test_people_rank_above_descriptions_and_a_name_lists_the_person_first(catalog_client):
    html = catalog_client.get("/search", query_string={"q": "duras"}).get_data(as_text=True)
    titles = re.findall(r'<span class="card-title">(.*?)</span>', html)
    assert set(titles[:2]) == {"The Lover", "Hiroshima mon amour"} and titles[2:] == ["Moderato Cantabile"]
    assert html.index('href="/people/marguerite-duras"') < html.index('class="grid"')


def test_original_titles_count_as_titles(catalog_client):
    _, titles, snippets = results(catalog_client, "소년")
    assert titles == ["Human Acts"]
    assert snippets == ['<span class="snippet-field">Original title:</span> <mark>소년</mark>이 온다']


def test_each_result_has_a_snippet_with_the_words_marked_accents_folded(catalog_client):
    _, titles, snippets = results(catalog_client, "japanese architect")
    assert titles == ["Hiroshima mon amour"]
    assert snippets == ['<span class="snippet-field">Description:</span> A French actress and a <mark>Japanese</mark> '
                        '<mark>architect</mark> in Hiroshima.']
    _, _, snippets = results(catalog_client, "AGNES")
    assert snippets == ['<span class="snippet-field">People:</span> <mark>Agnès</mark> Varda']
    _, _, snippets = results(catalog_client, "cleo")
    assert snippets == ['<span class="snippet-field">Title:</span> <mark>Cléo</mark> from 5 to 7']


def test_snippets_escape_what_they_quote(catalog_client):
    _, titles, snippets = results(catalog_client, "beside")
    assert titles == ["Moderato Cantabile"]
    assert "Often read <mark>beside</mark> Duras, though &lt;b&gt;not&lt;/b&gt; by her." in snippets[0]


def test_a_typo_in_a_title_still_finds_it(catalog_client):
    status, titles, snippets = results(catalog_client, "hiroshma")
    assert "Nothing matches “hiroshma” exactly" in status
    assert titles[0] == "Hiroshima" and set(titles) == {"Hiroshima", "Hiroshima mon amour", "Children of Hiroshima"}
    assert "<mark>Hiroshima</mark> mon amour" in snippets[titles.index("Hiroshima mon amour")]
    _, titles, _ = results(catalog_client, "hiroshma mon amor")
    assert titles == ["Hiroshima mon amour"]
    _, titles, _ = results(catalog_client, "hiroshma", kind="book")
    assert titles == ["Hiroshima"]
    status, titles, _ = results(catalog_client, "zzqqxx")
    assert titles == [] and "0 results" in status


def test_the_api_searches_literally_best_first(catalog_client):
    assert catalog_client.get("/api/v1/items?q=hiroshma").get_json()["total"] == 0
    found = [i["title"] for i in catalog_client.get("/api/v1/items?q=hiroshima").get_json()["items"]]
    assert found[:3] == ["Hiroshima", "Hiroshima mon amour", "Children of Hiroshima"]


@pytest.mark.postgres
def test_postgresql_ranks_by_trigram_similarity_and_finds_typos_with_it(app, catalog_client):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("runs with --postgres")
        sql = str(search_items("hiroshima").compile(dialect=db.engine.dialect))
        assert "similarity(items.title_key" in sql and "bm25" not in sql
        alike = db.session.scalar(sa.select(sa.func.word_similarity("hiroshma", "hiroshima mon amour")))
        assert alike >= 0.45
    _, titles, _ = results(catalog_client, "hiroshma mon")
    assert titles == ["Hiroshima mon amour"]
