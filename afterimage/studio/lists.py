"""Curated lists: creating, editing, and adding, annotating, reordering and removing entries."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for

from afterimage.catalog.models import CuratedList, Item, ListEntry, SlugRedirect, utcnow
from afterimage.catalog.search import search_catalog
from afterimage.catalog.slugs import change_slug, slugify, unique_slug
from afterimage.extensions import db
from afterimage.http.query_args import whole_number
from afterimage.studio.blueprint import bp, commit, wants_json
from afterimage.studio.forms import ConfirmForm, ListForm


@bp.route("/lists")
def lists():
    """Published lists and drafts."""
    rows = db.session.scalars(sa.select(CuratedList).order_by(CuratedList.updated_at.desc())).all()
    return render_template("studio/lists.html", lists=rows)


@bp.route("/lists/new", methods=["GET", "POST"])
def list_new():
    """Start a list (a draft until published)."""
    form = ListForm()
    if form.validate_on_submit():
        curated = CuratedList(
            title=form.title.data, introduction=(form.introduction.data or "").strip(),
            published=form.published.data, slug=unique_slug(CuratedList, slugify(form.title.data) or "list"),
        )
        db.session.add(curated)
        db.session.flush()
        commit(f"Created the list {curated.title}. Now add items to it.")
        return redirect(url_for("studio.list_edit", list_id=curated.id), 303)
    return render_template("studio/list_new.html", form=form)


def curated_or_404(list_id: int) -> CuratedList:
    """The list, or 404."""
    return db.get_or_404(CuratedList, list_id)


def entry_or_404(curated: CuratedList, entry_id: int) -> ListEntry:
    """An entry of this list, or 404."""
    entry = next((e for e in curated.entries if e.id == entry_id), None)
    if entry is None:
        abort(404)
    return entry


def touch_list(curated: CuratedList) -> None:
    """Entry edits change the list as readers see it: bump its updated time (feeds, ordering)."""
    curated.updated_at = utcnow()


@bp.route("/lists/<int:list_id>", methods=["GET", "POST"])
def list_edit(list_id: int):
    """Title, introduction, publication, and the entries: search to add, notes, order, removal."""
    curated = curated_or_404(list_id)
    form = ListForm(obj=curated if request.method == "GET" else None)
    if request.method == "GET":
        form.slug.data = curated.slug
    if form.is_submitted():
        form_ok = form.validate()
        new_slug = slugify(form.slug.data or "") if form.slug.data else curated.slug
        if form.slug.data and not new_slug:
            form.slug.errors.append("Use letters or digits in the address.")
        elif new_slug != curated.slug and unique_slug(CuratedList, new_slug, exclude_id=curated.id) != new_slug:
            form.slug.errors.append("Another list already uses (or used) this address.")
        elif form_ok:
            curated.title = form.title.data
            curated.introduction = (form.introduction.data or "").strip()
            curated.published = form.published.data
            if new_slug != curated.slug:
                change_slug(curated, new_slug)
            commit(f"Saved the list {curated.title}" + (" (published)." if curated.published else " (draft)."))
            return redirect(url_for("studio.list_edit", list_id=curated.id), 303)
    q = request.args.get("q", "").strip()
    results = db.session.scalars(search_catalog(q).query.limit(20)).all() if q else []
    on_list = {e.item_id for e in curated.entries}
    return render_template("studio/list_form.html", curated=curated, form=form, q=q, results=results,
                           on_list=on_list)


def back_to_list(curated: CuratedList, anchor: str = "entries") -> Response:
    """Redirect to the list's edit page, keeping the search the author was running."""
    q = request.form.get("q", "")
    return redirect(url_for("studio.list_edit", list_id=curated.id, q=q or None) + f"#{anchor}", 303)


def list_changed(curated: CuratedList, message: str, anchor: str = "entries") -> Response:
    """Save an entry change: a JSON answer with the new order for the page's script, else a flash and a redirect."""
    touch_list(curated)
    if wants_json():
        db.session.commit()
        return jsonify(ok=True, message=message, order=[e.id for e in curated.entries])
    commit(message)
    return back_to_list(curated, anchor)


