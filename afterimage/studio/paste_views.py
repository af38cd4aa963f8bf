"""The studio's "Paste into a post" panel: the code for the chosen options, and the block previewed as a blog
shows it (in a sandboxed frame with a policy of its own, since the block carries inline styles); and the page
where she picks a set of items for a post."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Response, jsonify, render_template, request, url_for

from afterimage.catalog.models import CuratedList, Tag
from afterimage.extensions import db
from afterimage.studio.blueprint import bp
from afterimage.studio.lists import curated_or_404
from afterimage.studio.paste import (
    MAX_PICKED_ITEMS, TAG_ORDERS, PasteOptions, PickedItems, block_for, paste_codes, paste_html, picked_items,
    tag_items,
)

# The preview holds her block and nothing else: its inline styles and her covers, no script, no form, no
# framing by anything but the studio.
PREVIEW_POLICY = "; ".join([
    "default-src 'none'", "style-src 'unsafe-inline'", "img-src http: https: data:", "base-uri 'none'",
    "form-action 'none'", "frame-ancestors 'self'",
])


@dataclass(frozen=True)
class PastePanelForm:
    """What the panel's form needs beyond the options: where it asks for code and preview, the fields that name
    a picked set (sent with every request, since the set lives only in the address), and a tag's orders."""

    code_url: str
    preview_url: str
    hidden: dict[str, str] = field(default_factory=dict)
    orders: list[tuple[str, str]] = field(default_factory=list)
    pick_url: str | None = None  # a tag's items as a set, for her to choose and order herself


def paste_form(row: CuratedList | Tag | PickedItems) -> PastePanelForm:
    """The panel's form for a list, a tag or a set."""
    if isinstance(row, CuratedList):
        return PastePanelForm(url_for("studio.list_paste", list_id=row.id),
                              url_for("studio.list_paste_preview", list_id=row.id))
    if isinstance(row, PickedItems):
        hidden = {"items": row.slugs, "title": row.title, "introduction": row.introduction}
        return PastePanelForm(url_for("studio.picked_paste"), url_for("studio.picked_paste_preview"), hidden)
    orders = [(value, label) for value, (label, _) in TAG_ORDERS.items()]
    slugs = ",".join(item.slug for item in tag_items(row))
    pick_url = url_for("studio.picked", items=slugs, title=row.name, introduction=row.description)
    return PastePanelForm(url_for("studio.tag_paste", tag_id=row.id),
                          url_for("studio.tag_paste_preview", tag_id=row.id), orders=orders, pick_url=pick_url)


bp.add_app_template_global(paste_codes)
bp.add_app_template_global(paste_form)


def code_answer(row: CuratedList | Tag | PickedItems) -> Response:
    """The HTML and Markdown for the options in the query string, as JSON."""
    return jsonify(paste_codes(row, PasteOptions.from_args(request.args)))


def preview_answer(row: CuratedList | Tag | PickedItems) -> Response:
    """A page holding only the block, for the panel's frame."""
    options = PasteOptions.from_args(request.args)
    block = block_for(row, options)
    html = paste_html(block, options)
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


@bp.route("/paste")
def picked():
    """The page where she picks items for a post (ticked in the items table, or pasted as slugs, item addresses
    or a readers' "I liked these" link) and gets their block."""
    chosen = picked_items(request.args)
    return render_template("paste/picked.html", picked=chosen, limit=MAX_PICKED_ITEMS,
                           asked="items" in request.args)


@bp.route("/paste/code")
def picked_paste():
    """A picked set's block as HTML and Markdown."""
    return code_answer(picked_items(request.args))


@bp.route("/paste/preview")
def picked_paste_preview():
    """A picked set's block as her blog shows it."""
    return preview_answer(picked_items(request.args))
