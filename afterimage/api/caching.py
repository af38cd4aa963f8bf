"""Cheap answers for popular embeds: shared caches may keep them a few minutes, and revalidation costs a 304."""
from __future__ import annotations

from flask import Response, request

SHORT_MAX_AGE = 300


def cacheable(response: Response, max_age: int = SHORT_MAX_AGE) -> Response:
    """Mark a successful response public for `max_age` seconds with a content ETag; answer 304 when it matches."""
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    if not response.get_etag()[0]:
        response.add_etag()
    return response.make_conditional(request)
