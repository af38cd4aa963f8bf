"""Load test: the site under stock gunicorn (deploy/gunicorn.conf.py) on 127.0.0.1 with a 10,000-item catalog,
64 concurrent readers and the author writing; with `--proxy nginx`, the same load through the shipped nginx
configuration (deploy/nginx.conf) too.

1. Builds a throwaway database (SQLite file by default, `--postgres` for a throwaway PostgreSQL cluster)
   through the migrations, bulk-inserts a synthetic catalog and runs `flask recs rebuild`.
2. Starts gunicorn with deploy/gunicorn.conf.py (its worker class and worker count unless overridden), and
   the studio's own gunicorn beside it (`--studio-server`, 2 workers), as docs/deployment.md sets them up.
   Route by route, straight to gunicorn, it sends `--requests` / 5 requests from `--clients` keep-alive
   clients (one asyncio loop, each sending `Accept-Encoding: gzip` as browsers do): the trivial /healthz
   (`hello`, the ceiling), item pages, widget pages, API recommendations and search. Each route's requests
   per second is measured alone, so they compare like for like. Nothing is cached: every page is rendered.
3. With `--proxy nginx`: starts nginx with the shipped configuration in front of that gunicorn, sends
   `--requests` requests over the cacheable routes through it as the cache fills (its hit ratio is reported as
   `cold_hit_ratio`), then measures each route alone again through it (X-Cache-Status tells hits from misses).
   With `--client wrk`, wrk (Debian's package, bench/wrk_client.py) measures the readers-alone phases of 2 and
   3 for `--duration` seconds a route over a file of `--requests` paths per route drawn by popularity; through
   nginx each route's distinct pages are first asked for once (`proxy.warmup`: compulsory misses, reported
   apart), so `proxy.hit_ratio` is the cache in steady state, as a blog's is once it has been up a while.
4. The author saves five notes with no reader about (her baseline). Then a mixed phase of `--requests`
   requests over all routes (through nginx when proxied; more requests if need be, until the author's import
   has returned and she has saved `--min-edits` edits) while the author, signed in through /studio in two
   tabs (each a process of its own), edits the notes of the most read items one after another and imports a
   Goodreads export. Afterwards every edit and every imported book is
   checked in the database (one missing is a lost write), and the readers' copies of the edited pages are
   checked against her saves: `max_stale_s` is the longest a reader was still shown a note she had replaced.

Pages are kept `--max-age` seconds by the proxy (AFTERIMAGE_CACHE_MAX_AGE; 60 by default, the app's own
default; `--max-age 5` makes a run of a minute or two see pages expire and come back again and again). Readers pick items Zipf-like by default (`--popularity
uniform` makes every item page a cold one).

Prints a table, then as its last line one JSON object:
{"errors", "lost_writes", "rps": {route: ...}, "p50_ms", "p99_ms", "max_ms", "author_save_ms_p50",
 "author_import_s", "mixed": {...}, "proxy": {"rps", "p50_ms", "p99_ms", "hit_ratio", "max_stale_s", ...}, ...}.
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
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cpu_shares import CpuShares  # noqa: E402
from load_client import HOST, AppServer, Browser, NginxProxy, throwaway_database  # noqa: E402
from wrk_client import WrkRun, run_wrk, wrk_binary  # noqa: E402

ROUTES = ("hello", "item", "widget", "api", "search")
CACHEABLE_ROUTES = ("item", "widget", "api", "search")
AUTHOR, PASSWORD = "bench-author", "bench password 1234"
SEARCH_WORDS = ("memory", "river", "night", "winter", "garden", "war", "letters", "city", "ka", "ri")
# Answers whose body nginx took from its cache: HIT; STALE and UPDATING, an expired copy served while one
# request fetches the page again; REVALIDATED, an expired copy the app confirmed with a 304 (no render).
CACHE_HITS = frozenset({"HIT", "STALE", "UPDATING", "REVALIDATED"})
# The item's own slug is in its note: other items' notes may show on its page (recommendation cards).
EDIT_NOTE = "edited under load: {slug}, edit {n}"
# How many of the most read items the author edits in turn during the mixed phase; and how many other items
# she saves first with no reader about, the baseline of her saves.
EDITED_ITEMS = 20
ALONE_EDITS = 5
# How long any phase may run before it stops by itself, whatever the request count.
PHASE_DEADLINE_S = 600


def build_database(url: str, n_items: int, env: dict) -> tuple[list[str], list[int], set[str]]:
    """Migrate, bulk-insert the synthetic catalog and an author, `flask recs rebuild`; return slugs and ids, and
    the slugs the studio would refuse to save as they are (another item of the same kind, title and year: the
    synthetic titles repeat, which the bulk insert allows and the studio's form does not)."""
    from recs_catalog import synthetic_catalog
    from seed_catalog import seed_catalog, year_of
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from afterimage.database import create_schema
    from afterimage.extensions import db
    from afterimage.accounts.models import Author
    from app import create_app

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        create_schema()
        started = time.perf_counter()
        docs = synthetic_catalog(n_items)
        slugs, ids = seed_catalog(docs), [d.id for d in docs]
        same = defaultdict(list)
        for doc, slug in zip(docs, slugs):
            same[(doc.kind, doc.title.casefold(), year_of(doc))].append(slug)
        duplicates = {slug for group in same.values() if len(group) > 1 for slug in group}
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
    return slugs, ids, duplicates


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
        """One item's slug, drawn by popularity."""
        return rng.choices(self.slugs, cum_weights=self.cum_weights)[0]

    def most_read(self, count: int) -> list[str]:
        """The `count` most popular slugs, most popular first."""
        return self.slugs[:count]


def route_path(route: str, slugs: Popularity, rng: random.Random) -> tuple[str, str]:
    """A request path for one route, on an item drawn by popularity; and that item's slug."""
    slug = slugs.choose(rng)
    return {
        "hello": "/healthz",
        "item": f"/items/{slug}",
        "widget": f"/widget/items/{slug}",
        "api": f"/api/v1/items/{slug}/recommendations",
        "search": f"/search?q={rng.choice(SEARCH_WORDS)}",
    }[route], slug


class Results:
    """Latencies, errors and cache answers per route, shared by the clients; with `watched` slugs, which of the
    author's edits each reader saw on those item pages."""

    def __init__(self, watched: frozenset[str] = frozenset()) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.cache_hits: dict[str, int] = defaultdict(int)
        self.cache_statuses: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []
        self.retries = 0
        self.watched = watched
        # (slug, request start, edit number seen or -1, X-Cache-Status), perf_counter clock.
        self.seen_edits: list[tuple[str, float, int, str]] = []
        # With --trace: (started, seconds, route, hit, client) per request, perf_counter clock.
        self.trace: list[tuple[float, float, str, bool, int]] | None = None

    def retried(self) -> None:
        """A GET resent once on a new connection after the server closed a keep-alive one."""
        with self.lock:
            self.retries += 1

    def add(self, route: str, seconds: float, error: str | None, cache_status: str = "",
            started: float = 0.0, client: int = -1) -> None:
        """Record one request, with nginx's X-Cache-Status when it went through nginx."""
        cache_hit = cache_status in CACHE_HITS
        with self.lock:
            if cache_status:
                self.cache_statuses[cache_status] += 1
            if self.trace is not None:
                self.trace.append((started, seconds, route if error is None else f"{route} error", cache_hit, client))
            self.cache_hits[route] += cache_hit
            if error is None:
                self.latencies[route].append(seconds)
            else:
                self.errors[route] += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{route}: {error}")

    def saw(self, slug: str, started: float, body: bytes, cache_status: str) -> None:
        """Note which of the author's edits an item page showed (-1: none), and where nginx took it from."""
        match = re.search(re.escape(EDIT_NOTE.format(slug=slug, n="").encode()) + rb"(\d+)", body)
        with self.lock:
            self.seen_edits.append((slug, started, int(match.group(1)) if match else -1, cache_status))

    def done(self, route: str) -> int:
        """Requests answered or failed on a route."""
        return len(self.latencies[route]) + self.errors[route]


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


def plain_body(headers: dict[str, str], body: bytes) -> bytes:
    """The body as the page's bytes: a gzip one inflated (raises if it does not inflate)."""
    return gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body


def check_body(headers: dict[str, str], body: bytes) -> str | None:
    """What is wrong with a 200's body, if anything: a gzip body must inflate, and no page is empty."""
    try:
        body = plain_body(headers, body)
    except (OSError, EOFError) as error:
        return f"bad gzip body: {error}"
    return None if body else "empty body"


def drive(port: int, routes: tuple[str, ...], total: int, clients: int, slugs: Popularity, results: Results,
          seed: int, keep_going: Callable[[], bool] = lambda: False, rate: float = 0.0,
          paths: list[tuple[str, str, str]] | None = None) -> float:
    """`clients` keep-alive connections share `total` requests over `routes`; returns the wall time in seconds.

    One asyncio loop rather than a thread per client: 64 threads contending for the GIL delayed the
    readers' own wake-ups by tens of milliseconds and took a core from the server, so they measured the
    client as much as the site. Each client sends what a browser sends (`Accept-Encoding: gzip`), and
    checks one body in twenty fully (a gzip one must inflate). With a `rate`, requests go out on a schedule of
    that many per second over all clients (fewer if the answers are slower than that), instead of each client
    sending its next request as soon as it has the answer. With `paths` ((route, path, slug) each), the clients
    ask for those, each once, instead of drawing `total` requests over `routes`.
    """
    return asyncio.run(_drive(port, routes, total, clients, slugs, results, seed, keep_going, rate, paths))


async def _drive(port: int, routes: tuple[str, ...], total: int, clients: int, slugs: Popularity,
                 results: Results, seed: int, keep_going: Callable[[], bool], rate: float,
                 paths: list[tuple[str, str, str]] | None) -> float:
    given = iter(paths) if paths is not None else None
    remaining, sent = [len(paths) if paths is not None else total], [0]
    deadline = time.monotonic() + PHASE_DEADLINE_S
    phase_started = time.perf_counter()

    async def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        reader, writer = await asyncio.open_connection(HOST, port)
        while (remaining[0] > 0 or keep_going()) and time.monotonic() < deadline:
            remaining[0] -= 1
            if rate:
                sent[0] += 1
                await asyncio.sleep(max(0.0, phase_started + sent[0] / rate - time.perf_counter()))
            if given is not None:
                route, path, slug = next(given)
            else:
                route = rng.choice(routes)
                path, slug = route_path(route, slugs, rng)
            request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept-Encoding: gzip\r\n\r\n".encode()
            started = time.perf_counter()
            for attempt in (1, 2):
                try:
                    status, headers, body = await asyncio.wait_for(exchange(reader, writer, request), 60)
                    error = None if status == 200 else f"HTTP {status} {path}"
                    cache_status = headers.get("x-cache-status", "")
                    if error is None and route == "item" and slug in results.watched:
                        results.saw(slug, started, plain_body(headers, body), cache_status)
                    elif error is None and rng.random() < 0.05:
                        error = check_body(headers, body)
                    if headers.get("connection", "").lower() == "close":
                        writer.close()
                        reader, writer = await asyncio.open_connection(HOST, port)
                    break
                except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
                    error, cache_status = f"{type(exc).__name__} {path}", ""
                    writer.close()
                    reader, writer = await asyncio.open_connection(HOST, port)
                    # The server may close an idle keep-alive connection just as a request goes out on it;
                    # browsers then resend a GET once on a new connection (RFC 9112, 9.3.1), and so do we.
                    # A failure on the new connection is an error.
                    if attempt == 2 or not isinstance(exc, (asyncio.IncompleteReadError, ConnectionResetError,
                                                            BrokenPipeError)):
                        break
                    results.retried()
            results.add(route, time.perf_counter() - started, error, cache_status, started, number)
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
        status = browser.import_file("goodreads_library_export.csv", goodreads_export(log["import_rows"]))
        log["import_status"], log["import_s"] = status, time.perf_counter() - started
        log["spans"].append(("import", started, log["import_s"]))
    except Exception as error:  # reported, and counted as an error
        log["author_error"] = f"import: {type(error).__name__}: {error}"


def author_edits(base_url: str, edited: list[tuple[int, str]], stop, log: dict, saved) -> None:
    """In a second studio tab, the author edits item notes one after another (items given as (id, slug)) until
    the readers finish, pausing `edit_pause` seconds after each save (0: back to back, a stress no person can
    keep up). Each save is logged with the moment she was told it was saved."""
    browser = Browser(base_url, timeout=PHASE_DEADLINE_S)
    try:
        browser.sign_in(AUTHOR, PASSWORD)
        deadline = time.monotonic() + PHASE_DEADLINE_S
        n = 0
        while not stop.is_set() and time.monotonic() < deadline and n < log["max_edits"]:
            item_id, slug = edited[n % len(edited)]
            note = EDIT_NOTE.format(slug=slug, n=n)
            started = time.perf_counter()
            status = browser.post_form(f"/studio/items/{item_id}", {"note": note})
            finished = time.perf_counter()
            # The save is the POST (to its redirect); the round also loads the form first, as she does.
            log["edit_ms"].append(browser.last_seconds * 1000)
            log["round_ms"].append((finished - started) * 1000)
            log["spans"].append(("edit", started, finished - started))
            if status == 303:
                log["edits"][item_id] = note
                log["saves"].append((slug, n, finished))
                with saved.get_lock():
                    saved.value += 1
            else:
                log["edit_failures"] += 1
                log.setdefault("edit_failure_statuses", []).append(status)
                log.setdefault("edit_failure_reasons", []).append("; ".join(browser.form_errors())[:300])
            n += 1
            stop.wait(log["edit_pause"])
    except Exception as error:  # reported, and counted as an error
        log["author_error"] = f"edits: {type(error).__name__}: {error}"


def author_log(settings: dict) -> dict:
    """What a studio tab records: its settings, the notes it saved by item, its saves, failures and timings."""
    return {**settings, "edits": {}, "saves": [], "edit_failures": 0, "edit_ms": [], "round_ms": [], "spans": []}


def run_author(role: str, base_url: str, edited: list[tuple[int, str]], stop, settings: dict, done, imported,
               edits) -> None:
    """One studio tab ("import" or "edit"), run in its own process; sets `imported` or counts `edits` as it
    goes, and puts what it did on the `done` queue."""
    log = author_log(settings)
    if role == "import":
        author_imports(base_url, log)
        imported.set()
    else:
        author_edits(base_url, edited, stop, log, edits)
    done.put(log)


def merge_author_logs(settings: dict, logs: list[dict]) -> dict:
    """The two tabs' logs as one."""
    log = author_log(settings)
    errors = []
    for part in logs:
        log["edits"].update(part["edits"])
        log["saves"] += part["saves"]
        log["edit_failures"] += part["edit_failures"]
        log["edit_ms"] += part["edit_ms"]
        log["round_ms"] += part["round_ms"]
        log["spans"] += part["spans"]
        for key in ("import_status", "import_s", "edit_failure_statuses", "edit_failure_reasons"):
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


def max_staleness(saves: list[tuple[str, int, float]], seen: list[tuple[str, float, int, str]]) -> tuple[float, dict]:
    """The longest a reader was shown an older note than one the author had already been told was saved:
    for each reader's copy, the time from the end of the first save it lacks to the start of that request.
    Also that copy: its page, the edit it showed and the one it lacked, and nginx's X-Cache-Status."""
    by_slug: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for slug, n, finished in saves:
        by_slug[slug].append((finished, n))
    for history in by_slug.values():
        history.sort()
    worst, example = 0.0, {}
    for slug, started, shown, cache_status in seen:
        for finished, n in by_slug.get(slug, ()):
            if finished >= started:
                break
            if n > shown:
                if started - finished > worst:
                    worst = started - finished
                    example = {"item": slug, "showed_edit": shown, "lacked_edit": n, "x_cache_status": cache_status}
                break
    return worst, example


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


@dataclass
class RouteRun:
    """One route measured alone, by either client: answers, errors, throughput, latency and cache answers."""

    done: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    hits: int
    cache_statuses: dict[str, int]
    error_samples: list[str]
    retries: int = 0


def python_route_run(route: str, results: Results, seconds: float) -> RouteRun:
    """The Python client's counts for one route measured alone."""
    latencies = results.latencies[route]
    return RouteRun(
        done=results.done(route), errors=results.errors[route], rps=len(latencies) / seconds,
        p50_ms=percentile_ms(latencies, 50), p99_ms=percentile_ms(latencies, 99), max_ms=percentile_ms(latencies, 100),
        hits=results.cache_hits[route], cache_statuses=dict(results.cache_statuses),
        error_samples=results.error_samples, retries=results.retries)


def wrk_route_run(route: str, run: WrkRun) -> RouteRun:
    """wrk's counts for one route measured alone (only 2xx answers count towards its throughput)."""
    ok = sum(n for status, n in run.statuses.items() if status.startswith("2"))
    return RouteRun(
        done=run.requests, errors=run.errors, rps=ok / run.seconds if run.seconds else 0.0,
        p50_ms=run.p50_ms, p99_ms=run.p99_ms, max_ms=run.max_ms,
        hits=sum(n for status, n in run.cache_statuses.items() if status in CACHE_HITS),
        cache_statuses=dict(run.cache_statuses),
        error_samples=[f"{route}: {kind} x{n} (statuses {run.statuses})" for kind, n in run.error_kinds.items()])


def measure_routes(port: int, routes: tuple[str, ...], per_route: int, clients: int, slugs: Popularity,
                   first_seed: int) -> dict[str, RouteRun]:
    """Each route alone, one after another, with the Python client."""
    measured = {}
    for n, route in enumerate(routes, start=first_seed):
        results = Results()
        seconds = drive(port, (route,), per_route, clients, slugs, results, seed=n)
        measured[route] = python_route_run(route, results, seconds)
    return measured


def route_paths(route: str, count: int, slugs: Popularity, seed: int) -> list[tuple[str, str, str]]:
    """`count` requests for one route drawn by popularity, as (route, path, slug)."""
    rng = random.Random(seed)
    return [(route, *route_path(route, slugs, rng)) for _ in range(count)]


def write_paths_files(folder: Path, routes: tuple[str, ...], count: int, slugs: Popularity
                      ) -> dict[str, tuple[Path, list[tuple[str, str, str]]]]:
    """Each route's requests for wrk, a file of paths per route (the same for both targets); and the requests."""
    files = {}
    for n, route in enumerate(routes):
        paths = route_paths(route, count, slugs, seed=500 + n)
        file = folder / f"paths-{route}.txt"
        file.write_text("".join(f"{path}\n" for _, path, _ in paths))
        files[route] = (file, paths)
    return files


def warm_up(port: int, paths: list[tuple[str, str, str]], clients: int) -> dict:
    """Each distinct path once, in the order first drawn, with the Python client: what a site's cache holds once it
    has been up a while. Its misses are compulsory ones (a page's first reader), reported apart."""
    distinct: dict[str, tuple[str, str, str]] = {}
    for request in paths:
        distinct.setdefault(request[1], request)
    results = Results()
    seconds = drive(port, (), 0, clients, Popularity([], "uniform"), results, seed=0, paths=list(distinct.values()))
    done = sum(results.done(route) for route in ROUTES)
    return {"requests": done, "errors": sum(results.errors.values()),
            "hits": sum(results.cache_hits.values()), "seconds": round(seconds, 1),
            "cache_statuses": dict(sorted(results.cache_statuses.items())), "error_samples": results.error_samples}


def measure_routes_wrk(base_url: str, routes: tuple[str, ...], files: dict, args: argparse.Namespace,
                       warm_port: int | None = None) -> tuple[dict[str, RouteRun], dict[str, dict]]:
    """Each route alone with wrk for --duration seconds over its paths file; with `warm_port` (nginx), each
    cacheable route's pages are first asked for once each (`warm_up`). Returns the runs and the warm-ups."""
    measured, warm = {}, {}
    for route in routes:
        file, paths = files[route]
        if warm_port is not None and route in CACHEABLE_ROUTES:
            warm[route] = warm_up(warm_port, paths, args.clients)
        run = run_wrk(base_url, file, args.duration, args.clients, threads=args.wrk_threads)
        measured[route] = wrk_route_run(route, run)
        print(f"  wrk {route}: {run.requests} answers in {run.seconds:.1f} s, p99 {run.p99_ms:.1f} ms, "
              f"statuses {run.statuses}, X-Cache-Status {run.cache_statuses}; load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
    return measured, warm


def summarize(measured: dict[str, RouteRun]) -> dict:
    """Requests per second, p50, p99, max, errors and cache hits of each route measured alone."""
    summary = {"requests": 0, "errors": 0, "rps": {}, "p50_ms": {}, "p99_ms": {}, "max_ms": {}, "hits": {}}
    for route, run in measured.items():
        summary["requests"] += run.done
        summary["errors"] += run.errors
        summary["rps"][route] = round(run.rps, 1)
        for key in ("p50_ms", "p99_ms", "max_ms"):
            summary[key][route] = round(getattr(run, key), 1)
        summary["hits"][route] = run.hits
    return summary


def merged_statuses(counts: list[dict[str, int]]) -> dict[str, int]:
    """X-Cache-Status counts over several phases."""
    merged: dict[str, int] = defaultdict(int)
    for statuses in counts:
        for status, count in statuses.items():
            merged[status] += count
    return dict(sorted(merged.items()))


def hit_ratio(hits: dict[str, int], done: dict[str, int]) -> float:
    """Share of the cacheable routes' answers nginx gave from its cache."""
    asked = sum(done[route] for route in CACHEABLE_ROUTES if route in done)
    return round(sum(hits.get(route, 0) for route in CACHEABLE_ROUTES) / max(asked, 1), 3)


def print_table(title: str, summary: dict, measured: dict[str, RouteRun]) -> None:
    """One line per route."""
    print(f"\n{title}\n{'route':8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7} {'hits':>6}")
    for route, run in measured.items():
        hits = summary["hits"][route] / max(run.done, 1)
        print(f"{route:8} {summary['rps'][route]:9.1f} {summary['p50_ms'][route]:8.1f} {summary['p99_ms'][route]:8.1f} "
              f"{summary['max_ms'][route]:8.1f} {run.errors:7d} {hits:6.0%}")


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="requests in the mixed phase (and in all "
                        "the per-route phases together, per target)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--proxy", choices=("none", "nginx"), default="none",
                        help="nginx: also measure through the shipped deploy/nginx.conf, and run the mixed phase "
                             "through it")
    parser.add_argument("--max-age", type=int, default=60,
                        help="seconds pages may be kept (AFTERIMAGE_CACHE_MAX_AGE; default 60, the app's own "
                             "default; 5 makes pages expire again and again within the run)")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: deploy/gunicorn.conf.py's, from the core count)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default=None,
                        help="default: deploy/gunicorn.conf.py's")
    parser.add_argument("--threads", type=int, default=None, help="threads per gthread worker")
    parser.add_argument("--studio-server", type=int, default=2, metavar="WORKERS",
                        help="the author's requests go to a second gunicorn with this many workers, through nginx's "
                             "studio upstream when proxied, as docs/deployment.md sets up (default 2; 0: one server for both)")
    parser.add_argument("--mixed-rate", type=float, default=0.0, metavar="PER_SECOND",
                        help="readers' requests per second in the mixed phase, all clients together (default 0: each "
                             "client sends its next request as soon as it has an answer, which keeps gunicorn busy "
                             "with every miss)")
    parser.add_argument("--min-edits", type=int, default=10,
                        help="the mixed phase goes on past --requests until the import has returned and the author "
                        "has saved this many edits")
    parser.add_argument("--client", choices=("python", "wrk"), default="python",
                        help="who drives the readers-alone phases: this script's asyncio client (default) or wrk "
                             "(Debian's package) over a file of each route's --requests / 5 paths drawn by popularity, "
                             "for --duration seconds a route; through nginx each route's pages are asked for once "
                             "first (the warm-up, reported apart). The mixed phase always uses the Python client")
    parser.add_argument("--duration", type=int, default=10, help="seconds wrk measures each route (--client wrk)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk's threads (--client wrk; default 2)")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL cluster instead of SQLite")
    parser.add_argument("--popularity", choices=("zipf", "uniform"), default="zipf",
                        help="how readers pick items: Zipf (s=1, realistic) or uniform (every page cold)")
    parser.add_argument("--import-rows", type=int, default=200)
    parser.add_argument("--max-edits", type=int, default=200)
    parser.add_argument("--edit-pause", type=float, default=0.0,
                        help="seconds the author waits after each save (default 0: saves back to back)")
    parser.add_argument("--keep-logs", type=Path, default=None, metavar="FOLDER",
                        help="copy gunicorn's and nginx's logs (nginx's access log names each request's cache status "
                             "and gunicorn's answer, background updates included) into this folder")
    parser.add_argument("--trace", type=Path, default=None,
                        help="write the mixed phase's requests and the author's saves to this CSV file "
                             "(kind, started s, duration ms, hit, client), to find stalls in time")
    args = parser.parse_args()
    if args.client == "wrk":
        wrk_binary()  # fails now, with the package's name, rather than after the catalog is built
    return args


