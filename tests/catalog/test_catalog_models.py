"""The catalog's data rules: constraints in the schema, slugs, duplicates and the shared validation."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from afterimage.catalog.models import Creator, Item, Tag
from afterimage.catalog.rules import CatalogError, ItemFields, find_duplicate, get_or_create_tag, item_fields, save_item
from afterimage.catalog.slugs import change_slug, find_by_slug, slugify
from afterimage.extensions import db


def film(title="Hiroshima mon amour", year=1959, **kw) -> ItemFields:
    return ItemFields(kind="film", title=title, year=year, **kw)


def test_slug_is_title_and_year_with_accents_folded(app):
    with app.app_context():
        item = save_item(film("Cléo from 5 to 7", 1962))
        db.session.commit()
        assert item.slug == "cleo-from-5-to-7-1962"
        assert slugify("À bout de souffle") == "a-bout-de-souffle"


def test_slug_of_a_title_in_another_script_stays_readable(app):
    with app.app_context():
        item = save_item(film("二十四時間の情事", 1959))
        db.session.commit()
        assert item.slug == "二十四時間の情事-1959"


def test_two_items_with_the_same_title_and_year_get_distinct_slugs(app):
    with app.app_context():
        a = save_item(film("Black Rain", 1989))
        b = save_item(ItemFields(kind="book", title="Black Rain", year=1989))
        db.session.commit()
        assert (a.slug, b.slug) == ("black-rain-1989", "black-rain-1989-2")


def test_editing_the_title_keeps_the_slug(app):
    with app.app_context():
        item = save_item(film())
        db.session.commit()
        save_item(film("Hiroshima, My Love"), item)
        db.session.commit()
        assert item.slug == "hiroshima-mon-amour-1959"


def test_a_changed_slug_keeps_the_old_one_redirecting(app, client):
    with app.app_context():
        item = save_item(film())
        db.session.commit()
        change_slug(item, "hiroshima-my-love-1959")
        db.session.commit()
        found, moved = find_by_slug(Item, "hiroshima-mon-amour-1959")
        assert found.id == item.id and moved
    response = client.get("/items/hiroshima-mon-amour-1959")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/items/hiroshima-my-love-1959")


def test_tag_names_are_unique_ignoring_case_and_accents(app):
    with app.app_context():
        first = get_or_create_tag("French New Wave")
        db.session.commit()
        assert get_or_create_tag("french new wave").id == first.id
        assert get_or_create_tag("Frénch  New Wave").id == first.id
        assert first.slug == "french-new-wave"
        db.session.add(Tag(name="FRENCH NEW WAVE", name_key="french new wave", slug="other"))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_creators_are_shared_between_items_and_keep_their_order(app):
    with app.app_context():
        save_item(film(creators=[("Alain Resnais", "director"), ("Marguerite Duras", "screenwriter")]))
        book = save_item(ItemFields(kind="book", title="The Lover", year=1984, creators=[("Marguerite Duras", "author")]))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(Creator.id))) == 2
        assert [c.name for c in book.makers] == ["Marguerite Duras"]


@pytest.mark.parametrize(
    "fields, field, message",
    [
        (film(title=" "), "title", "title is required"),
        (film(year=1869), "year", "between 1870"),
        (film(rating=3.3), "rating", "half-star"),
        (film(rating=5.5), "rating", "half-star"),
        (film(blog_url="javascript:alert(1)"), "blog_url", "http"),
        (ItemFields(kind="book", title="Austerlitz", isbn13="9780375504838"), "isbn13", "check digit"),
        (ItemFields(kind="podcast", title="x"), "kind", "film or book"),
        (film(creators=[("Alain Resnais", "producer")]), "creators", "Unknown role"),
    ],
)
def test_invalid_fields_are_refused_with_a_message_naming_the_field(app, fields, field, message):
    with app.app_context():
        with pytest.raises(CatalogError) as raised:
            save_item(fields)
        assert message in raised.value.errors[field]
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


def test_a_valid_isbn13_is_stored_as_digits(app):
    with app.app_context():
        item = save_item(ItemFields(kind="book", title="Austerlitz", year=2001, isbn13="978-0-375-50483-9"))
        db.session.commit()
        assert item.isbn13 == "9780375504839"


def test_duplicates_are_found_by_kind_title_and_year_ignoring_accents(app):
    with app.app_context():
        item = save_item(film("Cléo from 5 to 7", 1962))
        db.session.commit()
        assert find_duplicate("film", "cleo from 5 to 7", 1962).id == item.id
        assert find_duplicate("book", "Cléo from 5 to 7", 1962) is None
        assert find_duplicate("film", "Cléo from 5 to 7", 1963) is None


def test_the_schema_refuses_a_rating_outside_half_steps(app):
    with app.app_context():
        db.session.add(Item(kind="film", title="x", slug="x", rating=2.25))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_saving_an_item_unchanged_leaves_its_search_text_as_it_was(app):
    # Tags are stored in the order typed and read back by name; search_text must not see the difference,
    # or every first save would count as a change to search results and empty every server's cached searches.
    with app.app_context():
        item = save_item(film(tags=["War", "Memory", "Left Bank"]))
        db.session.commit()
        item_id, stored = item.id, item.search_text
        db.session.expire_all()
        item = db.session.get(Item, item_id)
        fields = item_fields(item)
        fields.rating = 4.0
        save_item(fields, item)
        db.session.flush()
        assert item.search_text == stored
        assert not sa.inspect(item).attrs.search_text.history.has_changes()
