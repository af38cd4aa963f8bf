"""The studio's diary page for an item: the days she watched or read it, added, removed or marked as a rewatch."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from afterimage.diary import (
    Viewing, add_viewing, day_problem, parse_day, rating_problem, remove_viewing, seen_words,
)
from afterimage.extensions import db
from afterimage.catalog.models import DiaryEntry, Item
from afterimage.studio.forms import parse_number, rating_choices, strip_filter
from afterimage.studio.blueprint import bp, commit


class DiaryEntryForm(FlaskForm):
    """A day she watched or read the item, whether it was again, and her rating that time."""

    seen_on = StringField("Date", filters=[strip_filter], render_kw={"type": "date"},
                          description="Pick the day, or type it as YYYY-MM-DD: 2024-08-12.")
    rewatch = BooleanField("Again: a rewatch or a reread")
    rating = SelectField("Rating that time", choices=rating_choices(), default="", validate_choice=False,
                         description="Half a star to five stars; no rating is fine.")

    def check_all(self, item: Item) -> Viewing | None:
        """Every problem at once, each on its field; the Viewing when there is none."""
        self.validate()  # the CSRF token
        day = parse_day(self.seen_on.data)
        if not self.seen_on.data:
            self.seen_on.errors = ["Enter the date you " + seen_words(item)[0] + " it."]
        elif day is None:
            self.seen_on.errors = ["Enter a real date as YYYY-MM-DD, for example 2024-08-12."]
        elif problem := day_problem(day):
            self.seen_on.errors = [problem]
        elif any(e.seen_on == day for e in item.diary_entries):
            self.seen_on.errors = ["This day is already in the diary."]
        rating = parse_number(float, self.rating.data)
        if (self.rating.data and rating is None) or rating_problem(rating):
            self.rating.errors = ["Choose a rating from half a star to five stars."]
        if any(f.errors for f in self):
            return None
        return Viewing(day, rewatch=self.rewatch.data, rating=rating)


def entry_or_404(item: Item, entry_id: int) -> DiaryEntry:
    """One of this item's diary entries."""
    entry = db.session.get(DiaryEntry, entry_id)
    if entry is None or entry.item_id != item.id:
        abort(404)
    return entry


@bp.route("/items/<int:item_id>/diary", methods=["GET", "POST"])
def diary_edit(item_id: int):
    """The item's diary: every day she watched or read it, and a form to add one."""
    item = db.get_or_404(Item, item_id)
    form = DiaryEntryForm()
    status = 200
    if form.is_submitted():
        viewing = form.check_all(item)
        if viewing is not None:
            add_viewing(item, viewing)
            commit(f"Added {viewing.seen_on.isoformat()} to the diary of {item.title}.")
            return redirect(url_for("studio.diary_edit", item_id=item.id), 303)
        flash("The date was not added: please correct the fields marked below.", "error")
        status = 422
    return render_template("studio/diary.html", item=item, form=form), status


@bp.post("/items/<int:item_id>/diary/<int:entry_id>/rewatch")
def diary_rewatch(item_id: int, entry_id: int):
    """Mark a day as a rewatch (or reread), or as a first time."""
    item = db.get_or_404(Item, item_id)
    entry = entry_or_404(item, entry_id)
    entry.rewatch = not entry.rewatch
    again = seen_words(item)[1]
    commit(f"{entry.seen_on.isoformat()} is {'now' if entry.rewatch else 'no longer'} marked {again}.")
    return redirect(url_for("studio.diary_edit", item_id=item.id), 303)


@bp.post("/items/<int:item_id>/diary/<int:entry_id>/delete")
def diary_remove(item_id: int, entry_id: int):
    """Take a day out of the diary (a later import does not bring it back)."""
    item = db.get_or_404(Item, item_id)
    entry = entry_or_404(item, entry_id)
    remove_viewing(entry)
    commit(f"Removed {entry.seen_on.isoformat()} from the diary of {item.title}.")
    return redirect(url_for("studio.diary_edit", item_id=item.id), 303)
