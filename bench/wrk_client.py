"""Readers driven by wrk (Debian's `wrk` package) for bench/load.py --client wrk.

A Python client on the same 2 cores cannot send more requests than the slowest thing it measures allows it to
parse: it capped the proxied figures at about the `/healthz` rate. wrk is C with an event loop per thread; with
bench/wrk_paths.lua it walks a file of request paths (drawn by popularity in load.py) and counts statuses and
nginx's X-Cache-Status. Only 127.0.0.1 is contacted; each run lasts a fixed number of seconds.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "wrk_paths.lua"
MARKER = "-- afterimage --"


def wrk_binary() -> str:
    """Debian's wrk, or a clear error naming the package."""
    binary = shutil.which("wrk", path="/usr/bin:/usr/local/bin")
    if binary is None:
        raise FileNotFoundError("wrk is not installed (Debian package `wrk`): needed by --client wrk")
    return binary


@dataclass
class WrkRun:
    """What one wrk run counted: answers, errors by kind, latency percentiles (ms) and X-Cache-Status counts."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    cache_statuses: dict[str, int] = field(default_factory=dict)
    # bad_status (not 2xx), empty_body, and wrk's socket errors other than its status count.
    error_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        """Requests that failed, whatever the reason."""
        return sum(self.error_kinds.values())

    @property
    def rps(self) -> float:
        """Answers per second over the run."""
        return self.requests / self.seconds if self.seconds else 0.0


def parse_output(text: str) -> WrkRun:
    """The counts bench/wrk_paths.lua prints after its marker line."""
    if MARKER not in text:
        raise RuntimeError(f"wrk printed no counts:\n{text[-2000:]}")
    values: dict[str, int] = {}
    for line in text.split(MARKER, 1)[1].splitlines():
        key, _, value = line.rpartition(" ")
        if key:
            values[key] = int(value)
    errors = {kind: values.get(kind, 0) for kind in ("bad_status", "empty_body")}
    # wrk's own "status" count (codes over 399) is already in bad_status.
    for kind in ("connect", "read", "write", "timeout"):
        errors[f"socket_{kind}"] = values.get(f"socket_{kind}", 0)
    return WrkRun(
        requests=values["requests"], seconds=values["duration_us"] / 1e6,
        p50_ms=values["p50_us"] / 1000, p90_ms=values["p90_us"] / 1000, p99_ms=values["p99_us"] / 1000,
        max_ms=values["max_us"] / 1000,
        statuses={key.split(" ", 1)[1]: n for key, n in values.items() if key.startswith("status ")},
        cache_statuses={key.split(" ", 1)[1]: n for key, n in values.items() if key.startswith("cache ")},
        error_kinds={kind: n for kind, n in errors.items() if n},
    )


def run_wrk(base_url: str, paths_file: Path, seconds: int, connections: int, threads: int = 2,
            timeout_s: int = 30) -> WrkRun:
    """wrk for `seconds` over the paths in `paths_file` with `connections` keep-alive connections."""
    if not base_url.startswith("http://127.0.0.1:"):
        raise ValueError(f"wrk is only pointed at 127.0.0.1, not {base_url}")
    command = [wrk_binary(), f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s",
               f"--timeout={timeout_s}s", "--latency", "-s", str(SCRIPT), base_url, "--", str(paths_file)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + timeout_s + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr[-2000:]}{done.stdout[-2000:]}")
    return parse_output(done.stdout)
