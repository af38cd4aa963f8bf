"""The recommendations as the site serves them, at N items (default 10,000) on a real SQLite file.

Prints the full rebuild time, the item page's median server time through the test client (with its
recommendations) against the median of a page without them in the same run, and the median time to
save one new item (fold-in plus rewriting the affected neighbour rows, one commit). Last line: JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from recs_catalog import synthetic_catalog  # noqa: E402
from seed_catalog import seed_catalog  # noqa: E402

from afterimage.catalog.rules import ItemFields, save_item  # noqa: E402
from afterimage.extensions import db  # noqa: E402
from afterimage.recommendations import rebuild  # noqa: E402
from app import create_app  # noqa: E402


def median_ms(samples: list[float]) -> float:
    """Median of seconds, in milliseconds."""
    return statistics.median(samples) * 1000


def time_gets(client, paths: list[str]) -> list[float]:
    """Seconds per GET, each checked for a 200."""
    samples = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def main() -> None:
    """Build, then measure pages and fold-ins."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=10_000)
    parser.add_argument("--pages", type=int, default=300, help="item page views to time")
    parser.add_argument("--folds", type=int, default=30, help="new items to save and time")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="afterimage-bench-"))
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}"})
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with app.app_context():
        db.create_all()
        docs = synthetic_catalog(args.n)
        started = time.perf_counter()
        slugs = seed_catalog(docs)
        db.session.commit()
        seed_s = time.perf_counter() - started
        started = time.perf_counter()
        rebuild()
        db.session.commit()
        rebuild_s = time.perf_counter() - started
    print(f"seeded {args.n} items in {seed_s:.1f} s; full rebuild (fit, neighbours, reasons, store) {rebuild_s:.1f} s")

    client = app.test_client()
    step = max(1, len(slugs) // args.pages)
    sample = slugs[::step][: args.pages]
    time_gets(client, [f"/items/{s}" for s in sample[:20]])  # warm the caches and the template
    with_recs = time_gets(client, [f"/items/{s}" for s in sample])
    covers = time_gets(client, [f"/covers/{s}.svg" for s in sample])
    print(f"item page with recommendations: median {median_ms(with_recs):.2f} ms over {len(sample)} pages")
    print(f"baseline, cover SVG (one lookup, no recommendations): median {median_ms(covers):.2f} ms "
          f"-> item page is {median_ms(with_recs) / median_ms(covers):.1f}x the baseline")

    fold_samples = []
    with app.app_context():
        for n in range(args.folds):
            doc = docs[n]
            started = time.perf_counter()
            save_item(ItemFields(kind=doc.kind, title=f"{doc.title} revisited {n}", year=2001,
                                 creators=[(c, "director" if doc.kind == "film" else "author") for c in doc.creators],
                                 tags=list(doc.tags), description=doc.description))
            db.session.commit()
            fold_samples.append(time.perf_counter() - started)
    print(f"save one new item (fold-in + affected neighbour rows + model, one commit): "
          f"median {median_ms(fold_samples):.1f} ms over {args.folds}")
    print(json.dumps({
        "n": args.n, "rebuild_s": round(rebuild_s, 2), "item_page_ms": round(median_ms(with_recs), 2),
        "baseline_page_ms": round(median_ms(covers), 2), "save_item_ms": round(median_ms(fold_samples), 1),
    }))


if __name__ == "__main__":
    main()
