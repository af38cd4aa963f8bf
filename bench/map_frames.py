"""How smoothly the collection map (/map) draws a large catalog in a real headless Chromium.

Builds a throwaway SQLite catalog of `--items` synthetic items (10,000 by default) with its recommendation model
and map (`flask recs rebuild`), serves it on 127.0.0.1 and opens /map in the system Chromium (as tests/browser
does). Then, in the page:

- the baseline: the interval between animation frames of the same page while nothing is drawn;
- `--frames` animation frames that each pan and zoom the map a little and redraw every point: the time of
  each draw (map.js's own timing of its drawing code) and the interval between frames.

Prints medians and 95th percentiles in milliseconds, and as its last line one JSON object.
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

from conditional import fill_catalog  # noqa: E402
from load_client import throwaway_database  # noqa: E402

from app import create_app  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS, LiveServer, chromium_path  # noqa: E402

# Each frame pans a few pixels and zooms a little in then out, as a reader's drag or pinch does.
ANIMATE = """(frames) => new Promise(resolve => {
  const map = window.afterimageMap, intervals = [];
  const before = map.frameTimes().length;
  let last = null, n = 0;
  function frame(now) {
    if (last !== null) intervals.push(now - last);
    last = now;
    if (n++ >= frames) { resolve({draws: map.frameTimes().slice(before), intervals}); return; }
    map.panBy(3, 2);
    map.zoomBy(n % 20 < 10 ? 1.03 : 1 / 1.03);
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
})"""
IDLE = """(frames) => new Promise(resolve => {
  const intervals = []; let last = null, n = 0;
  function frame(now) {
    if (last !== null) intervals.push(now - last);
    last = now;
    if (n++ >= frames) { resolve(intervals); return; }
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
})"""


def p95(values: list[float]) -> float:
    """The 95th percentile."""
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def main() -> None:
    """Build, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with throwaway_database(False, "afterimage-map-bench-") as (url, _):
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False})
        started = time.perf_counter()
        fill_catalog(app, args.items)
        build_s = time.perf_counter() - started
        server = LiveServer(app)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport={"width": args.width, "height": args.height})
                started = time.perf_counter()
                page.goto(server.url + "/map")
                page.wait_for_selector(".map-canvas[data-points]", timeout=120_000)
                load_s = time.perf_counter() - started
                points = int(page.get_attribute(".map-canvas", "data-points"))
                json_bytes = len(page.request.get(server.url + "/map.json").body())
                idle = page.evaluate(IDLE, args.frames)
                drawn = page.evaluate(ANIMATE, args.frames)
                browser.close()
        finally:
            server.stop()
    result = {
        "items": args.items, "points": points, "build_s": round(build_s, 1), "page_load_s": round(load_s, 2),
        "map_json_bytes": json_bytes,
        "idle_interval_ms_p50": round(statistics.median(idle), 2), "idle_interval_ms_p95": round(p95(idle), 2),
        "draw_ms_p50": round(statistics.median(drawn["draws"]), 2), "draw_ms_p95": round(p95(drawn["draws"]), 2),
        "frame_interval_ms_p50": round(statistics.median(drawn["intervals"]), 2),
        "frame_interval_ms_p95": round(p95(drawn["intervals"]), 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
    }
    print(f"{points} points, /map.json {json_bytes / 1024:.0f} KiB, page ready in {load_s:.2f} s "
          f"(catalog, model and map built in {build_s:.0f} s)")
    print(f"{'':28}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'frame interval, idle':28}{result['idle_interval_ms_p50']:>10}{result['idle_interval_ms_p95']:>10}")
    print(f"{'frame interval, drawing':28}{result['frame_interval_ms_p50']:>10}{result['frame_interval_ms_p95']:>10}")
    print(f"{'draw (map.js)':28}{result['draw_ms_p50']:>10}{result['draw_ms_p95']:>10}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
