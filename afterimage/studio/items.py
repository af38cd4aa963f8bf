"""Editing items: the list, the form with its cover upload, deleting, and pinning or hiding recommendations.

A save commits through the session: afterimage/commit_hooks.py then folds the item into the recommendation
model and rewrites the neighbour rows it changed (afterimage/recommendations/hooks.py), in that documented order.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for

from afterimage import recommendations
from afterimage.catalog.cover_images import (
    MAX_COVER_BYTES, CoverRefused, ProcessedCover, attach_cover, process_cover, remove_cover,
)
from afterimage.catalog.models import KINDS, STATUSES, Item, SlugRedirect, Tag
from afterimage.catalog.rules import find_duplicate, item_fields, save_item, validate_item_fields
from afterimage.catalog.search import search_items
from afterimage.catalog.slugs import change_slug, slugify, unique_slug
from afterimage.extensions import db
from afterimage.studio.blueprint import bp, commit, wants_json
from afterimage.studio.forms import ConfirmForm, ItemForm


ITEMS_PER_PAGE = 50


@bp.route("/items")
def items():
    """Every item, newest edits first, searchable and filtered by shelf (?status=seen|current|want)."""
    q = request.args.get("q", "").strip()
    status = request.args.get("status") or None
    if status not in (None, *STATUSES):
        abort(400, f"Unknown status: use one of {', '.join(STATUSES)}.")
    query = search_items(q) if q else sa.select(Item).order_by(Item.updated_at.desc(), Item.id.desc())
    if status:
        query = query.where(Item.status == status)
    page = db.paginate(query, per_page=ITEMS_PER_PAGE, error_out=False)
    return render_template("studio/items.html", page=page, q=q, status=status, statuses=STATUSES)


def tag_names() -> list[str]:
    """Existing tag names, for type-ahead."""
    return list(db.session.scalars(sa.select(Tag.name).order_by(Tag.name_key)))


def save_item_form(form: ItemForm, item: Item | None) -> tuple[Item | None, Item | None]:
    """Check every field at once (the form's own checks, then the catalog's rules) and save when all pass;
    returns (saved item, duplicate found)."""
    form.label_for_kind()
    if not form.is_submitted():
        return None, None
    form_ok = form.validate()
    fields = form.item_fields()
    errors = validate_item_fields(fields)
    duplicate = None
    if not ({"title", "year", "kind"} & errors.keys() or form.year.errors):
        duplicate = find_duplicate(fields.kind, fields.title, fields.year, exclude_id=item.id if item else None)
        if duplicate is not None:
            errors["title"] = "There is already a " + duplicate.kind + " with this title and year."
    cover = uploaded_cover(form)
    new_slug = None
    if item is not None and form.slug.data and form.slug.data != item.slug:
        new_slug = slugify(form.slug.data)
        if not new_slug:
            errors["slug"] = "Use letters or digits in the address."
        elif unique_slug(Item, new_slug, exclude_id=item.id) != new_slug:
            errors["slug"] = "Another item already uses (or used) this address."
    for name, message in errors.items():
        field = getattr(form, name)
        # One message per field: "not a number" already says more than the catalog's range rule would.
        if not field.errors:
            field.errors = [message]
    if not form_ok or errors or form.cover_file.errors:
        return None, duplicate
    saved = save_item(fields, item)
    if new_slug:
        change_slug(saved, new_slug)
    if cover is not None:
        attach_cover(saved, cover)
    elif form.remove_cover.data:
        remove_cover(saved)
    return saved, None


def uploaded_cover(form: ItemForm) -> ProcessedCover | None:
    """The cover file sent with the form, decoded and re-encoded; a refusal becomes the field's error."""
    upload = form.cover_file.data
    if not upload or not getattr(upload, "filename", None):
        return None
    try:
        return process_cover(upload.stream.read(MAX_COVER_BYTES + 1))
    except CoverRefused as refused:
        form.cover_file.errors = [*form.cover_file.errors, f"{refused} Nothing was changed."]
        return None


@bp.route("/items/new", methods=["GET", "POST"])
def item_new():
    """Add a film or a book."""
    form = ItemForm()
    if request.method == "GET" and request.args.get("kind") in KINDS:
        form.kind.data = request.args["kind"]
    saved, duplicate = save_item_form(form, None)
    if saved is not None:
        commit(f"Added {saved.title}.")
        return redirect(url_for("studio.item_edit", item_id=saved.id), 303)
    if form.is_submitted():
        flash("The item was not saved: please correct the fields marked below.", "error")
    return render_template("studio/item_form.html", form=form, item=None, duplicate=duplicate,
                           tag_names=tag_names()), 200 if not form.is_submitted() else 422


@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
def item_edit(item_id: int):
    """Edit every field of an item, see its recommendations, pin or hide them."""
    item = db.get_or_404(Item, item_id)
    form = ItemForm()
    if request.method == "GET":
        form.fill_from(item_fields(item), item.slug)
    saved, duplicate = save_item_form(form, item)
    if saved is not None:
        commit(f"Saved {saved.title}.")
        return redirect(url_for("studio.item_edit", item_id=item.id), 303)
    status = 200
    if form.is_submitted():
        flash("The changes were not saved: please correct the fields marked below.", "error")
        status = 422
    recs = studio_recommendations(item)
    return render_template("studio/item_form.html", form=form, item=item, duplicate=duplicate,
                           tag_names=tag_names(), recs=recs), status


@bp.route("/items/<int:item_id>/delete", methods=["GET", "POST"])
def item_delete(item_id: int):
    """Ask first, then delete the item for good."""
    item = db.get_or_404(Item, item_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = item.title
        db.session.execute(
            sa.delete(SlugRedirect).where(SlugRedirect.entity == "item", SlugRedirect.target_id == item.id)
        )
        db.session.delete(item)
        commit(f"Deleted {title}.")
        return redirect(url_for("studio.items"), 303)
    return render_template("studio/confirm_delete.html", form=form, what=item.title, kind=f"this {item.kind}",
                           consequences="It disappears from the site, its lists and its recommendations.",
                           cancel=url_for("studio.item_edit", item_id=item.id))


@bp.post("/items/<int:item_id>/recommendations/<int:target_id>")
def recommendation_override(item_id: int, target_id: int):
    """Pin a recommendation to the top, hide it, or undo either."""
    item = db.get_or_404(Item, item_id)
    target = db.get_or_404(Item, target_id)
    action = request.form.get("action")
    if action not in ("pin", "hide", "clear"):
        abort(400, "Unknown action.")
    try:
        recommendations.set_override(item, target, None if action == "clear" else action)
    except (NotImplementedError, ValueError) as error:
        db.session.rollback()
        message = ("Pinning and hiding are not available yet." if isinstance(error, NotImplementedError)
                   else f"That did not work: {error}.")
        if wants_json():
            return jsonify(ok=False, message=message), 409
        flash(message, "error")
    else:
        done = {"pin": "Pinned", "hide": "Hid", "clear": "Restored"}[action]
        message = f"{done} {target.title} in the recommendations for {item.title}."
        if wants_json():
            db.session.commit()
            html = render_template("studio/_recommendations.html", item=item, recs=studio_recommendations(item))
            return jsonify(ok=True, message=message, html=html)
        commit(message)
    return redirect(url_for("studio.item_edit", item_id=item.id) + "#recommendations", 303)


def studio_recommendations(item: Item) -> dict[str, list]:
    """What readers see recommended after the item, pinned and hidden ones included, by kind."""
    return {kind: recommendations.studio_recommendations(item, kind, limit=20) for kind in KINDS}
