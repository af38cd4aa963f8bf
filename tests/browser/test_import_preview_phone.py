"""The import preview in a phone's browser: upload, steer a shelf, apply, with nothing wider than the screen."""
from __future__ import annotations

from tests.browser.test_phone_widths import too_wide
from tests.importers.test_import_goodreads import COLUMNS_24, goodreads_csv

LONG_TITLE = "Dostoevsky's Notes from Underground and the Double, with Other Stories of the Petersburg Years, Annotated"
ROWS = [
    {"Book Id": "777001", "Title": LONG_TITLE, "Author": "Fyodor Dostoevsky", "Exclusive Shelf": "read",
     "My Rating": "4", "Original Publication Year": "1864",
     "Bookshelves": "russian-literature-of-the-nineteenth-century-in-translation, owned"},
    {"Book Id": "", "Title": "", "Exclusive Shelf": "read"},
]


def upload_to_preview(page, base: str, tmp_path, rows: list[dict]) -> None:
    """Choose a Goodreads export on the import form and send it; the preview opens."""
    path = tmp_path / "goodreads_library_export.csv"
    path.write_bytes(goodreads_csv(COLUMNS_24, rows))
    page.goto(base + "/studio/import")
    page.set_input_files("#file", str(path))
    page.click("form.studio-form button[type=submit]")
    page.wait_for_url(base + "/studio/import/*")


def test_she_previews_steers_and_applies_an_import_on_a_phone(browser, author_site, tmp_path):
    base = author_site.url
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    author_site.sign_in(page)

    upload_to_preview(page, base, tmp_path, ROWS)
    assert "1 new" in page.inner_text(".stat-row") and "1 refused" in page.inner_text(".stat-row")
    assert too_wide(page, page.url) == []
    owned = page.locator("fieldset.shelf-choice", has_text="owned").locator("select")
    owned.select_option("ignore")
    page.click("button[value=apply]")
    # Changed choices are planned again first; the second click applies.
    assert "Your shelf choices change the plan" in page.inner_text("main")
    page.click("button[value=apply]")
    assert "Import report" in page.inner_text("h1")

    upload_to_preview(page, base, tmp_path, [{**ROWS[0], "My Rating": "2"}])
    assert "1 changed" in page.inner_text(".stat-row")
    assert page.locator("fieldset.shelf-choice", has_text="owned").locator("select").input_value() == "ignore"
    assert "4 ★" in page.inner_text(".plan-changes") and "2 ★" in page.inner_text(".plan-changes")
    assert too_wide(page, page.url) == []
    context.close()
