"""A studio import under load: readers keep asking for item pages while the author imports a big Goodreads export.

    .venv/bin/python bench/studio_import_load.py                 # 2,000 rows into a 5,000-item catalog, 20 req/s
    .venv/bin/python bench/studio_import_load.py --rows 2000 --items 10000 --rate 30 --repeat 3

1. Builds a throwaway SQLite database with a synthetic catalog and its recommendations (bench/load.py's
   `build_database`), and starts stock gunicorn with deploy/gunicorn.conf.py on 127.0.0.1 (its workers).
2. Baseline: readers ask for item pages straight to gunicorn at a fixed rate (`--rate` requests a second over
   `--clients` keep-alive connections, pages drawn Zipf-like) for `--baseline-s` seconds, nothing else running.
3. Import: the same readers, while the author (a process of her own, as she is a person on another machine)
   signs in through /studio and imports a synthetic `--rows`-row Goodreads export (bench/import_bench.py's: big
   shelves on most rows, a long tail) through the studio's forms: upload, preview, apply, then the progress
   page until the import's job (a process of its own) is done. Readers go on until then (`during`), then until
   any background refit it started has finished (`after`).
4. Checks that every imported book is in the database (a missing one is a lost write).

Latency is timed from the moment a request goes out on its connection; a client held by a slow answer sends
its next requests late, so a stall shows in that answer's time and in fewer requests, not in the ones after.
Prints a table, then as its last line one JSON object: item page p50/p99/max during the import against the
baseline, the import's wall time (upload with preview, and apply), errors, lost writes, the load average.
Only 127.0.0.1 is ever contacted; every phase is bounded by a deadline.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from import_bench import goodreads_export  # noqa: E402
from load import AUTHOR, PASSWORD, Popularity, Results, build_database, drive, percentile_ms  # noqa: E402
from load_client import AppServer, Browser, throwaway_database  # noqa: E402

DEADLINE_S = 600
# The background refit's command line (afterimage/recommendations/refit.py): "after" lasts while one runs.
REFIT_COMMAND = b"refit-in-background"
P99_GOAL_MS = 200


def author_imports(base_url: str, rows: int, log) -> None:
    """The author signs in, uploads the export (the preview is planned), and applies it; timings go in `log`."""
    browser = Browser(base_url, timeout=DEADLINE_S)
    try:
        browser.sign_in(AUTHOR, PASSWORD)
        data = goodreads_export(rows, seed=23)
        started = time.perf_counter()
        status = browser.upload("/studio/import", "file", "goodreads_library_export.csv", data)
        preview = urllib.parse.urlsplit(browser.last_headers.get("Location", "")).path
        log["upload_s"] = time.perf_counter() - started
        if status != 303 or not preview.startswith("/studio/import/"):
            log["error"] = f"upload answered {status}"
            return
        applied = time.perf_counter()
        status = browser.follow_import(browser.post_form(preview, {"do": "apply"}))
        log["apply_s"], log["import_s"] = time.perf_counter() - applied, time.perf_counter() - started
        log["status"] = status
        if status != 200:
            log["error"] = f"apply answered {status}: {'; '.join(browser.form_errors())[:300]}"
    except Exception as error:  # reported, and counted as an error
        log["error"] = f"{type(error).__name__}: {error}"


def background_refit_running(server: AppServer) -> bool:
    """Whether a refit started by one of this server's workers still runs (it inherits their session)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            session = int(stat[stat.rindex(")") + 2:].split()[3])
            if session == server.process.pid and REFIT_COMMAND in (entry / "cmdline").read_bytes():
                return True
        except (OSError, ValueError):
            continue
    return False


def item_figures(results: Results, seconds: float) -> dict:
    """Item pages of one phase: count, rate, p50, p99, max, errors."""
    latencies = results.latencies["item"]
    return {"requests": len(latencies), "rps": round(len(latencies) / max(seconds, 1e-9), 1),
            "p50_ms": round(percentile_ms(latencies, 50), 1), "p99_ms": round(percentile_ms(latencies, 99), 1),
            "max_ms": round(percentile_ms(latencies, 100), 1), "errors": results.errors["item"],
            "seconds": round(seconds, 1)}


