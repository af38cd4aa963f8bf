"""The import she previews and steers: what a file would do before anything is written, her choices for its
shelves (remembered), one all-or-nothing apply, a re-plan when the catalog moved, and the CLI's mapping."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from afterimage.catalog.rules import ItemFields, get_or_create_tag, item_fields, save_item
from afterimage.catalog.version import read_version
from afterimage.extensions import db
from afterimage.catalog.models import Item, Tag
from afterimage.accounts.models import ImportChoice
from tests.conftest import csrf_token_from
from tests.importers.faults import flush_fails_at
from tests.importers.test_import_goodreads import COLUMNS_24, HUMAN_ACTS, REMAINS, goodreads_csv, to_progress, upload
from tests.importers.test_import_letterboxd import export_zip
from tests.studio.test_studio_fixtures import PASSWORD, add_author, author_client, sign_in  # noqa: F401

FLIGHTS = {
    "Book Id": "36373464", "Title": "Flights", "Author": "Olga Tokarczuk", "Additional Authors": "Jennifer Croft",
    "Original Publication Year": "2007", "Exclusive Shelf": "read", "Bookshelves": "favorites, owned",
    "My Rating": "5",
}
NO_TITLE = {"Book Id": "1", "Title": "", "Exclusive Shelf": "read"}


def send(client, data: bytes, filename: str = "goodreads_library_export.csv"):
    """Upload a file to the import form; its answer (a redirect to the preview, or a refusal)."""
    token = csrf_token_from(client.get("/studio/import").get_data(as_text=True))
    # Encoded here: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart({"csrf_token": token, "file": FileStorage(io.BytesIO(data), filename)})
    return client.post("/studio/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def preview_of(client, data: bytes, filename: str = "goodreads_library_export.csv") -> str:
    """Upload a file and return its preview's address."""
    response = send(client, data, filename)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def decide(client, address: str, do: str = "apply", **choices):
    """Press a button of the preview form, with these shelf fields (Apply leads on to the progress page)."""
    token = csrf_token_from(client.get(address).get_data(as_text=True))
    return to_progress(client, client.post(address, data={"csrf_token": token, "do": do, **choices}))


def shelf_fields(html: str) -> dict[str, int]:
    """Each shelf's name on the preview page and its place (the form's fields are shelf-<place>)."""
    return {name: int(index) for name, index in re.findall(
        r'<legend>(.+?) <span class="help">.*?</legend>\s*<label for="shelf-(\d+)"', html)}


def selected_choice(html: str, index: int) -> str:
    """The option selected for a shelf."""
    select = re.search(rf'<select id="shelf-{index}".*?</select>', html, re.S).group(0)
    return re.search(r'<option value="([^"]+)" selected>', select).group(1)


def catalog(app) -> dict[str, tuple]:
    """Every item's title with its rating, status and tags."""
    with app.app_context():
        items = db.session.scalars(sa.select(Item)).all()
        result = {i.title: (i.rating, i.status, sorted(t.name for t in i.tags)) for i in items}
        db.session.remove()
    return result


@pytest.fixture
def imported_once(app, author_client):
    """The Remains of the Day and Human Acts, imported from Goodreads already."""
    assert upload(author_client, goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS])).status_code == 200
    return author_client


def newer_export() -> bytes:
    """Rows 2-5: the Remains re-rated (changed), Human Acts as before, Flights (new), a row with no title."""
    return goodreads_csv(COLUMNS_24, [{**REMAINS, "My Rating": "3"}, HUMAN_ACTS, FLIGHTS, NO_TITLE])


def test_the_preview_shows_new_changed_unchanged_and_refused_rows_and_writes_nothing(app, imported_once):
    before = catalog(app)
    with app.app_context():
        version = read_version(db.session)
    html = imported_once.get(preview_of(imported_once, newer_export())).get_data(as_text=True)
    assert re.search(r"<strong>1</strong> new", html) and re.search(r"<strong>1</strong> changed", html)
    assert re.search(r"<strong>1</strong> unchanged", html) and re.search(r"<strong>1</strong> refused", html)
    new = html[html.index('id="group-new"'):html.index('id="group-refused"')]
    assert "row 4</span> · Flights (2007)" in new
    assert "<dt>rating</dt><dd><del>5 ★</del> → <ins>3 ★</ins></dd>" in html
    refused = html[html.index('id="group-refused"'):]
    assert "row 5" in refused and "it has no title." in refused
    assert catalog(app) == before
    with app.app_context():
        assert read_version(db.session) == version


