"""Configuration from defaults, then instance/config.py, then the environment."""
from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path
from typing import Callable

from flask import Flask


def database_url(app: Flask) -> str:
    """DATABASE_URL, with Heroku-style postgres:// mapped to psycopg 3; SQLite in instance/ by default."""
    url = os.environ.get("DATABASE_URL") or app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        return f"sqlite:///{Path(app.instance_path) / 'afterimage.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_value(app: Flask, name: str, make: Callable[[], str]) -> str:
    """The value kept in instance/<name>, made by `make` the first time it is asked for."""
    path = Path(app.instance_path) / name
    try:
        # Created readable by its owner only from the first byte (no window in which others can read it), and
        # never over a value another process wrote first.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(make())
    return path.read_text().strip()


def instance_secret_key(app: Flask) -> str:
    """A random key made once and kept in instance/, so sessions survive restarts without a key in the source."""
    return instance_value(app, "secret_key", lambda: secrets.token_hex(32))


def instance_site_id(app: Flask) -> uuid.UUID:
    """This installation's id, made once and kept in instance/site_id: feed entry ids are derived from it."""
    return uuid.UUID(instance_value(app, "site_id", lambda: str(uuid.uuid4())))


def load_config(app: Flask, test_config: dict | None) -> None:
    """Fill app.config; tests pass their own mapping instead of the instance file."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        ITEMS_PER_PAGE=24,
        RECOMMENDATIONS_PER_KIND=5,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Strict-Transport-Security on HTTPS answers: None follows SESSION_COOKIE_SECURE, True or False decide.
        STRICT_TRANSPORT_SECURITY=None,
        STRICT_TRANSPORT_SECURITY_MAX_AGE=365 * 24 * 3600,
        WTF_CSRF_TIME_LIMIT=None,
        # Whose catalog this is: the author of the feeds and of oEmbed answers.
        SITE_AUTHOR="Afterimage",
        # The site's address as readers know it (https://films.example); feed entry ids are made from it.
        PUBLIC_URL=None,
        # Sites that may frame the widget; "*" lets any blog embed it.
        WIDGET_FRAME_ANCESTORS="*",
        # How long browsers and the caching proxy may keep an anonymous page (http_cache.py), and how
        # much longer a proxy may serve it while it fetches the new one.
        CACHE_MAX_AGE=60,
        CACHE_STALE_WHILE_REVALIDATE=30,
        # Static files are linked with a content hash (http_cache.fingerprint_static_urls): keep them a year.
        SEND_FILE_MAX_AGE_DEFAULT=365 * 24 * 3600,
        # AFTERIMAGE_SHOW_UP_NEXT=true publishes her "Up next" page: the titles on her watchlist and to-read
        # shelf (nothing more: those items keep no page of their own).
        SHOW_UP_NEXT=False,
        # How the author's password is hashed: werkzeug's "scrypt" (N=32768, r=8, p=1, about 50 ms a check, on
        # purpose). Tests lower the work factor; a hash names its parameters, so older hashes still check.
        PASSWORD_HASH_METHOD="scrypt",
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("AFTERIMAGE")
    else:
        app.config.from_mapping(test_config)
    # A studio import is applied by a process of its own (studio/import_jobs.py); tests run the same job inside
    # the request, so they stay quick and deterministic.
    app.config.setdefault("IMPORT_JOBS_INLINE", bool(app.config.get("TESTING")))
    if os.environ.get("SECRET_KEY") and test_config is None:
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app)
    if test_config is None or "SQLALCHEMY_DATABASE_URI" not in test_config:
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A local file has no dropped connections to detect: skip the ping that would precede every request.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.pop("pool_pre_ping", None)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
