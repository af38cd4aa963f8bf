"""schema.org JSON-LD for item pages, so links shared from the blog preview well."""
from __future__ import annotations

from typing import Any

from afterimage.catalog.models import Item


def item_json_ld(item: Item, url: str, image: str) -> dict[str, Any]:
    """A schema.org Movie or Book describing the item, without empty properties."""
    is_film = item.kind == "film"
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Movie" if is_film else "Book",
        "name": item.title,
        "alternateName": item.original_title,
        "url": url,
        "image": image,
        "description": item.description or None,
        "dateCreated" if is_film else "datePublished": # schema.org dates are ISO 8601, whose years before 1 AD are off by one from BC years: left out.
        str(item.year) if item.year and item.year > 0 else None,
        "director" if is_film else "author": [{"@type": "Person", "name": c.name} for c in item.makers] or None,
        "countryOfOrigin": item.country,
        "inLanguage": item.language,
        "keywords": ", ".join(t.name for t in item.tags) or None,
        "isbn": item.isbn13,
    }
    if item.rating and item.status == "seen":
        data["review"] = {
            "@type": "Review",
            "author": {"@type": "Person", "name": "Afterimage"},
            "reviewRating": {"@type": "Rating", "ratingValue": item.rating, "bestRating": 5, "worstRating": 0.5},
        }
    return {k: v for k, v in data.items() if v is not None}
