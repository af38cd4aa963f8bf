"""Where to go after a form: a `next` address is followed only when it is a path on this site."""
from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit, urlunsplit


def local_path(target: str | None, under: str = "/") -> str | None:
    """`target` as a path on this site below `under` ("/studio"), normalised; None when it is anything else.

    Refused: a scheme or a host ("https://evil.example", "//evil.example"), backslashes (browsers read "/\\evil"
    as "//evil"), and control or invisible format characters: browsers drop tabs and newlines from URLs, so
    "/\\t/evil.example" becomes "//evil.example", and CR/LF cannot go into a Location header at all.
    """
    if not target or len(target) > 2000 or "\\" in target:
        return None
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    path = parts.path
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//"):
        return None
    root = under.rstrip("/")
    if root and path != root and not path.startswith(root + "/"):
        return None
    return urlunsplit(("", "", path, parts.query, parts.fragment))


def next_or(target: str | None, fallback: str, under: str = "/") -> str:
    """The `next` address when it is a path on this site below `under`, else the fallback."""
    return local_path(target, under) or fallback
