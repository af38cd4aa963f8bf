"""The studio's import: upload, a preview of what the file would do (with her choices for its shelves), then
one click that applies it in one transaction.

Between preview and apply the upload waits in instance/imports/ under a random token, tied to her session
and named by the token alone (never by anything the browser sent); it goes after the apply, on cancel, or
after a day.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, flash, g, redirect, render_template, request, url_for

from afterimage.catalog.rules import find_by_name
from afterimage.catalog.version import read_version
from afterimage.extensions import db
from afterimage.importers import ImportRefused, detect, read_import_file
from afterimage.importers.plan import GROUPS, ImportPreview, apply_steered, plan_import, preview_import
from afterimage.importers.shelf_choices import MappingError, ShelfChoice, parse_choice
from afterimage.importers.records import ImportPlan
from afterimage.catalog.models import STATUSES, Tag
from afterimage.studio.forms import ImportForm
from afterimage.studio.blueprint import bp

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
KEEP_FOR_SECONDS = 24 * 60 * 60
# The summary shows the first rows of each group; "show all" pages through one group.
FIRST_ROWS = 50
ROWS_PER_PAGE = 200
GROUP_LABELS = {"new": "New", "changed": "Changed", "unchanged": "Unchanged", "refused": "Refused"}


@dataclass
class PendingImport:
    """An uploaded file waiting for her decision, and its preview."""

    token: str
    folder: Path
    filename: str
    replace: bool

    @property
    def data_path(self) -> Path:
        return self.folder / f"{self.token}.upload"

    @property
    def preview_path(self) -> Path:
        return self.folder / f"{self.token}.preview.json"

    @property
    def meta_path(self) -> Path:
        return self.folder / f"{self.token}.json"

    def read_plan(self) -> ImportPlan:
        """The file read again, as at upload."""
        return read_import_file(self.filename, self.data_path.read_bytes())

    def preview(self) -> ImportPreview:
        """The preview last planned for the file."""
        return ImportPreview.from_json(self.preview_path.read_text(encoding="utf-8"))

    def save_preview(self, preview: ImportPreview) -> None:
        """Keep a (re)planned preview for the next page view."""
        self.preview_path.write_text(preview.to_json(), encoding="utf-8")

    def discard(self) -> None:
        """Remove the upload and its preview."""
        for path in (self.data_path, self.preview_path, self.meta_path):
            path.unlink(missing_ok=True)


def pending_folder() -> Path:
    """IMPORT_UPLOAD_FOLDER (instance/imports/ by default), readable by the app's user alone."""
    folder = Path(current_app.config.get("IMPORT_UPLOAD_FOLDER") or Path(current_app.instance_path) / "imports")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def session_owner() -> str:
    """Her signed-in session (its stored hash): a pending import belongs to the session that uploaded it."""
    return g.author_session.token_hash


def sweep_old_uploads(folder: Path) -> None:
    """Remove uploads left waiting for more than a day (previews she never applied or cancelled)."""
    cutoff = time.time() - KEEP_FOR_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:  # another worker swept it first
            pass


def store_upload(filename: str, data: bytes, replace: bool, preview: ImportPreview) -> PendingImport:
    """Keep an upload and its preview under a new token."""
    folder = pending_folder()
    sweep_old_uploads(folder)
    pending = PendingImport(secrets.token_urlsafe(32), folder, filename[:200], replace)
    pending.data_path.write_bytes(data)
    pending.save_preview(preview)
    pending.meta_path.write_text(json.dumps(
        {"filename": pending.filename, "replace": replace, "owner": session_owner(), "created": time.time()}
    ), encoding="utf-8")
    return pending


def find_pending(token: str) -> PendingImport | None:
    """Her pending import with this token, or None: a malformed token, another session's, gone or over a day old."""
    if not TOKEN.fullmatch(token):
        return None
    folder = pending_folder()
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    pending = PendingImport(token, folder, meta["filename"], bool(meta["replace"]))
    if meta.get("owner") != session_owner() or time.time() - meta["created"] > KEEP_FOR_SECONDS:
        return None
    if not pending.data_path.exists() or not pending.preview_path.exists():
        return None
    return pending


def gone():
    """Back to the upload form, saying why: the preview was applied, cancelled or expired."""
    flash("That import preview is no longer available (it was applied or cancelled, or is more than a day old). "
          "Upload the file again.", "error")
    return redirect(url_for("studio.import_file"), 303)


@bp.route("/import", methods=["GET", "POST"])
def import_file():
    """Upload a Goodreads or Letterboxd export, or a backup: it is read and previewed, nothing is written yet."""
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.stream.read(detect.MAX_IMPORT_BYTES + 1)
        try:
            plan = read_import_file(upload.filename or "", data)
            if form.replace.data and plan.backup is None:
                raise ImportRefused("Replacing the catalog only applies to an Afterimage backup.")
            preview = plan_import(plan)
        except ImportRefused as refused:
            flash(f"{refused} Nothing was imported.", "error")
            return render_template("studio/import.html", form=form), 400
        try:
            pending = store_upload(upload.filename or "", data, bool(form.replace.data), preview)
        except OSError as error:  # a full disk or a read-only instance folder
            current_app.logger.error("could not keep an upload for its preview: %s", error)
            flash("The file could not be kept on the server for its preview (the disk may be full). Nothing was "
                  "imported.", "error")
            return render_template("studio/import.html", form=form), 503
        return redirect(url_for("studio.import_preview", token=pending.token), 303)
    if form.is_submitted():
        flash("Choose a file to import.", "error")
    return render_template("studio/import.html", form=form)


