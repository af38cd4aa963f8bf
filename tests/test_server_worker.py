"""The production worker class (afterimage.server_worker) under a real gunicorn: keep-alive, pipelining, a silent
client, a long request, and the studio's forms, as readers and the author meet them."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from afterimage.extensions import db
from afterimage.models import Item
from afterimage.server_worker import STUCK_AFTER_S, ConnectionLedger, InlineThreadWorker
from bench.load_client import HOST, AppServer, Browser
from tests.test_studio_fixtures import PASSWORD, add_author


def read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length from a blocking socket; what follows it stays in `buffer`."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-response"
        buffer += chunk
    head, _, _ = bytes(buffer).partition(b"\r\n\r\n")
    del buffer[:len(head) + 4]
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    while len(buffer) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-body"
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return int(lines[0].split(" ", 2)[1]), headers, body


@pytest.fixture
def one_worker(demo_app, database_url, tmp_path):
    """The demo catalog behind one gunicorn worker of the production class, one thread: the worker every
    reader's connection shares, so whatever holds it up holds up all of them."""
    add_author(demo_app)
    with demo_app.app_context():
        db.session.remove()
    server = AppServer(database_url, workers=1, log_path=tmp_path / "server.log")
    assert server.worker_class == "afterimage.server_worker.InlineThreadWorker"
    with server:
        yield server


def test_pipelined_requests_on_one_connection_are_all_answered_in_order(one_worker):
    paths = ["/items/cleo-from-5-to-7-1962", "/healthz", "/tags", "/items/hiroshima-mon-amour-1959"] * 5
    with socket.create_connection((HOST, one_worker.port), timeout=10) as sock:
        # Every request in one write: the server reads some of them ahead while answering the first.
        sock.sendall(b"".join(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode() for path in paths))
        buffer = bytearray()
        answers = [read_response(sock, buffer) for _ in paths]
        # The connection is still open for the next one.
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        assert read_response(sock, buffer)[0] == 200
    assert [status for status, _, _ in answers] == [200] * len(paths)
    for path, (_, _, body) in zip(paths, answers):
        if path.startswith("/items/cleo"):
            assert "Cléo from 5 to 7" in body.decode()
        elif path.startswith("/items/hiroshima"):
            assert "Hiroshima mon amour" in body.decode()


def test_a_connection_that_sends_nothing_does_not_hold_up_other_readers(one_worker):
    silent = [socket.create_connection((HOST, one_worker.port), timeout=10) for _ in range(3)]
    try:
        time.sleep(0.2)  # the worker has accepted them
        browser = Browser(one_worker.base_url, timeout=5)
        started = time.monotonic()
        for _ in range(10):
            status, body = browser.get("/items/cleo-from-5-to-7-1962")
            assert status == 200 and "Cléo from 5 to 7" in body
        assert time.monotonic() - started < 5, "readers waited behind connections that sent nothing"
        # The silent connections are still served once they speak.
        silent[0].sendall(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        assert read_response(silent[0], bytearray())[0] == 200
    finally:
        for sock in silent:
            sock.close()


def test_the_author_signs_in_and_her_save_is_what_readers_get_next(demo_app, one_worker):
    with demo_app.app_context():
        film_id = db.session.scalar(sa.select(Item.id).where(Item.slug == "cleo-from-5-to-7-1962"))
    reader = Browser(one_worker.base_url)
    assert "Cléo from 5 to 7" in reader.get("/items/cleo-from-5-to-7-1962")[1]  # now a stored page
    author = Browser(one_worker.base_url)
    author.sign_in("Mina", PASSWORD)
    # A form POST: a body the worker reads before answering, a CSRF token and the session cookie.
    assert author.post_form(f"/studio/items/{film_id}", {"title": "Cléo de 5 à 7"}) == 303
    status, body = reader.get("/items/cleo-from-5-to-7-1962")
    assert status == 200 and "Cléo de 5 à 7" in body


def worker_sockets(server: AppServer) -> dict[int, int]:
    """Open sockets of each of the server's workers (its connections to clients, and the listener)."""
    master = server.process.pid
    counts = {}
    for pid in os.listdir("/proc"):
        try:
            if not pid.isdigit() or int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) != master:
                continue
            fds = os.listdir(f"/proc/{pid}/fd")
            counts[int(pid)] = sum(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:") for fd in fds)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return counts


def burst_of_readers(server: AppServer, readers: int) -> dict[int, int]:
    """Open `readers` connections at once, one request on each; how many each worker took."""
    before = worker_sockets(server)
    burst = [socket.create_connection((HOST, server.port), timeout=10) for _ in range(readers)]
    try:
        for sock in burst:
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        for sock in burst:
            assert read_response(sock, bytearray())[0] == 200
        return {pid: count - before.get(pid, 0) for pid, count in worker_sockets(server).items()}
    finally:
        for sock in burst:
            sock.close()
        time.sleep(0.5)  # the workers see the connections go


def test_readers_connections_are_shared_out_evenly_between_the_workers(demo_app, database_url, tmp_path):
    """A keep-alive connection stays with the worker that accepted it: if one took most of a burst of
    readers, they would all queue on it while the other idled."""
    with AppServer(database_url, workers=2, log_path=tmp_path / "server.log") as server:
        # The server answers once one worker is up; the other may still be loading the app.
        deadline = time.monotonic() + 30
        while min(burst_of_readers(server, 8).values(), default=0) == 0 and time.monotonic() < deadline:
            pass
        for _ in range(3):
            held = burst_of_readers(server, 48)
            assert len(held) == 2 and sum(held.values()) == 48, held
            assert max(held.values()) - min(held.values()) <= 4, f"connections per worker: {held}"


def test_the_ledger_counts_only_workers_that_can_take_a_reader():
    ledger = ConnectionLedger()
    now = time.monotonic()
    me, alive = os.getpid(), os.getppid()
    ledger.publish(1, me, 9, 0.0)
    assert ledger.fewest_elsewhere(1, now) is None, "alone: a worker takes every reader"
    ledger.publish(2, alive, 4, 0.0)
    ledger.publish(3, alive, 6, now - 0.05)  # inside a short request: still taking its share
    assert ledger.fewest_elsewhere(1, now) == 4
    ledger.publish(2, alive, 4, now - STUCK_AFTER_S - 1)  # stuck in a long request (an import)
    assert ledger.fewest_elsewhere(1, now) == 6
    gone = subprocess.Popen(["true"])
    gone.wait()
    ledger.publish(4, gone.pid, 0, 0.0)  # died without leaving its slot
    assert ledger.fewest_elsewhere(1, now) == 6

    # A worker on its way out (a restart after --max-requests) leaves its slot at once.
    worker = InlineThreadWorker.__new__(InlineThreadWorker)
    worker.ledger, worker.age, worker.nr_conns, worker.alive = ledger, 5, 1, False
    worker._publish()
    assert ledger.fewest_elsewhere(1, now) == 6
    worker.alive = True
    worker._publish()
    assert ledger.fewest_elsewhere(1, now) == 1
