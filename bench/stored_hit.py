"""What one stored page's hit costs inside an app server, against the trivial route, on SQLite or PostgreSQL.

Loads the demo catalog into a throwaway database (a SQLite file, or with `--postgres` a throwaway
PostgreSQL cluster on 127.0.0.1), stores its item pages by asking for each once, then calls the WSGI app
directly (no sockets, no HTTP parsing) in rounds that interleave:

- `/healthz` through Flask: the baseline;
- an item page answered from the page store, as a browser asks for it (gzip accepted);
- on PostgreSQL, the same hit read through the application's own pool, which pings the server and
  wraps the read in a transaction: what every hit cost before `database.row_reader`.

Prints the median microseconds of each and its ratio to the baseline; last line, one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from load_client import throwaway_database  # noqa: E402
from werkzeug.test import EnvironBuilder, run_wsgi_app  # noqa: E402

from afterimage import database  # noqa: E402
from afterimage.database import create_schema  # noqa: E402
from afterimage.demo import load_demo_catalog  # noqa: E402
from afterimage.extensions import db  # noqa: E402
from afterimage.models import Item  # noqa: E402
from app import create_app  # noqa: E402

HOST = "127.0.0.1:5000"


def environ(path: str) -> dict:
    """A browser's plain GET, as gunicorn would hand it to the app."""
    return EnvironBuilder(path=path, base_url=f"http://{HOST}", headers={"Accept-Encoding": "gzip, deflate, br"}
                          ).get_environ()


def call(app, path: str) -> tuple[str, dict]:
    """Status and headers of one request through the whole WSGI stack, body read and closed."""
    body, status, headers = run_wsgi_app(app.wsgi_app, environ(path))
    b"".join(body)
    getattr(body, "close", lambda: None)()
    return status, headers


def time_calls(app, paths: list[str]) -> list[float]:
    """Seconds per request, each checked for a 200."""
    samples = []
    for path in paths:
        started = time.perf_counter()
        status, _ = call(app, path)
        samples.append(time.perf_counter() - started)
        assert status.startswith("200"), (path, status)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL cluster instead of SQLite")
    parser.add_argument("--rounds", type=int, default=15, help="rounds over every item page, each kind in turn")
    args = parser.parse_args()

    with throwaway_database(args.postgres, "afterimage-hit-") as (url, _):
        app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "PUBLIC_URL": f"http://{HOST}"})
        with app.app_context():
            create_schema()
            load_demo_catalog()
            slugs = list(db.session.scalars(db.select(Item.slug).order_by(Item.id)))
        paths = [f"/items/{slug}" for slug in slugs]
        for path in paths:  # stored by its first reader
            call(app, path)
        assert all(call(app, path)[1].get("X-Page-Cache") == "hit" for path in paths), "pages were not stored"

        kinds = {"healthz": ["/healthz"] * len(paths), "item hit": paths}
        samples: dict[str, list[float]] = {name: [] for name in kinds}
        if args.postgres:
            samples["item hit, pinging pool"] = []
        for _ in range(args.rounds):
            for name, batch in kinds.items():
                samples[name] += time_calls(app, batch)
            if args.postgres:
                with mock.patch.object(database, "row_reader", lambda engine: engine):
                    samples["item hit, pinging pool"] += time_calls(app, paths)

        medians = {name: statistics.median(values) * 1e6 for name, values in samples.items()}
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; {len(paths)} item pages x {args.rounds} rounds")
        for name, median in medians.items():
            print(f"{name:26} median {median:8.1f} us   {median / medians['healthz']:5.2f} x /healthz")
        print(json.dumps({
            "database": "postgresql" if args.postgres else "sqlite",
            "median_us": {name: round(value, 1) for name, value in medians.items()},
            "ratio_to_healthz": {name: round(value / medians["healthz"], 3) for name, value in medians.items()},
        }))

if __name__ == "__main__":
    main()
