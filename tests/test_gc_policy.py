"""Served by an app server, the cyclic garbage collector runs between requests, never in the middle of one."""
from __future__ import annotations

import gc
import threading
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


def test_with_threads_it_collects_only_once_no_other_request_runs(database_url):
    # A collection while another thread's request runs is what crashed SQLite workers.
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url, "GC_BETWEEN_REQUESTS": True})
    inside, release, cycles = threading.Event(), threading.Event(), []

    def slow():
        inside.set()
        release.wait(10)
        return "done"

    app.add_url_rule("/slow", view_func=slow)

    @app.before_request
    def make_a_cycle():
        node = Node()
        node.myself = node
        cycles.append(weakref.ref(node))

    client = app.test_client()
    answers = []

    def read_slowly():
        response = client.get("/slow")
        answers.append(response.get_data())
        response.close()

    slow_reader = threading.Thread(target=read_slowly)
    try:
        slow_reader.start()
        assert inside.wait(10)
        client.get("/healthz").close()
        assert cycles[1]() is not None  # the other request still runs: nothing collected yet
        release.set()
        slow_reader.join(10)
        assert answers == [b"done"]
        assert cycles[0]() is None and cycles[1]() is None
    finally:
        release.set()
        gc.unfreeze()
        gc.enable()


def test_the_test_suite_and_cli_keep_the_usual_collector(app, runner):
    app.test_client().get("/healthz").close()
    assert gc.isenabled()
    assert runner.invoke(args=["recs", "status"]).exit_code == 0
    assert gc.isenabled()
