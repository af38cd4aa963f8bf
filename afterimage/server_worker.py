"""A gunicorn worker class for one-thread workers: gthread's keep-alive event loop, requests answered on it.

gunicorn's gthread worker hands every request from its event loop to a thread pool and the answer back
through a pipe, even with one thread: two thread switches, a pipe write and read and four `epoll_ctl`
calls a request. On cores kept busy by readers, each switch is also a wait for a core. With one thread
nothing runs beside the request anyway, so this worker answers it on the loop itself. Everything else is
gthread's: keep-alive connections wait in the poller, a new connection waits there for its first bytes,
graceful shutdown. With `--threads` above one it is gthread unchanged.

Connections are shared out evenly between the workers. A keep-alive connection stays with the worker that
accepted it, and whichever worker wakes first takes a burst of new ones: in one load bench run the
clients' latencies split 52 to 12, 108 ms at the median against 15, as when one worker holds 52 of the
64 connections (inferred from the latencies, not counted). So each worker publishes how many connections it holds in memory the master shares
with the workers it forks (`ConnectionLedger`), and stops accepting while it holds more than one over
the fewest any other worker holds, unless that worker has been inside one request for over
`STUCK_AFTER_S` (a long import must not keep new readers waiting).

What one thread gives up, as with gunicorn's sync worker: the worker tells the arbiter it is alive
between requests only, so `--timeout` bounds a whole request (the studio's import gets a long one), and a
client that stalls mid-request holds the worker until `SOCKET_TIMEOUT_S` (behind a reverse proxy, which
buffers requests, it cannot).
"""
from __future__ import annotations

import ctypes
import os
import selectors
import time
from concurrent import futures
from functools import partial
from multiprocessing.sharedctypes import RawArray

from gunicorn.workers.gthread import TConn, ThreadWorker

# How long a read or write on a client's socket may block the worker's only thread.
SOCKET_TIMEOUT_S = 10.0
# A worker in one request for longer than this accepts nothing meanwhile: the others take its share.
STUCK_AFTER_S = 0.2
# How many connections more than the least-loaded other worker a worker may hold and still accept.
SLACK = 1


class ConnectionLedger:
    """Per worker slot: its pid, the connections it holds, and since when (monotonic) it has been inside
    one request (0 between requests). Allocated by the master, shared with every worker it forks; each
    worker writes only its own slot, so no lock is needed."""

    # Worker slots by gunicorn's spawn count (age) modulo this: more than any server runs workers at once.
    SLOTS = 32
    FIELDS = 3

    def __init__(self) -> None:
        self.cells = RawArray(ctypes.c_double, self.SLOTS * self.FIELDS)

    def publish(self, slot: int, pid: int, connections: int, busy_since: float) -> None:
        base = slot * self.FIELDS
        self.cells[base], self.cells[base + 1], self.cells[base + 2] = pid, connections, busy_since

    def fewest_elsewhere(self, slot: int, now: float) -> float | None:
        """The fewest connections any other live worker able to accept holds; None when there is none."""
        cells = self.cells[:]  # one copy, then plain floats
        fewest = None
        for base in range(0, len(cells), self.FIELDS):
            pid, count, busy_since = cells[base:base + self.FIELDS]
            if not pid or base == slot * self.FIELDS or (busy_since and now - busy_since > STUCK_AFTER_S):
                continue
            if fewest is not None and count >= fewest:
                continue
            try:
                os.kill(int(pid), 0)
            except OSError:
                continue  # a worker that died without clearing its slot
            fewest = count
        return fewest


class _TimedConn(TConn):
    """A connection whose blocking reads and writes give up after SOCKET_TIMEOUT_S."""

    def init(self) -> None:
        super().init()  # gthread's handle() has just made the socket blocking, without a timeout
        self.sock.settimeout(SOCKET_TIMEOUT_S)


class InlineThreadWorker(ThreadWorker):
    """gthread with requests answered on the event loop when there is one thread (see the module)."""

    ledger: ConnectionLedger | None = None
    _answering = False

    @classmethod
    def setup(cls) -> None:
        # Called by gunicorn in the master when it loads the worker class: before any worker is forked.
        cls.ledger = ConnectionLedger()

    @property
    def _slot(self) -> int:
        return self.age % ConnectionLedger.SLOTS

    def _publish(self, busy_since: float = 0.0) -> None:
        if self.ledger is not None:
            # A stopping worker (a restart after --max-requests, a graceful stop) accepts nothing more: it
            # leaves the ledger at once, or the others would keep leaving new readers to it.
            pid = os.getpid() if self.alive else 0
            self.ledger.publish(self._slot, pid, self.nr_conns, busy_since)

    def _my_turn(self) -> bool:
        """Whether this worker should take the next connection (see the module)."""
        if self.ledger is None:
            return True
        fewest = self.ledger.fewest_elsewhere(self._slot, time.monotonic())
        return fewest is None or self.nr_conns <= fewest + SLACK

    def set_accept_enabled(self, enabled: bool) -> None:
        if enabled and self.cfg.threads == 1 and not self._my_turn():
            enabled = False
        if not self.alive:
            self._publish()
        super().set_accept_enabled(enabled)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self.cfg.threads > 1:
            super().wait_for_and_dispatch_events(timeout)
            return
        self._publish()
        if self._accepting and not self._my_turn():
            super().set_accept_enabled(False)
        if not self._accepting and self.nr_conns < self.worker_connections:
            # Not our turn now: look again soon, in case the others stop accepting (stuck in a long request).
            timeout = min(timeout, STUCK_AFTER_S / 4)
        super().wait_for_and_dispatch_events(timeout)

    def enqueue_req(self, conn: TConn) -> None:
        if self.cfg.threads > 1:
            super().enqueue_req(conn)
            return
        if self._answering:
            # finish_request found the next pipelined request already read: answer it on a later turn of the
            # loop, after the other connections' (and without recursing once per pipelined request).
            self.method_queue.defer(self.enqueue_req, conn)
            return
        done: futures.Future = futures.Future()
        self._answering = True
        self._publish(busy_since=time.monotonic())
        try:
            try:
                done.set_result(self.handle(conn))
            except Exception as error:  # handle() catches its own; finish_request then closes the connection
                done.set_exception(error)
            self.finish_request(conn, done)
        finally:
            self._answering = False
            self._publish()

    def accept(self, listener) -> None:
        if self.cfg.threads > 1:
            super().accept(listener)
            return
        # A new connection waits in the poller for its first bytes, so the loop never blocks on a silent one.
        try:
            client_sock, client_addr = listener.accept()
        except BlockingIOError:
            return  # another worker took it
        except ConnectionAbortedError:
            return
        self.nr_conns += 1
        conn = _TimedConn(self.cfg, client_sock, client_addr, listener.getsockname())
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))
        self._publish()
        if not self._my_turn():
            super().set_accept_enabled(False)
