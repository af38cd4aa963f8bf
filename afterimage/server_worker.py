"""A gunicorn worker class for one-thread workers: gthread's keep-alive event loop, requests answered on it.

gunicorn's gthread worker hands every request from its event loop to a thread pool and the answer back
through a pipe, even with one thread: two thread switches, a pipe write and read and four `epoll_ctl`
calls a request. On cores kept busy by readers, each switch is also a wait for a core. With one thread
nothing runs beside the request anyway, so this worker answers it on the loop itself. Everything else is
gthread's: keep-alive connections wait in the poller, a new connection waits there for its first bytes,
graceful shutdown. With `--threads` above one it is gthread unchanged.

What one thread gives up, as with gunicorn's sync worker: the worker tells the arbiter it is alive
between requests only, so `--timeout` bounds a whole request (the studio's import gets a long one), and a
client that stalls mid-request holds the worker until `SOCKET_TIMEOUT_S` (behind a reverse proxy, which
buffers requests, it cannot).
"""
from __future__ import annotations

import selectors
import time
from concurrent import futures
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

# How long a read or write on a client's socket may block the worker's only thread.
SOCKET_TIMEOUT_S = 10.0


class _TimedConn(TConn):
    """A connection whose blocking reads and writes give up after SOCKET_TIMEOUT_S."""

    def init(self) -> None:
        super().init()  # gthread's handle() has just made the socket blocking, without a timeout
        self.sock.settimeout(SOCKET_TIMEOUT_S)


class InlineThreadWorker(ThreadWorker):
    """gthread with requests answered on the event loop when there is one thread (see the module)."""

    _answering = False

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
        try:
            try:
                done.set_result(self.handle(conn))
            except Exception as error:  # handle() catches its own; finish_request then closes the connection
                done.set_exception(error)
            self.finish_request(conn, done)
        finally:
            self._answering = False

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
