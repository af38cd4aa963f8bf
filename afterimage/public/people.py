"""People pages: a director's films or an author's books in the catalog, by role and year."""
from __future__ import annotations

from typing import Any

from flask import abort, render_template, url_for
from markupsafe import Markup, escape

from afterimage.catalog.models import Creator, Item
from afterimage.catalog.people import RoleWorks, find_person, is_public, works_by_role
from afterimage.http.slug_urls import slug_url
from afterimage.preview_cards import preview_card_url
from afterimage.public.blueprint import bp


@bp.app_template_global()
def credit_href(person: Creator, item: Item, external: bool = False) -> str | None:
    """The person's page, for a credit on an item readers may see; None on a private item (no link)."""
    if not is_public(item):
        return None
    return url_for("public.person", slug=person.slug, _external=True) if external else slug_url("public.person", person.slug)


PERSON_LINK = Markup('<a class="person-link" href="{}">{}</a>')


@bp.app_template_global()
def credit_links(people: list[Creator], item: Item) -> Markup:
    """People's names joined by ", ", each a link to the person's page where credit_href gives one. A function,
    not a macro per name: cards call it in loops, and a macro call cost several times as much."""
    links = []
    for person in people:
        href = credit_href(person, item)
        links.append(PERSON_LINK.format(href, person.name) if href else escape(person.name))
    return Markup(", ").join(links)


def person_json_ld(person: Creator, url: str, works: list[RoleWorks]) -> dict[str, Any]:
    """A schema.org Person, with the works readers find on the page as what the person made."""
    made = {id(i): i for group in works for i in group.items}.values()
    return {
        "@context": "https://schema.org",
        "@type": "Person",
        "name": person.name,
        "url": url,
        "subjectOf": [
            {"@type": "Movie" if i.kind == "film" else "Book", "name": i.title,
             "url": url_for("public.item", slug=i.slug, _external=True)}
            for i in made
        ],
    }


def person_summary(works: list[RoleWorks]) -> str:
    """One line for link previews: "Directed 4 films; wrote the screenplay of 2"."""
    parts = []
    for group in works:
        count = len(group.items)
        kinds = {i.kind for i in group.items}
        noun = ("film" if kinds == {"film"} else "book" if kinds == {"book"} else "work") + ("s" if count != 1 else "")
        parts.append(f"{group.heading} {count} {noun}")
    return "; ".join(parts).capitalize() + " in the Afterimage catalog."


@bp.route("/people/<slug>")
def person(slug: str):
    """A person's works in the catalog, grouped by role and ordered by year, with covers."""
    person = find_person(slug)
    if person is None:
        abort(404)
    works = works_by_role(person)
    url = url_for("public.person", slug=person.slug, _external=True)
    return render_template(
        "public/person.html", person=person, works=works, summary=person_summary(works),
        page_url_abs=url, image_abs=preview_card_url(person),
        json_ld=person_json_ld(person, url, works),
    )