def gunicorn_settings(args: argparse.Namespace) -> dict:
    """Worker class, workers and threads as the server runs them: the shipped config's unless overridden."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gunicorn_conf", REPO / "deploy" / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return {"worker_class": args.worker_class or conf.worker_class, "workers": args.workers or conf.workers,
            "threads": args.threads or conf.threads}


def run_mixed_phase(port: int, author_url: str, slugs: Popularity, edited: list[tuple[int, str]],
                    args: argparse.Namespace, classify) -> tuple[Results, float, dict, dict]:
    """Readers on every route while the author edits and imports in two studio tabs (processes of their own, as
    she is a person on another machine: as threads of this process, their HTML parsing took the interpreter
    lock from the readers' loop). Returns the readers' results, the seconds, her merged log, CPU seconds."""
    mixed = Results(watched=frozenset(slug for _, slug in edited))
    if args.trace:
        mixed.trace = []
    processes = multiprocessing.get_context("fork")
    stop, done, imported, edits = processes.Event(), processes.Queue(), processes.Event(), processes.Value("i", 0)
    settings = {"import_rows": args.import_rows, "max_edits": args.max_edits, "edit_pause": args.edit_pause}
    writers = [processes.Process(target=run_author, args=(role, author_url, edited, stop, settings, done,
                                                          imported, edits))
               for role in ("import", "edit")]
    for writer in writers:
        writer.start()

    def author_busy() -> bool:
        """Whether the author has yet to finish her import or her first --min-edits saves."""
        alive = any(writer.is_alive() for writer in writers)
        return alive and (not imported.is_set() or edits.value < min(args.min_edits, args.max_edits))

    writer_pids = {writer.pid for writer in writers}
    with CpuShares(lambda pid, name, session: "author's tabs" if pid in writer_pids else classify(pid, name, session)
                   ) as cpu:
        seconds = drive(port, ROUTES, args.requests, args.clients, slugs, mixed, seed=99, keep_going=author_busy,
                        rate=args.mixed_rate)
    stop.set()
    log = merge_author_logs(settings, [done.get(timeout=PHASE_DEADLINE_S) for _ in writers])
    for writer in writers:
        writer.join(PHASE_DEADLINE_S)
    return mixed, seconds, log, cpu.seconds()


def main() -> None:
    """Build, serve, measure, check, print."""
    args = parse_args()
    settings = gunicorn_settings(args)
    proxied = args.proxy == "nginx"
    load_at_start = os.getloadavg()
    with throwaway_database(args.postgres, "afterimage-load-") as (url, workdir):
        extra_env = {"SECRET_KEY": "load-bench", "AFTERIMAGE_CACHE_MAX_AGE": str(args.max_age)}
        if proxied:
            extra_env["AFTERIMAGE_PROXY_COUNT"] = "1"
        env = {**os.environ, "DATABASE_URL": url, **extra_env}
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"database: {'PostgreSQL' if args.postgres else 'SQLite (WAL)'}; gunicorn (deploy/gunicorn.conf.py) "
              f"{settings['workers']} {settings['worker_class']} workers x {settings['threads']} threads; "
              f"{args.clients} clients; {'through nginx too' if proxied else 'no proxy'}; max-age {args.max_age} s",
              flush=True)
        server = AppServer(url, workers=settings["workers"], threads=args.threads, worker_class=args.worker_class,
                           extra_env=extra_env, log_path=workdir / "gunicorn.log")
        all_slugs, ids, unsavable = build_database(url, args.items, env)
        slugs = Popularity(all_slugs, args.popularity)
        id_of = dict(zip(all_slugs, ids))
        # The author edits the items readers read most, where a stale copy would show.
        most_read = [(id_of[slug], slug) for slug in slugs.most_read(EDITED_ITEMS * 2) if slug not in unsavable]
        edited, edited_alone = most_read[:EDITED_ITEMS], most_read[EDITED_ITEMS:EDITED_ITEMS + ALONE_EDITS]
        # The author's requests on a gunicorn of their own (nginx sends /studio/ there, as deploy/nginx-site.conf's
        # afterimage_studio upstream does in production); without it, both upstreams are the one server.
        studio = AppServer(url, workers=args.studio_server, threads=args.threads, worker_class=args.worker_class,
                           extra_env=extra_env, log_path=workdir / "studio.log") if args.studio_server else None
        proxy = NginxProxy(server.address, studio_upstream=studio.address if studio else None) if proxied else None
        per_route = max(args.requests // len(ROUTES), 1)

        server.start()
        try:
            if studio:
                studio.start()
            # Warm up each worker's model and templates, unmeasured.
            drive(server.port, ROUTES, 200, 8, slugs, Results(), seed=0)
            through, cold, warm = {}, Results(), {}
            if args.client == "wrk":
                # Each route's --requests / 5 paths, drawn by popularity once (as many as the Python client sends a
                # route): wrk walks them over and over, the same pages straight and through nginx.
                files = write_paths_files(workdir, ROUTES, per_route, slugs)
                direct, _ = measure_routes_wrk(server.base_url, ROUTES, files, args)
            else:
                direct = measure_routes(server.port, ROUTES, per_route, args.clients, slugs, first_seed=1)
            if proxy:
                proxy.start()
                if args.client == "wrk":
                    # Steady state: each route's pages are asked for once (the warm-up, its misses reported
                    # apart), then wrk measures that route.
                    through, warm = measure_routes_wrk(proxy.base_url, ROUTES, files, args, warm_port=proxy.port)
                else:
                    # First contact, unmeasured but counted: the cache fills as a site's does when it goes up.
                    drive(proxy.port, CACHEABLE_ROUTES, args.requests, args.clients, slugs, cold, seed=10)
                    through = measure_routes(proxy.port, ROUTES, per_route, args.clients, slugs, first_seed=11)
            front = proxy or server

            def classify(pid: int, name: str, session: int) -> str | None:
                """Who a process works for, for the mixed phase's CPU figures."""
                if session == server.process.pid:
                    return "gunicorn"
                if studio and session == studio.process.pid:
                    return "studio gunicorn"
                if proxy and session == proxy.process.pid:
                    return "nginx"
                if args.postgres and name == "postgres":
                    return "PostgreSQL"  # every PostgreSQL process on the machine
                return "load client" if pid == os.getpid() else None

            author_url = studio.base_url if studio and not proxy else front.base_url
            # Her saves with no reader about: the baseline of the mixed phase's saves.
            alone_log = author_log({"max_edits": len(edited_alone), "edit_pause": 0.0})
            author_edits(author_url, edited_alone, threading.Event(), alone_log, multiprocessing.Value("i", 0))
            mixed, mixed_seconds, log, cpu_s = run_mixed_phase(front.port, author_url, slugs, edited, args, classify)
        finally:
            if proxy:
                proxy.stop(keep_logs_in=args.keep_logs)
            if studio:
                studio.stop()
            server.stop()
        lost = lost_writes(url, log)
        if args.keep_logs:
            for name in ("gunicorn.log", "studio.log"):
                if (workdir / name).exists():
                    shutil.copyfile(workdir / name, args.keep_logs / name)
        if args.trace:
            write_trace(args.trace, mixed.trace, log["spans"])
        report = build_report(args, settings, direct, through, cold, warm, mixed, mixed_seconds, log, lost, cpu_s)
        report["author_save_ms_p50_alone"] = round(statistics.median(alone_log["edit_ms"]), 1) \
            if alone_log["edit_ms"] else None
        report["errors"] += alone_log["edit_failures"] + (1 if "author_error" in alone_log else 0)
        # The machine is shared: the 1, 5 and 15 minute load averages when the run began and ended.
        report["load_average"] = {"start": [round(x, 2) for x in load_at_start],
                                  "end": [round(x, 2) for x in os.getloadavg()]}
        print_report(report, direct, through, mixed, log, workdir)
        print(json.dumps(report))


def build_report(args, settings: dict, direct: dict, through: dict, cold: Results, warm: dict, mixed: Results,
                 mixed_seconds: float, log: dict, lost: int, cpu_s: dict) -> dict:
    """The figures, as the JSON line prints them."""
    alone = summarize(direct)
    mixed_done = sum(len(v) for v in mixed.latencies.values())
    mixed_errors = sum(mixed.errors.values()) + log["edit_failures"] + (1 if "author_error" in log else 0)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "database": "postgresql" if args.postgres else "sqlite", "items": args.items, "clients": args.clients,
        "popularity": args.popularity, "max_age_s": args.max_age, "gunicorn": settings,
        "client": args.client if args.client == "python" else
                  f"wrk (readers alone, {args.duration} s a route, {args.wrk_threads} threads); python (mixed)",
        "requests": alone["requests"] + mixed_done + sum(mixed.errors.values()),
        "errors": alone["errors"] + mixed_errors, "lost_writes": lost,
        "rps": alone["rps"], "p50_ms": alone["p50_ms"], "p99_ms": alone["p99_ms"], "max_ms": alone["max_ms"],
        "item_vs_hello": round(alone["rps"]["item"] / alone["rps"]["hello"], 3),
        "widget_vs_hello": round(alone["rps"]["widget"] / alone["rps"]["hello"], 3),
        "author_save_ms_p50": round(statistics.median(log["edit_ms"]), 1) if log["edit_ms"] else None,
        "author_import_s": round(log["import_s"], 2) if "import_s" in log else None,
        "author_form_and_save_ms_p50": round(statistics.median(log["round_ms"]), 1) if log["round_ms"] else None,
        "mixed": {
            "through": args.proxy if args.proxy != "none" else "gunicorn",
            "rps": round(mixed_done / mixed_seconds, 1), "rate_limit": args.mixed_rate or None,
            "errors": mixed_errors,
            "p50_ms": {r: round(percentile_ms(mixed.latencies[r], 50), 1) for r in ROUTES},
            "p99_ms": {r: round(percentile_ms(mixed.latencies[r], 99), 1) for r in ROUTES},
            "max_ms": {r: round(percentile_ms(mixed.latencies[r], 100), 1) for r in ROUTES},
            "cpu_s": cpu_s, "seconds": round(mixed_seconds, 1),
        },
        "author": {
            "edits": len(log["saves"]), "edit_pause_s": args.edit_pause,
            "server": f"a studio gunicorn of her own, {args.studio_server} workers" if args.studio_server else
                      "the readers' gunicorn", "edit_failures": log["edit_failures"],
            "edit_failure_statuses": log.get("edit_failure_statuses", []),
            "edit_failure_reasons": log.get("edit_failure_reasons", []),
            "import_status": log.get("import_status"), "import_rows": args.import_rows,
            "error": log.get("author_error"),
        },
        "retried_on_new_connection": sum(r.retries for r in [*direct.values(), *through.values()]) + mixed.retries,
    }
    if through:
        proxied = summarize(through)
        warm_requests = sum(w["requests"] for w in warm.values())
        warm_hits = sum(w["hits"] for w in warm.values())
        report["requests"] += proxied["requests"] + sum(cold.done(route) for route in CACHEABLE_ROUTES) + warm_requests
        report["errors"] += proxied["errors"] + sum(cold.errors.values()) + sum(w["errors"] for w in warm.values())
        cold_hit_ratio = round(warm_hits / max(warm_requests, 1), 3) if warm else \
            hit_ratio(cold.cache_hits, {route: cold.done(route) for route in CACHEABLE_ROUTES})
        done = {route: run.done for route, run in through.items()}
        mixed_done_by_route = {route: mixed.done(route) for route in ROUTES}
        stale_s, stale_copy = max_staleness(log["saves"], mixed.seen_edits)
        report["proxy"] = {
            "rps": proxied["rps"], "p50_ms": proxied["p50_ms"], "p99_ms": proxied["p99_ms"],
            "max_ms": proxied["max_ms"], "errors": proxied["errors"],
            "hit_ratio": hit_ratio(proxied["hits"], done),
            "hit_ratio_by_route": {r: round(proxied["hits"][r] / max(done[r], 1), 3) for r in CACHEABLE_ROUTES},
            "mixed_hit_ratio": hit_ratio(mixed.cache_hits, mixed_done_by_route),
            "cold_hit_ratio": cold_hit_ratio,
            "cache_statuses": merged_statuses([run.cache_statuses for run in through.values()]),
            "mixed_cache_statuses": dict(sorted(mixed.cache_statuses.items())),
            # Through nginx against /healthz straight to gunicorn, in this run.
            "item_vs_hello": round(proxied["rps"]["item"] / alone["rps"]["hello"], 3),
            "widget_vs_hello": round(proxied["rps"]["widget"] / alone["rps"]["hello"], 3),
            "max_stale_s": round(stale_s, 2), "max_stale_copy": stale_copy,
            "stale_checks": len(mixed.seen_edits),
        }
        if warm:
            # Each distinct page once before wrk measured its route: these misses are compulsory (a page's first
            # reader), so they are counted here and not in hit_ratio, which is the cache in steady state.
            report["proxy"]["warmup"] = {
                "requests": warm_requests, "misses": warm_requests - warm_hits, "hit_ratio": cold_hit_ratio,
                "seconds": round(sum(w["seconds"] for w in warm.values()), 1),
                "errors": sum(w["errors"] for w in warm.values()),
                "by_route": {route: {key: w[key] for key in ("requests", "hits", "seconds", "cache_statuses")}
                             for route, w in warm.items()},
            }
    return report


