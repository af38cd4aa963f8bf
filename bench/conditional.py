"""What a reader's conditional request costs the app when her copy is current, against a full render, in process.

Builds a throwaway SQLite catalog (`--items` synthetic items, 10,000 by default as in bench/load.py; 0 for the
demo catalog), then through Flask's test client, in rounds that interleave over the item pages:

- `/healthz`: the floor of a request through Flask;
- a full render of an item page (no validator): what a miss costs;
- the same page with `If-None-Match` carrying its ETag: must answer 304 without rendering a template.

Templates rendered are counted with Flask's `template_rendered` signal. Prints the median of each in
milliseconds and the ratios, then as its last line one JSON object.
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from flask import template_rendered  # noqa: E402
from load_client import throwaway_database  # noqa: E402

from afterimage.catalog.models import Item  # noqa: E402
from afterimage.database import create_schema  # noqa: E402
from afterimage.extensions import db  # noqa: E402
from app import create_app  # noqa: E402


def fill_catalog(app, items: int) -> list[str]:
    """The demo catalog (items=0) or a synthetic one with its recommendation model; return the item slugs."""
    with app.app_context():
        create_schema()
        if items:
            from recs_catalog import synthetic_catalog
            from seed_catalog import seed_catalog

            seed_catalog(synthetic_catalog(items))
            db.session.commit()
        else:
            from afterimage.catalog.demo import load_demo_catalog

            load_demo_catalog()
        result = app.test_cli_runner().invoke(args=["recs", "rebuild"])
        assert result.exit_code == 0, result.output
        return list(db.session.scalars(db.select(Item.slug).order_by(Item.id)))


class Renders:
    """Counts the templates Flask renders."""

    def __init__(self, app) -> None:
        self.count = 0
        template_rendered.connect(self.rendered, app)

    def rendered(self, sender, template, context, **extra) -> None:
        """The signal's receiver."""
        self.count += 1


def timed(client, path: str, headers: dict, expected: int) -> tuple[float, float, object]:
    """Wall and CPU seconds for one request through the test client, body read; the status is checked.

    CPU time (this thread's) is what the request cost the server; on 2 shared cores wall time also counts
    whatever else the machine was doing."""
    started, started_cpu = time.perf_counter(), time.thread_time()
    response = client.get(path, headers=headers)
    response.get_data()
    seconds, cpu = time.perf_counter() - started, time.thread_time() - started_cpu
    assert response.status_code == expected, (path, response.status_code, expected)
    return seconds, cpu, response


def main() -> None:
    """Build, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000, help="synthetic items (0: the demo catalog)")
    parser.add_argument("--pages", type=int, default=300, help="item pages measured in each round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with throwaway_database(False, "afterimage-conditional-") as (url, _):
        app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
        started = time.perf_counter()
        slugs = fill_catalog(app, args.items)
        print(f"catalog of {len(slugs)} items ready in {time.perf_counter() - started:.1f} s", flush=True)
        paths = [f"/items/{slug}" for slug in slugs[:: max(1, len(slugs) // args.pages)]][: args.pages]
        client = app.test_client()
        renders = Renders(app)
        etags = {}
        for path in paths:  # warm: model loaded, templates compiled, each page's validator known
            _, _, response = timed(client, path, {}, 200)
            etags[path] = response.headers["ETag"]
        samples: dict[str, list[float]] = {"healthz": [], "full render": [], "304": []}
        cpu_samples: dict[str, list[float]] = {name: [] for name in samples}
        rendered: dict[str, int] = dict.fromkeys(samples, 0)
        for _ in range(args.rounds):
            for path in paths:
                for name, target, headers, status in (
                    ("healthz", "/healthz", {}, 200),
                    ("full render", path, {}, 200),
                    ("304", path, {"If-None-Match": etags[path]}, 304),
                ):
                    before = renders.count
                    seconds, cpu, _ = timed(client, target, headers, status)
                    samples[name].append(seconds)
                    cpu_samples[name].append(cpu)
                    rendered[name] += renders.count - before

        medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
        cpu_medians = {name: statistics.median(values) * 1000 for name, values in cpu_samples.items()}
        requests = len(paths) * args.rounds
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; SQLite; "
              f"{len(slugs)} items; {len(paths)} item pages x {args.rounds} rounds")
        for name, median in medians.items():
            print(f"{name:12} median {median:7.3f} ms (CPU {cpu_medians[name]:7.3f} ms)  "
                  f"{median / medians['full render']:6.3f} x a full render  "
                  f"templates rendered per request {rendered[name] / requests:.2f}")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        print(json.dumps({
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "items": len(slugs), "requests_each": requests,
            "median_ms": {name: round(value, 3) for name, value in medians.items()},
            "median_cpu_ms": {name: round(value, 3) for name, value in cpu_medians.items()},
            "load_average": round(os.getloadavg()[0], 1),
            "not_modified_vs_full_render": round(medians["304"] / medians["full render"], 4),
            "templates_per_request": {name: round(count / requests, 3) for name, count in rendered.items()},
            "not_modified_under_1ms": cpu_medians["304"] < 1.0 and rendered["304"] == 0,
            "full_render_at_most_5ms": cpu_medians["full render"] <= 5.0,
        }))


if __name__ == "__main__":
    main()
