"""Refitting off the request: a process of its own after a drifting commit, storing its fit only if nothing was
folded in while it fitted."""
from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from afterimage.extensions import db
from afterimage.recommendations.documents import item_docs, new_recommender
from afterimage.recommendations.models import RecModel
from afterimage.recommendations.store import MODEL_ROW, store_refit

log = logging.getLogger(__name__)

_refit_lock = threading.Lock()
# The refit this process started last (refit_in_background); it logs its own failures.
_refit_process: subprocess.Popen | None = None


def refit_in_background(app: Flask) -> None:
    """Refit in a process of its own (`flask recs refit-in-background`), unless the one this process started last still runs.

    Not a thread of the app server: a fit holds the interpreter for seconds, so readers on that worker
    would wait for it. A process leaves the request free at once and lets the operating system share the
    cores. It refits the same database (the URL goes by environment, never on the command line, where `ps`
    would show a password).
    """
    global _refit_process
    # The lock only makes check-and-start one step for the threads of a gthread worker.
    with _refit_lock:
        # poll() also reaps the last one, if it has finished.
        if _refit_process is not None and _refit_process.poll() is None:
            return
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "SECRET_KEY": app.config["SECRET_KEY"]}
        try:
            _refit_process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "recs", "refit-in-background"], env=env,
                cwd=Path(__file__).resolve().parents[2], stdin=subprocess.DEVNULL,
            )
        except OSError:
            log.exception("could not start the background refit; the next change will ask for one again")


def wait_for_refit(timeout: float | None = None) -> None:
    """Block until the refit this process started (if any) has finished."""
    process = _refit_process
    if process is not None:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("background refit still running after %s s", timeout)


def stop_refit() -> None:
    """End the refit this process started, if it still runs: its database is about to go (tests)."""
    process = _refit_process
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait()


def refit_with_retries() -> None:
    """The background refit itself (in its own process): a few tries, each losing only to an edit
    committed during its fit, which then asks for a refit again anyway."""
    try:
        for _ in range(3):
            if refit_unless_changed():
                break
    finally:
        db.session.remove()


def refit_unless_changed() -> bool:
    """Fit on the catalog as it is now, and store the result only if nothing was folded in meanwhile.

    The fit runs outside any write; the write starts with a compare-and-set on the model's version, so
    an edit committed during the fit is never overwritten by a model that has not seen it.
    """
    seen = db.session.scalar(sa.select(RecModel.version).where(RecModel.id == MODEL_ROW))
    if seen is None:
        return True
    docs = item_docs()
    db.session.rollback()  # no read transaction held open while fitting
    model = new_recommender().fit(docs)
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            # Writers lock items (and, by cascade, their neighbour rows) before the model's row; the refit
            # takes them the other way round. It gives way before PostgreSQL's deadlock check (1 s) would
            # pick a victim, which could be the author's import.
            db.session.execute(sa.text("SET LOCAL lock_timeout = '500ms'"))
        swapped = db.session.execute(
            sa.update(RecModel).where(RecModel.id == MODEL_ROW, RecModel.version == seen)
            .values(version=RecModel.version + 1)
        ).rowcount
        if not swapped:
            db.session.rollback()
            return False
        store_refit(model)
        db.session.commit()
    except sa.exc.OperationalError:
        db.session.rollback()
        log.info("background refit gave way to a concurrent write; trying again")
        return False
    return True


# A command-line import must not exit halfway through the refit it started.
atexit.register(wait_for_refit)