def test_applying_the_preview_does_what_it_showed(app, imported_once):
    report = decide(imported_once, preview_of(imported_once, newer_export())).get_data(as_text=True)
    assert "<strong>1</strong> created" in report and "<strong>1</strong> updated" in report
    assert "<strong>1</strong> unchanged" in report and "it has no title." in report
    after = catalog(app)
    assert after["The Remains of the Day"][0] == 3 and "Flights" in after


def test_a_letterboxd_zip_is_previewed_before_anything_is_written(app, author_client):
    address = preview_of(author_client, export_zip(), "letterboxd.zip")
    html = author_client.get(address).get_data(as_text=True)
    assert re.search(r"<strong>5</strong> new", html)
    assert "Cities that remember: created as a draft (3 entries in the file; 1 film not in your catalog is added)" in html
    assert "longing" in shelf_fields(html) and "memory" in shelf_fields(html)
    assert catalog(app) == {}
    # The plan and the import agree: the five films, and Sans Soleil for the list.
    report = decide(author_client, address).get_data(as_text=True)
    assert "<strong>6</strong> created" in report and "Sans Soleil" in catalog(app)


def test_shelf_choices_take_effect_on_apply_and_are_offered_again(app, author_client):
    with app.app_context():
        get_or_create_tag("Favourites")
        db.session.commit()
    remains = {**REMAINS, "Bookshelves": "favorites, memory, owned, up-next"}
    data = goodreads_csv(COLUMNS_24, [remains, FLIGHTS])
    address = preview_of(author_client, data)
    shelves = shelf_fields(author_client.get(address).get_data(as_text=True))
    assert set(shelves) == {"favorites", "memory", "owned", "up next"}
    choices = {
        f"shelf-{shelves['favorites']}": "map", f"shelf-{shelves['favorites']}-tag": "favourites",
        f"shelf-{shelves['memory']}": "tag", f"shelf-{shelves['owned']}": "ignore",
        f"shelf-{shelves['up next']}": "status:current",
    }
    # Changed choices are planned again before anything is applied.
    replanned = decide(author_client, address, **choices)
    assert replanned.status_code == 409 and "Your shelf choices change the plan" in replanned.get_data(as_text=True)
    assert catalog(app) == {}
    assert decide(author_client, address, **choices).status_code == 200
    after = catalog(app)
    assert after["The Remains of the Day"] == (None, "current", ["Favourites", "memory"])
    assert after["Flights"] == (5, "seen", ["Favourites"])
    with app.app_context():
        assert db.session.scalar(sa.select(Tag).where(Tag.name_key.in_(["owned", "up next"]))) is None

    html = author_client.get(preview_of(author_client, data)).get_data(as_text=True)
    shelves = shelf_fields(html)
    assert selected_choice(html, shelves["favorites"]) == "map"
    assert f'id="shelf-{shelves["favorites"]}-tag" name="shelf-{shelves["favorites"]}-tag" list="existing-tags" ' \
           'autocomplete="off" value="Favourites"' in html
    assert selected_choice(html, shelves["owned"]) == "ignore"
    assert selected_choice(html, shelves["up next"]) == "status:current"
    assert selected_choice(html, shelves["memory"]) == "tag"


def test_updating_the_preview_with_bad_choices_names_every_problem(app, author_client):
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [{**REMAINS, "Bookshelves": "favorites, owned"}]))
    shelves = shelf_fields(author_client.get(address).get_data(as_text=True))
    response = decide(author_client, address, do="replan", **{
        f"shelf-{shelves['favorites']}": "map", f"shelf-{shelves['favorites']}-tag": "No such tag",
        f"shelf-{shelves['owned']}": "map",
    })
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "There are 2 problems" in html
    assert "There is no tag called “No such tag”" in html and "Choose one of your tags to file it under." in html
    assert catalog(app) == {}


def test_a_failure_midway_through_the_apply_leaves_the_catalog_as_it_was(app, imported_once):
    before = catalog(app)
    with app.app_context():
        choices_before = db.session.scalar(sa.select(sa.func.count(ImportChoice.id)))
    address = preview_of(imported_once, newer_export())
    with flush_fails_at(app, "Flights"):
        response = decide(imported_once, address)
    assert response.status_code == 503 and "nothing was written" in response.get_data(as_text=True)
    assert catalog(app) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ImportChoice.id))) == choices_before
    # The preview is kept: once the fault is gone, the same click imports the file.
    assert decide(imported_once, address).status_code == 200
    assert "Flights" in catalog(app)


