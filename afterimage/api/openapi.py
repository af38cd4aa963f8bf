"""The OpenAPI 3.1 description of the JSON API; the tests validate real answers against these schemas."""
from __future__ import annotations

from afterimage.catalog.models import KINDS, ROLES
from afterimage.http.query_args import MAX_PAGE


def ref(name: str) -> dict:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def closed_object(properties: dict, description: str = "") -> dict:
    """An object with exactly these properties, all present (nullable ones say so in their type)."""
    schema = {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema


URL = {"type": "string", "format": "uri"}
SLUG = {"type": "string", "pattern": r"^[^/\s]+$"}

ITEM_PROPERTIES = {
    "slug": SLUG,
    "kind": {"type": "string", "enum": list(KINDS)},
    "title": {"type": "string"},
    "original_title": {"type": ["string", "null"]},
    "year": {"type": ["integer", "null"], "description": "Release or first publication year; negative is BC "
             "(books go back to -3000, films to 1870)."},
    "creators": {"type": "array", "items": ref("Creator")},
    "tags": {"type": "array", "items": ref("TagRef"), "description": "The item's tags as {name, slug}, by name."},
    "url": {**URL, "description": "The item's page on the site."},
    "cover_url": {**URL, "description": "The cover image, or the site's generated SVG placeholder."},
    "widget_url": {**URL, "description": "The embeddable widget page for this item (for an iframe)."},
}


def schemas(max_limit: int) -> dict:
    """Every response body of the API."""
    recommendations = {
        "type": "array", "items": ref("Recommendation"),
        "description": f"Up to `limit` (1-{max_limit}) films, then up to `limit` books; only one kind with `kind=`.",
    }
    return {
        "Creator": closed_object({"name": {"type": "string"}, "role": {"type": "string", "enum": list(ROLES)}}),
        "TagRef": closed_object({"name": {"type": "string"}, "slug": SLUG}),
        "Item": closed_object(ITEM_PROPERTIES, "A film or a book."),
        "ListedItem": closed_object(
            {**ITEM_PROPERTIES, "note": {"type": "string", "description": "The author's note for this entry."}},
            "An item on a curated list, with the author's note.",
        ),
        "Recommendation": closed_object({
            "item": ref("Item"),
            "score": {"type": "number", "minimum": 0, "description": "Similarity, higher is closer."},
            "reasons": {"type": "array", "items": {"type": "string"}, "description": "Why, in words: \"shared tags: war, memory\"."},
            "pinned": {"type": "boolean", "description": "Chosen by the author rather than computed."},
        }),
        "ItemPage": closed_object({
            "items": {"type": "array", "items": ref("Item")},
            "page": {"type": "integer", "minimum": 1},
            "pages": {"type": "integer", "minimum": 0},
            "per_page": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"], "format": "uri"},
            "prev": {"type": ["string", "null"], "format": "uri"},
        }),
        "ItemRecommendations": closed_object({"item": ref("Item"), "recommendations": recommendations}),
        "SetRecommendations": closed_object({
            "liked": {"type": "array", "items": ref("Item"), "description": "The liked items found, in the order given."},
            "unknown": {"type": "array", "items": {"type": "string"}, "description": "Slugs that name no item."},
            "recommendations": recommendations,
        }),
        "List": closed_object({
            "slug": SLUG, "title": {"type": "string"}, "introduction": {"type": "string"},
            "url": URL, "widget_url": URL, "updated": {"type": ["string", "null"], "format": "date-time"},
        }),
        "ListDetail": closed_object({
            "list": ref("List"), "items": {"type": "array", "items": ref("ListedItem")}, "recommendations": recommendations,
        }),
        "Tag": closed_object({
            "slug": SLUG, "name": {"type": "string"}, "description": {"type": "string"}, "url": URL, "widget_url": URL,
        }),
        "TagDetail": closed_object({
            "tag": ref("Tag"),
            "items": {"type": "array", "items": ref("Item"), "description": "The tag's first 100 items, oldest first."},
            "recommendations": recommendations,
        }),
        "Person": closed_object({
            "slug": SLUG, "name": {"type": "string"}, "url": {**URL, "description": "The person's page on the site."},
        }),
        "RoleWorks": closed_object({
            "role": {"type": "string", "enum": list(ROLES)},
            "heading": {"type": "string", "description": "The role in words: \"Directed\", \"Translated\"."},
            "items": {"type": "array", "items": ref("Item"), "description": "Oldest first; undated works last."},
        }),
        "PersonDetail": closed_object({
            "person": ref("Person"),
            "works": {"type": "array", "items": ref("RoleWorks"),
                      "description": "One group per role the person has in the catalog, in the order director, "
                                     "screenwriter, author, translator."},
        }),
        "Error": closed_object({
            "error": {"type": "string"}, "message": {"type": "string"}, "status": {"type": "integer"},
        }),
    }


def json_response(description: str, schema: str) -> dict:
    """A response with a JSON body of a component schema."""
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


ERRORS = {
    "400": json_response("A parameter has a bad value; the message says which.", "Error"),
    "404": json_response("No such item, list, tag or person.", "Error"),
}
NOT_MODIFIED = {"304": {"description": "Not modified since the ETag given in If-None-Match."}}
MOVED = {"301": {"description": "An old slug: the Location header gives the current URL."}}


def operation(summary: str, schema: str, parameters: list[str], *, moved: bool = False) -> dict:
    """A GET operation answering `schema`, with the usual conditional and error answers."""
    return {"get": {
        "summary": summary,
        "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in parameters],
        "responses": {
            "200": json_response("OK. Carries ETag and Cache-Control.", schema),
            **(MOVED if moved else {}), **NOT_MODIFIED, **ERRORS,
        },
    }}


def openapi_document(server_url: str, max_limit: int, default_limit: int) -> dict:
    """The whole description, with this site's API root as the server."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Afterimage API",
            "version": "1.0.0",
            "description": (
                "Read-only access to the catalog and its cross-media recommendations. Every GET answers "
                "`Access-Control-Allow-Origin: *` without credentials, an ETag and `Cache-Control: public, "
                "max-age=300`. Errors are JSON objects with a message. Without `kind`, recommendation arrays "
                "hold up to `limit` films followed by up to `limit` books."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/v1/items": operation(
                "Items, newest first, or search results for q (best matches first); 24 a page.",
                "ItemPage", ["q", "itemKind", "tag", "page"],
            ),
            "/v1/items/{slug}": operation("One item.", "Item", ["slug"], moved=True),
            "/v1/items/{slug}/recommendations": operation(
                "What to watch or read after an item.", "ItemRecommendations", ["slug", "kind", "limit"], moved=True,
            ),
            "/v1/recommendations": operation(
                "Recommendations for a set of liked items.", "SetRecommendations", ["liked", "kind", "limit"],
            ),
            "/v1/lists/{slug}": operation(
                "A published curated list with its items and recommendations.", "ListDetail",
                ["slug", "kind", "limit"], moved=True,
            ),
            "/v1/tags/{slug}": operation(
                "A tag with its items and recommendations.", "TagDetail", ["slug", "kind", "limit"], moved=True,
            ),
            "/v1/people/{slug}": operation(
                "A person (director, screenwriter, author or translator) and their public works by role; "
                "a person credited only on private items is not found.", "PersonDetail", ["slug"],
            ),
        },
        "components": {
            "schemas": schemas(max_limit),
            "parameters": {
                "slug": {"name": "slug", "in": "path", "required": True, "schema": SLUG},
                "q": {"name": "q", "in": "query", "schema": {"type": "string"},
                      "description": "Words to find in titles, creators, tags and descriptions, ignoring accents and case."},
                "itemKind": {"name": "kind", "in": "query", "schema": {"type": "string", "enum": list(KINDS)}},
                "kind": {"name": "kind", "in": "query", "schema": {"type": "string", "enum": list(KINDS)},
                         "description": "Recommend only films or only books; both when absent."},
                "tag": {"name": "tag", "in": "query", "schema": SLUG, "description": "Only items with this tag slug."},
                "page": {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
                "limit": {"name": "limit", "in": "query",
                          "schema": {"type": "integer", "minimum": 1, "maximum": max_limit, "default": default_limit},
                          "description": "Recommendations per kind."},
                "liked": {"name": "liked", "in": "query", "required": True,
                          "schema": {"type": "string", "pattern": r"^[^,\s]+(,[^,\s]+){0,19}$"},
                          "description": "Comma-separated item slugs, 1 to 20 of them.",
                          "example": "hiroshima-mon-amour-1959,the-vegetarian-2007"},
            },
        },
    }
