"""Year pages: what she watched and read in a year, month by month, from her diary; and the diary line of an
item page."""
from __future__ import annotations

from datetime import MAXYEAR, MINYEAR

from flask import abort, render_template

from afterimage.catalog.rules import readers_may_see
from afterimage.diary import day_label, diary_phrases, neighbour_years, year_in_diary
from afterimage.catalog.models import DiaryEntry, Item
from afterimage.public.blueprint import bp

bp.add_app_template_filter(day_label)


@bp.app_template_global()
def item_diary(item: Item) -> list[tuple[str, DiaryEntry | None]]:
    """The diary line of an item page ("Watched 12 Aug 2024, rewatched 3 Aug 2025"); nothing for an item readers
    may not see, wherever it is shown."""
    return diary_phrases(item) if readers_may_see(item) else []


def kind_counts(entries: list[DiaryEntry]) -> str:
    """"14 films watched, 5 books read": every entry counts, rewatches too."""
    films = sum(e.item.kind == "film" for e in entries)
    books = len(entries) - films
    parts = []
    if films:
        parts.append(f"{films} film{'s' if films != 1 else ''} watched")
    if books:
        parts.append(f"{books} book{'s' if books != 1 else ''} read")
    return ", ".join(parts)


@bp.route("/years/<int:year>")
def year(year: int):
    """Her year in films and books, month by month, with her ratings and covers; 404 for a year she logged
    nothing readers may see."""
    # The int converter takes no sign; a year past what a date holds has no diary either.
    if not MINYEAR <= year < MAXYEAR:
        abort(404)
    months = year_in_diary(year)
    if not months:
        abort(404)
    earlier, later = neighbour_years(year)
    summary = kind_counts([e for m in months for e in m.entries])
    return render_template("public/year.html", year=year, months=months, summary=summary,
                           earlier=earlier, later=later)
