"""The studio's import: upload, a preview of what the file would do (with her choices for its shelves), then
one click that applies it in one transaction, in a job of its own with a progress page (import_jobs.py).

Between preview and apply the upload waits in instance/imports/ under a random token, tied to her session
and named by the token alone (never by anything the browser sent); it goes after the apply, on cancel, or
after a day. The job's state (and the summary of what it did) stays there for the day.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for

from afterimage.catalog.rules import find_by_name
from afterimage.catalog.version import read_version
from afterimage.extensions import db
from afterimage.importers import ImportRefused, detect, read_import_file
from afterimage.importers.plan import GROUPS, ImportPreview, plan_import, preview_import
from afterimage.importers.shelf_choices import MappingError, ShelfChoice, parse_choice
from afterimage.importers.records import ImportPlan
from afterimage.catalog.models import STATUSES, Tag
from afterimage.studio.forms import ImportForm
from afterimage.studio.blueprint import bp
from afterimage.studio.import_jobs import DONE, FAILED, current_job, start_job

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

    @property
    def job_path(self) -> Path:
        return self.folder / f"{self.token}.job.json"

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
        """Remove the upload, its preview and the state of any job that failed to apply it."""
        for path in (self.data_path, self.preview_path, self.meta_path, self.job_path):
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


def load_pending(token: str, owner: str | None = None) -> PendingImport | None:
    """The import stored under this token (its upload may have gone since it was applied), or None: a malformed
    token, gone or over a day old, or, given an owner, another session's."""
    if not TOKEN.fullmatch(token):
        return None
    folder = pending_folder()
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if (owner is not None and meta.get("owner") != owner) or time.time() - meta["created"] > KEEP_FOR_SECONDS:
        return None
    return PendingImport(token, folder, meta["filename"], bool(meta["replace"]))


def find_pending(token: str) -> PendingImport | None:
    """Her pending import with this token, upload and preview still there, or None."""
    pending = load_pending(token, session_owner())
    if pending is None or not pending.data_path.exists() or not pending.preview_path.exists():
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
    """The preview of an upload; posting it updates the shelf choices, applies the import (in a job, with a
    progress page), or cancels it."""
    owned = load_pending(token, session_owner())
    job = current_job(owned) if owned is not None else None
    if job is not None and (job.active or job.state == DONE):  # being applied, or applied: a second click
        return redirect(url_for("studio.import_progress", token=token), 303)
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
    stale = read_version(db.session) != preview.catalog_version
    if action != "apply" or stale or choices != preview.choices():
        try:
            plan = pending.read_plan()
        except ImportRefused as refused:  # the file was read once already; only a changed limit brings this
            pending.discard()
            flash(f"{refused} Nothing was imported.", "error")
            return redirect(url_for("studio.import_file"), 303)
        shelves = [replace(s, choice=choices.get(s.key, s.choice)) for s in preview.shelves]
        shown, preview = preview, preview_import(plan, shelves)
        pending.save_preview(preview)
        if action != "apply":
            return redirect(url_for("studio.import_preview", token=token), 303)
        # When only the version moved (she saved something else in another tab), the plan is the one she saw.
        if replace(shown, catalog_version=preview.catalog_version) != preview:
            notice = ("The catalog changed since this preview was made, so it was planned again: check it, then apply."
                      if stale else "Your shelf choices change the plan: check it, then apply.")
            return render_preview(pending, preview, notice=notice, status=409)
    start_job(current_app._get_current_object(), pending)
    return redirect(url_for("studio.import_progress", token=token), 303)


@bp.route("/import/<token>/progress")
def import_progress(token: str):
    """How her import is going: a page that refreshes itself while the job runs, then what the import did or
    why it failed (400 for a refused file, 503 for a failed save; nothing was written either way)."""
    pending = load_pending(token, session_owner())
    if pending is None:
        abort(404)
    job = current_job(pending)
    if job is None:  # never applied: its preview
        return redirect(url_for("studio.import_preview", token=token), 303)
    if job.state == DONE:
        report = job.import_report()
        return render_template("studio/import_report.html", report=report, headline=report.headline())
    status = (400 if job.refused else 503) if job.state == FAILED else 200
    return render_template("studio/import_progress.html", job=job, pending=pending,
                           preview_kept=find_pending(token) is not None), status
