"""Files out of the studio: the JSON and CSV exports, and the refusal of an upload over the size limit
(imports are previewed in studio/imports.py)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Response, current_app, flash, redirect, render_template, request

from afterimage.catalog.cover_images import MAX_COVER_BYTES
from afterimage.importers.backup import backup_json
from afterimage.importers.items_csv import items_csv
from afterimage.studio.blueprint import bp
from afterimage.studio.forms import ImportForm


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
