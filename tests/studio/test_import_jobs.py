"""A studio import applied by a job of its own: the apply answers at once with a progress page that refreshes
itself, then shows what the import did or why it failed; the job is hers alone, starts once, is never "running"
after its process died, and writes all of the file or nothing."""
from __future__ import annotations

import json
import re
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from afterimage.accounts.models import ImportChoice
from afterimage.catalog.models import Creator, Item, Tag
from afterimage.extensions import db
from afterimage.studio import import_jobs
from tests.conftest import csrf_token_from
from tests.importers.faults import flush_fails_at
from tests.importers.test_import_goodreads import COLUMNS_24, HUMAN_ACTS, REMAINS, goodreads_csv
from tests.importers.test_import_preview import preview_of
from tests.studio.test_studio_fixtures import PASSWORD, add_author, author_client, sign_in  # noqa: F401

REFRESH = '<meta http-equiv="refresh" content="1">'


def press_apply(client, address: str, with_token: bool = True):
    """Press Apply on a preview page; the answer, not followed."""
    token = csrf_token_from(client.get(address).get_data(as_text=True))
    return client.post(address, data={"do": "apply", **({"csrf_token": token} if with_token else {})})


def job_file(app, address: str) -> Path:
    """Where the job of the import previewed at `address` keeps its state."""
    return Path(app.config["IMPORT_UPLOAD_FOLDER"]) / f"{address.rsplit('/', 1)[1]}.job.json"


def item_titles(app) -> list[str]:
    """Every item's title."""
    with app.app_context():
        titles = sorted(db.session.scalars(sa.select(Item.title)))
        db.session.remove()
    return titles


@pytest.fixture
def job_that_never_finishes(app, monkeypatch):
    """Jobs started as real processes that never finish (their command line names the import, as the real
    command's does), for looking at a job while it runs; each process started is listed, and ended after."""
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def popen(command, **kwargs):
        token = command[-1]
        process = real_popen([sys.executable, "-c", "import time; time.sleep(600)", token], **kwargs)
        started.append(process)
        return process

    app.config["IMPORT_JOBS_INLINE"] = False
    monkeypatch.setattr(import_jobs.subprocess, "Popen", popen)
    yield started
    for process in started:
        process.kill()
        process.wait()


def test_apply_answers_with_a_progress_page_that_shows_what_the_import_did(app, author_client):
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS]))
    response = press_apply(author_client, address)
    assert response.status_code == 303 and response.headers["Location"] == f"{address}/progress"
    page = author_client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Import report: Goodreads library export" in html
    assert "Imported Goodreads library export: 2 created, 0 updated, 0 unchanged, 0 skipped." in html
    assert "<strong>2</strong> created" in html and REFRESH not in html
    assert item_titles(app) == ["Human Acts", "The Remains of the Day"]
    # The upload and its preview go with the apply; the job's summary stays for the page.
    token = address.rsplit("/", 1)[1]
    assert sorted(p.name for p in job_file(app, address).parent.iterdir()) == [f"{token}.job.json", f"{token}.json"]
    assert json.loads(job_file(app, address).read_text())["state"] == "done"
    # Her preview's address now leads to the summary, not to a second import.
    assert author_client.get(address).headers["Location"] == f"{address}/progress"


def test_the_report_counts_the_tags_the_import_created(app, author_client, runner):
    with app.app_context():
        db.session.add(Tag(name="memory", name_key="memory", slug="memory"))
        db.session.commit()
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS]))
    html = author_client.get(press_apply(author_client, address).headers["Location"]).get_data(as_text=True)
    with app.app_context():
        tags = sorted(db.session.scalars(sa.select(Tag.name)))
        db.session.remove()
    assert "memory" in tags and len(tags) > 1  # her "memory" tag reused; the file's other shelves became tags
    assert f"<strong>{len(tags) - 1}</strong> new" in html and 'href="/studio/tags">tags</a>' in html


def test_a_job_that_has_not_finished_shows_its_state_and_refreshes_itself(app, author_client, job_that_never_finishes):
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS]))
    assert press_apply(author_client, address).status_code == 303
    page = author_client.get(f"{address}/progress")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and REFRESH in html and "Starting the import" in html
    job = json.loads(job_file(app, address).read_text())
    assert job["state"] == "queued" and job["pid"] == job_that_never_finishes[0].pid

    job_file(app, address).write_text(json.dumps({**job, "state": "running", "steps": 2000, "steps_done": 1500}))
    html = author_client.get(f"{address}/progress").get_data(as_text=True)
    assert REFRESH in html and "1500 of 2000 rows and lists done" in html
    assert item_titles(app) == []


def test_a_second_apply_starts_no_second_job(app, author_client, job_that_never_finishes):
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS]))
    token = csrf_token_from(author_client.get(address).get_data(as_text=True))
    for _ in range(2):  # a double click: the second POST arrives while the first job runs
        response = author_client.post(address, data={"csrf_token": token, "do": "apply"})
        assert response.status_code == 303 and response.headers["Location"] == f"{address}/progress"
    assert len(job_that_never_finishes) == 1
    assert json.loads(job_file(app, address).read_text())["pid"] == job_that_never_finishes[0].pid


