"""What the author's studio save costs in process on a large catalog, against another checkout's code.

    .venv/bin/python bench/save_bench.py                          # this checkout, 10,000 synthetic items
    .venv/bin/python bench/save_bench.py --against /work/main     # and another checkout as the baseline

Each checkout is measured in a subprocess of its own that imports that checkout's code (the catalog comes from
this checkout's bench/seed_catalog.py, so both measure the same items): a throwaway SQLite catalog, `flask recs
rebuild`'s model, and a signed-in studio client (Flask's test client). For `--saves` items in turn, after
loading the edit form (not timed):

- `note save`: her POST of the item's form with a new note, to its redirect (the commit folds the item into the
  recommendation model and rewrites the neighbour rows it changed);
- `unchanged form`: the same form posted again as it is;
- `other worker replay`: another worker of the same server, whose copy of the model is from before the note
  save, catching up with the stored change (the first recommendation a reader asks of it after her save).

Prints the medians in milliseconds (wall clock, and the measuring process's CPU time, steadier when other work
shares the cores) with the load average beside them, then as its last line one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
MEASURES = ("note save", "unchanged form", "other worker replay")
AUTHOR, PASSWORD = "bench-author", "bench password 1234"


def load_average() -> float:
    """The one-minute load average."""
    return round(os.getloadavg()[0], 2)


def form_fields(client, path: str) -> dict:
    """The edit form's fields with their current values (CSRF token included)."""
    from load_client import page_forms

    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    forms = [f for f in page_forms(response.get_data(as_text=True)) if f["method"] == "post"]
    return ([f for f in forms if f["action"] in ("", path)] or forms)[0]["fields"]


def timed_post(client, path: str, fields: dict) -> tuple[float, float]:
    """Seconds (wall clock, and this process's CPU) for one POST of the form, to its redirect."""
    started, cpu = time.perf_counter(), time.process_time()
    response = client.post(path, data=fields)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert response.status_code == 303, (path, response.status_code, response.get_data(as_text=True)[:2000])
    return seconds, cpu


