"""Applying a previewed import off the request: one job per import, in a process of its own.

Apply starts `flask imports apply-pending TOKEN` at a lower CPU priority and answers at once with a progress
page, so the web worker never holds a reader while thousands of rows are written. The job applies the stored
preview in one transaction, as the request did before, and keeps its state in <token>.job.json beside the
preview: replaced whole on every write (a reader never sees half a file), read by the progress page. A job
whose process has gone without saying it finished is reported as failed, never "running" for ever.
IMPORT_JOBS_INLINE (the tests' default) runs the same job inside the request instead.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import sqlalchemy as sa
from flask import Flask

from afterimage.extensions import db
from afterimage.importers import ImportRefused
from afterimage.importers.plan import apply_steered
from afterimage.importers.report import ImportReport

if TYPE_CHECKING:
    from afterimage.studio.imports import PendingImport

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)
# The progress file is rewritten at most this often while rows are written (each write is a small file).
PROGRESS_EVERY_S = 0.5
SAVE_FAILED = "The import failed while saving, and nothing was written. Try again; the preview is kept."
DIED = ("The import stopped before it finished (its process ended), and nothing was written. Try again; the "
        "preview is kept.")


@dataclass
class ImportJob:
    """The state of one import's job, as its progress page shows it."""

    state: str
    pid: int | None = None
    # An inline job runs in a web worker, whose command line does not name the import.
    inline: bool = False
    started: float = field(default_factory=time.time)
    steps: int = 0
    steps_done: int = 0
    error: str = ""
    refused: bool = False
    report: dict | None = None

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.state in ACTIVE

    def import_report(self) -> ImportReport | None:
        """What the finished import did."""
        return ImportReport.from_dict(self.report) if self.report is not None else None


def read_job(pending: PendingImport) -> ImportJob | None:
    """The job's state as last written, or None when the import was never applied (or the file is unreadable)."""
    try:
        return ImportJob(**json.loads(pending.job_path.read_text(encoding="utf-8")))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def write_job(pending: PendingImport, job: ImportJob) -> None:
    """Replace the job's state whole: written to a file of this process, then renamed over the old one."""
    path = pending.job_path
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(asdict(job)), encoding="utf-8")
    os.replace(temporary, path)


@contextmanager
def job_lock(pending: PendingImport) -> Iterator[None]:
    """Hold the pending import's lock: starting, claiming and declaring a job dead are one step each, across
    the server's workers and the job's process (the lock goes with a process that dies holding it)."""
    # Opened creating: had a cancel removed the import meanwhile, an empty file reads as an import gone.
    descriptor = os.open(pending.meta_path, os.O_RDONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # which releases the lock


def process_alive(job: ImportJob, token: str) -> bool:
    """Whether the job's process still runs. Where /proc shows command lines, the process must also name the
    import: a pid reused by another program, or a finished job not yet reaped (a zombie has no command line),
    does not count."""
    if job.pid is None:
        return False
    try:
        os.kill(job.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        pass
    if job.inline:
        return True
    try:
        return token.encode() in Path(f"/proc/{job.pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True


def current_job(pending: PendingImport) -> ImportJob | None:
    """The job's state, with a job whose process died before finishing recorded as failed."""
    job = read_job(pending)
    if job is None or not job.active or process_alive(job, pending.token):
        return job
    with job_lock(pending):
        # Read again under the lock: the job may have finished, or a new one started, since.
        return settled_job(pending)


def settled_job(pending: PendingImport) -> ImportJob | None:
    """The job's state, a dead one recorded as failed; for a caller holding the lock."""
    job = read_job(pending)
    if job is not None and job.active and not process_alive(job, pending.token):
        log.warning("import job %s (pid %s) ended without finishing", pending.token[:8], job.pid)
        job.state, job.error = FAILED, DIED
        write_job(pending, job)
    return job


def run_job(pending: PendingImport, job: ImportJob) -> ImportJob:
    """Apply the stored preview in one transaction (as the studio's apply did in the request), writing the
    job's progress as it goes; the finished job, done or failed. Nothing is kept of a failed import."""
    job.state = RUNNING
    write_job(pending, job)
    last_write = time.monotonic()

    def tick(steps: int) -> None:
        nonlocal last_write
        job.steps_done += steps
        if time.monotonic() - last_write >= PROGRESS_EVERY_S:
            write_job(pending, job)
            last_write = time.monotonic()

    try:
        plan = pending.read_plan()
        job.steps = plan.steps
        report = apply_steered(plan, pending.preview().shelves, replace_catalog=pending.replace, tick=tick)
    except ImportRefused as refused:
        job.state, job.error, job.refused = FAILED, f"{refused} Nothing was imported.", True
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        log.exception("import failed: %s", error)
        job.state, job.error = FAILED, SAVE_FAILED
    except Exception as error:  # written down for the progress page; the traceback goes to the log
        db.session.rollback()
        log.exception("import failed: %s", error)
        job.state, job.error = FAILED, f"The import failed ({type(error).__name__}), and nothing was written."
    else:
        job.state, job.report, job.steps_done = DONE, report.to_dict(), job.steps
        # The upload and its preview go; the job's state stays (for a day) to show what the import did.
        for path in (pending.data_path, pending.preview_path):
            path.unlink(missing_ok=True)
    write_job(pending, job)
    return job


def claim_job(pending: PendingImport) -> ImportJob | None:
    """Take the pending import's job for this process, as the command starts: None when another process is
    applying it or has applied it already."""
    with job_lock(pending):
        job = read_job(pending)
        if job is not None and (job.state == DONE or (job.active and job.pid not in (None, os.getpid())
                                                      and process_alive(job, pending.token))):
            return None
        job = ImportJob(RUNNING, pid=os.getpid(), started=job.started if job is not None else time.time())
        write_job(pending, job)
        return job


def reap(process: subprocess.Popen) -> None:
    """Wait for a job's process in a thread, so that a finished job does not linger as a zombie."""
    threading.Thread(target=process.wait, name=f"reap-import-{process.pid}", daemon=True).start()


def job_command(token: str) -> list[str]:
    """The job's command line: the same interpreter and app as the server's. `--` ends the options: a token may
    begin with "-" (token_urlsafe's alphabet has it), which click would read as an unknown option."""
    return [sys.executable, "-m", "flask", "--app", "app", "imports", "apply-pending", "--", token]


def start_job(app: Flask, pending: PendingImport) -> ImportJob:
    """Start applying a pending import unless a job for it is queued, running or done (a second click, or a
    second tab, starts nothing); the job as it stands."""
    with job_lock(pending):
        job = settled_job(pending)
        if job is not None and (job.active or job.state == DONE):
            return job
        if app.config["IMPORT_JOBS_INLINE"]:
            return run_job(pending, ImportJob(QUEUED, pid=os.getpid(), inline=True))
        job = ImportJob(QUEUED)
        write_job(pending, job)
        # The database and the folder go by environment (never on the command line, where `ps` shows it).
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "SECRET_KEY": app.config["SECRET_KEY"], "AFTERIMAGE_IMPORT_UPLOAD_FOLDER": str(pending.folder)}
        try:
            process = subprocess.Popen(job_command(pending.token), env=env, cwd=Path(__file__).resolve().parents[2],
                                       stdin=subprocess.DEVNULL)
        except OSError as error:
            log.error("could not start an import job: %s", error)
            job.state, job.error = FAILED, "The import could not be started on the server; nothing was written. Try again."
        else:
            job.pid = process.pid
            reap(process)
        write_job(pending, job)
        return job
