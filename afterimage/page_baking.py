"""`flask pages bake`: render every subject page into the page store ahead of its first reader.

After a bulk import, a restore or a deployment, the long tail of a ten-thousand-item catalog would
otherwise be rendered by whichever reader comes first, in the middle of a busy hour. Baking renders
them through the site itself (same views, same headers, same dependency records), so a baked page is
exactly what a reader's request would have stored, and edits drop it the same way.
"""
from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Callable, Iterable

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from afterimage.extensions import db
from afterimage.models import CuratedList, Item, Tag
from afterimage.page_cache import BAKING
from afterimage.page_dependencies import EVERYTHING
from afterimage.page_store import StoredPage, StoredPageDependency, count_pages, drop_pages

# Paths per task of a worker process: big enough that starting the app is noise, small enough to redo.
BAKE_CHUNK = 1000

pages_cli = AppGroup("pages", help="The shared page store: pre-render, inspect, empty.")


def subject_paths() -> list[str]:
    """Every page about one item, tag or published list that the store keeps, items first."""
    paths = []
    for slug in db.session.scalars(sa.select(Item.slug).order_by(Item.id)):
        paths += [f"/items/{slug}", f"/widget/items/{slug}", f"/api/v1/items/{slug}/recommendations"]
    for slug in db.session.scalars(sa.select(Tag.slug).order_by(Tag.id)):
        paths += [f"/tags/{slug}", f"/widget/tags/{slug}"]
    for slug in db.session.scalars(sa.select(CuratedList.slug).where(CuratedList.published).order_by(CuratedList.id)):
        paths += [f"/lists/{slug}", f"/widget/lists/{slug}"]
    return paths


def bake_paths(app: Flask, paths: Iterable[str], base_url: str,
               progress: Callable[[int], None] = lambda n: None) -> Counter:
    """Request each path as an anonymous reader at base_url; count what was stored, already there, or not stored."""
    client = app.test_client()
    outcome: Counter = Counter()
    for path in paths:
        response = client.get(path, base_url=base_url, environ_base={BAKING: True})
        state = response.headers.get("X-Page-Cache")
        outcome["stored" if state == "miss" else "already stored" if state == "hit" else f"not stored ({response.status_code})"] += 1
        response.close()
        progress(1)
    return outcome


def _bake_share(base_url: str, paths: list[str]) -> Counter:
    """One worker process: its own app (from the same environment) bakes its share of the paths."""
    from app import create_app

    app = create_app()
    try:
        return bake_paths(app, paths, base_url)
    finally:
        with app.app_context():
            db.engine.dispose()


def bake_in_processes(paths: list[str], base_url: str, jobs: int, rounds: int = 3) -> Counter:
    """Bake in `jobs` worker processes, a chunk at a time. A worker that dies (Python's sqlite3 module has
    crashed one, see the README) costs only its chunk, which the next round bakes again."""
    chunks = [paths[at:at + BAKE_CHUNK] for at in range(0, len(paths), BAKE_CHUNK)]
    outcome: Counter = Counter()
    for _ in range(rounds):
        failed = []
        # Spawned, not forked: a forked child would share the parent's open database connections.
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_bake_share, base_url, chunk): chunk for chunk in chunks}
            for future in as_completed(futures):
                try:
                    outcome += future.result()
                except BrokenProcessPool:
                    failed.append(futures[future])
        if not failed:
            return outcome
        click.echo(f"A baking process died; baking {sum(map(len, failed))} pages again.", err=True)
        chunks = failed
    raise click.ClickException(f"{sum(map(len, chunks))} pages could not be baked after {rounds} rounds.")


@pages_cli.command("bake")
@click.option("--base-url", default=None,
              help="The address readers use (scheme and host, as pages link to it); default: the "
                   "PUBLIC_URL setting, else http://127.0.0.1:5000.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 32),
              help="Processes rendering in parallel.")
def bake_command(base_url: str | None, jobs: int) -> None:
    """Render every item, tag and list page, widget and recommendation answer that is not stored yet."""
    base_url = (base_url or current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/") + "/"
    paths = subject_paths()
    db.session.remove()
    started = time.perf_counter()
    if jobs == 1:
        with click.progressbar(length=len(paths), label=f"Baking {len(paths)} pages for {base_url}") as bar:
            outcome = bake_paths(current_app._get_current_object(), paths, base_url, bar.update)
    else:
        outcome = bake_in_processes(paths, base_url, jobs)
    summary = ", ".join(f"{count} {state}" for state, count in sorted(outcome.items()))
    click.echo(f"Baked in {time.perf_counter() - started:.1f} s: {summary or 'nothing to bake'}.")


@pages_cli.command("status")
def status_command() -> None:
    """How many pages are stored, and how many dependency records they carry."""
    with db.engine.connect() as connection:
        pages = count_pages(connection)
        names = connection.execute(sa.select(sa.func.count()).select_from(StoredPageDependency)).scalar_one()
        size = connection.execute(sa.select(sa.func.sum(sa.func.length(StoredPage.body)))).scalar() or 0
    click.echo(f"{pages} pages stored ({size / 1e6:.1f} MB compressed), {names} dependency records.")


@pages_cli.command("clear")
def clear_command() -> None:
    """Empty the page store; pages are rendered again on their next view (or by `flask pages bake`)."""
    with db.engine.begin() as connection:
        drop_pages(connection, {EVERYTHING})
    click.echo("Page store emptied.")
