"""Screenshots of real pages for the README: `make screenshots` (or `.venv/bin/python scripts/screenshots.py`).

Loads the demo catalog into a throwaway SQLite file in a temporary folder, serves the site on 127.0.0.1 and a
blog post embedding the widget on a second port (another origin, as a reader's browser sees it), and has the
system Chromium (/usr/bin/chromium, driven by Playwright) photograph each page into docs/img/. An image over
the size budget is reduced to 256 colours, which the site's flat colours survive. `--review` photographs
every public page at both widths into test-artifacts/screenshots/ instead, for looking over a change.
"""
from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from afterimage.catalog.demo import load_demo_catalog  # noqa: E402
from afterimage.extensions import db  # noqa: E402
from afterimage.widget.assets import resize_listener  # noqa: E402
from app import create_app  # noqa: E402

OUT = ROOT / "docs" / "img"
REVIEW_OUT = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
MAX_BYTES = 250_000
DESKTOP = (1280, 800)
DESKTOP_TALL = (1280, 980)  # the blog post's heading and the whole widget below it
PHONE = (390, 844)
ITEM = "hiroshima-mon-amour-1959"
# The host page stands for the path of a blog post; the widget is the site's own page on the other origin.
BLOG_POST = "blog-post"


@dataclass(frozen=True)
class Shot:
    """One screenshot: the file, the page (a path of the site, or the blog post), the viewport."""

    name: str
    path: str
    viewport: tuple[int, int]
    caption: str


README_SHOTS = [
    Shot("home-1280.png", "/", DESKTOP, "The home page: her latest films and books, lists and tags."),
    Shot("item-1280.png", f"/items/{ITEM}", DESKTOP,
         "An item page: her note and rating, and films and books like it, each with its reason."),
    Shot("item-390.png", f"/items/{ITEM}", PHONE, "The same item page on a phone."),
    Shot("widget-1280.png", BLOG_POST, DESKTOP_TALL,
         "The “If you liked this” widget embedded in a blog post on another site."),
    Shot("list-390.png", "/lists/8-korean-books-written-by-women-every-reader-should-read-once", PHONE,
         "One of her curated lists on a phone."),
]
REVIEW_PAGES = {
    "home": "/", "item": f"/items/{ITEM}", "list": "/lists/hiroshima-and-its-afterimages-films-and-books",
    "tag": "/tags/war", "search": "/search?q=resnais", "map": "/map", "widget-page": "/widget/",
    "widget": BLOG_POST,
}


def blog_post(site_url: str) -> str:
    """A reader's blog on another origin, embedding the widget with the iframe code the studio gives her."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What I watched this week</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:18px/1.6 Georgia,serif;color:#222;background:#fbfaf7;max-width:40em;margin:1.5em auto;padding:0 1em}}
h1{{font-size:2em;margin:0 0 .2em}}.meta{{color:#777;font-size:.9em;margin:0 0 1.5em}}</style></head>
<body>
<h1>What I watched this week</h1>
<p class="meta">Sunday, 6 December</p>
<p>Resnais's first feature still feels like a film from next year. If it stayed with you too, here is where
to go next, from my catalog:</p>
<iframe src="{site_url}/widget/items/{ITEM}" width="560" height="660" title="If you liked this" loading="lazy"
  frameborder="0" data-afterimage></iframe>
{resize_listener(site_url)}
</body></html>"""


def serve(wsgi_app) -> tuple[object, str]:
    """A WSGI app on a free port of 127.0.0.1, from a thread; returns (server, base URL)."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def demo_site(folder: Path):
    """The site on the demo catalog (and its recommendations), in a SQLite file in `folder`."""
    app = create_app({"SECRET_KEY": "screenshots", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'demo.db'}"})
    with app.app_context():
        db.create_all()
        load_demo_catalog()
    return app


def blog(site_url: str):
    """The blog's WSGI app: the post at /, nothing else."""
    page = blog_post(site_url).encode()

    def app(environ, start_response):
        if environ["PATH_INFO"] != "/":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page]

    return app


def small_png(png: bytes) -> bytes:
    """The screenshot as is when within the budget, else reduced to 256 colours."""
    if len(png) <= MAX_BYTES:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def photograph(browser, url: str, viewport: tuple[int, int], target: Path, widget: bool) -> int:
    """Open a page at a viewport (a phone at twice the pixels, as phones draw), wait until it has settled, and
    write its first screen; returns the file's size."""
    width, height = viewport
    context = browser.new_context(viewport={"width": width, "height": height},
                                  device_scale_factor=2 if width < 600 else 1, color_scheme="light",
                                  reduced_motion="reduce")
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    if widget:  # the frame resizes itself to its content once loaded
        page.frame_locator("iframe[data-afterimage]").locator(".card, li").first.wait_for()
        page.wait_for_function("document.querySelector('iframe[data-afterimage]').style.height !== ''")
    page.evaluate("document.fonts.ready")
    png = small_png(page.screenshot(full_page=False))
    context.close()
    target.write_bytes(png)
    return len(png)


def main() -> int:
    """Photograph the README's pages (or, with --review, every public page at both widths)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--review", action="store_true", help="every public page at 1280 and 390 px, into "
                                                               "test-artifacts/screenshots/")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if args.review:
        out = REVIEW_OUT
        shots = [Shot(f"{name}-{size[0]}.png", path, size, "") for name, path in REVIEW_PAGES.items()
                 for size in (DESKTOP, PHONE)]
    else:
        out, shots = OUT, README_SHOTS
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        site, site_url = serve(demo_site(Path(folder)))
        host, host_url = serve(blog(site_url))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                for shot in shots:
                    widget = shot.path == BLOG_POST
                    url = host_url + "/" if widget else site_url + shot.path
                    size = photograph(browser, url, shot.viewport, out / shot.name, widget)
                    print(f"{(out / shot.name).relative_to(ROOT)}  {size // 1000} KB")
                    if size > MAX_BYTES and not args.review:
                        print(f"  over the {MAX_BYTES // 1000} KB budget", file=sys.stderr)
                browser.close()
        finally:
            host.shutdown()
            site.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
