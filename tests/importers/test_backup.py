"""The JSON backup (export, restore, round trip) and the spreadsheet-safe CSV export."""
from __future__ import annotations

import base64
import csv
import io
import json

import pytest
import sqlalchemy as sa

from afterimage.catalog.cover_images import process_cover
from afterimage.catalog.models import CuratedList, Item, Tag
from afterimage.catalog.rules import ItemFields, save_item
from afterimage.catalog.slugs import change_slug
from afterimage.extensions import db
from afterimage.recommendations import set_override, studio_recommendations
from app import create_app
from tests.catalog.test_cover_images import image_bytes
from tests.studio.test_studio_fixtures import PASSWORD, add_author, author_client, demo_author_client  # noqa: F401


def fresh_app(tmp_path, name: str):
    """Another site on its own empty database."""
    # Its uploads (and the studio import's job state, kept a day) in the test's folder, not instance/.
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / name}",
                      "IMPORT_UPLOAD_FOLDER": str(tmp_path / f"{name}-imports")})
    with app.app_context():
        db.create_all()
    return app


def without_timestamp(text: str) -> dict:
    """The backup minus exported_at."""
    data = json.loads(text)
    data.pop("exported_at")
    return data


def test_a_backup_round_trip_through_a_fresh_database_gives_the_same_file(demo_app, tmp_path):
    with demo_app.app_context():
        hiroshima = db.session.scalar(sa.select(Item).where(Item.title == "Hiroshima mon amour"))
        recs = studio_recommendations(hiroshima, "film")
        set_override(hiroshima, recs[-1].item, "pin")
        set_override(hiroshima, recs[0].item, "hide")
        change_slug(hiroshima, "hiroshima")
        tag = db.session.scalar(sa.select(Tag).where(Tag.name == "Memory"))
        change_slug(tag, "remembering")
        db.session.commit()
    first = tmp_path / "first.json"
    result = demo_app.test_cli_runner().invoke(args=["export", str(first)])
    assert result.exit_code == 0, result.output
    data = json.loads(first.read_text(encoding="utf-8"))
    assert data["format"] == {"name": "afterimage-backup", "version": 1}
    assert len(data["items"]) == 82 and len(data["lists"]) == 4
    assert [i["slug"] for i in data["items"]] == sorted(i["slug"] for i in data["items"])
    assert {"entity": "item", "old_slug": "hiroshima-mon-amour-1959", "target": "hiroshima"} in data["slug_redirects"]
    assert len(data["recommendation_overrides"]) == 2
    assert "二十四時間の情事" in first.read_text(encoding="utf-8")  # ensure_ascii=False

    restored = fresh_app(tmp_path, "restored.db")
    runner = restored.test_cli_runner()
    result = runner.invoke(args=["import", str(first)])
    assert result.exit_code == 0, result.output
    assert "Afterimage backup: 82 created" in result.output
    second = tmp_path / "second.json"
    runner.invoke(args=["export", str(second)])
    assert without_timestamp(second.read_text(encoding="utf-8")) == without_timestamp(first.read_text(encoding="utf-8"))
    with restored.app_context():
        db.session.remove()
        db.engine.dispose()
    client = restored.test_client()
    assert client.get("/items/hiroshima-mon-amour-1959").status_code == 301
    assert client.get("/tags/remembering").status_code == 200


def test_two_exports_of_the_same_catalog_differ_only_in_exported_at(demo_app, tmp_path):
    runner = demo_app.test_cli_runner()
    runner.invoke(args=["export", str(tmp_path / "a.json")])
    runner.invoke(args=["export", str(tmp_path / "b.json")])
    a, b = ((tmp_path / n).read_text(encoding="utf-8").splitlines() for n in ("a.json", "b.json"))
    assert [line for line in a if "exported_at" not in line] == [line for line in b if "exported_at" not in line]


def test_restoring_into_a_catalog_that_is_not_empty_needs_replace(demo_app, tmp_path):
    path = tmp_path / "backup.json"
    runner = demo_app.test_cli_runner()
    runner.invoke(args=["export", str(path)])
    with demo_app.app_context():
        save_item(ItemFields(kind="film", title="Added after the backup", year=2001))
        db.session.commit()
    refused = runner.invoke(args=["import", str(path)])
    assert refused.exit_code != 0 and "The catalog is not empty" in refused.output
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 83
    replaced = runner.invoke(args=["import", "--replace", str(path)])
    assert replaced.exit_code == 0, replaced.output
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 82
        assert db.session.scalar(sa.select(Item).where(Item.title == "Added after the backup")) is None


def test_the_backup_holds_no_author_accounts_or_passwords(demo_app, tmp_path):
    add_author(demo_app)
    path = tmp_path / "backup.json"
    demo_app.test_cli_runner().invoke(args=["export", str(path)])
    text = path.read_text(encoding="utf-8")
    assert "scrypt" not in text and "Mina" not in text and "password" not in text


