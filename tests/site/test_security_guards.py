"""The request guards of afterimage/security.py, case by case (the route-wide sweeps are in test_hostile_input.py)."""
from __future__ import annotations

import pytest

from afterimage.catalog.rules import ItemFields, save_item
from afterimage.extensions import db


@pytest.fixture
def stalker(app) -> str:
    """A published film's slug."""
    with app.app_context():
        slug = save_item(ItemFields(kind="film", title="Stalker", year=1979)).slug
        db.session.commit()
    return slug


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "none"},  # the reader's own action: a bookmark, a typed address
    {"Origin": "http://localhost"},
    {"Origin": "http://localhost/"},
    {},  # an old browser that sends neither
])
def test_a_like_from_this_site_or_the_reader_is_kept(client, stalker, headers):
    response = client.post(f"/liked/{stalker}", headers=headers)
    assert response.status_code == 303
    assert stalker in response.headers["Set-Cookie"]


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},  # Fetch metadata wins over Origin
    {"Origin": "https://evil.example"},
    {"Origin": "http://localhost.evil.example"},
])
def test_a_like_sent_from_another_site_is_refused(client, stalker, headers):
    response = client.post(f"/liked/{stalker}", headers=headers)
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers
