"""The read-only JSON API, version 1: items, recommendations, lists and tags, open to any origin for GET."""
from afterimage.api.routes import bp

__all__ = ["bp"]