def test_the_studio_downloads_the_backup_and_restores_it_from_an_upload(demo_app, demo_author_client, tmp_path):
    response = demo_author_client.get("/studio/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="afterimage-backup-')
    restored = fresh_app(tmp_path, "upload.db")
    add_author(restored)
    client = restored.test_client()
    from tests.studio.test_studio_fixtures import sign_in
    from tests.importers.test_import_goodreads import upload

    sign_in(client)
    html = upload(client, response.data, "afterimage-backup.json").get_data(as_text=True)
    assert "<strong>82</strong> created" in html
    with restored.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CuratedList.id))) == 4
        db.session.remove()
        db.engine.dispose()


def test_the_csv_export_neutralises_spreadsheet_formulas(app, author_client):
    with app.app_context():
        save_item(ItemFields(kind="film", title="=HYPERLINK(\"http://evil.example\",\"click\")", year=1999,
                             note="+cmd|' /C calc'!A0", description="-2+3", tags=["@SUM(A1)"],
                             where_to_find="@home"))
        save_item(ItemFields(kind="book", title="Plain — Ünïcode 한강", year=2014, rating=4.5))
        db.session.commit()
    response = author_client.get("/studio/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    evil = next(r for r in rows if "HYPERLINK" in r["title"])
    assert evil["title"].startswith("'=")
    assert evil["note"].startswith("'+") and evil["description"] == "'-2+3" and evil["tags"] == "'@SUM(A1)"
    assert evil["where_to_find"] == "'@home"
    plain = next(r for r in rows if r["kind"] == "book")
    assert plain["title"] == "Plain — Ünïcode 한강" and plain["rating"] == "4.5" and plain["creators"] == ""


def test_cells_starting_with_a_tab_or_carriage_return_are_neutralised_too():
    from afterimage.importers.items_csv import spreadsheet_safe

    assert [spreadsheet_safe(v) for v in ("\t=1", "\r=1", "=1", "ok", None, 1962)] == ["'\t=1", "'\r=1", "'=1", "ok", "", "1962"]


def test_replacing_the_catalog_from_the_studio_keeps_the_author_signed_in(demo_app, demo_author_client):
    from tests.importers.test_import_goodreads import upload

    backup = demo_author_client.get("/studio/export.json").data
    html = upload(demo_author_client, backup, "backup.json", replace="y").get_data(as_text=True)
    assert "<strong>82</strong> created" in html and "Signed in as Mina" in html
    assert demo_author_client.get("/studio/").status_code == 200
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 82


def test_a_backup_that_contradicts_itself_is_refused_and_nothing_is_written(app, runner, tmp_path):
    item = {"kind": "film", "slug": "same", "title": "One", "year": 1990, "creators": [], "tags": [],
            "created_at": "2024-01-01T00:00:00+00:00", "updated_at": "2024-01-01T00:00:00+00:00"}
    data = {"format": {"name": "afterimage-backup", "version": 1}, "exported_at": "2024-01-01T00:00:00+00:00",
            "items": [item, {**item, "title": "Two"}], "tags": [], "lists": [], "slug_redirects": []}
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0 and "conflicts with itself" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


def minimal_backup(**changes) -> dict:
    """A valid backup of one tag, thirteen items and one list; `changes` replace its parts."""
    items = [
        {"kind": "film", "slug": f"film-{n}", "title": f"Film {n}", "year": 1990 + n, "creators": [], "tags": ["Memory"],
         "created_at": "2024-01-01T00:00:00+00:00", "updated_at": "2024-01-02T00:00:00+00:00"}
        for n in range(13)
    ]
    data = {
        "format": {"name": "afterimage-backup", "version": 1}, "exported_at": "2024-01-03T00:00:00+00:00",
        "items": items, "tags": [{"name": "Memory", "slug": "memory", "family": "memory", "description": ""}],
        "lists": [{"slug": "firsts", "title": "Firsts", "introduction": "", "published": True,
                   "entries": [{"item": "film-0", "note": ""}]}],
        "slug_redirects": [],
    }
    data.update(changes)
    return data


def with_item(n: int, **fields) -> list[dict]:
    """The minimal backup's items with item n changed (a field set to None is removed)."""
    items = minimal_backup()["items"]
    items[n] = {k: v for k, v in {**items[n], **fields}.items() if v is not None}
    return items


def import_backup(runner, tmp_path, data, text: str | None = None):
    """Run `flask import` on a backup file."""
    path = tmp_path / "backup.json"
    path.write_text(text if text is not None else json.dumps(data), encoding="utf-8")
    return runner.invoke(args=["import", str(path)])


def test_a_valid_minimal_backup_restores(app, runner, tmp_path):
    result = import_backup(runner, tmp_path, minimal_backup())
    assert result.exit_code == 0, result.output
    assert "13 created" in result.output


@pytest.mark.parametrize("changes, message", [
    ({"tags": [{"slug": "memory"}]}, "tags[0].name: required"),
    ({"items": with_item(12, kind=None)}, "items[12].kind: required"),
    ({"items": with_item(3, title=1959)}, "items[3].title: must be string, not 1959"),
    ({"items": with_item(2, created_at="yesterday")}, "items[2].created_at: 'yesterday' is not a date and time"),
    ({"items": with_item(2, updated_at="2024-13-45T99:00:00")}, "items[2].updated_at:"),
    ({"items": [*minimal_backup()["items"], "Hiroshima mon amour"]}, "items[13]: must be object"),
    ({"items": with_item(0, slug="")}, "items[0].slug: must not be empty"),
    ({"items": with_item(0, slug="a/b")}, "items[0].slug: 'a/b' is not a slug"),
    ({"items": with_item(0, slug="<script>x</script>")}, "items[0].slug: '<script>x</script>' is not a slug"),
    ({"items": with_item(0, slug="new\nline")}, "is not a slug"),
    ({"tags": [{"name": "Memory", "slug": "mem ory"}]}, "tags[0].slug: 'mem ory' is not a slug"),
    ({"lists": [{"slug": "a/b", "title": "T"}]}, "lists[0].slug: 'a/b' is not a slug"),
    ({"lists": [{"slug": "l", "title": "T", "entries": [{"note": "x"}]}]}, "lists[0].entries[0].item: required"),
    ({"slug_redirects": [{"entity": "page", "old_slug": "a", "target": "b"}]}, "slug_redirects[0].entity: must be one of"),
    ({"items": with_item(1, creators=[{"name": "Resnais", "role": "gaffer"}])}, "items[1].creators[0].role"),
    ({"items": {"film-0": {}}}, "items: must be array"),
])
def test_a_malformed_backup_is_refused_by_json_path_before_anything_is_written(app, runner, tmp_path, changes, message):
    result = import_backup(runner, tmp_path, minimal_backup(**changes))
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert "Nothing was imported." in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Tag.id))) == 0