def test_a_preview_made_stale_by_an_edit_is_planned_again_and_her_edit_kept(app, imported_once):
    address = preview_of(imported_once, newer_export())
    with app.app_context():
        remains = db.session.scalar(sa.select(Item).where(Item.title == "The Remains of the Day"))
        save_item(ItemFields(**{**vars(item_fields(remains)), "rating": 2}), remains)
        db.session.commit()
    response = decide(imported_once, address)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "The catalog changed since this preview" in html
    assert "Flights" not in catalog(app)
    assert re.search(r"<strong>0</strong> changed", html) and "Your own rating stays as you edited it." in html
    assert decide(imported_once, address).status_code == 200
    after = catalog(app)
    assert after["The Remains of the Day"][0] == 2 and "Flights" in after


def test_an_edit_the_plan_does_not_touch_lets_her_apply_go_through(app, imported_once):
    """She saves another item in a second tab between the preview and Apply: the catalog's version moved, but
    the plan planned again is the one she was shown, so Apply imports it rather than asking her to check."""
    with app.app_context():
        save_item(ItemFields(kind="film", title="Sans Soleil", year=1983, creators=[("Chris Marker", "director")]))
        db.session.commit()
    address = preview_of(imported_once, newer_export())
    with app.app_context():
        film = db.session.scalar(sa.select(Item).where(Item.title == "Sans Soleil"))
        save_item(ItemFields(**{**vars(item_fields(film)), "note": "Seen again on a rainy afternoon."}), film)
        db.session.commit()
    response = decide(imported_once, address)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "The catalog changed since this preview" not in html
    after = catalog(app)
    assert "Flights" in after and after["The Remains of the Day"][0] == 3


def test_reimporting_through_the_preview_changes_nothing(app, imported_once):
    before = catalog(app)
    html = imported_once.get(preview_of(imported_once, goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS]))).get_data(as_text=True)
    assert re.search(r"<strong>2</strong> unchanged", html) and re.search(r"<strong>0</strong> changed", html)
    assert "<strong>2</strong> unchanged" in upload(imported_once, goodreads_csv(COLUMNS_24, [REMAINS, HUMAN_ACTS])).get_data(as_text=True)
    assert catalog(app) == before


def test_a_preview_belongs_to_her_session_and_goes_after_apply_or_cancel(app, author_client):
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, [REMAINS]))
    token = address.rsplit("/", 1)[1]
    stored = sorted(p.name for p in Path(app.config["IMPORT_UPLOAD_FOLDER"]).iterdir())
    assert stored == sorted([f"{token}.json", f"{token}.preview.json", f"{token}.upload"])

    other = app.test_client()
    add_author(app, "Noor")
    sign_in(other, name="Noor", password=PASSWORD)
    assert "no longer available" in other.get(address, follow_redirects=True).get_data(as_text=True)
    assert author_client.get("/studio/import/..%2F..%2Fsecret_key").status_code in (303, 404)

    assert decide(author_client, address, do="cancel").status_code == 303
    assert not any(Path(app.config["IMPORT_UPLOAD_FOLDER"]).iterdir())
    assert "no longer available" in author_client.get(address, follow_redirects=True).get_data(as_text=True)
    assert catalog(app) == {}


@pytest.mark.slow
def test_ten_thousand_rows_preview_as_counts_and_pages(app, author_client):
    rows = [{"Book Id": str(n), "Title": f"Book {n}", "Author": "A. Writer", "Exclusive Shelf": "read",
             "Bookshelves": "fiction" if n % 2 else "fiction, poetry"} for n in range(10_000)]
    address = preview_of(author_client, goodreads_csv(COLUMNS_24, rows))
    html = author_client.get(address).get_data(as_text=True)
    assert re.search(r"<strong>10000</strong> new", html)
    assert html.count("<li>\n      <span class=\"plan-row\">") == 50
    assert "Show all 10000 new rows" in html
    page = author_client.get(address + "?show=new&page=3").get_data(as_text=True)
    assert "Page 3 of 50" in page and "row 402</span> · Book 400" in page and "row 602" not in page
    assert shelf_fields(html) == {"fiction": 0, "poetry": 1}


# The CLI ---------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, data: bytes | str) -> str:
    """A file for the CLI to read."""
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(path)


def test_the_cli_dry_run_prints_the_plan_and_writes_nothing(app, runner, tmp_path):
    export = write(tmp_path, "goodreads_library_export.csv", goodreads_csv(COLUMNS_24, [REMAINS, FLIGHTS, NO_TITLE]))
    result = runner.invoke(args=["import", "--dry-run", "--shelf", "owned=ignore", export])
    assert result.exit_code == 0, result.output
    assert "Goodreads library export: 2 new, 0 changed, 0 unchanged, 1 refused." in result.output
    assert "Shelf owned (1 rows): ignore" in result.output and "Refused row 4: it has no title." in result.output
    assert "Dry run: nothing was written." in result.output
    assert catalog(app) == {}


