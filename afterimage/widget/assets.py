"""The widget's CSS and scripts, read once from static/widget/ and lightly minified."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from flask import current_app

CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def widget_file(name: str) -> str:
    """A file of static/widget/."""
    return (Path(current_app.static_folder) / "widget" / name).read_text(encoding="utf-8")


def minify_css(css: str) -> str:
    """Drop comments and the whitespace around punctuation; enough for a hand-written sheet."""
    css = CSS_COMMENT.sub("", css)
    css = re.sub(r"\s+", " ", css)
    return re.sub(r"\s*([{}:;,>])\s*", r"\1", css).replace(";}", "}").strip()


def minify_js(script: str) -> str:
    """Drop the leading comment block, whole-line comments and indentation; safe for widget.js as written."""
    script = re.sub(r"\A/\*.*?\*/\s*", "", script, flags=re.S)
    lines = (line.strip() for line in script.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


@lru_cache(maxsize=4)
def _assets(static_folder: str) -> dict[str, str]:
    css = minify_css(widget_file("widget.css"))
    script = minify_js(widget_file("widget.js")).replace('"__WIDGET_CSS__"', json.dumps(css))
    return {"css": css, "resize": widget_file("resize.js").strip(), "script": script}


def widget_css() -> str:
    """The shared widget stylesheet, minified."""
    return _assets(current_app.static_folder)["css"]


def resize_script() -> str:
    """The iframe page's script that reports its height to the host page."""
    return _assets(current_app.static_folder)["resize"]


def embed_script() -> str:
    """widget.js with the stylesheet built in, as served to host pages."""
    return _assets(current_app.static_folder)["script"]


def csp_hash(source: str) -> str:
    """A CSP source expression allowing exactly this inline script or style."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def resize_listener(origin: str) -> str:
    """The optional line for host pages: fit each widget iframe to the height it reports, from our origin only."""
    return (
        '<script>addEventListener("message",function(e){if(e.origin!=="' + origin + '"||!e.data||'
        'e.data.type!=="afterimage:resize")return;document.querySelectorAll("iframe[data-afterimage]")'
        '.forEach(function(f){if(f.contentWindow===e.source){f.style.height=e.data.height+"px";'
        'f.style.maxWidth="100%"}})})</script>'
    )
