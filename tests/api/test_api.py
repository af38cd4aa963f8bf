"""The JSON API: answers that match the OpenAPI description, JSON errors, CORS for GET only, ETags."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.catalog.slugs import change_slug
from afterimage.extensions import db
from recs.text import fold_accents
import sqlalchemy as sa


HIROSHIMA = "hiroshima-mon-amour-1959"
KOREAN_LIST = "8-korean-books-written-by-women-every-reader-should-read-once"

# (real URL, OpenAPI path it answers)
ENDPOINTS = [
    ("/api/v1/items", "/v1/items"),
    ("/api/v1/items?kind=book&page=2", "/v1/items"),
    ("/api/v1/items?q=duras", "/v1/items"),
    ("/api/v1/items?tag=war&kind=film", "/v1/items"),
    (f"/api/v1/items/{HIROSHIMA}", "/v1/items/{slug}"),
    (f"/api/v1/items/{HIROSHIMA}/recommendations", "/v1/items/{slug}/recommendations"),
    (f"/api/v1/items/{HIROSHIMA}/recommendations?kind=book&limit=3", "/v1/items/{slug}/recommendations"),
    (f"/api/v1/recommendations?liked={HIROSHIMA},the-vegetarian-2007,no-such-item", "/v1/recommendations"),
    (f"/api/v1/lists/{KOREAN_LIST}", "/v1/lists/{slug}"),
    ("/api/v1/tags/war?limit=2", "/v1/tags/{slug}"),
]


@pytest.fixture
def spec(demo_client) -> dict:
    """The API's own OpenAPI document."""
    return demo_client.get("/api/openapi.json").get_json()


def validate(spec: dict, path: str, status: int, body) -> None:
    """Raise if the body does not match the schema the description gives for this path and status."""
    schema = spec["paths"][path]["get"]["responses"][str(status)]["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": spec["components"]}).validate(body)


@pytest.mark.parametrize("url, path", ENDPOINTS)
def test_every_endpoint_answers_as_its_openapi_description_says(demo_client, spec, url, path):
    response = demo_client.get(url)
    assert response.status_code == 200
    assert response.content_type == "application/json"
    validate(spec, path, 200, response.get_json())


@pytest.mark.parametrize("url, path", [
    ("/api/v1/items/no-such-item", "/v1/items/{slug}"),
    ("/api/v1/items?limit=1&page=abc", "/v1/items"),
    (f"/api/v1/items/{HIROSHIMA}/recommendations?limit=10000", "/v1/items/{slug}/recommendations"),
    ("/api/v1/recommendations?liked=no-such-item", "/v1/recommendations"),
    ("/api/v1/lists/no-such-list", "/v1/lists/{slug}"),
    ("/api/v1/tags/war?kind=tv", "/v1/tags/{slug}"),
])
def test_errors_answer_as_the_description_says(demo_client, spec, url, path):
    response = demo_client.get(url)
    validate(spec, path, response.status_code, response.get_json())


def test_openapi_describes_exactly_the_api_routes(demo_app, spec):
    rules = {r.rule.removeprefix("/api").replace("<slug>", "{slug}")
             for r in demo_app.url_map.iter_rules() if r.endpoint.startswith("api.") and "/v1/" in r.rule}
    assert set(spec["paths"]) == rules
    assert spec["openapi"] == "3.1.0"
    assert spec["servers"][0]["url"] == "http://localhost/api"


def test_openapi_schemas_are_valid_json_schema(spec):
    for name, schema in spec["components"]["schemas"].items():
        Draft202012Validator.check_schema({**schema, "components": spec["components"]})


def test_an_item_carries_its_creators_tags_and_absolute_urls(demo_client):
    item = demo_client.get(f"/api/v1/items/{HIROSHIMA}").get_json()
    assert item["title"] == "Hiroshima mon amour"
    assert item["kind"] == "film" and item["year"] == 1959
    assert {"name": "Alain Resnais", "role": "director"} in item["creators"]
    assert {"name": "Hiroshima", "slug": "hiroshima"} in item["tags"]
    assert item["url"] == f"http://localhost/items/{HIROSHIMA}"
    assert item["cover_url"] == f"http://localhost/covers/{HIROSHIMA}.svg"
    assert item["widget_url"] == f"http://localhost/widget/items/{HIROSHIMA}"


def test_recommendations_without_kind_list_films_then_books(demo_client):
    body = demo_client.get(f"/api/v1/items/{HIROSHIMA}/recommendations?limit=3").get_json()
    kinds = [r["item"]["kind"] for r in body["recommendations"]]
    assert kinds == sorted(kinds, key=["film", "book"].index)
    assert kinds.count("film") == 3 and kinds.count("book") == 3
    assert HIROSHIMA not in {r["item"]["slug"] for r in body["recommendations"]}
    assert all(r["reasons"] and isinstance(r["score"], float) for r in body["recommendations"])


