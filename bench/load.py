"""Load test: the site under gunicorn on 127.0.0.1 with a 10,000-item catalog, 64 concurrent readers, an author writing.

1. Builds a throwaway database (SQLite file by default, `--postgres` for a throwaway PostgreSQL cluster)
   through the migrations, bulk-inserts a synthetic catalog, runs `flask recs rebuild`, then `flask pages bake`
   for the server's address as a deployment would (`--no-bake` leaves every page to its first reader).
2. Starts gunicorn (2 workers of the production class, one thread each) for the readers and, as the README's production set-up routes
   /studio/, a second one (1 worker, niced 10: readers first) for the author (`--single-server` sends her
   to the readers' server instead). Route by route, it sends `--requests` / 5 requests from `--clients`
   keep-alive clients (one asyncio loop, each sending `Accept-Encoding: gzip` as browsers do): the trivial
   /healthz (the ceiling), item pages, widget pages, API recommendations and search. Each route's requests
   per second is measured alone, so they compare like for like.
3. Then a mixed phase of `--requests` requests over all routes (more if need be, until the author's import
   has returned and she has saved `--min-edits` edits) while the author, signed in through /studio in two
   tabs (each a process of its own), edits items one after another and imports a Goodreads export.
   Afterwards every edit and every imported book is checked in the database: one missing is a lost write.

Readers pick items Zipf-like by default (`--popularity uniform` makes every item page a cold one);
each route's share of answers from the page cache is printed beside it.

Prints a table, then as its last line one JSON object:
{"requests", "errors", "lost_writes", "rps": {route: ...}, "p50_ms": {...}, "p99_ms": {...}, "max_ms": {...},
 "cache_hit_rate": {...}, "mixed": {...}, ...}.
Only 127.0.0.1 is ever contacted; every loop is bounded by a count and a deadline.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import io
import itertools
import json
import multiprocessing
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cpu_shares import CpuShares  # noqa: E402
from load_client import HOST, AppServer, Browser, throwaway_database  # noqa: E402

ROUTES = ("hello", "item", "widget", "api", "search")
AUTHOR, PASSWORD = "bench-author", "bench password 1234"
SEARCH_WORDS = ("memory", "river", "night", "winter", "garden", "war", "letters", "city", "ka", "ri")
WORKER_CLASSES = {"inline": "afterimage.server_worker.InlineThreadWorker"}
# How long any phase may run before it stops by itself, whatever the request count.
PHASE_DEADLINE_S = 600


def build_database(url: str, n_items: int, env: dict, bake_for: str | None) -> tuple[list[str], list[int]]:
    """Migrate, bulk-insert the synthetic catalog and an author, `flask recs rebuild`, then (unless bake_for is
    None) `flask pages bake` for that address, as the README's deployment steps do; return slugs and ids."""
    from recs_catalog import synthetic_catalog
    from seed_catalog import seed_catalog
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from afterimage.database import create_schema
    from afterimage.extensions import db
    from afterimage.studio.models import Author
    from app import create_app

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        create_schema()
        started = time.perf_counter()
        docs = synthetic_catalog(n_items)
        slugs, ids = seed_catalog(docs), [d.id for d in docs]
        db.session.add(Author(name=AUTHOR, password_hash=generate_password_hash(PASSWORD)))
        db.session.commit()
        if db.engine.url.get_backend_name() == "postgresql":
            # Sequences do not move on explicit ids: start them past the seeded rows.
            for table in ("items", "tags", "creators"):
                db.session.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                ))
            db.session.commit()
        print(f"seeded {n_items} items in {time.perf_counter() - started:.1f} s", flush=True)
        db.session.remove()
        db.engine.dispose()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "recs", "rebuild"], cwd=REPO, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    print(f"flask recs rebuild: {time.perf_counter() - started:.1f} s", flush=True)
    if bake_for is not None:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "pages", "bake", "--base-url", bake_for,
                        "--jobs", str(os.cpu_count() or 1)], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"flask pages bake: {time.perf_counter() - started:.1f} s", flush=True)
    return slugs, ids


