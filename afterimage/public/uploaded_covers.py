"""Uploaded covers, served from the database at content-hashed URLs that never change meaning."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort

from afterimage.catalog.cover_images import cover_src
from afterimage.catalog.models import CoverImage
from afterimage.extensions import db
from afterimage.public.blueprint import bp

ONE_YEAR = 31_536_000

bp.add_app_template_global(cover_src)


@bp.route("/covers/uploaded/<digest>-<any(page, card, preview):size>.jpg")
def uploaded_cover(digest: str, size: str):
    """One size of an uploaded cover; the digest is of its bytes, so it may be cached for a year."""
    image = db.session.scalar(
        sa.select(CoverImage).where(CoverImage.digest == digest, CoverImage.size == size).limit(1)
    )
    if image is None:
        abort(404)
    response = Response(image.data, mimetype=image.mimetype)
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response.headers["Content-Disposition"] = "inline"
    return response