def test_recommendations_of_one_kind_respect_the_limit(demo_client):
    body = demo_client.get(f"/api/v1/items/{HIROSHIMA}/recommendations?kind=book&limit=2").get_json()
    assert [r["item"]["kind"] for r in body["recommendations"]] == ["book", "book"]


def test_recommendations_for_a_set_report_unknown_slugs(demo_client):
    body = demo_client.get(f"/api/v1/recommendations?liked={HIROSHIMA},nope&kind=film").get_json()
    assert [i["slug"] for i in body["liked"]] == [HIROSHIMA]
    assert body["unknown"] == ["nope"]
    assert body["recommendations"] and all(r["item"]["kind"] == "film" for r in body["recommendations"])


def test_recommendations_for_a_set_need_a_liked_slug(demo_client):
    response = demo_client.get("/api/v1/recommendations")
    assert response.status_code == 400
    assert "liked" in response.get_json()["message"]


def test_a_list_has_its_items_in_order_with_notes_and_recommendations(demo_client):
    body = demo_client.get(f"/api/v1/lists/{KOREAN_LIST}").get_json()
    assert body["list"]["title"].startswith("8 Korean books")
    assert body["items"][0]["slug"] == "human-acts-2014"
    assert body["items"][0]["note"].startswith("The book to start with")
    member_slugs = {i["slug"] for i in body["items"]}
    assert body["recommendations"] and not member_slugs & {r["item"]["slug"] for r in body["recommendations"]}


def test_an_unpublished_list_is_not_found(demo_app, demo_client):
    with demo_app.app_context():
        db.session.scalar(sa.select(CuratedList).where(CuratedList.slug == KOREAN_LIST)).published = False
        db.session.commit()
    assert demo_client.get(f"/api/v1/lists/{KOREAN_LIST}").status_code == 404


def test_a_tag_has_its_items_and_recommendations(demo_app, demo_client):
    with demo_app.app_context():
        tagged = set(db.session.scalars(sa.select(Item.slug).join(Item.tags).where(Tag.slug == "hiroshima")))
    body = demo_client.get("/api/v1/tags/hiroshima").get_json()
    assert body["tag"]["name"] == "Hiroshima"
    assert HIROSHIMA in tagged and {i["slug"] for i in body["items"]} == tagged
    recommended = body["recommendations"]
    # Five of each kind by default, none of them already under the tag, each with a reason.
    assert [r["item"]["kind"] for r in recommended] == ["film"] * 5 + ["book"] * 5
    assert not tagged & {r["item"]["slug"] for r in recommended}
    assert all(r["reasons"] and r["score"] > 0 for r in recommended)


def test_an_old_slug_redirects_permanently_to_the_current_url(demo_app, demo_client):
    with demo_app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.slug == HIROSHIMA))
        change_slug(item, "hiroshima-my-love-1959")
        db.session.commit()
    response = demo_client.get(f"/api/v1/items/{HIROSHIMA}/recommendations?limit=2")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/api/v1/items/hiroshima-my-love-1959/recommendations?limit=2")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert demo_client.get(response.headers["Location"]).status_code == 200


def test_items_paginate_with_next_and_prev_urls(demo_client):
    first = demo_client.get("/api/v1/items?kind=book").get_json()
    assert first["page"] == 1 and first["prev"] is None and first["pages"] >= 2
    assert first["next"] == "http://localhost/api/v1/items?page=2&kind=book"
    second = demo_client.get(first["next"]).get_json()
    assert second["prev"] == "http://localhost/api/v1/items?page=1&kind=book"
    assert not {i["slug"] for i in first["items"]} & {i["slug"] for i in second["items"]}
    assert all(i["kind"] == "book" for i in first["items"] + second["items"])


def test_items_search_ignores_accents_and_filters_by_tag(demo_client):
    found = demo_client.get("/api/v1/items?q=cleo").get_json()
    assert "Cléo from 5 to 7" in {i["title"] for i in found["items"]}
    tagged = demo_client.get("/api/v1/items?tag=korean-cinema").get_json()
    assert tagged["total"] and all(any(t["slug"] == "korean-cinema" for t in i["tags"]) for i in tagged["items"])


@pytest.mark.parametrize("query, word", [
    ("limit=abc", "limit"), ("limit=10000", "limit"), ("limit=0", "limit"), ("limit=-1", "limit"),
    ("kind=tv", "kind"),
])
def test_bad_parameters_are_a_json_400_naming_the_parameter(demo_client, query, word):
    response = demo_client.get(f"/api/v1/items/{HIROSHIMA}/recommendations?{query}")
    assert response.status_code == 400
    assert response.content_type == "application/json"
    assert word in response.get_json()["message"]