class Popularity:
    """Which item a reader asks for: Zipf-like as real traffic is (a viral post sends most readers to a
    few pages, the long tail gets the rest), or uniform, the cold-cache worst case."""

    def __init__(self, slugs: list[str], kind: str, exponent: float = 1.0) -> None:
        self.slugs = list(slugs)
        random.Random(7).shuffle(self.slugs)  # popularity has nothing to do with insertion order
        weights = [1.0] * len(self.slugs) if kind == "uniform" else \
            [1.0 / (rank + 1) ** exponent for rank in range(len(self.slugs))]
        self.cum_weights = list(itertools.accumulate(weights))

    def choose(self, rng: random.Random) -> str:
        return rng.choices(self.slugs, cum_weights=self.cum_weights)[0]


def route_path(route: str, slugs: Popularity, rng: random.Random) -> str:
    """A request path for one route, on an item drawn by popularity."""
    slug = slugs.choose(rng)
    return {
        "hello": "/healthz",
        "item": f"/items/{slug}",
        "widget": f"/widget/items/{slug}",
        "api": f"/api/v1/items/{slug}/recommendations",
        "search": f"/search?q={rng.choice(SEARCH_WORDS)}",
    }[route]


class Results:
    """Latencies and errors per route, shared by the clients."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.cache_hits: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []
        self.retries = 0
        # With --trace: (started, seconds, route, hit, client) per request, perf_counter clock.
        self.trace: list[tuple[float, float, str, bool, int]] | None = None

    def retried(self) -> None:
        """A GET resent once on a new connection after the server closed a keep-alive one."""
        with self.lock:
            self.retries += 1

    def add(self, route: str, seconds: float, error: str | None, cache_hit: bool = False,
            started: float = 0.0, client: int = -1) -> None:
        with self.lock:
            if self.trace is not None:
                self.trace.append((started, seconds, route if error is None else f"{route} error", cache_hit, client))
            self.cache_hits[route] += cache_hit
            if error is None:
                self.latencies[route].append(seconds)
            else:
                self.errors[route] += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{route}: {error}")


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
                   ) -> tuple[int, dict[str, str], bytes]:
    """Send one HTTP/1.1 request on a keep-alive connection; return status, headers (lower-case names), body."""
    writer.write(request)
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append((await reader.readexactly(size + 2))[:-2])
        await reader.readuntil(b"\r\n")
        body = b"".join(parts)
    else:
        body = await reader.read()
    return status, headers, body


def check_body(headers: dict[str, str], body: bytes) -> str | None:
    """What is wrong with a 200's body, if anything: a gzip body must inflate, and no page is empty."""
    if headers.get("content-encoding") == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as error:
            return f"bad gzip body: {error}"
    return None if body else "empty body"


def drive(port: int, routes: tuple[str, ...], total: int, clients: int, slugs: Popularity, results: Results,
          seed: int, keep_going: Callable[[], bool] = lambda: False) -> float:
    """`clients` keep-alive connections share `total` requests over `routes`; returns the wall time in seconds.

    One asyncio loop rather than a thread per client: 64 threads contending for the GIL delayed the
    readers' own wake-ups by tens of milliseconds and took a core from the server, so they measured the
    client as much as the site. Each client sends what a browser sends (`Accept-Encoding: gzip`), and
    checks one body in twenty fully (a gzip one must inflate).
    """
    return asyncio.run(_drive(port, routes, total, clients, slugs, results, seed, keep_going))


async def _drive(port: int, routes: tuple[str, ...], total: int, clients: int, slugs: Popularity,
                 results: Results, seed: int, keep_going: Callable[[], bool]) -> float:
    remaining = [total]
    deadline = time.monotonic() + PHASE_DEADLINE_S

    async def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        reader, writer = await asyncio.open_connection(HOST, port)
        while (remaining[0] > 0 or keep_going()) and time.monotonic() < deadline:
            remaining[0] -= 1
            route = rng.choice(routes)
            path = route_path(route, slugs, rng)
            request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept-Encoding: gzip\r\n\r\n".encode()
            started = time.perf_counter()
            for attempt in (1, 2):
                try:
                    status, headers, body = await asyncio.wait_for(exchange(reader, writer, request), 60)
                    error = None if status == 200 else f"HTTP {status} {path}"
                    if error is None and rng.random() < 0.05:
                        error = check_body(headers, body)
                    hit = headers.get("x-page-cache") == "hit"
                    if headers.get("connection", "").lower() == "close":
                        writer.close()
                        reader, writer = await asyncio.open_connection(HOST, port)
                    break
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
                    error, hit = f"{type(exc).__name__} {path}", False
                    writer.close()
                    reader, writer = await asyncio.open_connection(HOST, port)
                    # The server may close an idle keep-alive connection just as a request goes out on it;
                    # browsers then resend a GET once on a new connection (RFC 9112, 9.3.1), and so do we.
                    # A failure on the new connection is an error.
                    if attempt == 2 or not isinstance(exc, (asyncio.IncompleteReadError, ConnectionResetError,
                                                            BrokenPipeError)):
                        break
                    results.retried()
            results.add(route, time.perf_counter() - started, error, hit, started, number)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return time.perf_counter() - started