def measure(items: int, saves: int) -> dict:
    """In the checkout on sys.path: build the catalog, time the saves; return the samples in seconds."""
    import sqlalchemy as sa
    from recs_catalog import synthetic_catalog
    from seed_catalog import seed_catalog, year_of
    from werkzeug.security import generate_password_hash

    from afterimage.accounts.models import Author
    from afterimage.database import create_schema
    from afterimage.extensions import db
    from afterimage.recommendations import store
    from app import create_app

    workdir = Path(tempfile.mkdtemp(prefix="afterimage-save-bench-"))
    try:
        app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'site.db'}",
                          "WTF_CSRF_ENABLED": False})
        with app.app_context():
            create_schema()
            docs = synthetic_catalog(items)
            seed_catalog(docs)
            db.session.add(Author(name=AUTHOR, password_hash=generate_password_hash(PASSWORD, "scrypt:1024:8:1")))
            db.session.commit()
            # Items the studio saves as they are: the synthetic titles repeat, which its duplicate check refuses.
            same = defaultdict(list)
            for doc in docs:
                same[(doc.kind, doc.title.casefold(), year_of(doc))].append(doc.id)
            editable = [group[0] for group in same.values() if len(group) == 1]
            result = app.test_cli_runner().invoke(args=["recs", "rebuild"])
            assert result.exit_code == 0, result.output
            db.session.remove()
        client = app.test_client()
        signed_in = client.post("/studio/sign-in", data={"name": AUTHOR, "password": PASSWORD})
        assert signed_in.status_code == 303, signed_in.status_code
        chosen = editable[:: max(1, len(editable) // (saves + 1))][: saves + 1]
        samples: dict[str, list[float]] = {name: [] for name in MEASURES}
        cpu: dict[str, list[float]] = {name: [] for name in MEASURES}
        for n, item_id in enumerate(chosen):
            path = f"/studio/items/{item_id}"
            fields = form_fields(client, path)
            # This worker's copy of the model before her save, as another worker of the server still has it.
            other_worker = {key: dict(entry) for key, entry in store._models.items()}
            # The note bench/load.py's author writes: words the catalog knows, so the item's vector changes.
            note_save = timed_post(client, path, {**fields, "note": f"edited under load: {fields['slug']}, edit {n}"})
            after_save = store._models
            store._models = other_worker
            with app.app_context():
                started, replay_cpu = time.perf_counter(), time.process_time()
                store.current_model()
                replay, replay_cpu = time.perf_counter() - started, time.process_time() - replay_cpu
                db.session.remove()
            store._models = after_save
            fields = form_fields(client, path)
            unchanged = timed_post(client, path, fields)
            if n == 0:
                continue  # warm-up: templates compiled, model loaded
            for name, (wall, used) in zip(MEASURES, (note_save, unchanged, (replay, replay_cpu))):
                samples[name].append(wall)
                cpu[name].append(used)
        with app.app_context():
            published = db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("items")))
            db.session.remove()
            db.engine.dispose()
        return {"samples": samples, "cpu": cpu, "items": published}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_checkout(checkout: Path, items: int, saves: int) -> dict:
    """Measure one checkout's code in a subprocess of its own; its medians in ms and the load beside them."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", str(checkout), "--items", str(items),
         "--saves", str(saves)],
        cwd=checkout, check=True, stdout=subprocess.PIPE, text=True,
    )
    measured = json.loads(completed.stdout.strip().splitlines()[-1])
    return {
        "median_ms": {name: round(statistics.median(values) * 1000, 1) for name, values in measured["samples"].items()},
        "cpu_median_ms": {name: round(statistics.median(values) * 1000, 1) for name, values in measured["cpu"].items()},
        "saves": len(measured["samples"]["note save"]),
        "load_after": load_average(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    """Measure this checkout (and the baseline), print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000, help="synthetic items in the catalog")
    parser.add_argument("--saves", type=int, default=15, help="items saved, each once per measure (median of these)")
    parser.add_argument("--against", type=Path, metavar="PATH", help="another checkout measured as the baseline")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the subprocess: measure this checkout
    args = parser.parse_args()
    if args.saves < 1:
        parser.error("--saves must be at least 1")

    if args.measure is not None:
        sys.path[:0] = [str(args.measure.resolve()), str(BENCH)]
        print(json.dumps(measure(args.items, args.saves)))
        return

    checkouts = {"this": REPO}
    if args.against is not None:
        against = args.against.resolve()
        if not (against / "afterimage" / "recommendations" / "store.py").is_file():
            parser.error(f"--against {args.against}: not an Afterimage checkout")
        checkouts = {"baseline": against, "this": REPO}
    load_before = load_average()
    results = {}
    for name, checkout in checkouts.items():
        print(f"measuring {name} ({checkout}): {args.items} items, {args.saves} saves ...", flush=True)
        results[name] = {"checkout": str(checkout), **run_checkout(checkout, args.items, args.saves)}

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}; SQLite; {args.items} items; median of {args.saves} saves; "
          f"load average {load_before} before, " + ", ".join(f"{r['load_after']} after {n}" for n, r in results.items()))
    ratios: dict[str, dict[str, float]] = {}
    for figure, title in (("median_ms", "wall clock"), ("cpu_median_ms", "CPU (steadier on a shared machine)")):
        print(f"{title:34}" + "".join(f"{name:>12}" for name in results) + ("       ratio" if "baseline" in results else ""))
        for measure_name in MEASURES:
            row = [results[name][figure][measure_name] for name in results]
            line = f"  {measure_name:32}" + "".join(f"{value:9.1f} ms" for value in row)
            if "baseline" in results:
                ratio = round(results["this"][figure][measure_name] / results["baseline"][figure][measure_name], 3)
                ratios.setdefault(figure, {})[measure_name] = ratio
                line += f"  x{ratio:.3f}"
            print(line)
    print(json.dumps({"machine": machine, "items": args.items, "saves": args.saves, "load_before": load_before,
                      **results, **({"ratio": ratios} if ratios else {})}))


if __name__ == "__main__":
    main()
