"""Benchmark big imports: a synthetic Goodreads export of N rows and many Letterboxd lists, through the real importer.

    .venv/bin/python bench/import_bench.py            # 1,000 and 10,000 Goodreads rows; 300 and 3,000 lists
    .venv/bin/python bench/import_bench.py 2000       # 1,000 and 2,000 rows
    .venv/bin/python bench/import_bench.py --lists 100 1000 --repeat 3

Each import runs in a fresh subprocess on a fresh SQLite database in a temporary folder, so that its time
and peak memory (resource.getrusage ru_maxrss, which counts numpy/scipy's C allocations too) are its own. The
time covers reading the file, applying it and the commit, which refits the recommendations. The small import
is the baseline of the big one in the same run; the last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GOODREADS_COLUMNS = [
    "Book Id", "Title", "Author", "Author l-f", "Additional Authors", "ISBN", "ISBN13", "My Rating",
    "Average Rating", "Publisher", "Binding", "Number of Pages", "Year Published", "Original Publication Year",
    "Date Read", "Date Added", "Bookshelves", "Bookshelves with positions", "Exclusive Shelf", "My Review",
    "Spoiler", "Private Notes", "Read Count", "Owned Copies",
]
# A few shelves on most rows ("fiction" on 80%), as real libraries have; then a long tail of rare ones.
BIG_SHELVES = {"fiction": 0.8, "owned": 0.5, "literary-fiction": 0.35, "classics": 0.2, "favorites": 0.1}
WORDS = (
    "night summer river glass garden house winter silence memory city mountain letter mirror island "
    "forest harbour shadow stone light daughter journey stranger kingdom promise orchard ocean"
).split()
FIRST = "Anna Kazuo Han Olga Elena Jon Toni Chimamanda Haruki Clarice Jhumpa Italo Yoko Marguerite Orhan".split()
LAST = "Ishiguro Kang Tokarczuk Ferrante Fosse Morrison Adichie Murakami Lispector Lahiri Calvino Ogawa Duras Pamuk".split()
PHASE_TIMEOUT_S = 1800


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def person(rng: random.Random, pool: int) -> str:
    """One of `pool` authors, the first ones far more often (a reader's favourites)."""
    n = min(int(rng.paretovariate(1.2)) - 1, pool - 1)
    return f"{FIRST[n % len(FIRST)]} {LAST[(n // len(FIRST)) % len(LAST)]} {n // (len(FIRST) * len(LAST)) or ''}".strip()


def goodreads_export(rows: int, seed: int = 19) -> bytes:
    """A library export of `rows` books: big shelves on most rows, a long tail of rare shelves, authors repeating."""
    rng = random.Random(seed)
    rare = [f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i}" for i in range(max(rows // 10, 10))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GOODREADS_COLUMNS)
    authors = max(rows // 4, 20)
    for n in range(rows):
        shelves = [s for s, share in BIG_SHELVES.items() if rng.random() < share]
        shelves += rng.sample(rare, rng.choice((0, 1, 1, 2, 3)))
        exclusive = rng.choices(["read", "to-read", "currently-reading"], [0.8, 0.17, 0.03])[0]
        if rng.random() < 0.3:
            shelves.append(f"read-{rng.randint(2010, 2025)}")
        author = person(rng, authors)
        year = rng.randint(1900, 2024)
        title = f"The {rng.choice(WORDS).title()} of {rng.choice(WORDS).title()} {n}"
        row = {
            "Book Id": str(100_000 + n), "Title": title, "Author": author,
            "Author l-f": ", ".join(reversed(author.split(" ", 1))),
            "Additional Authors": person(rng, authors) if rng.random() < 0.15 else "",
            "ISBN": '=""', "ISBN13": '=""',
            "My Rating": str(rng.randint(1, 5)) if exclusive == "read" and rng.random() < 0.8 else "0",
            "Average Rating": "3.9", "Publisher": "Vintage", "Binding": "Paperback", "Number of Pages": "300",
            "Year Published": str(year + rng.choice((0, 0, 3))), "Original Publication Year": str(year),
            "Date Read": "", "Date Added": "2020/01/01", "Bookshelves": ", ".join([exclusive, *shelves]),
            "Bookshelves with positions": "", "Exclusive Shelf": exclusive,
            "My Review": "A quiet book about memory.<br/>Loved it." if rng.random() < 0.1 else "",
            "Read Count": "1" if exclusive == "read" else "0", "Owned Copies": "0",
        }
        writer.writerow([row.get(c, "") for c in GOODREADS_COLUMNS])
    return out.getvalue().encode("utf-8")


def letterboxd_lists_zip(lists: int, entries: int = 12, seed: int = 21) -> bytes:
    """An export ZIP holding `lists` list files of `entries` films each, the films drawn from a pool that
    grows with the lists (a few classics on many lists)."""
    rng = random.Random(seed)
    pool = max(lists * 3, 100)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(lists):
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            out.write("Letterboxd list export v7\n")
            writer.writerow(["Date", "Name", "Tags", "URL", "Description"])
            writer.writerow(["2024-01-01", f"List {n} of {rng.choice(WORDS)}", "", f"https://boxd.it/l{n}", "Films."])
            out.write("\n")
            writer.writerow(["Position", "Name", "Year", "URL", "Description"])
            films = set()
            while len(films) < entries:
                films.add(min(int(rng.paretovariate(0.8)) - 1, pool - 1))
            for position, film in enumerate(films, start=1):
                writer.writerow([position, f"Film {film} {WORDS[film % len(WORDS)]}", 1950 + film % 70,
                                 f"https://boxd.it/f{film}", ""])
            archive.writestr(f"lists/list-{n}.csv", out.getvalue())
    return buffer.getvalue()


def phase(kind: str, size: int) -> dict:
    """One import on a fresh database, in this process; the figures as a dict."""
    from afterimage.extensions import db
    from afterimage.importers import apply_import, read_import_file
    from afterimage.catalog.models import Item
    from afterimage.recommendations.models import Neighbour
    from app import create_app
    import sqlalchemy as sa

    from afterimage.recommendations import store
    from afterimage.recommendations.refit import stop_refit

    data, name = (goodreads_export(size), "goodreads_library_export.csv") if kind == "goodreads" else \
        (letterboxd_lists_zip(size), "letterboxd-export.zip")
    refits: list[float] = []
    peaks: list[float] = []
    refit_cpu: list[float] = []
    rss_at_refit: list[float] = []
    fit_and_store = store.rebuild

    def timed_rebuild(*args, **kwargs):
        # The refit the import's commit runs, timed apart from the rows.
        started, cpu_started = time.perf_counter(), time.process_time()
        peaks.append(peak_mb())
        rss_at_refit.append(int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20)
        try:
            return fit_and_store(*args, **kwargs)
        finally:
            refits.append(time.perf_counter() - started)
            refit_cpu.append(time.process_time() - cpu_started)

    store.rebuild = timed_rebuild
    with tempfile.TemporaryDirectory(prefix="import-bench-") as workdir:
        app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.db"})
        with app.app_context():
            db.create_all()
            started, cpu_started = time.perf_counter(), time.process_time()
            plan = read_import_file(name, data)
            read_s = time.perf_counter() - started
            report = apply_import(plan)
            seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
            items = db.session.scalar(sa.select(sa.func.count(Item.id)))
            neighbours = db.session.scalar(sa.select(sa.func.count(sa.distinct(Neighbour.item_id))))
            # The commit may have started a background refit (to draw the map); its database is about to go.
            stop_refit()
            db.session.remove()
            db.engine.dispose()
    return {"kind": kind, "size": size, "seconds": seconds, "cpu_s": cpu_s, "read_s": read_s,
            "refits": len(refits), "refit_s": sum(refits), "refit_cpu_s": sum(refit_cpu), "peak_mb": peak_mb(),
            "peak_mb_before_refit": peaks[0] if peaks else peak_mb(), "rss_mb_at_refit": rss_at_refit[0] if rss_at_refit else 0.0,
            "items": items, "items_with_recommendations": neighbours, "created": report.created,
            "lists": report.lists_created, "skipped": len(report.skipped)}


def run_phase(kind: str, size: int) -> dict:
    """One import in a subprocess of its own."""
    done = subprocess.run([sys.executable, __file__, "--phase", kind, str(size)], capture_output=True, text=True,
                          cwd=REPO, timeout=PHASE_TIMEOUT_S)
    if done.returncode:
        sys.exit(f"{kind} {size} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_run(kind: str, size: int, repeat: int) -> dict:
    """The run with the median time of `repeat` runs, and every time."""
    runs = sorted((run_phase(kind, size) for _ in range(repeat)), key=lambda r: r["seconds"])
    result = dict(runs[len(runs) // 2])
    result["all_seconds"] = [round(r["seconds"], 2) for r in runs]
    result["peak_mb"] = max(r["peak_mb"] for r in runs)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="?", type=int, default=10_000, help="rows of the big Goodreads export")
    parser.add_argument("--base-rows", type=int, default=1_000, help="rows of the baseline export")
    parser.add_argument("--lists", type=int, nargs=2, default=(300, 3_000), metavar=("SMALL", "BIG"))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each import; the median is reported")
    parser.add_argument("--phase", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase[0], int(args.phase[1]))))
        return

    results = {}
    for kind, sizes in (("goodreads", (args.base_rows, args.rows)), ("lists", tuple(args.lists))):
        for size in sizes:
            r = median_run(kind, size, args.repeat)
            results[(kind, size)] = r
            unit = "rows" if kind == "goodreads" else "lists"
            print(f"{kind:9} {size:>6} {unit}: {r['seconds']:7.2f} s (runs {r['all_seconds']}), CPU {r['cpu_s']:.2f} s, "
                  f"read {r['read_s']:.2f} s, refit {r['refit_s']:.2f} s, "
                  f"{r['items']} items, {r['items_with_recommendations']} with recommendations, "
                  f"peak {r['peak_mb']:.0f} MB", flush=True)
    small, big = results[("goodreads", args.base_rows)], results[("goodreads", args.rows)]
    small_lists, big_lists = results[("lists", args.lists[0])], results[("lists", args.lists[1])]
    summary = {
        "bench": "import", "rows": args.rows, "seconds": round(big["seconds"], 2),
        "base_rows": args.base_rows, "base_seconds": round(small["seconds"], 2),
        "peak_mb": round(max(r["peak_mb"] for r in results.values()), 1),
        "ratio_10k_to_1k": round(big["seconds"] / small["seconds"], 2),
        "ms_per_row": round(1000 * big["seconds"] / args.rows, 2),
        "lists": list(args.lists), "lists_seconds": [round(small_lists["seconds"], 2), round(big_lists["seconds"], 2)],
        "lists_ratio": round(big_lists["seconds"] / small_lists["seconds"], 2),
        "cpu_seconds": round(big["cpu_s"], 2), "cpu_ratio_10k_to_1k": round(big["cpu_s"] / small["cpu_s"], 2),
        "lists_cpu_ratio": round(big_lists["cpu_s"] / small_lists["cpu_s"], 2),
        "refit_s": round(big["refit_s"], 2), "items_with_recommendations": big["items_with_recommendations"],
        "phases": [{k: round(v, 2) if isinstance(v, float) else v for k, v in r.items() if k != "all_seconds"}
                   for r in results.values()],
        "repeat": args.repeat, "cpus": os.cpu_count(), "python": platform.python_version(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(f"Goodreads {args.rows} rows: {summary['seconds']} s ({summary['ms_per_row']} ms a row), "
          f"x{summary['ratio_10k_to_1k']} the {args.base_rows}-row import (goals: under 20 s, at most x12); "
          f"peak {summary['peak_mb']} MB (goal: under 500); lists x{summary['lists_ratio']} (goal: at most x12).")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
