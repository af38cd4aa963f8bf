"""Atom feeds (RFC 4287): new items, new and updated lists, the items of one list, and new items per tag."""
from afterimage.feeds.routes import bp

__all__ = ["bp"]