def print_report(report: dict, direct: dict, through: dict, mixed: Results, log: dict, workdir: Path) -> None:
    """The tables and the lines a person reads before the JSON."""
    print_table("straight to gunicorn, each route alone (nothing cached):", summarize(direct), direct)
    if through:
        print_table("through nginx, each route alone:", summarize(through), through)
    m = report["mixed"]
    print(f"\nmixed phase through {m['through']}: {m['rps']} req/s over all routes; p99 ms "
          + ", ".join(f"{r} {m['p99_ms'][r]}" for r in ROUTES))
    print(f"the author: {report['author']['edits']} saves (median {report['author_save_ms_p50']} ms, "
          f"{report['author_form_and_save_ms_p50']} ms with loading the form; "
          f"{report['author_save_ms_p50_alone']} ms with no reader about), "
          f"{report['author']['import_rows']} books imported (status {report['author']['import_status']}, "
          f"{report['author_import_s']} s)")
    print(f"CPU seconds in the mixed phase ({m['seconds']} s on {os.cpu_count()} cores): "
          + ", ".join(f"{group} {value}" for group, value in m["cpu_s"].items()))
    if "proxy" in report:
        p = report["proxy"]
        if "warmup" in p:
            w = p["warmup"]
            print(f"nginx warm-up (each page once before wrk measured its route): {w['requests']} requests, "
                  f"{w['misses']} misses (compulsory), {w['seconds']} s, {w['errors']} errors")
        print(f"nginx: hit ratio {p['cold_hit_ratio']} filling the cache, {p['hit_ratio']} per route, "
              f"{p['mixed_hit_ratio']} mixed (X-Cache-Status per route: {p['cache_statuses']}, mixed: "
              f"{p['mixed_cache_statuses']})")
        print(f"nginx: item/hello {p['item_vs_hello']}, "
              f"widget/hello {p['widget_vs_hello']}; longest a reader saw a replaced note: {p['max_stale_s']} s "
              f"({p['stale_checks']} copies checked, max-age {report['max_age_s']} s)")
    print(f"load average at the start {report.get('load_average', {}).get('start')}, now {os.getloadavg()}")
    print(f"errors: {report['errors']}; lost writes: {report['lost_writes']}; straight to gunicorn item/hello "
          f"{report['item_vs_hello']}, widget/hello {report['widget_vs_hello']}")
    for samples in [*(r.error_samples for r in [*direct.values(), *through.values()]), mixed.error_samples]:
        for line in samples[:10]:
            print("  error:", line)
    if "author_error" in log:
        print("  author:", log["author_error"])
    if report["errors"]:
        server_log = (workdir / "gunicorn.log").read_text(errors="replace").splitlines()
        notable = [line for line in server_log if any(
            word in line for word in ("[ERROR]", "[CRITICAL]", "[WARNING]", "Traceback", "Error:"))]
        print("  gunicorn log, notable lines:", *notable[-30:], sep="\n    ")


if __name__ == "__main__":
    main()