@bp.post("/lists/<int:list_id>/entries")
def list_add_item(list_id: int):
    """Add an item found by search to the end of the list."""
    curated = curated_or_404(list_id)
    item = db.session.get(Item, request.form.get("item_id", type=whole_number) or 0) or abort(400, "Choose an item to add.")
    if any(e.item_id == item.id for e in curated.entries):
        flash(f"{item.title} is already on the list.", "error")
        return back_to_list(curated)
    curated.entries.append(ListEntry(item=item))
    return list_changed(curated, f"Added {item.title} to the list.")


@bp.post("/lists/<int:list_id>/entries/<int:entry_id>/note")
def entry_note(list_id: int, entry_id: int):
    """Save the note beside one entry."""
    curated = curated_or_404(list_id)
    entry = entry_or_404(curated, entry_id)
    entry.note = (request.form.get("note") or "").strip()
    return list_changed(curated, f"Saved the note for {entry.item.title}.", f"entry-{entry.id}")


@bp.post("/lists/<int:list_id>/entries/<int:entry_id>/move")
def entry_move(list_id: int, entry_id: int):
    """Move an entry one place up or down (the way to reorder without JavaScript)."""
    curated = curated_or_404(list_id)
    entry = entry_or_404(curated, entry_id)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        abort(400, "Move up or down.")
    index = curated.entries.index(entry)
    new_index = index + step
    if not 0 <= new_index < len(curated.entries):
        return list_changed(curated, f"{entry.item.title} is already {'first' if step < 0 else 'last'}.",
                            f"entry-{entry.id}")
    curated.entries.insert(new_index, curated.entries.pop(index))
    curated.entries.reorder()
    return list_changed(curated, f"Moved {entry.item.title} to position {new_index + 1} of {len(curated.entries)}.",
                        f"entry-{entry.id}")


@bp.post("/lists/<int:list_id>/order")
def list_order(list_id: int):
    """Save a whole new order (drag and drop, keyboard): the form carries every entry id once, in the new order."""
    curated = curated_or_404(list_id)
    wanted = request.form.getlist("entry", type=int)
    by_id = {e.id: e for e in curated.entries}
    if len(wanted) != len(set(wanted)) or set(wanted) != set(by_id):
        if wants_json():
            return jsonify(ok=False, message="The new order must name every entry of the list once; "
                           "reload the page and try again.", order=[e.id for e in curated.entries]), 409
        abort(400, "The new order must name every entry of the list once.")
    curated.entries = [by_id[i] for i in wanted]
    curated.entries.reorder()
    return list_changed(curated, "Saved the new order.")


@bp.post("/lists/<int:list_id>/entries/<int:entry_id>/remove")
def entry_remove(list_id: int, entry_id: int):
    """Take an item off the list (the item itself stays in the catalog)."""
    curated = curated_or_404(list_id)
    entry = entry_or_404(curated, entry_id)
    title = entry.item.title
    curated.entries.remove(entry)
    curated.entries.reorder()
    return list_changed(curated, f"Removed {title} from the list.")


@bp.route("/lists/<int:list_id>/delete", methods=["GET", "POST"])
def list_delete(list_id: int):
    """Ask first, then delete the list (its items stay in the catalog)."""
    curated = curated_or_404(list_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = curated.title
        db.session.execute(sa.delete(SlugRedirect).where(SlugRedirect.entity == "list", SlugRedirect.target_id == curated.id))
        db.session.delete(curated)
        commit(f"Deleted the list {title}.")
        return redirect(url_for("studio.lists"), 303)
    return render_template("studio/confirm_delete.html", form=form, what=curated.title, kind="this list",
                           consequences="Its entries and notes go; the items stay in the catalog.",
                           cancel=url_for("studio.list_edit", list_id=curated.id))
