"""The studio's forms: WTForms through Flask-WTF, CSRF on each; catalog rules come from catalog.py."""
from __future__ import annotations

import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField, SelectChoice, HiddenField, PasswordField, RadioField, SelectField, StringField, SubmitField, TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from afterimage.catalog.models import ROLES, STATUSES
from afterimage.catalog.rules import STATUS_LABELS, ItemFields

FAMILIES = [
    SelectChoice(value, label) for value, label in (
        ("", "None"), ("war", "War"), ("memory", "Memory"), ("french-new-wave", "French New Wave"),
        ("korean-women-writers", "Korean women writers"), ("place", "Place"), ("theme", "Theme"),
        ("form", "Form"), ("other", "Other"),
    )
]
RATINGS = [n / 2 for n in range(1, 11)]
CREATOR_LINE = re.compile(r"^(?P<name>.+?)\s*(?:\((?P<role>[^()]*)\))?$")
MIN_PASSWORD = 8


def family_choices(existing: list[str]) -> list[SelectChoice]:
    """The known colour families, plus any other family a tag already carries (so saving keeps it)."""
    known = {c.value for c in FAMILIES}
    extra = sorted({f for f in existing if f} - known)
    return FAMILIES + [SelectChoice(f, f.replace("-", " ").capitalize()) for f in extra]


def strip_filter(value):
    """Surrounding spaces never matter in a single-line field."""
    return value.strip() if isinstance(value, str) else value


class SignInForm(FlaskForm):
    """Name and password."""

    name = StringField("Name", validators=[DataRequired("Enter your author name.")], filters=[strip_filter])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    next = HiddenField()
    submit = SubmitField("Sign in")


class ChangePasswordForm(FlaskForm):
    """The current password, then the new one twice."""

    current = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
    new = PasswordField("New password", validators=[
        DataRequired("Choose a new password."),
        Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters."),
    ])
    confirm = PasswordField("New password again", validators=[
        DataRequired("Type the new password again."), EqualTo("new", "The two new passwords differ."),
    ])
    submit = SubmitField("Change password")


class ConfirmForm(FlaskForm):
    """An empty form: a button, and the CSRF token that makes a POST legitimate."""

    submit = SubmitField("Confirm")


def parse_creators(text: str, kind: str) -> list[tuple[str, str]]:
    """One creator per line, "Name (role)"; without a role, the director of a film or author of a book."""
    default = "director" if kind == "film" else "author"
    creators = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        match = CREATOR_LINE.match(line)
        name, role = match.group("name").strip(), (match.group("role") or "").strip().lower()
        creators.append((name, role or default))
    return creators


def format_creators(creators: list[tuple[str, str]]) -> str:
    """The textarea form of a credit list."""
    return "\n".join(f"{name} ({role})" for name, role in creators)


def parse_tags(text: str) -> list[str]:
    """Comma-separated tag names, spaces tidied, empties dropped."""
    return [" ".join(t.split()) for t in (text or "").split(",") if t.strip()]


def status_choices(kind: str) -> list[SelectChoice]:
    """The status options labelled for a film or a book; each option carries both wordings for the script
    that relabels them when the kind changes."""
    labels = STATUS_LABELS.get(kind, STATUS_LABELS["film"])
    return [
        SelectChoice(value, labels[value], render_kw={
            "data-film-label": STATUS_LABELS["film"][value], "data-book-label": STATUS_LABELS["book"][value],
        })
        for value in STATUSES
    ]


def rating_label(value: float) -> str:
    """A rating in words, as a screen reader should say it: "3.5 stars", "1 star"."""
    return f"{value:g} star" + ("" if value == 1 else "s")


def rating_choices() -> list[SelectChoice]:
    """No rating, then half a star to five stars in half steps: the control works without JavaScript."""
    return [SelectChoice("", "No rating")] + [SelectChoice(f"{v:g}", rating_label(v)) for v in RATINGS]


def parse_number(kind: type, text: str | None):
    """The typed number, or None when it is empty or not a number (its field's validator has said so)."""
    try:
        return kind(text.strip().replace(",", ".")) if text and text.strip() else None
    except ValueError:
        return None


def optional_number(kind: type, message: str):
    """A validator-filter pair would hide the typed text; this validator checks it and keeps it."""

    def check(form, field):
        if field.data and field.data.strip():
            try:
                kind(field.data.strip().replace(",", "."))
            except ValueError:
                raise ValidationError(message) from None

    return check


