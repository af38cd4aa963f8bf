"""People pages: a person's works by role and year, linked from every credit, found by search, in the API."""
from __future__ import annotations

import json
import re

import sqlalchemy as sa
from jsonschema import Draft202012Validator

from afterimage.catalog.models import Creator, Item
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db

HIROSHIMA = "hiroshima-mon-amour-1959"


def add_item(app, **fields) -> str:
    """Save an item through the catalog's rules; returns its slug."""
    with app.app_context():
        item = save_item(ItemFields(**fields))
        db.session.commit()
        return item.slug


def json_ld(html: str) -> dict:
    """The page's JSON-LD block."""
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "no JSON-LD on the page"
    return json.loads(match.group(1))


def headings_and_titles(html: str) -> list[tuple[str, list[str]]]:
    """Each role heading of a person page with the card titles under it, in page order."""
    sections = re.findall(r'<section class="person-role".*?<h2[^>]*>(.*?)</h2>(.*?)</section>', html, re.S)
    return [(h, re.findall(r'<span class="card-title">(.*?)</span>', body)) for h, body in sections]


def test_a_persons_address_is_their_name_with_accents_folded(demo_app, demo_client):
    with demo_app.app_context():
        slugs = dict(db.session.execute(sa.select(Creator.name, Creator.slug)).all())
    assert slugs["Alain Resnais"] == "alain-resnais"
    assert slugs["Han Kang"] == "han-kang"
    assert slugs["Agnès Varda"] == "agnes-varda"
    assert demo_client.get("/people/agnes-varda").status_code == 200


def test_a_person_page_groups_works_by_role_and_orders_them_by_year(app, client):
    add_item(app, kind="film", title="Late Film", year=1990, creators=[("Ana Roles", "director")])
    add_item(app, kind="film", title="Early Film", year=1960, creators=[("Ana Roles", "director"), ("Ana Roles", "screenwriter")])
    add_item(app, kind="film", title="Undated Film", creators=[("Ana Roles", "director")])
    add_item(app, kind="book", title="A Translation", year=2001, creators=[("Someone", "author"), ("Ana Roles", "translator")])
    html = client.get("/people/ana-roles").get_data(as_text=True)
    assert headings_and_titles(html) == [
        ("Directed", ["Early Film", "Late Film", "Undated Film"]),
        ("Wrote the screenplay", ["Early Film"]),
        ("Translated", ["A Translation"]),
    ]
    # Every work shows its cover.
    assert html.count('class="cover cover-card"') == 5


def test_two_names_that_fold_alike_get_two_pages(app, client):
    add_item(app, kind="book", title="One", year=2000, creators=[("Kim Ji-young", "author")])
    add_item(app, kind="book", title="Two", year=2001, creators=[("Kim Ji young", "author")])
    assert headings_and_titles(client.get("/people/kim-ji-young").get_data(as_text=True)) == [("Wrote", ["One"])]
    assert headings_and_titles(client.get("/people/kim-ji-young-2").get_data(as_text=True)) == [("Wrote", ["Two"])]


def test_a_person_credited_only_on_private_items_has_no_page(app, client):
    slug = add_item(app, kind="film", title="Someday", year=2020, status="want", creators=[("Only Wanted", "director")])
    add_item(app, kind="film", title="Seen One", year=2019, creators=[("Half Seen", "director")])
    add_item(app, kind="film", title="Wanted One", year=2021, status="want", creators=[("Half Seen", "director")])
    assert client.get("/people/only-wanted").status_code == 404
    assert client.get("/api/v1/people/only-wanted").status_code == 404
    assert "/people/only-wanted" not in client.get("/search?q=only+wanted").get_data(as_text=True)
    # A private item's page names its people without linking to a page that does not exist.
    assert "/people/only-wanted" not in client.get(f"/items/{slug}").get_data(as_text=True)
    half = client.get("/people/half-seen").get_data(as_text=True)
    assert headings_and_titles(half) == [("Directed", ["Seen One"])]


def test_an_unknown_person_is_not_found(client):
    assert client.get("/people/nobody-at-all").status_code == 404


def test_every_credit_on_an_item_page_links_to_the_persons_page(demo_client):
    html = demo_client.get(f"/items/{HIROSHIMA}").get_data(as_text=True)
    assert 'href="/people/alain-resnais"' in html
    assert 'href="/people/marguerite-duras"' in html
    assert "/search?q=" not in html.split('class="facts"')[1].split("</dl>")[0]