def test_a_backup_lists_its_first_errors_and_counts_the_rest(app, runner, tmp_path):
    items = [{"slug": f"s{n}", "title": "t"} for n in range(9)]
    result = import_backup(runner, tmp_path, minimal_backup(items=items))
    assert "items[0].kind: required; items[1].kind: required" in result.output
    assert "(and 4 more)" in result.output


def test_deep_nesting_is_refused_without_a_recursion_error(app, runner, tmp_path):
    deep = '{"format": {"name": "afterimage-backup", "version": 1}, "items": ' + "[" * 100_000 + "]" * 100_000 + ', "tags": [], "lists": []}'
    result = import_backup(runner, tmp_path, None, text=deep)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "nested too deeply" in result.output
    snapshot = minimal_backup(items=with_item(0, import_snapshot={"a": json.loads("[" * 60 + "]" * 60)}))
    result = import_backup(runner, tmp_path, snapshot)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "nested too deeply" in result.output


def test_the_published_schema_accepts_the_demo_catalogs_backup(demo_app):
    from afterimage.importers.backup import SCHEMA_PATH, backup_validator, export_catalog

    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))["$schema"].endswith("2020-12/schema")
    with demo_app.app_context():
        data = json.loads(json.dumps(export_catalog()))
    assert list(backup_validator().iter_errors(data)) == []


def cover_record(data: bytes) -> dict:
    """A backup's record of a cover uploaded as `data` (PNG or JPEG bytes), as the export writes it."""
    cover = process_cover(data)
    return {"digest": cover.digest, "sizes": [
        {"size": s.size, "mimetype": "image/jpeg", "width": s.width, "height": s.height,
         "data": base64.b64encode(s.data).decode("ascii")} for s in cover.sizes
    ]}


def test_an_uploaded_cover_comes_back_from_a_backup_byte_for_byte(app, runner, tmp_path):
    record = cover_record(image_bytes("PNG", (120, 180)))
    result = import_backup(runner, tmp_path, minimal_backup(items=with_item(4, cover_upload=record)))
    assert result.exit_code == 0, result.output
    client = app.test_client()
    page = client.get("/items/film-4").get_data(as_text=True)
    assert f"/covers/uploaded/{record['digest']}-page.jpg" in page
    card = next(s for s in record["sizes"] if s["size"] == "card")
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.slug == "film-4"))
        stored = {c.size: c.data for c in item.cover_images}
        assert item.cover_digest == record["digest"]
    assert stored["card"] == base64.b64decode(card["data"])


@pytest.mark.parametrize("damage, message", [
    (lambda r: r["sizes"][0].update(data="not base64!"), "not valid base64"),
    (lambda r: r["sizes"][1].update(data=base64.b64encode(b"GIF89a....").decode()), "not a readable JPEG"),
    (lambda r: r["sizes"][2].update(width=r["sizes"][2]["width"] + 1), "not the 1201×630 the backup says"),
    (lambda r: r.update(digest="0" * 64), "do not match its digest"),
    (lambda r: r["sizes"].__setitem__(2, {**r["sizes"][1]}), "must have the sizes page, card and preview"),
])
def test_a_damaged_cover_in_a_backup_is_refused_by_item_and_nothing_is_written(app, runner, tmp_path, damage, message):
    record = cover_record(image_bytes("PNG", (120, 180)))
    damage(record)
    result = import_backup(runner, tmp_path, minimal_backup(items=with_item(4, cover_upload=record)))
    assert result.exit_code != 0
    assert "'film-4'" in result.output and message in result.output, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0
