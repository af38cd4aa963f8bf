"""Flask CLI commands: init-db and demo, and the command groups of recs and the studio."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import with_appcontext

from afterimage.catalog.demo import load_demo_catalog
from afterimage.catalog.models import Item
from afterimage.database import create_schema
from afterimage.extensions import db
from afterimage.recommendations.commands import recs_cli
from afterimage.studio.commands import register_studio_commands


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the database tables (existing data is kept)."""
    create_schema()
    click.echo("Database ready.")


@click.command("demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only load when the catalog has no items yet.")
def demo_command(if_empty: bool) -> None:
    """Load the demo catalog; items already present are left alone."""
    create_schema()
    if if_empty and db.session.scalar(sa.select(sa.func.count(Item.id))):
        click.echo("The catalog already has items; demo not loaded.")
        return
    report = load_demo_catalog()
    click.echo(f"Demo catalog: {report.items} items, {report.tags} tags, {report.lists} lists added.")


def register_commands(app: Flask) -> None:
    """Attach the CLI commands to the app."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(recs_cli)
    register_studio_commands(app)