def test_cards_link_their_makers_to_person_pages(demo_client):
    html = demo_client.get("/items?kind=book").get_data(as_text=True)
    assert 'class="person-link" href="/people/han-kang"' in html


def test_the_widget_links_the_subjects_maker_to_their_page(demo_client):
    html = demo_client.get(f"/widget/items/{HIROSHIMA}").get_data(as_text=True)
    assert re.search(r'<a href="http://localhost/people/alain-resnais" target="_blank" rel="noopener">Alain Resnais</a>', html)


def test_search_lists_matching_people_before_the_items(demo_client):
    html = demo_client.get("/search?q=resnais").get_data(as_text=True)
    people = html.index('href="/people/alain-resnais"')
    assert people < html.index('class="grid"')
    # Accents and case do not matter, and every word must match the name.
    assert 'href="/people/agnes-varda"' in demo_client.get("/search?q=AGNES varda").get_data(as_text=True)
    assert 'id="people-heading"' not in demo_client.get("/search?q=hiroshima").get_data(as_text=True)


def test_a_person_page_has_open_graph_tags_and_person_json_ld(demo_client):
    html = demo_client.get("/people/han-kang").get_data(as_text=True)
    assert '<meta property="og:type" content="profile">' in html
    assert '<meta property="og:title" content="Han Kang">' in html
    assert '<meta property="og:url" content="http://localhost/people/han-kang">' in html
    assert re.search(r'<meta property="og:image" content="http://localhost/og/person/han-kang\.png\?v=[0-9a-f]{16}">', html)
    data = json_ld(html)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Person"
    assert data["name"] == "Han Kang"
    assert data["url"] == "http://localhost/people/han-kang"
    assert {"@type": "Book", "name": "The Vegetarian", "url": "http://localhost/items/the-vegetarian-2007"} in data["subjectOf"]


def test_json_ld_on_a_person_page_cannot_close_its_script(app, client):
    add_item(app, kind="film", title="Escapes", year=2000, creators=[("</script><b>X", "director")])
    html = client.get("/people/script-b-x").get_data(as_text=True)
    assert "</script><b>" not in html
    assert json_ld(html)["name"] == "</script><b>X"


def test_the_api_gives_a_person_and_their_works_by_role_as_the_openapi_document_says(demo_client):
    spec = demo_client.get("/api/openapi.json").get_json()
    response = demo_client.get("/api/v1/people/jean-luc-godard")
    assert response.status_code == 200
    body = response.get_json()
    schema = spec["paths"]["/v1/people/{slug}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": spec["components"]}).validate(body)
    assert body["person"] == {"slug": "jean-luc-godard", "name": "Jean-Luc Godard", "url": "http://localhost/people/jean-luc-godard"}
    assert [g["role"] for g in body["works"]] == ["director", "screenwriter"]
    years = [i["year"] for i in body["works"][0]["items"]]
    assert years == sorted(years) and len(years) == 5


def test_an_unknown_person_in_the_api_is_a_json_404_as_described(demo_client):
    spec = demo_client.get("/api/openapi.json").get_json()
    response = demo_client.get("/api/v1/people/no-such-person")
    assert response.status_code == 404
    schema = spec["paths"]["/v1/people/{slug}"]["get"]["responses"]["404"]["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": spec["components"]}).validate(response.get_json())
    assert "no-such-person" in response.get_json()["message"]


def test_a_new_creator_gets_a_page_as_soon_as_the_item_is_saved(app, client):
    add_item(app, kind="book", title="Fresh", year=2024, creators=[("Émile Nouveau", "author")])
    with app.app_context():
        assert db.session.scalar(sa.select(Item.slug).where(Item.title == "Fresh")) == "fresh-2024"
    assert client.get("/people/emile-nouveau").status_code == 200


def test_the_migration_gives_existing_creators_addresses_from_their_names(bare_app):
    from flask_migrate import upgrade

    from afterimage.database import MIGRATIONS_DIR

    with bare_app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR), revision="0007_drop_page_store")
        db.session.execute(sa.text(
            "INSERT INTO creators (id, name, name_key) VALUES (1, 'Agnès Varda', 'agnes varda'), "
            "(2, 'Agnes-Varda', 'agnes-varda'), (3, '李沧东', '李沧东')"
        ))
        db.session.commit()
        upgrade(directory=str(MIGRATIONS_DIR))
        slugs = dict(db.session.execute(sa.text("SELECT id, slug FROM creators")).all())
    assert slugs == {1: "agnes-varda", 2: "agnes-varda-2", 3: "李沧东"}
