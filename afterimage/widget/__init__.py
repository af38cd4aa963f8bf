"""The embeddable widget (iframe pages and widget.js) and the oEmbed provider."""
from afterimage.widget.routes import bp

__all__ = ["bp"]
