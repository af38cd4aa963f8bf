"""Cyclic garbage collection between requests, never in the middle of one.

On CPython 3.11 with a large SQLite catalog, rendering tag pages and widgets crashed the process with
SIGSEGV (PYTHONMALLOC=debug shows a freed block still in use) whenever the cyclic collector ran in the
middle of a request; the same sequence of 362 pages, reproducible to the page, ran clean with collection
moved between requests, and with the collector off. The crash predates the page store; its root cause
(some extension's reference that the collector cannot see) is not found. Reference counting still frees
almost everything at once; only cycles wait for the end of the request.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.wsgi import ClosingIterator

# Young generations after every request (well under a millisecond); everything now and then. A full
# collection walks the whole heap (110 ms with a 10,000-item model loaded), so what survives one is frozen
# (gc.freeze): long-lived caches and the model are not walked again.
FULL_COLLECTION_EVERY = 5000


class CollectBetweenRequests:
    """WSGI middleware: the collector is off while requests run, and collects after each response is sent."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app
        self.served = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        # Off on the first request, not at import: CLI commands (imports, refits) keep the usual collector.
        if gc.isenabled():
            gc.disable()
        return ClosingIterator(self.wsgi_app(environ, start_response), self.collect)

    def collect(self) -> None:
        """After a response: the young generations; every FULL_COLLECTION_EVERY responses (and after the first),
        every generation, then freeze the survivors."""
        with self.lock:
            self.served += 1
            full = self.served % FULL_COLLECTION_EVERY == 1
        if full:
            gc.collect()
            gc.freeze()
        else:
            gc.collect(1)


def init_app(app: Flask) -> None:
    """Wrap the app unless GC_BETWEEN_REQUESTS is off (the test suite leaves the collector alone)."""
    if app.config.get("GC_BETWEEN_REQUESTS", not app.testing):
        app.wsgi_app = CollectBetweenRequests(app.wsgi_app)  # type: ignore[method-assign]
