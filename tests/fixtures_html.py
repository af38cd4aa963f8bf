"""Reading the order of links off a rendered page, for tests that check what readers see and in what order."""
from __future__ import annotations

from html.parser import HTMLParser


class LinksInside(HTMLParser):
    """The slugs linked under `prefix` inside the first element matching `marker`, in page order.

    The marker is a class name ("grid") or an attribute and its value ('aria-labelledby="recs-watch"').
    """

    def __init__(self, marker: str, prefix: str):
        super().__init__()
        name, _, value = marker.partition("=")
        self.attribute, self.value = (name, value.strip('"')) if value else ("class", marker)
        self.prefix = prefix
        self.tag, self.depth, self.done = None, 0, False
        self.slugs: list[str] = []

    def matches(self, attrs: dict) -> bool:
        """True for the element the marker names."""
        found = attrs.get(self.attribute) or ""
        return self.value in found.split() if self.attribute == "class" else found == self.value

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            self.depth += tag == self.tag
            href = attrs.get("href") or ""
            if tag == "a" and href.startswith(self.prefix):
                slug = href.removeprefix(self.prefix).split("?")[0]
                if slug not in self.slugs:
                    self.slugs.append(slug)
        elif not self.done and self.matches(attrs):
            self.tag, self.depth = tag, 1

    def handle_endtag(self, tag):
        if self.depth and tag == self.tag:
            self.depth -= 1
            self.done = self.depth == 0


def linked_slugs(html: str, marker: str, prefix: str = "/items/") -> list[str]:
    """The slugs linked inside the first element the marker names; fails if the page has no such element."""
    parser = LinksInside(marker, prefix)
    parser.feed(html)
    assert parser.done, f"no element {marker!r} on the page"
    return parser.slugs
