"""Served by an app server, the cyclic garbage collector runs between requests, never in the middle of one."""
from __future__ import annotations

import gc
import weakref

from app import create_app


class Node:
    """A reference cycle: only the cyclic collector frees it."""


def test_the_collector_is_off_during_a_request_and_collects_its_cycles_after_it(database_url):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url, "GC_BETWEEN_REQUESTS": True})
    during, cycles = [], []

    @app.before_request
    def make_a_cycle():
        during.append(gc.isenabled())
        node = Node()
        node.myself = node
        cycles.append(weakref.ref(node))

    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 200
        assert during == [False]
        assert cycles[0]() is not None  # still there: the response has not been closed yet
        response.close()
        assert cycles[0]() is None
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_test_suite_and_cli_keep_the_usual_collector(app, runner):
    app.test_client().get("/healthz").close()
    assert gc.isenabled()
    assert runner.invoke(args=["recs", "status"]).exit_code == 0
    assert gc.isenabled()