def posted_choices(preview: ImportPreview) -> tuple[dict[str, ShelfChoice], dict[int, str]]:
    """Her choices from the preview form, by shelf; and every problem, by the shelf's place on the page."""
    choices: dict[str, ShelfChoice] = {}
    problems: dict[int, str] = {}
    for index, shelf in enumerate(preview.shelves):
        action = request.form.get(f"shelf-{index}", shelf.choice.describe())
        if action == "map":
            name = " ".join(request.form.get(f"shelf-{index}-tag", "").split())
            tag = find_by_name(Tag, name) if name else None
            if tag is None:
                problems[index] = (f"There is no tag called “{name}”: choose one of yours, or keep the shelf as a tag."
                                   if name else "Choose one of your tags to file it under.")
            else:
                choices[shelf.key] = ShelfChoice("map", tag.name)
            continue
        try:
            choices[shelf.key] = parse_choice(action, existing_tags_only=True)
        except MappingError as error:
            problems[index] = str(error)
    return choices, problems


def render_preview(pending: PendingImport, preview: ImportPreview, notice: str = "", problems: dict | None = None,
                   status: int = 200):
    """The preview page: counts, shelves with their choices, and the first rows of each group (or one group paged)."""
    show = request.args.get("show")
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    groups = []
    for name in GROUPS:
        rows = preview.group(name)
        if show in GROUPS and show != name:
            continue
        shown = rows[(page - 1) * ROWS_PER_PAGE:page * ROWS_PER_PAGE] if show == name else rows[:FIRST_ROWS]
        groups.append({"name": name, "label": GROUP_LABELS[name], "rows": shown, "total": len(rows)})
    pages = -(-len(preview.group(show)) // ROWS_PER_PAGE) if show in GROUPS else 1
    tags = db.session.scalars(sa.select(Tag.name).order_by(Tag.name_key)).all()
    return render_template(
        "studio/import_preview.html", pending=pending, preview=preview, counts=preview.counts, groups=groups,
        show=show if show in GROUPS else None, page=page, pages=pages, notice=notice, problems=problems or {},
        tags=tags, statuses=STATUSES,
    ), status


@bp.route("/import/<token>", methods=["GET", "POST"])
def import_preview(token: str):
    """The preview of an upload; posting it updates the shelf choices, applies the import, or cancels it."""
    pending = find_pending(token)
    if pending is None:
        return gone()
    try:
        preview = pending.preview()
    except (OSError, ValueError, TypeError, KeyError):  # swept meanwhile, or kept by an older version of the site
        pending.discard()
        return gone()
    if request.method == "GET":
        return render_preview(pending, preview)
    action = request.form.get("do", "apply")
    if action == "cancel":
        pending.discard()
        flash("Import cancelled; nothing was written.", "success")
        return redirect(url_for("studio.import_file"), 303)
    choices, problems = posted_choices(preview)
    if problems:
        return render_preview(pending, preview, problems=problems, status=400)
    try:
        plan = pending.read_plan()
    except ImportRefused as refused:  # the file was read once already; only a changed limit brings this
        pending.discard()
        flash(f"{refused} Nothing was imported.", "error")
        return redirect(url_for("studio.import_file"), 303)
    stale = read_version(db.session) != preview.catalog_version
    if action != "apply" or stale or choices != preview.choices():
        shelves = [replace(s, choice=choices.get(s.key, s.choice)) for s in preview.shelves]
        preview = preview_import(plan, shelves)
        pending.save_preview(preview)
        if action != "apply":
            return redirect(url_for("studio.import_preview", token=token), 303)
        notice = ("The catalog changed since this preview was made, so it was planned again: check it, then apply."
                  if stale else "Your shelf choices change the plan: check it, then apply.")
        return render_preview(pending, preview, notice=notice, status=409)
    try:
        report = apply_steered(plan, preview.shelves, replace_catalog=pending.replace)
    except ImportRefused as refused:
        flash(f"{refused} Nothing was imported.", "error")
        return render_preview(pending, preview, status=400)
    except sa.exc.SQLAlchemyError as error:
        current_app.logger.exception("import failed: %s", error)
        flash("The import failed while saving, and nothing was written. Try again; the preview is kept.", "error")
        return render_preview(pending, preview, status=503)
    pending.discard()
    flash(f"Imported {report.source}: {report.created} created, {report.updated} updated, "
          f"{report.unchanged} unchanged, {len(report.skipped)} skipped.", "success")
    return render_template("studio/import_report.html", report=report)