class ItemForm(FlaskForm):
    """Every field of an item; see catalog.validate_item_fields for the rules."""

    kind = RadioField("Kind", choices=[SelectChoice("film", "Film"), SelectChoice("book", "Book")], default="film",
                      validators=[DataRequired("Choose film or book.")])
    title = StringField("Title", filters=[strip_filter])
    original_title = StringField("Original title", filters=[strip_filter],
                                 description="In the original language and script, if different.")
    year = StringField("Year", filters=[strip_filter],
                       validators=[optional_number(int, "Enter the year as a number, like 1959.")],
                       description="Release or first publication year; for a book before the common era, "
                                   "a minus sign: -700 for 700 BC.")
    creators = TextAreaField(
        "Creators",
        description="One per line, as Name (role). Roles: " + ", ".join(ROLES)
        + ". Without a role: director for a film, author for a book.",
    )
    tags = StringField("Tags", filters=[strip_filter],
                       description="Separated by commas. New tags are created as you save.")
    status = SelectField("Status", choices=status_choices("film"), default="seen")
    # A plain select without JavaScript; studio-rating.js draws half stars over it.
    rating = SelectField("Rating", choices=rating_choices(), default="", validate_choice=False,
                         validators=[optional_number(float, "Choose a rating from half a star to five stars.")],
                         description="Half a star to five stars; no rating is fine.")
    country = StringField("Country", filters=[strip_filter])
    language = StringField("Language", filters=[strip_filter])
    description = TextAreaField("Description", description="What it is about, for readers.")
    note = TextAreaField("Your note", description="Shown on the item's page as the author's note.")
    where_to_find = StringField("Where to find it", filters=[strip_filter])
    cover_file = FileField("Upload a poster or cover",
                           description="JPEG, PNG or WebP, up to 5 MB. It replaces any cover uploaded before.")
    remove_cover = BooleanField("Remove the uploaded cover (the URL below, or a generated cover, shows instead)")
    cover_url = StringField("Cover image URL", filters=[strip_filter], description="https://…")
    blog_url = StringField("Blog review URL", filters=[strip_filter], description="https://…")
    letterboxd_uri = StringField("Letterboxd URL", filters=[strip_filter])
    goodreads_id = StringField("Goodreads book id", filters=[strip_filter])
    isbn13 = StringField("ISBN-13", filters=[strip_filter], description="13 digits; hyphens are fine.")
    slug = StringField("Address (slug)", filters=[strip_filter],
                       description="Changing it keeps the old address redirecting here.")
    submit = SubmitField("Save")

    def item_fields(self) -> ItemFields:
        """The typed values as catalog ItemFields; a number that does not parse is None (its field has the error)."""
        kind = self.kind.data or "film"
        return ItemFields(
            kind=kind,
            title=self.title.data or "",
            year=parse_number(int, self.year.data),
            original_title=self.original_title.data or None,
            creators=parse_creators(self.creators.data, kind),
            tags=parse_tags(self.tags.data),
            country=self.country.data or None,
            language=self.language.data or None,
            description=(self.description.data or "").strip(),
            note=(self.note.data or "").strip(),
            rating=parse_number(float, self.rating.data),
            status=self.status.data or "seen",
            cover_url=self.cover_url.data or None,
            blog_url=self.blog_url.data or None,
            letterboxd_uri=self.letterboxd_uri.data or None,
            goodreads_id=self.goodreads_id.data or None,
            isbn13=self.isbn13.data or None,
            where_to_find=self.where_to_find.data or None,
        )

    def label_for_kind(self) -> None:
        """Status options in the words of the chosen kind: "Watched" for a film, "Read" for a book."""
        self.status.choices = status_choices(self.kind.data or "film")

    def fill_from(self, fields: ItemFields, slug: str | None = None) -> None:
        """Prefill from an item's current values."""
        for name in ("kind", "title", "original_title", "country", "language", "description", "note",
                     "status", "cover_url", "blog_url", "letterboxd_uri", "goodreads_id", "isbn13", "where_to_find"):
            getattr(self, name).data = getattr(fields, name) or ""
        self.year.data = str(fields.year) if fields.year else ""
        self.rating.data = (f"{fields.rating:g}") if fields.rating else ""
        self.creators.data = format_creators(fields.creators)
        self.tags.data = ", ".join(fields.tags)
        self.slug.data = slug or ""


class TagForm(FlaskForm):
    """Rename a tag and describe it."""

    name = StringField("Name", filters=[strip_filter], validators=[
        DataRequired("A tag needs a name."), Length(max=100, message="Keep tag names under 100 characters."),
    ])
    family = SelectField("Colour family", choices=FAMILIES, default="")
    description = TextAreaField("Description")
    submit = SubmitField("Save tag")


class TagMergeForm(FlaskForm):
    """Fold this tag into another."""

    target = SelectField("Merge into", coerce=int, validate_choice=True)
    submit = SubmitField("Merge")


class ListForm(FlaskForm):
    """A curated list's title, introduction and publication state."""

    title = StringField("Title", filters=[strip_filter], validators=[
        DataRequired("A list needs a title."), Length(max=300, message="Keep the title under 300 characters."),
    ])
    introduction = TextAreaField("Introduction")
    published = BooleanField("Published (visible to readers)")
    slug = StringField("Address (slug)", filters=[strip_filter], validators=[Optional()],
                       description="Changing it keeps the old address redirecting here.")
    submit = SubmitField("Save list")


class ImportForm(FlaskForm):
    """An export file from Goodreads or Letterboxd, or an Afterimage backup."""

    file = FileField("File", validators=[FileRequired("Choose a file to import.")])
    replace = BooleanField("Replace the whole catalog (backup files only)")
    submit = SubmitField("Import")
