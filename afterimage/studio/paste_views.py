"""The studio's "Paste into a post" panel: the code for the chosen options, and the block previewed as a blog
shows it (in a sandboxed frame with a policy of its own, since the block carries inline styles)."""
from __future__ import annotations

from flask import Response, jsonify, render_template, request, url_for

from afterimage.catalog.models import CuratedList, Tag
from afterimage.extensions import db
from afterimage.studio.blueprint import bp
from afterimage.studio.lists import curated_or_404
from afterimage.studio.paste import PasteOptions, block_for, paste_codes, paste_html

# The preview holds her block and nothing else: its inline styles and her covers, no script, no form, no
# framing by anything but the studio.
PREVIEW_POLICY = "; ".join([
    "default-src 'none'", "style-src 'unsafe-inline'", "img-src http: https: data:", "base-uri 'none'",
    "form-action 'none'", "frame-ancestors 'self'",
])


def paste_urls(row: CuratedList | Tag) -> tuple[str, str]:
    """The panel's code and preview addresses for a list or a tag."""
    if isinstance(row, CuratedList):
        return url_for("studio.list_paste", list_id=row.id), url_for("studio.list_paste_preview", list_id=row.id)
    return url_for("studio.tag_paste", tag_id=row.id), url_for("studio.tag_paste_preview", tag_id=row.id)


bp.add_app_template_global(paste_codes)
bp.add_app_template_global(paste_urls)


def code_answer(row: CuratedList | Tag) -> Response:
    """The HTML and Markdown for the options in the query string, as JSON."""
    return jsonify(paste_codes(row, PasteOptions.from_args(request.args)))


def preview_answer(row: CuratedList | Tag) -> Response:
    """A page holding only the block, for the panel's frame."""
    block = block_for(row)
    html = paste_html(block, PasteOptions.from_args(request.args))
    response = Response(render_template("paste/preview.html", title=block.title, block_html=html))
    response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.route("/lists/<int:list_id>/paste")
def list_paste(list_id: int):
    """A list's block as HTML and Markdown."""
    return code_answer(curated_or_404(list_id))


@bp.route("/lists/<int:list_id>/paste/preview")
def list_paste_preview(list_id: int):
    """A list's block as her blog shows it."""
    return preview_answer(curated_or_404(list_id))


@bp.route("/tags/<int:tag_id>/paste")
def tag_paste(tag_id: int):
    """A tag's block as HTML and Markdown."""
    return code_answer(db.get_or_404(Tag, tag_id))


@bp.route("/tags/<int:tag_id>/paste/preview")
def tag_paste_preview(tag_id: int):
    """A tag's block as her blog shows it."""
    return preview_answer(db.get_or_404(Tag, tag_id))
