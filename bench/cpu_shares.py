"""Where the cores went during a bench phase: CPU seconds per group of processes, read from /proc.

On a machine where the readers' servers, the author's server, the database and the load client share two
cores, a readers' tail is mostly time spent waiting for a core; this says who had it. Linux only; elsewhere
every figure is None.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, session id, CPU seconds so far) of one process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The name is in parentheses and may hold spaces; the fields after it are plain.
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    session, utime, stime = int(fields[3]), int(fields[11]), int(fields[12])
    return name, session, (utime + stime) / TICKS


class CpuShares:
    """Samples every process's CPU time while running, and sums it per group as `classify` names them.

    A process that ends between two samples loses at most one interval of its time (a short-lived database
    connection, say), so the figures are a floor.
    """

    def __init__(self, classify: Callable[[int, str, int], str | None], interval: float = 0.25) -> None:
        self.classify = classify
        self.interval = interval
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.available = Path("/proc/self/stat").exists()

    def _sample(self, baseline: bool) -> None:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            stat = _stat(pid)
            if stat is None:
                continue
            group = self.classify(pid, stat[0], stat[1])
            if group is None:
                continue
            # Processes already running at the start count from there; new ones from zero.
            self.first.setdefault(pid, stat[2] if baseline else 0.0)
            self.last[pid] = (group, stat[2])

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample(baseline=False)

    def __enter__(self) -> CpuShares:
        if self.available:
            self._sample(baseline=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.available:
            self._stop.set()
            self._thread.join()
            self._sample(baseline=False)

    def seconds(self) -> dict[str, float | None]:
        """CPU seconds per group over the sampled span."""
        totals: dict[str, float] = {}
        for pid, (group, now) in self.last.items():
            totals[group] = totals.get(group, 0.0) + max(0.0, now - self.first.get(pid, 0.0))
        return {group: round(value, 1) for group, value in sorted(totals.items())}
