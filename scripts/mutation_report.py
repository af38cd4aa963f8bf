"""Mutation testing helpers for `make mutation`: pick a fixed sample of mutmut's mutants, and summarise the results
per module (killed / checked, and every surviving mutant by name) from mutmut's own records in mutants/.

    python scripts/mutation_report.py sample 10 [GLOB]  # the names of one mutant in ten (stable between runs)
    python scripts/mutation_report.py report           # kill rate per module and the survivors
"""
from __future__ import annotations

import fnmatch
import json
import sys
import zlib
from collections import defaultdict
from pathlib import Path

MUTANTS = Path("mutants")
KILLED = {1, 3, 37}  # a failing test, pytest's internal error (also a failure), the type checker
SURVIVED = {0}
NOT_RUN = {None}


def recorded_results() -> dict[str, dict[str, int | None]]:
    """Exit code of every mutant, grouped by the module it mutates."""
    by_module: dict[str, dict[str, int | None]] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = str(meta.relative_to(MUTANTS)).removesuffix(".meta")
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        if codes:
            by_module[module] = codes
    return by_module


def sample(every: int, pattern: str = "*") -> list[str]:
    """One mutant in `every`, chosen by a hash of its name, so the same sample comes back run after run."""
    return sorted(
        name
        for codes in recorded_results().values()
        for name in codes
        if fnmatch.fnmatch(name, pattern) and zlib.crc32(name.encode()) % every == 0
    )


def report() -> str:
    """Per module: mutants checked, killed, surviving and the kill rate; then the survivors by name."""
    lines = [f"{'module':45} {'checked':>8} {'killed':>7} {'survived':>9} {'other':>6} {'rate':>7}"]
    survivors: dict[str, list[str]] = defaultdict(list)
    totals = [0, 0, 0, 0]
    for module, codes in recorded_results().items():
        checked = {name: code for name, code in codes.items() if code not in NOT_RUN}
        if not checked:
            continue
        killed = sum(code in KILLED for code in checked.values())
        survived = [name for name, code in checked.items() if code in SURVIVED]
        other = len(checked) - killed - len(survived)  # no covering test, timeout, suspicious
        survivors[module] = sorted(survived) + sorted(
            f"{name} ({code})" for name, code in checked.items() if code not in KILLED | SURVIVED
        )
        for i, value in enumerate((len(checked), killed, len(survived), other)):
            totals[i] += value
        lines.append(f"{module:45} {len(checked):8} {killed:7} {len(survived):9} {other:6} {killed / len(checked):7.0%}")
    if totals[0]:
        lines.append(f"{'all':45} {totals[0]:8} {totals[1]:7} {totals[2]:9} {totals[3]:6} {totals[1] / totals[0]:7.0%}")
    lines.append("")
    lines.append("Not killed (exit code in brackets when not a plain survivor: 33 no test covers it, 36 timeout):")
    for module, names in survivors.items():
        lines.extend(f"  {name}" for name in names)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["sample"]:
        names = sample(int(sys.argv[2]), *sys.argv[3:4])
        if not names:
            sys.exit("No mutants to sample: generate them first with a run of one group, e.g. make mutation MUTANTS='recs.text*'")
        print("\n".join(names))
    else:
        sys.stdout.write(report())
