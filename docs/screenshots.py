"""Screenshots of real pages for the README and reviews: `.venv/bin/python docs/screenshots.py`.

Loads the demo catalog into a throwaway SQLite file, serves the site on 127.0.0.1, and has the system
Chromium (/usr/bin/chromium, driven by Playwright) photograph each page at a desktop and a phone width
into docs/img/. Run it again after changing a template or the stylesheet.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from afterimage.catalog.demo import load_demo_catalog  # noqa: E402
from afterimage.extensions import db  # noqa: E402
from app import create_app  # noqa: E402

OUT = Path(__file__).resolve().parent / "img"
PAGES = {
    "home": "/",
    "item": "/items/hiroshima-mon-amour-1959",
    "list": "/lists/hiroshima-and-its-afterimages-films-and-books",
    "search": "/search?q=resnais",
    "widget": "/widget/items/hiroshima-mon-amour-1959",
}
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
CHROMIUM = "/usr/bin/chromium"


def serve_demo(folder: Path):
    """The site on the demo catalog, on a free port of 127.0.0.1, from a thread; returns (server, base URL)."""
    app = create_app({"SECRET_KEY": "screenshots", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'demo.db'}"})
    with app.app_context():
        db.create_all()
        load_demo_catalog()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", nargs="*", default=list(PAGES), choices=list(PAGES))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        server, base = serve_demo(Path(folder))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                for width_name, (width, height) in WIDTHS.items():
                    page = browser.new_page(viewport={"width": width, "height": height})
                    for name in args.pages:
                        page.goto(base + PAGES[name], wait_until="networkidle")
                        target = OUT / f"{name}-{width_name}.png"
                        page.screenshot(path=str(target), full_page=False)
                        print(target.relative_to(OUT.parent.parent))
                    page.close()
                browser.close()
        finally:
            server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
