"""Studio forms in one round: every error at once, an error summary linking to each field, labels in the
words of the kind, a rating control that works without JavaScript."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from afterimage.catalog.models import CuratedList, Item
from afterimage.extensions import db
from tests.studio.test_studio_fixtures import PASSWORD, author_client, post_form  # noqa: F401
from tests.studio.test_studio_items import FILM


def summary_links(html: str) -> list[tuple[str, str]]:
    """(href, text) of each link in the error summary."""
    match = re.search(r'<div class="error-summary"(.*?)</div>', html, re.S)
    assert match, "no error summary on the page"
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', match.group(1))


def test_the_item_form_shows_the_title_year_and_rating_errors_in_one_round(app, author_client):
    response = post_form(author_client, "/studio/items/new", {**FILM, "title": "", "year": "20o8", "rating": "7"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert summary_links(html) == [
        ("#title", "Title: A title is required."),
        ("#year", "Year: Enter the year as a number, like 1959."),
        ("#rating", "Rating: Ratings go from 0.5 to 5 stars in half-star steps."),
    ]
    assert "There are 3 problems" in html
    # Each field carries its own message too, tied to the control for screen readers.
    for name in ("title", "year", "rating"):
        assert re.search(rf'id="{name}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{name}"', html), name
        assert f'id="{name}-error"' in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


def test_the_error_summary_is_focusable_and_announced(author_client):
    html = post_form(author_client, "/studio/items/new", {**FILM, "title": ""}).get_data(as_text=True)
    assert re.search(r'<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1"', html)
    assert "There is a problem" in html
    assert html.index('class="error-summary"') < html.index('class="studio-form item-form"')


def test_a_valid_form_has_no_error_summary(author_client):
    assert "error-summary" not in author_client.get("/studio/items/new").get_data(as_text=True)


def test_a_kind_error_links_to_its_first_radio_button(author_client):
    html = post_form(author_client, "/studio/items/new", {**FILM, "kind": "tv"}).get_data(as_text=True)
    assert ("#kind-0", "Kind: Not a valid choice.") in summary_links(html) or any(
        href == "#kind-0" for href, _ in summary_links(html))
    assert 'id="kind-0"' in html


@pytest.mark.parametrize("kind, seen, current, want", [
    ("book", "Read", "Reading", "Want to read"), ("film", "Watched", "Watching", "Want to watch"),
])
def test_status_reads_in_the_words_of_the_kind(author_client, kind, seen, current, want):
    html = author_client.get(f"/studio/items/new?kind={kind}").get_data(as_text=True)
    status = re.search(r'<select[^>]*id="status".*?</select>', html, re.S).group(0)
    assert re.search(rf'value="seen"[^>]*>{seen}</option>', status)
    assert re.search(rf'value="current"[^>]*>{current}</option>', status)
    assert re.search(rf'value="want"[^>]*>{want}</option>', status)
    assert "Seen" not in status.replace('data-film-label="Watched"', "")
    # Both wordings travel with each option, so the script can relabel them when the kind changes.
    assert 'data-film-label="Watched" data-book-label="Read"' in status or 'data-book-label="Read"' in status


def test_a_failed_book_keeps_its_book_labels(author_client):
    html = post_form(author_client, "/studio/items/new", {**FILM, "kind": "book", "title": ""}).get_data(as_text=True)
    status = re.search(r'<select[^>]*id="status".*?</select>', html, re.S).group(0)
    assert ">Read</option>" in status


def test_rating_is_a_select_of_half_stars_that_works_without_javascript(app, author_client):
    html = author_client.get("/studio/items/new").get_data(as_text=True)
    rating = re.search(r'<select[^>]*id="rating".*?</select>', html, re.S).group(0)
    assert "data-half-stars" in rating
    assert re.findall(r'<option[^>]*value="([^"]*)"', rating) == ["", "0.5", "1", "1.5", "2", "2.5", "3", "3.5", "4", "4.5", "5"]
    assert ">3.5 stars</option>" in rating and ">1 star</option>" in rating and ">No rating</option>" in rating
    assert post_form(author_client, "/studio/items/new", {**FILM, "rating": "3.5"}).status_code == 303
    with app.app_context():
        item = db.session.scalars(sa.select(Item)).one()
        assert item.rating == 3.5
        item_id = item.id
    edit = author_client.get(f"/studio/items/{item_id}").get_data(as_text=True)
    assert re.search(r'<option selected value="3.5">|<option value="3.5" selected>', edit)


def test_no_rating_is_saved_as_none(app, author_client):
    assert post_form(author_client, "/studio/items/new", {**FILM, "rating": ""}).status_code == 303
    with app.app_context():
        assert db.session.scalars(sa.select(Item)).one().rating is None


def test_the_password_form_shows_a_wrong_current_password_and_a_short_new_one_together(author_client):
    response = post_form(author_client, "/studio/password", {"current": "wrong one", "new": "short", "confirm": "other"})
    links = summary_links(response.get_data(as_text=True))
    assert [href for href, _ in links] == ["#current", "#new", "#confirm"]
    assert "That is not your current password." in links[0][1]


def test_the_list_form_shows_a_missing_title_and_a_taken_address_together(app, author_client):
    with app.app_context():
        db.session.add_all([CuratedList(title="One", slug="one"), CuratedList(title="Two", slug="two")])
        db.session.commit()
        list_id = db.session.scalar(sa.select(CuratedList.id).where(CuratedList.slug == "two"))
    response = post_form(author_client, f"/studio/lists/{list_id}", {"title": "", "slug": "one", "introduction": ""})
    assert [href for href, _ in summary_links(response.get_data(as_text=True))] == ["#title", "#slug"]
    with app.app_context():
        assert db.session.get(CuratedList, list_id).slug == "two"


def test_sign_in_errors_come_in_one_summary(client, app):
    from tests.studio.test_studio_fixtures import add_author
    from tests.conftest import csrf_token_from

    add_author(app)
    token = csrf_token_from(client.get("/studio/sign-in").get_data(as_text=True))
    html = client.post("/studio/sign-in", data={"csrf_token": token, "name": "", "password": ""}).get_data(as_text=True)
    assert [href for href, _ in summary_links(html)] == ["#name", "#password"]
    assert PASSWORD not in html
