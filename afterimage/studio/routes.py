"""The author's studio: sign-in, item, tag and list editing, recommendations, imports and backups."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask import (
    Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for,
)
from jinja2 import TemplateNotFound
from werkzeug.security import check_password_hash
from wtforms import SelectChoice

from afterimage import recommendations
from afterimage.catalog import find_duplicate, is_published, item_fields, save_item, status_label, validate_item_fields
from afterimage.cover_images import MAX_COVER_BYTES, CoverRefused, ProcessedCover, attach_cover, process_cover, remove_cover
from afterimage.extensions import db
from afterimage.importers import ImportRefused, apply_import, detect, read_import_file
from afterimage.importers.backup import backup_json
from afterimage.importers.items_csv import items_csv
from afterimage.models import KINDS, STATUSES, CuratedList, Item, ListEntry, SlugRedirect, Tag, item_tags, utcnow
from afterimage.next_url import next_or
from afterimage.query_args import whole_number
from afterimage.search import search_catalog, search_items
from afterimage.slugs import change_slug, slugify, unique_slug
from afterimage.accounts.auth import (
    SignInRefused, authenticate, client_address, current_author, end_session,
    install_session_interface, set_password, start_session, wants_page,
)
from afterimage.studio.blueprint import bp, commit, safe_next
from afterimage.studio.forms import (
    ChangePasswordForm, ConfirmForm, family_choices, ImportForm, ItemForm, ListForm, SignInForm, TagForm,
    TagMergeForm,
)
from recs.text import fold_accents

ITEMS_PER_PAGE = 50

# Sign-in -------------------------------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Name and password; repeated failures are slowed down, then refused for a while."""
    if current_author() is not None and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    form = SignInForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            author = authenticate(form.name.data, form.password.data, client_address())
        except SignInRefused as refused:
            flash(str(refused), "error")
            return render_template("studio/sign_in.html", form=form), 429
        if author is not None:
            start_session(author)
            flash(f"Welcome back, {author.name}.", "success")
            return redirect(safe_next(form.next.data), 303)
        flash("That name and password do not match an author account.", "error")
        status = 401
    return render_template("studio/sign_in.html", form=form), status


@bp.post("/sign-out")
def sign_out():
    """End this session everywhere: the row is deleted, so a copied cookie stops working."""
    end_session()
    flash("You are signed out.", "success")
    return redirect(url_for("public.home"), 303)


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    """Change the password; other sessions are signed out, this one starts afresh."""
    form = ChangePasswordForm()
    if form.is_submitted():
        form_ok = form.validate()
        author = current_author()
        # Checked with the other fields, so a wrong current password and a short new one show together.
        if form.current.data and not form.csrf_token.errors and not check_password_hash(
            author.password_hash, form.current.data
        ):
            form.current.errors.append("That is not your current password.")
        elif form_ok:
            set_password(author, form.new.data)
            db.session.commit()
            start_session(author)
            flash("Password changed. Other browsers were signed out.", "success")
            return redirect(url_for("studio.dashboard"), 303)
    return render_template("studio/password.html", form=form)


# Dashboard -----------------------------------------------------------------------------------------


