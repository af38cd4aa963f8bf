"""A throwaway PostgreSQL cluster for `pytest --postgres`: started once per run, a fresh database per test.

The cluster lives in a temporary folder, listens on 127.0.0.1 on a free port, runs with durability off
(fsync, synchronous_commit, full_page_writes) because nothing in it has to survive, and is removed when
the run ends. PostgreSQL refuses to run as root, so as root (CI) the server runs as the `nobody` user.

Without PostgreSQL installed the PostgreSQL tests skip, naming the Debian package; under CI (tests/ci.py) that
is a failure instead, so CI can never pass without having run them.
"""
from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ci import missing_requirement

CLUSTER_PREFIX = "afterimage-pg-"
OWNER_FILE = "owner.pid"
PACKAGE_HINT = "install the Debian package `postgresql` (apt-get install postgresql)"
ADMIN_USER = "postgres"
UNPRIVILEGED_USER = "nobody"
# Options that make a test cluster fast; never use them for a real database.
FAST_UNSAFE_OPTIONS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # Short-lived databases: no background vacuuming, and no JIT compiling for queries this small.
    "autovacuum": "off",
    "jit": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
}


def postgres_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: $PG_BINDIR, Debian's versioned folder, or PATH."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).parent))
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _version_key(path: str) -> tuple[int, ...]:
    """/usr/lib/postgresql/15/bin sorts by 15, so the newest installed version wins."""
    digits = Path(path).parent.name
    return tuple(int(p) for p in digits.split(".") if p.isdigit()) or (0,)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    """A running throwaway cluster and how to reach it."""

    bindir: Path
    datadir: Path
    root: Path
    port: int
    run_as: pwd.struct_passwd | None
    host: str = "127.0.0.1"

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL for one database on this cluster."""
        return f"{driver}://{ADMIN_USER}@{self.host}:{self.port}/{database}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run one of PostgreSQL's programs, as the unprivileged user when we are root."""
        kwargs: dict = {}
        if self.run_as is not None:
            kwargs = dict(user=self.run_as.pw_uid, group=self.run_as.pw_gid, extra_groups=[])
        env = {**os.environ, "LC_ALL": "C", "LANG": "C", "HOME": str(self.root)}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True, text=True, check=check, env=env, cwd=self.root, timeout=120, **kwargs,
        )

    def connect(self, database: str = "postgres"):
        """An autocommit psycopg connection, for CREATE and DROP DATABASE."""
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=ADMIN_USER, dbname=database, autocommit=True)

    def start(self) -> None:
        """initdb, then pg_ctl start on a free port; retried when another process took the port first."""
        result = self.run(
            "initdb", "-D", str(self.datadir), "-U", ADMIN_USER, "--auth=trust", "-E", "UTF8", "--no-locale",
            "--no-sync", "--no-instructions", check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        for attempt in range(5):
            self.port = free_port()
            options = {
                "listen_addresses": "127.0.0.1",
                "port": str(self.port),
                "unix_socket_directories": f"'{self.datadir}'",
                **FAST_UNSAFE_OPTIONS,
            }
            option_text = " ".join(f"-c {key}={value}" for key, value in options.items())
            result = self.run(
                "pg_ctl", "-D", str(self.datadir), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                "-o", option_text, "start", check=False,
            )
            if result.returncode == 0:
                return
        log = (self.root / "server.log").read_text(errors="replace") if (self.root / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n{log[-3000:]}")

    def stop(self) -> None:
        """Stop the server at once; its data is thrown away anyway."""
        self.run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop", check=False)

    def is_running(self) -> bool:
        """True while the postmaster answers."""
        return self.run("pg_ctl", "-D", str(self.datadir), "status", check=False).returncode == 0


def cluster_parent(run_as: pwd.struct_passwd | None) -> Path:
    """Where clusters are made: the temporary folder, or /tmp when the server's user could not enter it."""
    base = Path(tempfile.gettempdir())
    if run_as is not None and not base.stat().st_mode & 0o001:
        return Path("/tmp")
    return base


def remove_orphaned_clusters(bindir: Path, parent: Path) -> None:
    """Stop and delete clusters left by earlier runs that were killed before they could clean up."""
    for root in parent.glob(f"{CLUSTER_PREFIX}*"):
        try:
            owner = int((root / OWNER_FILE).read_text())
            os.kill(owner, 0)
            continue  # its run is still going
        except ProcessLookupError:
            pass
        except (OSError, ValueError):
            continue  # not ours to judge (unreadable, or another user's)
        run_as = pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None
        orphan = PostgresServer(bindir=bindir, datadir=root / "data", root=root, port=0, run_as=run_as)
        if (root / "data" / "postmaster.pid").exists():
            orphan.stop()
        shutil.rmtree(root, ignore_errors=True)


def start_throwaway_cluster() -> PostgresServer:
    """Create and start a cluster in a new temporary folder (owned by `nobody` when we are root)."""
    bindir = postgres_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL's initdb and pg_ctl were not found")
    run_as = pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None
    parent = cluster_parent(run_as)
    remove_orphaned_clusters(bindir, parent)
    root = Path(tempfile.mkdtemp(prefix=CLUSTER_PREFIX, dir=parent))
    (root / OWNER_FILE).write_text(str(os.getpid()))
    datadir = root / "data"
    if run_as is not None:
        os.chown(root, run_as.pw_uid, run_as.pw_gid)
    server = PostgresServer(bindir=bindir, datadir=datadir, root=root, port=0, run_as=run_as)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


def remove_cluster(server: PostgresServer) -> None:
    """Stop the server and delete its folder; safe to call twice."""
    if server.root.exists():
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def exit_on_sigterm() -> None:
    """Turn SIGTERM (a CI timeout, `kill`) into a normal exit, so the cluster is still removed at exit."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def unavailable(reason: str):
    """Skip on a laptop without PostgreSQL; fail under CI."""
    missing_requirement(f"PostgreSQL tests need a PostgreSQL server: {reason}; {PACKAGE_HINT}.")


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL cluster for the whole run, removed at the end."""
    if postgres_bindir() is None:
        unavailable("initdb and pg_ctl were not found")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("the psycopg package is missing (pip install 'psycopg[binary]')")
    try:
        server = start_throwaway_cluster()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        unavailable(f"the throwaway cluster did not start ({error})")
    exit_on_sigterm()
    atexit.register(remove_cluster, server)
    try:
        yield server
    finally:
        remove_cluster(server)


_database_numbers = itertools.count(1)
# Engines that connected to each test database, so their pooled connections are closed with it.
_engines_by_database: dict[str, weakref.WeakSet] = {}


def _remember_engine(connection) -> None:
    """Engine-level `engine_connect` hook: note which engine touched which test database."""
    engine = connection.engine
    if engine.url.get_backend_name() == "postgresql" and engine.url.database in _engines_by_database:
        _engines_by_database[engine.url.database].add(engine)


@pytest.fixture
def postgres_database_url(postgres_server: PostgresServer):
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy as sa

    if not sa.event.contains(sa.engine.Engine, "engine_connect", _remember_engine):
        sa.event.listen(sa.engine.Engine, "engine_connect", _remember_engine)
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    with postgres_server.connect() as conn:
        # template0 is empty and never has connections, so the copy is quick and clean.
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    _engines_by_database[name] = weakref.WeakSet()
    try:
        yield postgres_server.url(name)
    finally:
        # An app a test built without disposing its engine would otherwise leave open connections to be
        # garbage-collected later, with a ResourceWarning in whatever test runs then.
        for engine in list(_engines_by_database.pop(name, ())):
            engine.dispose()
        with postgres_server.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
