"""Issue 20: HSTS when the site is served over HTTPS, and a secret key file nobody else can ever read."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from afterimage.config import instance_secret_key
from app import create_app


def site(tmp_path, **settings):
    """The site with extra settings, on a database of its own."""
    return create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}",
                       **settings})


def test_https_answers_carry_strict_transport_security_when_cookies_are_secure(tmp_path):
    client = site(tmp_path, SESSION_COOKIE_SECURE=True).test_client()
    response = client.get("/healthz", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    # Over plain HTTP the header means nothing (RFC 6797 8.1) and is not sent.
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


@pytest.mark.parametrize("settings, expected", [
    ({}, False),
    ({"STRICT_TRANSPORT_SECURITY": True}, True),
    ({"SESSION_COOKIE_SECURE": True, "STRICT_TRANSPORT_SECURITY": False}, False),
    ({"STRICT_TRANSPORT_SECURITY": True, "STRICT_TRANSPORT_SECURITY_MAX_AGE": 600}, True),
])
def test_strict_transport_security_is_a_setting(tmp_path, settings, expected):
    response = site(tmp_path, **settings).test_client().get("/healthz", base_url="https://localhost")
    assert ("Strict-Transport-Security" in response.headers) is expected
    if "STRICT_TRANSPORT_SECURITY_MAX_AGE" in settings:
        assert response.headers["Strict-Transport-Security"] == "max-age=600"


def test_the_secret_key_file_is_owner_only_from_the_moment_it_exists(tmp_path, monkeypatch):
    # Were the mode fixed only after writing, there would be a moment (or, after a crash, forever) in which
    # others could read it: with chmod doing nothing, the file must still be 0600.
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)
    monkeypatch.setattr(Path, "chmod", lambda *args, **kwargs: None)
    previous = os.umask(0o022)
    try:
        key = instance_secret_key(SimpleNamespace(instance_path=str(tmp_path)))
    finally:
        os.umask(previous)
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 64
    assert instance_secret_key(SimpleNamespace(instance_path=str(tmp_path))) == key
