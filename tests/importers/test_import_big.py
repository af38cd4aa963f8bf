"""Big imports: hundreds of rows and lists go in a chunk at a time and mean what a row-by-row import meant."""
from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa

from afterimage.extensions import db
from afterimage.importers import records
from afterimage.catalog.models import Creator, CuratedList, Item, Tag
from afterimage.recommendations import store
from afterimage.recommendations.models import Neighbour, RecModelChange
from tests.importers.test_import_goodreads import COLUMNS_24, goodreads_csv
from recs.text import fold_accents

# Hundreds of rows per test, imported in chunks: the fast loop (make test-fast) leaves them to `make test`.
pytestmark = pytest.mark.slow

ROWS = 300


def library(rows: int = ROWS) -> list[dict]:
    """A Goodreads library where every row has a shelf, big shelves repeat, and names collide in tricky ways."""
    books = []
    for n in range(rows):
        shelves = ["read", "fiction" if n % 3 else "Fiction", f"rare-{n % 37}"]
        if n % 2:
            shelves.append("owned")
        books.append({
            "Book Id": str(1000 + n), "Title": f"Book {n}", "Author": f"Author {n % 40}",
            "Additional Authors": "Deborah Smith" if n % 7 == 0 else "",
            "Original Publication Year": str(1950 + n % 60), "Bookshelves": ", ".join(shelves),
            "Exclusive Shelf": "read", "My Rating": str(1 + n % 5),
        })
    if rows < 22:
        return books
    # Two books whose names fold apart but slug alike, in one chunk: each gets an address of its own.
    books[10].update({"Author": "Anne-Marie Roy", "Bookshelves": "read, sci.fi"})
    books[11].update({"Author": "Anne Marie Roy", "Bookshelves": "read, sci fi"})
    # Two works of the same title and year but different Goodreads ids: two items.
    books[20].update({"Title": "Twins", "Original Publication Year": "2001"})
    books[21].update({"Title": "Twins", "Original Publication Year": "2001"})
    return books


def expected_catalog(rows: list[dict]) -> dict:
    """What a row-by-row import makes of these rows: items with their creators and tags, and the names."""
    items = {}
    for row in rows:
        shelves = [s.strip() for s in row["Bookshelves"].split(",") if s.strip() and s.strip() != "read"]
        tags = sorted({fold_accents(s.replace("-", " ")) for s in shelves})
        creators = [(row["Author"], "author")] + ([(row["Additional Authors"], "contributor")] if row["Additional Authors"] else [])
        items[row["Book Id"]] = (row["Title"], int(row["Original Publication Year"]), creators, tags)
    return items


def catalog(app) -> dict:
    """The catalog as the same shape: by Goodreads id."""
    with app.app_context():
        return {
            item.goodreads_id: (item.title, item.year, [(c.creator.name, c.role) for c in item.credits],
                                sorted(t.name_key for t in item.tags))
            for item in db.session.scalars(sa.select(Item))
        }


