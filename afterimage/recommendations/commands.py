"""`flask recs rebuild`, `flask recs status`, and the background refit's own entry point."""
from __future__ import annotations

import logging
import os
import sys
import time

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from afterimage.extensions import db
from afterimage.recommendations.models import RecModel, RecModelBlob
from afterimage.recommendations.refit import refit_with_retries
from afterimage.recommendations.store import MODEL_ROW, rebuild

recs_cli = AppGroup("recs", help="Build and inspect the recommendation model.")

STEPS = 4
# Readers and the author's edits come first: the background fit shares the cores with the app server.
BACKGROUND_NICENESS = 10


@recs_cli.command("rebuild")
def rebuild_command() -> None:
    """Refit the model on the whole catalog; readers see the old lists until it commits."""
    started = time.perf_counter()
    with click.progressbar(length=STEPS, label="Rebuilding recommendations", show_eta=False) as bar:
        def step(label: str) -> None:
            bar.label = label.capitalize()
            bar.update(1)
        model = rebuild(progress=step)
        db.session.commit()
    click.echo(f"Recommendations rebuilt for {len(model.ids_)} items in {time.perf_counter() - started:.1f} s.")


@recs_cli.command("status")
def status_command() -> None:
    """Show the stored model's version and size."""
    row = db.session.get(RecModel, MODEL_ROW)
    if row is None:
        click.echo("No model yet: run `flask --app app recs rebuild`.")
        return
    size = db.session.scalar(sa.select(sa.func.length(RecModelBlob.blob)).where(RecModelBlob.id == MODEL_ROW)) or 0
    click.echo(f"Model version {row.version}: {row.n_items} items, fitted {row.fitted_at:%Y-%m-%d %H:%M}, "
               f"{size / 1e6:.1f} MB.")


@recs_cli.command("refit-in-background", hidden=True)
def refit_in_background_command() -> None:
    """One background refit, in the process refit.refit_in_background starts after a drifting commit."""
    if hasattr(os, "nice"):
        os.nice(BACKGROUND_NICENESS)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s refit[%(process)d] %(levelname)s %(message)s")
    try:
        refit_with_retries()
    except Exception:
        logging.getLogger(__name__).exception("background refit failed; the next change will ask for one again")
        sys.exit(1)
