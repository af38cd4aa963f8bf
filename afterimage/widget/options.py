"""Widget options from a query string, validated strictly: a bad value is a 400 whose message names the fix."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import abort, request

from afterimage.http.query_args import limit_arg

KIND_CHOICES = {"both": ("film", "book"), "films": ("film",), "books": ("book",)}
THEMES = ("auto", "light", "dark")
DEFAULT_ACCENT = "#b3472f"
# The accent goes into CSS, so only plain hex colours pass; the "#" may be left out because a raw "#"
# in a URL starts the fragment and never reaches the server.
ACCENT = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
TRUE, FALSE = ("1", "true", "yes", "on", ""), ("0", "false", "no", "off")
# Iframe heights for hosts that cannot run the resize listener; the page scrolls beyond them.
FIXED_HEIGHT = {False: 660, True: 400}
DEFAULT_WIDTH = 560


def frame_height(compact: bool = False) -> int:
    """The fixed iframe height for embed code: enough for the default options at 560 pixels wide."""
    return FIXED_HEIGHT[bool(compact)]


@dataclass(frozen=True)
class WidgetOptions:
    """How one embed looks: how many recommendations of which kinds, theme, accent colour, compactness."""

    limit: int
    kind: str = "both"
    theme: str = "auto"
    accent: str = DEFAULT_ACCENT
    compact: bool = False

    @property
    def kinds(self) -> tuple[str, ...]:
        """The item kinds to recommend."""
        return KIND_CHOICES[self.kind]

    @property
    def height(self) -> int:
        """The iframe height to use when the host page cannot resize it."""
        return FIXED_HEIGHT[self.compact]


def normalise_accent(value: str) -> str | None:
    """"#abc", "abc" or "#aabbcc" as lowercase "#aabbcc"; None for anything else."""
    match = ACCENT.fullmatch(value.strip())
    if not match:
        return None
    digits = match.group(1).lower()
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits)


def widget_options() -> WidgetOptions:
    """The options of this request; a value outside the documented choices aborts with 400."""
    args = request.args
    kind = args.get("kind", "both") or "both"
    if kind not in KIND_CHOICES:
        abort(400, "kind must be films, books or both.")
    theme = args.get("theme", "auto") or "auto"
    if theme not in THEMES:
        abort(400, "theme must be light, dark or auto.")
    accent = normalise_accent(args.get("accent") or DEFAULT_ACCENT)
    if accent is None:
        abort(400, "accent must be a hex colour such as %23b3472f or b3472f (#rgb or #rrggbb).")
    compact = args.get("compact", "0").lower()
    if compact not in TRUE + FALSE:
        abort(400, "compact must be 1 or 0.")
    return WidgetOptions(limit=limit_arg(), kind=kind, theme=theme, accent=accent, compact=compact in TRUE)