def goodreads_export(rows: int) -> bytes:
    """A small Goodreads library export of new books, for the import during the load."""
    columns = ["Book Id", "Title", "Author", "Original Publication Year", "Exclusive Shelf", "Bookshelves", "My Review"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for i in range(rows):
        writer.writerow([str(7_000_000 + i), f"Imported Under Load {i}", f"Load Writer {i % 40}", str(1960 + i % 60),
                         "read", "memory, river", f"Read during the load test, book {i}."])
    return buffer.getvalue().encode()


def author_imports(base_url: str, log: dict) -> None:
    """The author, signed in through /studio, imports a Goodreads export while the readers read."""
    browser = Browser(base_url, timeout=PHASE_DEADLINE_S)
    try:
        browser.sign_in(AUTHOR, PASSWORD)
        started = time.perf_counter()
        status = browser.upload("/studio/import", "file", "goodreads_library_export.csv",
                                goodreads_export(log["import_rows"]))
        log["import_status"], log["import_s"] = status, time.perf_counter() - started
        log["spans"].append(("import", started, log["import_s"]))
    except Exception as error:  # reported, and counted as an error
        log["author_error"] = f"import: {type(error).__name__}: {error}"


def author_edits(base_url: str, item_ids: list[int], stop, log: dict, saved) -> None:
    """In a second studio tab, the author edits item notes one after another until the readers finish, pausing
    `edit_pause` seconds after each save (0: back to back, a stress no person can keep up)."""
    browser = Browser(base_url, timeout=PHASE_DEADLINE_S)
    try:
        browser.sign_in(AUTHOR, PASSWORD)
        deadline = time.monotonic() + PHASE_DEADLINE_S
        n = 0
        while not stop.is_set() and time.monotonic() < deadline and n < log["max_edits"]:
            item_id = item_ids[n % len(item_ids)]
            note = f"edited under load, edit {n}"
            started = time.perf_counter()
            status = browser.post_form(f"/studio/items/{item_id}", {"note": note})
            log["edit_ms"].append((time.perf_counter() - started) * 1000)
            log["spans"].append(("edit", started, time.perf_counter() - started))
            if status == 303:
                log["edits"][item_id] = note
                with saved.get_lock():
                    saved.value += 1
            else:
                log["edit_failures"] += 1
                log.setdefault("edit_failure_statuses", []).append(status)
            n += 1
            stop.wait(log["edit_pause"])
    except Exception as error:  # reported, and counted as an error
        log["author_error"] = f"edits: {type(error).__name__}: {error}"


def author_log(settings: dict) -> dict:
    """What a studio tab records: its settings, the notes it saved by item, its failures and timings."""
    return {**settings, "edits": {}, "edit_failures": 0, "edit_ms": [], "spans": []}


def run_author(role: str, base_url: str, item_ids: list[int], stop, settings: dict, done, imported, edits) -> None:
    """One studio tab ("import" or "edit"), run in its own process; sets `imported` or counts `edits` as it
    goes, and puts what it did on the `done` queue."""
    log = author_log(settings)
    if role == "import":
        author_imports(base_url, log)
        imported.set()
    else:
        author_edits(base_url, item_ids, stop, log, edits)
    done.put(log)


def merge_author_logs(settings: dict, logs: list[dict]) -> dict:
    """The two tabs' logs as one."""
    log = author_log(settings)
    errors = []
    for part in logs:
        log["edits"].update(part["edits"])
        log["edit_failures"] += part["edit_failures"]
        log["edit_ms"] += part["edit_ms"]
        log["spans"] += part["spans"]
        for key in ("import_status", "import_s", "edit_failure_statuses"):
            if key in part:
                log[key] = part[key]
        if "author_error" in part:
            errors.append(part["author_error"])
    if errors:
        log["author_error"] = "; ".join(errors)
    return log


def lost_writes(url: str, log: dict) -> int:
    """Edits and imported books that are not in the database afterwards."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        notes = dict(connection.execute(sa.text("SELECT id, note FROM items WHERE id IN :ids")
                                        .bindparams(sa.bindparam("ids", expanding=True)),
                                        {"ids": list(log["edits"]) or [-1]}).all())
        imported = connection.scalar(sa.text("SELECT count(*) FROM items WHERE title LIKE 'Imported Under Load %'"))
    engine.dispose()
    lost = sum(1 for item_id, note in log["edits"].items() if notes.get(item_id) != note)
    if log.get("import_status") == 200:
        lost += log["import_rows"] - imported
    return lost


def write_trace(path: Path, requests: list, spans: list) -> None:
    """The mixed phase as CSV, one row per request or author save. Start times are the system's monotonic
    clock (Python's perf_counter on Linux), which every process shares, so server-side logs line up."""
    with path.open("w", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["kind", "started_s", "ms", "hit", "client"])
        for started, seconds, route, hit, client in requests:
            rows.writerow([route, f"{started:.6f}", f"{seconds * 1000:.2f}", int(hit), client])
        for kind, started, seconds in spans:
            rows.writerow([f"author {kind}", f"{started:.6f}", f"{seconds * 1000:.2f}", "", ""])
    print(f"trace: {len(requests)} requests and {len(spans)} author saves in {path}")


def percentile_ms(samples: list[float], q: float) -> float:
    """The q-th percentile of seconds, in milliseconds."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] * 1000


def main() -> None:
    """Build, serve, measure, check, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="requests in the mixed phase (and in all "
                        "the per-route phases together)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="gthread threads per worker (default 1: more made the readers' tail longer on both "
                        "databases, see README)")
    parser.add_argument("--worker-class", choices=("inline", "gthread", "sync"), default="inline",
                        help="inline: the production class, afterimage/server_worker.py (gthread, each request answered "
                        "on its event loop); gthread or sync: gunicorn's own, for comparison")
    parser.add_argument("--single-server", action="store_true",
                        help="the author's requests go to the readers' server, instead of a studio server of their "
                        "own (1 worker) as the README's production set-up routes /studio/")
    parser.add_argument("--studio-nice", type=int, default=10,
                        help="nice value of the studio server (default 10: readers first, as in the README)")
    parser.add_argument("--min-edits", type=int, default=10,
                        help="the mixed phase goes on past --requests until the import has returned and the author "
                        "has saved this many edits")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL cluster instead of SQLite")
    parser.add_argument("--popularity", choices=("zipf", "uniform"), default="zipf",
                        help="how readers pick items: Zipf (s=1, realistic) or uniform (every page cold)")
    parser.add_argument("--import-rows", type=int, default=200)
    parser.add_argument("--max-edits", type=int, default=200)
    parser.add_argument("--edit-pause", type=float, default=0.0,
                        help="seconds the author waits after each save (default 0: saves back to back)")
    parser.add_argument("--trace", type=Path, default=None,
                        help="write the mixed phase's requests and the author's saves to this CSV file "
                             "(kind, started s, duration ms, hit, client), to find stalls in time")
    parser.add_argument("--no-bake", action="store_true",
                        help="skip `flask pages bake`: every subject page is rendered by its first reader")
    args = parser.parse_args()

    with throwaway_database(args.postgres, "afterimage-load-") as (url, workdir):
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "load-bench"}
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"database: {'PostgreSQL' if args.postgres else 'SQLite (WAL)'}; gunicorn {args.workers} {args.worker_class} workers x {args.threads} threads; "
              f"{args.clients} clients; the author on "
              f"{'the same server' if args.single_server else f'a studio server of her own (1 worker, nice {args.studio_nice})'}",
              flush=True)
        server = AppServer(url, workers=args.workers, threads=args.threads, worker_class=WORKER_CLASSES.get(args.worker_class, args.worker_class), extra_env={"SECRET_KEY": "load-bench"},
                           log_path=workdir / "gunicorn.log", timeout=PHASE_DEADLINE_S)
        # As the README's production set-up: the public address, which the page store keeps pages for.
        env["AFTERIMAGE_PUBLIC_URL"] = server.extra_env["AFTERIMAGE_PUBLIC_URL"] = server.base_url
        all_slugs, ids = build_database(url, args.items, env, None if args.no_bake else server.base_url)
        slugs = Popularity(all_slugs, args.popularity)
        item_ids = ids[:: max(1, len(ids) // 50)]  # the author edits 50 items in turn

        # The author's own app server, when the studio is routed apart: one single-threaded worker.
        studio = AppServer(url, workers=1, threads=1, extra_env=dict(server.extra_env), log_path=workdir / "studio.log",
                           timeout=PHASE_DEADLINE_S, nice=args.studio_nice) if not args.single_server else None
        author_url = studio.base_url if studio else server.base_url

        server.start()
        try:
            if studio:
                studio.start()
            # Warm up each worker's model and templates, unmeasured.
            drive(server.port, ROUTES, 200, 8, slugs, Results(), seed=0)

            alone = {}
            per_route = max(args.requests // len(ROUTES), 1)
            for n, route in enumerate(ROUTES, start=1):
                results = Results()
                seconds = drive(server.port, (route,), per_route, args.clients, slugs, results, seed=n)
                alone[route] = (results, seconds)

            mixed = Results()
            if args.trace:
                mixed.trace = []
            # Each studio tab in a process of its own, as the author is a person on another machine: as
            # threads of this process, their HTML parsing took the interpreter lock from the readers' loop.
            processes = multiprocessing.get_context("fork")
            stop, done, imported, edits = processes.Event(), processes.Queue(), processes.Event(), processes.Value("i", 0)
            settings = {"import_rows": args.import_rows, "max_edits": args.max_edits, "edit_pause": args.edit_pause}
            writers = [processes.Process(target=run_author, args=(role, author_url, item_ids, stop, settings, done,
                                                                  imported, edits))
                       for role in ("import", "edit")]
            for writer in writers:
                writer.start()

            def author_busy() -> bool:
                """Whether the author has yet to finish her import or her first --min-edits saves."""
                alive = any(writer.is_alive() for writer in writers)
                return alive and (not imported.is_set() or edits.value < min(args.min_edits, args.max_edits))

            writer_pids = {writer.pid for writer in writers}

            def process_group(pid: int, name: str, session: int) -> str | None:
                """Who a process works for, for the mixed phase's CPU figures."""
                if session == server.process.pid:
                    return "readers' server"
                if studio and session == studio.process.pid:
                    return "studio server"
                if name == "postgres":
                    return "PostgreSQL"
                if pid in writer_pids:
                    return "author's tabs"
                return "load client" if pid == os.getpid() else None

            with CpuShares(process_group) as cpu:
                mixed_seconds = drive(server.port, ROUTES, args.requests, args.clients, slugs, mixed, seed=99,
                                      keep_going=author_busy)
            stop.set()
            log = merge_author_logs(settings, [done.get(timeout=PHASE_DEADLINE_S) for _ in writers])
            for writer in writers:
                writer.join(PHASE_DEADLINE_S)
        finally:
            server.stop()
            if studio:
                studio.stop()
        lost = lost_writes(url, log)
        if args.trace:
            write_trace(args.trace, mixed.trace, log["spans"])

        # The slowest request too: with a fixed number of clients, a client stuck behind a long write sends
        # nothing meanwhile, so a stall shows in the maximum long before it reaches the 99th percentile.
        report = {"requests": 0, "errors": 0, "lost_writes": lost, "rps": {}, "p50_ms": {}, "p99_ms": {},
                  "max_ms": {}, "cache_hit_rate": {}, "popularity": args.popularity, "baked": not args.no_bake,
                  "mixed": {"rps": 0.0, "p50_ms": {}, "p99_ms": {}, "max_ms": {}, "errors": 0, "cache_hit_rate": {}}}
        print(f"\n{'route':8} {'alone: req/s':>13} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7} "
              f"{'hits':>5} | {'mixed: p50 ms':>13} {'p99 ms':>8} {'max ms':>8} {'errors':>7} {'hits':>5}")
        for route in ROUTES:
            results, seconds = alone[route]
            done = len(results.latencies[route]) + results.errors[route]
            rps = len(results.latencies[route]) / seconds
            report["requests"] += done
            report["errors"] += results.errors[route]
            report["rps"][route] = round(rps, 1)
            report["p50_ms"][route] = round(percentile_ms(results.latencies[route], 50), 1)
            report["p99_ms"][route] = round(percentile_ms(results.latencies[route], 99), 1)
            report["max_ms"][route] = round(percentile_ms(results.latencies[route], 100), 1)
            m50, m99 = percentile_ms(mixed.latencies[route], 50), percentile_ms(mixed.latencies[route], 99)
            m100 = percentile_ms(mixed.latencies[route], 100)
            report["mixed"]["p50_ms"][route], report["mixed"]["p99_ms"][route] = round(m50, 1), round(m99, 1)
            report["mixed"]["max_ms"][route] = round(m100, 1)
            hits = results.cache_hits[route] / max(done, 1)
            mixed_done = len(mixed.latencies[route]) + mixed.errors[route]
            mixed_hits = mixed.cache_hits[route] / max(mixed_done, 1)
            report["cache_hit_rate"][route] = round(hits, 3)
            report["mixed"]["cache_hit_rate"][route] = round(mixed_hits, 3)
            print(f"{route:8} {rps:13.1f} {report['p50_ms'][route]:8.1f} {report['p99_ms'][route]:8.1f} "
                  f"{report['max_ms'][route]:8.1f} {results.errors[route]:7d} {hits:5.0%} | {m50:13.1f} {m99:8.1f} "
                  f"{m100:8.1f} {mixed.errors[route]:7d} {mixed_hits:5.0%}")
        mixed_done = sum(len(v) for v in mixed.latencies.values())
        mixed_errors = sum(mixed.errors.values()) + log["edit_failures"] + (1 if "author_error" in log else 0)
        report["requests"] += mixed_done + sum(mixed.errors.values())
        report["errors"] += mixed_errors
        report["mixed"]["rps"] = round(mixed_done / mixed_seconds, 1)
        report["mixed"]["errors"] = mixed_errors
        report["retried_on_new_connection"] = sum(r.retries for r, _ in alone.values()) + mixed.retries
        report["author"] = {
            "edits": len(log["edits"]), "edit_pause_s": args.edit_pause, "edit_failures": log["edit_failures"],
            "edit_failure_statuses": log.get("edit_failure_statuses", []),
            "edit_p50_ms": round(statistics.median(log["edit_ms"]), 1) if log["edit_ms"] else None,
            "server": "readers' server" if args.single_server else f"studio server, nice {args.studio_nice}",
            "import_status": log.get("import_status"), "import_rows": args.import_rows,
            "import_s": round(log["import_s"], 2) if "import_s" in log else None, "error": log.get("author_error"),
        }
        for route in ("item", "widget"):
            report[f"{route}_vs_hello"] = round(report["rps"][route] / report["rps"]["hello"], 3)
        print(f"\nmixed phase: {report['mixed']['rps']} req/s over all routes while the author made "
              f"{len(log['edits'])} edits (median {report['author']['edit_p50_ms']} ms) and imported "
              f"{args.import_rows} books (status {log.get('import_status')}, {report['author']['import_s']} s)")
        report["mixed"]["cpu_s"] = cpu.seconds()
        print(f"CPU seconds in the mixed phase ({mixed_seconds:.1f} s on {os.cpu_count()} cores): "
              + ", ".join(f"{group} {value}" for group, value in report["mixed"]["cpu_s"].items()))
        print(f"errors: {report['errors']}; lost writes: {lost}; item/hello {report['item_vs_hello']}, "
              f"widget/hello {report['widget_vs_hello']}")
        for sample in [*(r.error_samples for r, _ in alone.values()), mixed.error_samples]:
            for line in sample:
                print("  error:", line)
        if "author_error" in log:
            print("  author:", log["author_error"])
        if report["errors"]:
            server_log = (workdir / "gunicorn.log").read_text(errors="replace").splitlines()
            notable = [line for line in server_log if any(
                word in line for word in ("[ERROR]", "[CRITICAL]", "[WARNING]", "Traceback", "Error:"))]
            print("  gunicorn log, notable lines:", *notable[-30:], sep="\n    ")
        print(json.dumps(report))

if __name__ == "__main__":
    main()