def imported_books(url: str) -> int:
    """Books of the synthetic export in the database (their Goodreads ids start at 100,000)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(sa.text("SELECT count(*) FROM items WHERE goodreads_id IS NOT NULL"))
    engine.dispose()
    return count


def one_run(args: argparse.Namespace, run: int) -> dict:
    """Build, serve, baseline, import under load, check; the run's figures."""
    with throwaway_database(False, "afterimage-studio-import-") as (url, workdir):
        extra_env = {"SECRET_KEY": "studio-import-bench"}
        env = {**os.environ, "DATABASE_URL": url, **extra_env}
        all_slugs, _, _ = build_database(url, args.items, env)
        slugs = Popularity(all_slugs, "zipf")
        server = AppServer(url, workers=None, extra_env=extra_env, log_path=workdir / "gunicorn.log").start()
        try:
            drive(server.port, ("item",), 200, 8, slugs, Results(), seed=0)  # each worker loads the model
            baseline = Results()
            baseline_s = drive(server.port, ("item",), int(args.rate * args.baseline_s), args.clients, slugs,
                               baseline, seed=run * 10 + 1, rate=args.rate)
            processes = multiprocessing.get_context("fork")
            manager = processes.Manager()
            log = manager.dict()
            author = processes.Process(target=author_imports, args=(server.base_url, args.rows, log))
            during = Results()
            author.start()
            during_s = drive(server.port, ("item",), 0, args.clients, slugs, during, seed=run * 10 + 2,
                             keep_going=author.is_alive, rate=args.rate)
            author.join(DEADLINE_S)
            after = Results()
            deadline = time.monotonic() + DEADLINE_S
            after_s = drive(server.port, ("item",), 0, args.clients, slugs, after, seed=run * 10 + 3,
                            keep_going=lambda: background_refit_running(server) and time.monotonic() < deadline,
                            rate=args.rate)
            log = dict(log)
            manager.shutdown()
        finally:
            server.stop()
        books = imported_books(url)
    figures = {"baseline": item_figures(baseline, baseline_s), "during": item_figures(during, during_s),
               "after": item_figures(after, after_s), "import_s": round(log.get("import_s", 0.0), 2),
               "upload_and_preview_s": round(log.get("upload_s", 0.0), 2), "apply_s": round(log.get("apply_s", 0.0), 2),
               "import_status": log.get("status"), "author_error": log.get("error"), "books": books,
               "lost_writes": max(args.rows - books, 0) if log.get("status") == 200 else None,
               "load_avg_1m": round(os.getloadavg()[0], 2)}
    figures["errors"] = (figures["baseline"]["errors"] + figures["during"]["errors"] + figures["after"]["errors"]
                         + (1 if figures["author_error"] else 0))
    return figures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000, help="rows of the Goodreads export she imports")
    parser.add_argument("--items", type=int, default=5_000, help="items in the catalog before the import")
    parser.add_argument("--rate", type=float, default=20.0, help="item pages a second the readers ask for, in all")
    parser.add_argument("--clients", type=int, default=16, help="readers' keep-alive connections")
    parser.add_argument("--baseline-s", type=float, default=20.0, help="seconds of the baseline phase")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the run with the median p99 during the import is shown")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    load_before = os.getloadavg()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average {load_before[0]:.2f}; {args.items} items, {args.rows} rows imported, readers "
          f"{args.rate:g} item pages/s over {args.clients} connections", flush=True)
    runs = []
    for run in range(args.repeat):
        figures = one_run(args, run)
        runs.append(figures)
        b, d, a = figures["baseline"], figures["during"], figures["after"]
        print(f"run {run + 1}: item pages p50/p99/max ms: baseline {b['p50_ms']}/{b['p99_ms']}/{b['max_ms']} "
              f"({b['requests']} in {b['seconds']} s), during the import {d['p50_ms']}/{d['p99_ms']}/{d['max_ms']} "
              f"({d['requests']} in {d['seconds']} s), after it {a['p50_ms']}/{a['p99_ms']}/{a['max_ms']} "
              f"({a['requests']} in {a['seconds']} s); import {figures['import_s']} s (upload and preview "
              f"{figures['upload_and_preview_s']} s, apply {figures['apply_s']} s, status {figures['import_status']}); "
              f"{figures['books']} books; errors {figures['errors']}; load average {figures['load_avg_1m']}",
              flush=True)
        if figures["author_error"]:
            print("  author:", figures["author_error"])
    # The median run by p99 during the import (of an even count, the lower of the two middle ones).
    shown = sorted(runs, key=lambda r: r["during"]["p99_ms"])[(len(runs) - 1) // 2]
    summary = {
        "bench": "studio_import_load", "rows": args.rows, "items": args.items, "rate": args.rate,
        "clients": args.clients, "item_p50_ms": shown["during"]["p50_ms"], "item_p99_ms": shown["during"]["p99_ms"],
        "baseline_p50_ms": shown["baseline"]["p50_ms"], "baseline_p99_ms": shown["baseline"]["p99_ms"],
        "p99_vs_baseline": round(shown["during"]["p99_ms"] / max(shown["baseline"]["p99_ms"], 1e-9), 2),
        "after_p99_ms": shown["after"]["p99_ms"], "import_s": shown["import_s"],
        "p99_under_200ms": shown["during"]["p99_ms"] < P99_GOAL_MS,
        "errors": sum(r["errors"] for r in runs), "lost_writes": sum(r["lost_writes"] or 0 for r in runs),
        "runs_p99_ms": [r["during"]["p99_ms"] for r in runs], "runs_import_s": [r["import_s"] for r in runs],
        "median_run": shown, "repeat": args.repeat, "cpus": os.cpu_count(), "python": platform.python_version(),
        "load_avg_1m_before": round(load_before[0], 2), "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }
    print(f"item pages during a {args.rows}-row studio import: p99 {summary['item_p99_ms']} ms against "
          f"{summary['baseline_p99_ms']} ms with no import (x{summary['p99_vs_baseline']}; goal: under "
          f"{P99_GOAL_MS} ms); import {summary['import_s']} s; errors {summary['errors']}, lost writes "
          f"{summary['lost_writes']}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
