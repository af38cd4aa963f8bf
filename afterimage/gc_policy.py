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
# With several threads per worker, a collection waits for a moment when no request runs in this process.
# Readers keep the threads busy under load, so after this many responses without one, new requests are
# held back until the running ones finish; for at most DRAIN_WAIT_S, so a long request (an import) is
# never waited for: the collection is then put off again.
FORCE_AFTER_RESPONSES = 200
DRAIN_WAIT_S = 0.05


class CollectBetweenRequests:
    """WSGI middleware: the collector is off while requests run, and collects once a response is sent and
    no other request of this process is running (none starts during the collection)."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app
        self.served = 0
        self.owed = 0  # responses since the last collection
        self.full_due = True  # the first collection is a full one
        self.running = 0
        self.draining = False
        self.condition = threading.Condition()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        # Off on the first request, not at import: CLI commands (imports, refits) keep the usual collector.
        if gc.isenabled():
            gc.disable()
        with self.condition:
            while self.draining:
                self.condition.wait()
            self.running += 1
        try:
            iterable = self.wsgi_app(environ, start_response)
        except BaseException:
            self.finished()
            raise
        return ClosingIterator(iterable, self.finished)

    def finished(self) -> None:
        """A response is done: collect if no other request runs, else maybe drain them for a moment."""
        with self.condition:
            self.running -= 1
            self.served += 1
            self.owed += 1
            if self.served % FULL_COLLECTION_EVERY == 0:
                self.full_due = True
            if self.running == 0:
                self.collect()
                self.condition.notify_all()
                return
            if self.draining or self.owed < FORCE_AFTER_RESPONSES:
                return
            self.draining = True
            try:
                if self.condition.wait_for(lambda: self.running == 0, timeout=DRAIN_WAIT_S) and self.owed:
                    self.collect()
            finally:
                self.draining = False
                self.condition.notify_all()

    def collect(self) -> None:
        """The young generations, or every generation (then freeze the survivors) when one is due. Called
        holding the condition, so no request starts meanwhile."""
        self.owed = 0
        if self.full_due:
            self.full_due = False
            gc.collect()
            gc.freeze()
        else:
            gc.collect(1)


def init_app(app: Flask) -> None:
    """Wrap the app unless GC_BETWEEN_REQUESTS is off (the test suite leaves the collector alone)."""
    if app.config.get("GC_BETWEEN_REQUESTS", not app.testing):
        app.wsgi_app = CollectBetweenRequests(app.wsgi_app)  # type: ignore[method-assign]
