"""Generated SVG covers for items without a cover image: the title on a colour of its tag family."""
from __future__ import annotations

import re
import textwrap
from xml.sax.saxutils import escape, quoteattr

from afterimage.catalog.models import Item
from afterimage.catalog.rules import year_label

FAMILY_COLOURS = {
    "war": ("#7a2e21", "#f6e7e1"),
    "memory": ("#3d4f73", "#e6ebf5"),
    "french-new-wave": ("#1f1f1f", "#f2efe6"),
    "korean-women-writers": ("#2f6b57", "#e3f1ea"),
    "other": ("#5b4a72", "#efe9f6"),
}
DEFAULT_FAMILY = "other"
# Characters XML 1.0 cannot hold at all, even escaped (most C0 controls, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Text as XML character data: markup escaped, characters XML forbids dropped."""
    return escape(_NOT_XML.sub("", text))


def xml_attribute(text: str) -> str:
    """Text as a quoted XML attribute value, quotes included: a title with '"' cannot add an attribute."""
    return quoteattr(_NOT_XML.sub("", text), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def family_of(item: Item) -> str:
    """The first tag family among the item's tags that has its own colour."""
    for tag in item.tags:
        if tag.family in FAMILY_COLOURS and tag.family != DEFAULT_FAMILY:
            return tag.family
    return DEFAULT_FAMILY


def placeholder_svg(item: Item) -> str:
    """A 2:3 poster with the title, year and maker, readable by screen readers through its <title>."""
    background, ink = FAMILY_COLOURS[family_of(item)]
    lines = textwrap.wrap(item.title, width=16)[:5] or [item.title[:16]]
    maker = ", ".join(c.name for c in item.makers[:2])
    tspans = "".join(
        f'<tspan x="20" dy="{0 if i == 0 else 30}">{xml_text(line)}</tspan>' for i, line in enumerate(lines)
    )
    # Cut before escaping: cutting after could split an entity ("&am") and break the XML.
    subtitle = xml_text(" · ".join(p for p in (year_label(item.year), maker) if p)[:60])
    label = f"{item.kind_label}: {item.title}"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 300" width="200" height="300" '
        f'role="img" aria-label={xml_attribute(label)}><title>{xml_text(label)}</title>'
        f'<rect width="200" height="300" fill="{background}"/>'
        f'<rect x="10" y="10" width="180" height="280" fill="none" stroke="{ink}" stroke-opacity=".35"/>'
        f'<text x="20" y="60" fill="{ink}" font-family="Georgia, serif" font-size="22">{tspans}</text>'
        f'<text x="20" y="270" fill="{ink}" font-family="Helvetica, Arial, sans-serif" font-size="11" '
        f'opacity=".85">{subtitle}</text>'
        f'<text x="180" y="35" fill="{ink}" font-family="Helvetica, Arial, sans-serif" font-size="10" '
        f'text-anchor="end" letter-spacing="2">{item.kind.upper()}</text></svg>'
    )