def test_a_second_apply_after_the_job_finished_imports_nothing_again(app, author_client):
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS]))
    token = csrf_token_from(author_client.get(address).get_data(as_text=True))
    author_client.post(address, data={"csrf_token": token, "do": "apply"})
    again = author_client.post(address, data={"csrf_token": token, "do": "apply"})
    assert again.headers["Location"] == f"{address}/progress"
    # The summary is still the first run's (a second run would have found the book unchanged).
    assert "<strong>1</strong> created" in author_client.get(again.headers["Location"]).get_data(as_text=True)


def test_a_job_whose_process_died_is_reported_as_failed_and_can_be_applied_again(app, author_client,
                                                                                 job_that_never_finishes):
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS]))
    press_apply(author_client, address)
    process = job_that_never_finishes[0]
    process.kill()
    process.wait()
    page = author_client.get(f"{address}/progress")
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and "Import failed" in html and REFRESH not in html
    assert "stopped before it finished" in html and "nothing was written" in html
    assert json.loads(job_file(app, address).read_text())["state"] == "failed"
    assert item_titles(app) == []
    # The preview is kept: she goes back to it and applies again, and this time the job finishes.
    assert f'href="{address}"' in html
    app.config["IMPORT_JOBS_INLINE"] = True
    response = press_apply(author_client, address)
    assert "<strong>2</strong> created" in author_client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_job_whose_process_id_now_belongs_to_another_program_is_failed(app, author_client, job_that_never_finishes):
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS]))
    press_apply(author_client, address)
    job = json.loads(job_file(app, address).read_text())
    # A pid that is alive, but not an import job's: this test's own process.
    job_file(app, address).write_text(json.dumps({**job, "state": "running", "pid": os.getpid()}))
    assert author_client.get(f"{address}/progress").status_code == 503


def test_the_progress_of_an_import_is_hers_alone(app, author_client):
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS]))
    press_apply(author_client, address)
    other = app.test_client()
    add_author(app, "Noor")
    sign_in(other, name="Noor", password=PASSWORD)
    assert other.get(f"{address}/progress").status_code == 404
    assert other.get("/studio/import/" + "A" * 43 + "/progress").status_code == 404
    assert author_client.get(f"{address}/progress").status_code == 200
    # Signed out, the studio's sign-in comes first.
    assert app.test_client().get(f"{address}/progress").status_code in (302, 303)


def test_an_import_not_yet_applied_has_its_preview_for_progress(app, author_client):
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS]))
    assert author_client.get(f"{address}/progress").headers["Location"] == address


def test_apply_still_needs_the_csrf_token(app, author_client):
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS]))
    assert press_apply(author_client, address, with_token=False).status_code == 400
    assert not job_file(app, address).exists() and item_titles(app) == []


def test_a_job_that_fails_midway_writes_nothing_and_keeps_the_preview(app, author_client):
    # 1,200 rows: the first chunks are flushed before the failure, inside the job's one transaction.
    rows = [{"Book Id": str(n), "Title": f"Book {n}", "Author": f"Writer {n % 50}", "Exclusive Shelf": "read",
             "Bookshelves": f"fiction, shelf-{n % 30}"} for n in range(1200)]
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, rows))
    with flush_fails_at(app, "Book 1100") as flushed:
        response = press_apply(author_client, address)
    assert len(flushed) > 1000  # the earlier chunks had reached the database
    page = author_client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and "The import failed while saving, and nothing was written." in html
    with app.app_context():
        for model in (Item, Tag, Creator, ImportChoice):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model
    assert f'href="{address}"' in html and author_client.get(address).status_code == 200


def test_the_command_names_a_token_it_does_not_know(app, runner):
    result = runner.invoke(args=["imports", "apply-pending", "A" * 43])
    assert result.exit_code != 0 and "There is no import preview with that token" in result.output


def test_the_job_the_studio_starts_is_the_command_the_readme_documents():
    """What `ps` shows while her import runs, and what an operator may run by hand, is the README's command,
    with the server's own interpreter."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    documented = re.search(r"`flask (--app app imports apply-pending) TOKEN`", readme).group(1).split()
    assert import_jobs.job_command("T0KEN") == [sys.executable, "-m", "flask", *documented, "--", "T0KEN"]


def test_a_job_whose_token_begins_with_a_dash_is_not_read_as_an_option(app, runner):
    # One token in 64 begins with "-": click took it for an option and the job died ("No such option '-Q'").
    command = import_jobs.job_command("-Q" + "A" * 41)
    result = runner.invoke(args=command[command.index("imports"):])
    assert result.exit_code != 0 and "There is no import preview with that token" in result.output


@pytest.mark.slow
def test_a_real_job_process_applies_the_import_while_the_page_refreshes(app, author_client):
    """The shipped path end to end on a SQLite file: `flask imports apply-pending` in a process of its own."""
    app.config["IMPORT_JOBS_INLINE"] = False
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS]))
    progress = press_apply(author_client, address).headers["Location"]
    # Bounded so that a broken job fails the test instead of hanging it; not a speed limit.
    deadline = time.monotonic() + 300
    page = author_client.get(progress)
    while REFRESH in page.get_data(as_text=True) and time.monotonic() < deadline:
        time.sleep(0.2)
        page = author_client.get(progress)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "<strong>2</strong> created" in html
    job = json.loads(job_file(app, address).read_text())
    assert job["state"] == "done" and job["pid"] != os.getpid() and not job["inline"]
    assert item_titles(app) == ["Human Acts", "The Remains of the Day"]