def test_cli_shelf_options_steer_the_import_and_are_remembered(app, runner, tmp_path):
    to_read = {**FLIGHTS, "Title": "Drive Your Plow", "Book Id": "9", "Exclusive Shelf": "to-read",
               "Bookshelves": "to-read, owned"}
    export = write(tmp_path, "goodreads_library_export.csv", goodreads_csv(COLUMNS_24, [FLIGHTS, to_read]))
    result = runner.invoke(args=["import", export, "--shelf", "favorites=tag:favourites", "--shelf", "owned=ignore",
                                 "--shelf", "to-read=status:want"])
    assert result.exit_code == 0, result.output
    # to-read is Goodreads' own shelf: it is a status already, never a tag, so the option has nothing to steer.
    assert "No shelf or tag 'to read' in this file: its choice is not used." in result.output
    after = catalog(app)
    assert after["Flights"] == (5, "seen", ["favourites"]) and after["Drive Your Plow"] == (None, "want", [])
    # The next run, with no options, makes the same choices.
    dry = runner.invoke(args=["import", "--dry-run", export])
    assert "Shelf owned (2 rows): ignore" in dry.output and "Shelf favorites (1 rows): map:favourites" in dry.output
    assert "0 new, 0 changed, 2 unchanged" in dry.output


def test_a_cli_mapping_file_is_used_and_a_bad_one_is_named_by_its_json_path(app, runner, tmp_path):
    export = write(tmp_path, "goodreads_library_export.csv", goodreads_csv(COLUMNS_24, [FLIGHTS]))
    good = write(tmp_path, "shelves.json", json.dumps({"shelves": {"owned": "ignore", "Favorites": {"action": "tag"}}}))
    assert runner.invoke(args=["import", "--mapping", good, export]).exit_code == 0
    assert catalog(app)["Flights"][2] == ["favorites"]

    bad = write(tmp_path, "bad.json", json.dumps({"shelves": {
        "owned": "discard", "faves": {"action": "status", "target": "later"}, "ok": "ignore", "x": 3}}))
    result = runner.invoke(args=["import", "--mapping", bad, export])
    assert result.exit_code != 0
    assert "bad.json has 3 problems" in result.output
    assert '$.shelves["owned"]: \'discard\' is not a choice' in result.output
    assert '$.shelves["faves"]: the status must be one of seen, current, want (not \'later\')' in result.output
    assert '$.shelves["x"]: expected a choice such as "status:want", not 3.' in result.output
    assert "Nothing was imported." in result.output

    broken = write(tmp_path, "broken.json", '{"shelves": {"owned": "ignore",}}')
    result = runner.invoke(args=["import", "--mapping", broken, export])
    assert result.exit_code != 0 and "broken.json is not JSON: line 1, column 32" in result.output
    shape = write(tmp_path, "shape.json", '["owned"]')
    assert '$ must be an object with a "shelves" object' in runner.invoke(args=["import", "--mapping", shape, export]).output


def test_a_bad_cli_shelf_option_is_named(app, runner, tmp_path):
    export = write(tmp_path, "goodreads_library_export.csv", goodreads_csv(COLUMNS_24, [FLIGHTS]))
    result = runner.invoke(args=["import", export, "--shelf", "owned", "--shelf", "faves=map:Nowhere"])
    assert result.exit_code != 0
    assert "--shelf owned: write NAME=CHOICE" in result.output
    assert "--shelf faves=map:Nowhere: there is no tag called 'Nowhere'" in result.output
    assert catalog(app) == {}


def test_the_preview_page_escapes_the_file_and_needs_no_inline_script_or_style(app, imported_once):
    from tests.conftest import MARKUP_TITLE
    from tests.studio.test_studio_pages import csp_offences

    hostile = {**FLIGHTS, "Title": MARKUP_TITLE, "Bookshelves": f"{MARKUP_TITLE}, owned"}
    address = preview_of(imported_once, goodreads_csv(COLUMNS_24, [{**REMAINS, "My Rating": "3"}, hostile]))
    for url in (address, address + "?show=changed", address + "?show=new&page=2"):
        response = imported_once.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
        assert MARKUP_TITLE not in html and csp_offences(html) == [], url
    assert "&lt;img src=x onerror=alert(1)&gt;" in imported_once.get(address).get_data(as_text=True)


def test_an_upload_the_server_cannot_keep_is_refused_in_words(app, author_client, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    app.config["IMPORT_UPLOAD_FOLDER"] = str(blocked)
    response = send(author_client, goodreads_csv(COLUMNS_24, [REMAINS]))
    assert response.status_code == 503
    assert "could not be kept on the server for its preview" in response.get_data(as_text=True)
    assert catalog(app) == {}