def count_rows(model, *where) -> int:
    """How many rows of a model match the conditions."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@bp.route("/")
def dashboard():
    """Counts, recent edits and the way to everything."""
    counts = {
        "films": count_rows(Item, Item.kind == "film", Item.status == "seen"),
        "books": count_rows(Item, Item.kind == "book", Item.status == "seen"),
        "current": count_rows(Item, Item.status == "current"),
        "want": count_rows(Item, Item.status == "want"),
        "tags": count_rows(Tag),
        "lists": count_rows(CuratedList, CuratedList.published),
        "drafts": count_rows(CuratedList, CuratedList.published.is_(False)),
    }
    recent = db.session.scalars(sa.select(Item).order_by(Item.updated_at.desc(), Item.id.desc()).limit(10)).all()
    recent_lists = db.session.scalars(sa.select(CuratedList).order_by(CuratedList.updated_at.desc()).limit(5)).all()
    return render_template("studio/dashboard.html", counts=counts, recent=recent, recent_lists=recent_lists)


# Items ---------------------------------------------------------------------------------------------


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


# Tags ----------------------------------------------------------------------------------------------


@bp.route("/tags")
def tags():
    """Every tag with its item count."""
    count = sa.func.count(item_tags.c.item_id)
    rows = db.session.execute(sa.select(Tag, count).outerjoin(item_tags).group_by(Tag.id).order_by(Tag.name_key)).all()
    return render_template("studio/tags.html", rows=rows)


def merge_form_for(tag: Tag) -> TagMergeForm:
    """The merge form, offering every other tag."""
    form = TagMergeForm(prefix="merge")
    form.target.choices = [SelectChoice(t.id, t.name) for t in db.session.scalars(
        sa.select(Tag).where(Tag.id != tag.id).order_by(Tag.name_key))]
    return form


def touch_items(items: list[Item]) -> None:
    """Mark items changed so their search text (built from tag names) is rebuilt on flush."""
    for item in items:
        item.updated_at = utcnow()


@bp.route("/tags/<int:tag_id>", methods=["GET", "POST"])
def tag_edit(tag_id: int):
    """Rename a tag (its old address keeps working), describe it, merge or delete it."""
    tag = db.get_or_404(Tag, tag_id)
    form = TagForm(obj=tag if request.method == "GET" else None)
    form.family.choices = family_choices(list(db.session.scalars(sa.select(Tag.family).distinct())))
    if request.method == "GET":
        form.family.data = tag.family or ""
    existing = None
    if form.validate_on_submit():
        name = " ".join(form.name.data.split())
        key = fold_accents(name)
        existing = db.session.scalar(sa.select(Tag).where(Tag.name_key == key, Tag.id != tag.id))
        if existing is not None:
            form.name.errors.append(f"A tag called {existing.name} already exists: merge into it instead.")
        else:
            renamed = name != tag.name
            tag.name, tag.name_key = name, key
            tag.family = form.family.data or None
            tag.description = (form.description.data or "").strip()
            new_slug = slugify(name) or "tag"
            if new_slug != tag.slug:
                change_slug(tag, unique_slug(Tag, new_slug, exclude_id=tag.id))
            if renamed:
                touch_items(tag.items)
            commit(f"Saved the tag {tag.name}.")
            return redirect(url_for("studio.tag_edit", tag_id=tag.id), 303)
    return render_template("studio/tag_form.html", tag=tag, form=form, merge_form=merge_form_for(tag),
                           existing=existing)


@bp.post("/tags/<int:tag_id>/merge")
def tag_merge(tag_id: int):
    """Move every item of this tag to another and delete it; its address redirects to the other."""
    source = db.get_or_404(Tag, tag_id)
    form = merge_form_for(source)
    if not form.validate_on_submit():
        flash("Choose the tag to merge into.", "error")
        return redirect(url_for("studio.tag_edit", tag_id=source.id), 303)
    target = db.get_or_404(Tag, form.target.data)
    items = list(source.items)
    for item in items:
        if target not in item.tags:
            item.tags.append(target)
        item.tags.remove(source)
    touch_items(items)
    db.session.execute(
        sa.update(SlugRedirect).where(SlugRedirect.entity == "tag", SlugRedirect.target_id == source.id)
        .values(target_id=target.id)
    )
    source_slug, source_name = source.slug, source.name
    db.session.delete(source)
    db.session.flush()
    db.session.add(SlugRedirect(entity="tag", old_slug=source_slug, target_id=target.id))
    commit(f"Merged {source_name} into {target.name}: {len(items)} item{'s' if len(items) != 1 else ''} moved.")
    return redirect(url_for("studio.tag_edit", tag_id=target.id), 303)


@bp.route("/tags/<int:tag_id>/delete", methods=["GET", "POST"])
def tag_delete(tag_id: int):
    """Ask first, then delete the tag; its items keep everything else."""
    tag = db.get_or_404(Tag, tag_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        items = list(tag.items)
        name = tag.name
        touch_items(items)
        db.session.execute(sa.delete(SlugRedirect).where(SlugRedirect.entity == "tag", SlugRedirect.target_id == tag.id))
        db.session.delete(tag)
        commit(f"Deleted the tag {name}; its {len(items)} item{'s' if len(items) != 1 else ''} keep everything else.")
        return redirect(url_for("studio.tags"), 303)
    return render_template("studio/confirm_delete.html", form=form, what=tag.name, kind="this tag",
                           consequences=f"It is removed from {len(tag.items)} items, which keep everything else.",
                           cancel=url_for("studio.tag_edit", tag_id=tag.id))


# Lists ---------------------------------------------------------------------------------------------


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


def wants_json() -> bool:
    """True for the studio's own scripts, which save without reloading the page and want a JSON answer."""
    return request.headers.get("X-Requested-With") == "fetch" or request.accept_mimetypes.best == "application/json"


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


# Imports and exports -------------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
def import_file():
    """Upload a Goodreads or Letterboxd export, or a backup; read in memory, never stored or served."""
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.stream.read(detect.MAX_IMPORT_BYTES + 1)
        try:
            plan = read_import_file(upload.filename or "", data)
            report = apply_import(plan, replace=form.replace.data)
        except ImportRefused as refused:
            flash(f"{refused} Nothing was imported.", "error")
            return render_template("studio/import.html", form=form), 400
        flash(f"Imported {plan.source}: {report.created} created, {report.updated} updated, "
              f"{report.unchanged} unchanged, {len(report.skipped)} skipped.", "success")
        return render_template("studio/import_report.html", report=report)
    if form.is_submitted():
        flash("Choose a file to import.", "error")
    return render_template("studio/import.html", form=form)


@bp.errorhandler(413)
def upload_too_large(error):
    """Flask refuses bodies over MAX_CONTENT_LENGTH before the view runs; say so in words."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    size = f"{limit // 1_048_576} MB" if limit >= 1_048_576 else f"{limit // 1024} KB"
    if request.endpoint in ("studio.item_new", "studio.item_edit"):
        flash(f"The cover file is larger than the upload limit ({size}); nothing was saved. "
              f"Covers may be up to {MAX_COVER_BYTES // 1_048_576} MB.", "error")
        return redirect(request.full_path.rstrip("?"), 303)
    flash(f"The file is larger than the upload limit ({size}). Nothing was imported. "
          "Larger files can be imported on the server with: flask --app app import PATH", "error")
    return render_template("studio/import.html", form=ImportForm(formdata=None)), 413


def download(body: str | bytes, mimetype: str, filename: str) -> Response:
    """An attachment response."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/export.json")
def export_json():
    """The whole catalog as a JSON backup."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    return download(backup_json(), "application/json", f"afterimage-backup-{stamp}.json")


@bp.route("/export.csv")
def export_csv():
    """The items as a CSV for spreadsheets (UTF-8 with a BOM so Excel reads accents)."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    return download(items_csv().encode("utf-8-sig"), "text/csv", f"afterimage-items-{stamp}.csv")