@pytest.mark.parametrize("url", ["/api/v1/items?page=0", "/api/v1/items?page=x", "/api/v1/items?kind=films"])
def test_bad_list_parameters_are_a_json_400(demo_client, url):
    assert demo_client.get(url).status_code == 400


@pytest.mark.parametrize("url", [
    "/api/v1/items/no-such-item", "/api/v1/items/no-such-item/recommendations", "/api/v1/tags/nope",
    "/api/v1/items?tag=nope", "/api/v1/nothing-here",
])
def test_unknown_things_are_a_json_404_without_html(demo_client, url):
    response = demo_client.get(url)
    assert response.status_code == 404
    assert response.content_type == "application/json"
    assert response.get_json()["message"]
    assert b"<" not in response.data and b"Traceback" not in response.data


def test_api_gets_are_open_to_any_origin_without_credentials(demo_client):
    response = demo_client.get(f"/api/v1/items/{HIROSHIMA}", headers={"Origin": "https://blog.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert demo_client.get("/api/v1/items/no-such-item").headers["Access-Control-Allow-Origin"] == "*"


def test_only_api_gets_carry_the_cors_header(demo_client):
    assert "Access-Control-Allow-Origin" not in demo_client.get(f"/items/{HIROSHIMA}").headers
    assert "Access-Control-Allow-Origin" not in demo_client.get("/").headers
    assert "Access-Control-Allow-Origin" not in demo_client.get(f"/widget/items/{HIROSHIMA}").headers
    assert "Access-Control-Allow-Origin" not in demo_client.get(f"/oembed?url=http://localhost/items/{HIROSHIMA}").headers
    assert "Access-Control-Allow-Origin" not in demo_client.post(f"/api/v1/items/{HIROSHIMA}").headers
    assert "Access-Control-Allow-Origin" not in demo_client.options(f"/api/v1/items/{HIROSHIMA}").headers


def test_a_matching_etag_gets_304_not_modified(demo_client):
    url = f"/api/v1/items/{HIROSHIMA}/recommendations"
    first = demo_client.get(url)
    assert first.headers["ETag"]
    assert "max-age=60" in first.headers["Cache-Control"] and "public" in first.headers["Cache-Control"]
    again = demo_client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert demo_client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_an_edit_changes_the_etag(demo_app, demo_client):
    url = f"/api/v1/items/{HIROSHIMA}"
    before = demo_client.get(url).headers["ETag"]
    with demo_app.app_context():
        db.session.scalar(sa.select(Item).where(Item.slug == HIROSHIMA)).year = 1960
        db.session.commit()
    assert demo_client.get(url).headers["ETag"] != before


def test_titles_with_markup_travel_as_plain_json_strings(demo_app, demo_client):
    with demo_app.app_context():
        item = save_item(ItemFields(kind="film", title="<img src=x onerror=alert(1)>", year=1961, tags=["Hiroshima"]))
        db.session.commit()
        slug = item.slug
    body = demo_client.get(f"/api/v1/items/{slug}").get_json()
    assert body["title"] == "<img src=x onerror=alert(1)>"


def test_a_redirect_drops_query_keys_that_would_steer_the_url(demo_app, demo_client):
    with demo_app.app_context():
        change_slug(db.session.scalar(sa.select(Item).where(Item.slug == HIROSHIMA)), "hiroshima-my-love-1959")
        db.session.commit()
    for prefix in ("/api/v1/items/", "/widget/items/"):
        response = demo_client.get(f"{prefix}{HIROSHIMA}?slug=x&_external=0&_anchor=evil&limit=2")
        assert response.status_code == 301
        assert response.headers["Location"].removeprefix("http://localhost") == f"{prefix}hiroshima-my-love-1959?limit=2"


def searchable_fields(item: Item) -> list[str]:
    """What the API documents search as reading: titles, year, country, language, description, creators, tags."""
    return [str(v) for v in (item.title, item.original_title, item.year, item.country, item.language,
                             item.description, *(c.creator.name for c in item.credits), *(t.name for t in item.tags)) if v]


def test_search_results_count_the_same_on_every_page_and_past_the_last(demo_app, demo_client):
    with demo_app.app_context():
        items = db.session.scalars(sa.select(Item)).all()
        # Counted here from the rows, field by field, not with the search query under test.
        expected = sum(any("an" in fold_accents(v) for v in searchable_fields(i)) for i in items)
    assert expected > 24  # more than one page of the demo catalog
    pages = [demo_client.get(f"/api/v1/items?q=an&page={n}").get_json() for n in (1, 2, 9)]
    assert [page["total"] for page in pages] == [expected] * 3
    assert len(pages[0]["items"]) == 24 and pages[1]["items"] and not pages[2]["items"]
    assert not {i["slug"] for i in pages[0]["items"]} & {i["slug"] for i in pages[1]["items"]}
    html = demo_client.get("/search?q=an&page=2").get_data(as_text=True)
    assert f"{expected} results for" in html
