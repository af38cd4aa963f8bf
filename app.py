"""The Afterimage application factory: read it as the table of contents of the site."""
from __future__ import annotations

from flask import Flask

from afterimage import api, database, feeds, public, security, studio, widget
from afterimage.commands import register_commands
from afterimage.commit_hooks import register_commit_hooks
from afterimage.config import load_config
from afterimage.errors import register_error_handlers, register_health_check
from afterimage.extensions import csrf
from afterimage.http import cache as http_cache
from afterimage.http import slug_urls


def create_app(test_config: dict | None = None) -> Flask:
    """Build the site: configuration, extensions, blueprints, error pages and CLI commands."""
    app = Flask(__name__, instance_relative_config=True, template_folder="templates", static_folder="static")
    load_config(app, test_config)
    security.bound_url_numbers(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_health_check(app)
    register_commands(app)
    security.init_app(app)
    http_cache.init_app(app)
    slug_urls.init_app(app)
    security.trust_reverse_proxy(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the database (with `flask db` migrations), what its commits do, and CSRF protection."""
    database.init_app(app)
    register_commit_hooks()
    csrf.init_app(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per audience."""
    app.register_blueprint(public.bp)
    app.register_blueprint(studio.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(widget.bp)
    app.register_blueprint(feeds.bp)
