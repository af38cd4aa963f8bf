"""Studio CLI: author accounts, imports (Goodreads, Letterboxd, backups, and the studio's import jobs) and the
JSON backup export."""
from __future__ import annotations

import os
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from afterimage.accounts.auth import create_author, find_author, password_problem, set_password
from afterimage.accounts.models import Author
from afterimage.extensions import db
from afterimage.importers import ImportRefused, read_import_file
from afterimage.importers.backup import backup_json
from afterimage.importers.detect import check_size
from afterimage.importers.plan import apply_steered, preview_import, shelves_with_choices
from afterimage.importers.records import REFIT_ROWS
from afterimage.importers.shelf_choices import MappingError, ShelfChoice, read_mapping, read_shelf_options
from afterimage.studio.import_jobs import FAILED, claim_job, run_job
from afterimage.studio.imports import load_pending

author_cli = AppGroup("author", help="Manage the author accounts that may sign in to the studio.")
imports_cli = AppGroup("imports", help="Imports previewed in the studio.")


def require_schema() -> None:
    """Stop with a clear message when the database has no tables yet."""
    try:
        db.session.execute(sa.select(Author.id).limit(1))
    except sa.exc.DatabaseError:
        db.session.rollback()
        raise click.ClickException("The database is not set up yet: run `flask --app app init-db` first.") from None


def prompt_new_password(label: str) -> str:
    """Ask for a password twice until it is one the site accepts (long enough, not a common one)."""
    while True:
        password = click.prompt(label, hide_input=True, confirmation_prompt=True)
        problem = password_problem(password)
        if problem is None:
            return password
        click.secho(problem, fg="yellow", err=True)


@author_cli.command("create")
@click.argument("name")
def create_author_command(name: str) -> None:
    """Create an author account; the password is asked twice and never echoed."""
    require_schema()
    if find_author(name) is not None:
        raise click.ClickException(f"An author called {name!r} already exists.")
    password = prompt_new_password("Password")
    try:
        create_author(name, password)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Author {name!r} created. Sign in at /studio/.")


@author_cli.command("password")
@click.argument("name")
def reset_password_command(name: str) -> None:
    """Set a new password for an author (and sign out all their sessions)."""
    author = find_author(name)
    if author is None:
        raise click.ClickException(f"There is no author called {name!r}.")
    password = prompt_new_password("New password")
    set_password(author, password)
    db.session.commit()
    click.echo(f"Password changed for {author.name!r}; their sessions were signed out.")


@author_cli.command("list")
def list_authors_command() -> None:
    """Show the author accounts and how many browsers each is signed in on."""
    require_schema()
    authors = db.session.scalars(sa.select(Author).order_by(Author.name)).all()
    if not authors:
        click.echo("No author accounts yet: flask --app app author create NAME")
    for author in authors:
        click.echo(f"{author.name}  (created {author.created_at:%Y-%m-%d}, {len(author.sessions)} active session(s))")


@author_cli.command("delete")
@click.argument("name")
@click.confirmation_option(prompt="Delete this author account? Their sessions end at once.")
def delete_author_command(name: str) -> None:
    """Delete an author account (the catalog is not touched)."""
    author = find_author(name)
    if author is None:
        raise click.ClickException(f"There is no author called {name!r}.")
    db.session.delete(author)
    db.session.commit()
    click.echo(f"Author {author.name!r} deleted.")


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Restoring a backup: delete the current catalog first.")
@click.option("--shelf", "shelf_options", multiple=True, metavar="NAME=CHOICE",
              help="What a shelf or Letterboxd tag becomes: tag, tag:NAME, map:TAG, status:want|current|seen or "
                   "ignore (repeatable; remembered for the next import).")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='A JSON file of shelf choices: {"shelves": {"to-read": "status:want", "owned": "ignore"}}.')
@click.option("--dry-run", is_flag=True, help="Print what the import would do, and write nothing.")
@with_appcontext
def import_command(path: Path, replace: bool, shelf_options: tuple[str, ...], mapping: Path | None,
                   dry_run: bool) -> None:
    """Import a Goodreads CSV, a Letterboxd ZIP or CSV, or restore an Afterimage backup JSON.

    The way to bring in a big library: it runs in its own process while the site keeps serving, in one
    transaction, and a big import refits the recommendations once as it commits."""
    require_schema()
    try:
        choices = shelf_choices(mapping, shelf_options)
        check_size(path.stat().st_size)
        plan = read_import_file(path.name, path.read_bytes())
        shelves = shelves_with_choices(plan, choices)
        for key in sorted(set(choices) - {s.key for s in shelves}):
            click.echo(f"No shelf or tag {key!r} in this file: its choice is not used.")
        if dry_run:
            for line in preview_import(plan, shelves).summary_lines():
                click.echo(line)
            click.echo("Dry run: nothing was written.")
            return
        with click.progressbar(length=max(plan.steps, 1), label=f"Importing {plan.source}") as bar:
            report = apply_steered(plan, shelves, replace_catalog=replace, tick=bar.update)
    except (ImportRefused, MappingError) as error:
        raise click.ClickException(f"{error} Nothing was imported.") from None
    for line in report.summary_lines():
        click.echo(line)


def shelf_choices(mapping: Path | None, shelf_options: tuple[str, ...]) -> dict[str, ShelfChoice]:
    """The choices of a mapping file, then of --shelf options (which win)."""
    choices = {}
    if mapping is not None:
        try:
            text = mapping.read_text(encoding="utf-8-sig")
        except (UnicodeDecodeError, OSError) as error:
            raise MappingError(f"{mapping.name} cannot be read as UTF-8 text ({error}).") from None
        choices = read_mapping(text, mapping.name)
    return {**choices, **read_shelf_options(shelf_options)}


@imports_cli.command("apply-pending")
@click.argument("token")
def apply_pending_command(token: str) -> None:
    """Apply an import previewed in the studio, as its Apply button does (which starts this command): in one
    transaction (a big one at a lower CPU priority than the site), writing its progress beside the preview."""
    require_schema()
    pending = load_pending(token)
    if pending is None:
        raise click.ClickException("There is no import preview with that token (or it is more than a day old).")
    job = claim_job(pending)
    if job is None:
        raise click.ClickException("That import is being applied by another process, or has been applied.")
    # A big import refits the recommendations in its commit (minutes of CPU on a large catalog): the web workers
    # keep their share of the cores meanwhile. A small one is folded in like a save while she waits for it.
    try:
        big = len(pending.preview().rows) > REFIT_ROWS
    except (OSError, ValueError, TypeError, KeyError):  # unreadable: run_job reports it as the import's failure
        big = False
    if big:
        os.nice(10)
    job = run_job(pending, job)
    if job.state == FAILED:
        raise click.ClickException(job.error)
    click.echo(job.import_report().headline())


@click.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
def export_command(path: Path) -> None:
    """Write the whole catalog as a JSON backup (no passwords)."""
    text = backup_json()
    path.write_text(text, encoding="utf-8")
    click.echo(f"Backup written to {path}.")


def register_studio_commands(app: Flask) -> None:
    """Attach the author, import and export commands."""
    app.cli.add_command(author_cli)
    app.cli.add_command(import_command)
    app.cli.add_command(imports_cli)
    app.cli.add_command(export_command)