def write(tmp_path, rows: list[dict], name: str = "goodreads_library_export.csv"):
    path = tmp_path / name
    path.write_bytes(goodreads_csv(COLUMNS_24, rows))
    return path


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 64 rows and 7 lists, so that a few hundred rows cross several chunk boundaries."""
    monkeypatch.setattr(records, "CHUNK_ROWS", 64)
    monkeypatch.setattr(records, "CHUNK_LISTS", 7)


def test_a_big_library_makes_the_catalog_a_row_by_row_import_made(app, runner, tmp_path, small_chunks):
    rows = library()
    result = runner.invoke(args=["import", str(write(tmp_path, rows))])
    assert result.exit_code == 0, result.output
    assert f"{ROWS} created, 0 updated, 0 unchanged, 0 skipped" in result.output
    assert catalog(app) == expected_catalog(rows)
    with app.app_context():
        tags = db.session.scalars(sa.select(Tag.name_key)).all()
        assert sorted(tags) == sorted({"fiction", "owned", "sci.fi", "sci fi", *(f"rare {n}" for n in range(37))})
        # "Fiction" and "fiction" are one tag, on every row.
        assert len(db.session.scalar(sa.select(Tag).where(Tag.name_key == "fiction")).items) == ROWS - 2
        creators = db.session.scalars(sa.select(Creator)).all()
        assert len(creators) == len({fold_accents(c.name) for c in creators}) == 40 + 2 + 1
        slugs = sorted(c.slug for c in creators if c.name.startswith("Anne"))
        assert slugs == ["anne-marie-roy", "anne-marie-roy-2"]
        twins = db.session.scalars(sa.select(Item.slug).where(Item.title == "Twins")).all()
        assert sorted(twins) == ["twins-2001", "twins-2001-2"]


def test_the_same_book_twice_in_a_file_is_one_item_across_chunks(app, runner, tmp_path, small_chunks):
    rows = library(150)
    # Row 140 repeats row 2's book, two chunks later, with one more shelf.
    rows[140] = {**rows[0], "Bookshelves": rows[0]["Bookshelves"] + ", translated"}
    result = runner.invoke(args=["import", str(write(tmp_path, rows))])
    assert result.exit_code == 0, result.output
    assert "149 created, 1 updated" in result.output
    with app.app_context():
        book = db.session.scalar(sa.select(Item).where(Item.goodreads_id == "1000"))
        assert "translated" in {t.name for t in book.tags}
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 149


def test_reimporting_a_big_library_changes_nothing(app, runner, tmp_path, small_chunks):
    path = write(tmp_path, library())
    assert runner.invoke(args=["import", str(path)]).exit_code == 0
    before = catalog(app)
    again = runner.invoke(args=["import", str(path)])
    assert again.exit_code == 0, again.output
    assert f"0 created, 0 updated, {ROWS} unchanged, 0 skipped" in again.output
    assert catalog(app) == before


def test_a_bad_row_in_a_chunk_is_refused_by_number_and_the_rest_import(app, runner, tmp_path, small_chunks):
    rows = library()
    rows[150]["Title"] = "x" * 400  # file row 152
    result = runner.invoke(args=["import", str(write(tmp_path, rows))])
    assert result.exit_code == 0, result.output
    assert f"{ROWS - 1} created, 0 updated, 0 unchanged, 1 skipped" in result.output
    assert "Skipped row 152: Keep this under 300 characters." in result.output
    expected = expected_catalog(rows)
    del expected[rows[150]["Book Id"]]
    assert catalog(app) == expected


def test_a_big_import_refits_the_recommendations_once(app, runner, tmp_path, monkeypatch):
    assert runner.invoke(args=["import", str(write(tmp_path, library(60)))]).exit_code == 0
    fits = []
    real_rebuild = store.rebuild
    monkeypatch.setattr(store, "rebuild", lambda *a, **k: fits.append(1) or real_rebuild(*a, **k))
    # 12 new books on 60 are under the share that refits by itself: an import over REFIT_ROWS still refits once,
    # rather than folding each book in.
    monkeypatch.setattr(records, "REFIT_ROWS", 10)
    more = [{**row, "Book Id": str(int(row["Book Id"]) + 5000), "Title": row["Title"] + " again"} for row in library(12)]
    result = runner.invoke(args=["import", str(write(tmp_path, more, "more.csv"))])
    assert result.exit_code == 0, result.output
    assert fits == [1]
    with app.app_context():
        new_ids = db.session.scalars(sa.select(Item.id).where(Item.title.like("% again"))).all()
        with_lists = db.session.scalars(sa.select(Neighbour.item_id).distinct().where(Neighbour.item_id.in_(new_ids))).all()
        assert sorted(with_lists) == sorted(new_ids)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecModelChange)) == 0  # fitted, not folded


def test_a_small_import_still_folds_its_items_in(app, runner, tmp_path, monkeypatch):
    assert runner.invoke(args=["import", str(write(tmp_path, library(60)))]).exit_code == 0
    fits = []
    real_rebuild = store.rebuild
    monkeypatch.setattr(store, "rebuild", lambda *a, **k: fits.append(1) or real_rebuild(*a, **k))
    more = [{**library(1)[0], "Book Id": "9999", "Title": "One more"}]
    assert runner.invoke(args=["import", str(write(tmp_path, more, "more.csv"))]).exit_code == 0
    assert fits == []
    with app.app_context():
        item_id = db.session.scalar(sa.select(Item.id).where(Item.title == "One more"))
        assert db.session.scalar(sa.select(sa.func.count()).where(Neighbour.item_id == item_id)) > 0


def lists_zip(lists: int) -> bytes:
    """An export ZIP of many lists; each file gives its entries out of order, with their positions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(lists):
            films = [(p, f"Film {(n + p) % 25}", 1960 + (n + p) % 25) for p in range(1, 6)]
            rows = "".join(f"{p},{name},{year},https://boxd.it/f{(n + p) % 25},note {p}\r\n" for p, name, year in reversed(films))
            archive.writestr(f"lists/list-{n:03}.csv", (
                "Letterboxd list export v7\r\nDate,Name,Tags,URL,Description\r\n"
                f"2024-01-01,List {n},,https://boxd.it/l{n},About {n}.\r\n\r\nPosition,Name,Year,URL,Description\r\n" + rows
            ))
        # Two lists whose titles differ but slug alike, in one chunk.
        for n, title in enumerate(("Best!", "Best?")):
            archive.writestr(f"lists/best-{n}.csv", (
                "Letterboxd list export v7\r\nDate,Name,Tags,URL,Description\r\n"
                f"2024-01-01,{title},,https://boxd.it/b{n},\r\n\r\nPosition,Name,Year,URL,Description\r\n"
                "1,Film 1,1961,https://boxd.it/f1,\r\n"
            ))
    return buffer.getvalue()


def test_many_lists_keep_their_order_and_reimport_adds_nothing(app, runner, tmp_path, small_chunks):
    path = tmp_path / "letterboxd-export.zip"
    path.write_bytes(lists_zip(40))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "25 created" in result.output and "Lists: 42 created, 0 updated." in result.output
    with app.app_context():
        for n in (0, 13, 39):
            curated = db.session.scalar(sa.select(CuratedList).where(CuratedList.title == f"List {n}"))
            assert [e.item.title for e in curated.entries] == [f"Film {(n + p) % 25}" for p in range(1, 6)]
            assert [e.note for e in curated.entries] == [f"note {p}" for p in range(1, 6)]
        assert sorted(db.session.scalars(sa.select(CuratedList.slug).where(CuratedList.title.like("Best%")))) == ["best", "best-2"]
        # Each film remembers every imported list it is on, so an entry she removes stays removed.
        film = db.session.scalar(sa.select(Item).where(Item.title == "Film 1"))
        assert len(film.import_snapshot["lists"]) == sum(1 for n in range(40) if (1 - n) % 25 in range(1, 6)) + 2
    again = runner.invoke(args=["import", str(path)])
    assert again.exit_code == 0, again.output
    assert "0 created" in again.output and "Lists:" not in again.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CuratedList.id))) == 42
