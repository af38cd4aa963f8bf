"""Check every mutant of one module against test files you name: fewer tests than `make mutation` runs for it.

    .venv/bin/python scripts/mutation_narrow.py afterimage/security.py build/narrow -- \
        tests/site/test_security_guards.py tests/site/test_hardening_transport.py

mutmut runs each mutant against every test that reached its function (430-570 tests for security.py: minutes per
surviving mutant). This copies the project to OUTDIR/proj, puts mutmut's mutated version of the module there, checks
that the named tests pass unmutated, then runs them once per mutant (two at a time, `pytest -x`) with mutmut's
MUTANT_UNDER_TEST switch. A mutant these tests miss may still be killed by others: the rate is a lower bound.
Results go to OUTDIR/results.tsv (mutant, pytest's exit code: 1 killed, 0 survived).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mutmut.mutation.file_mutation import mutate_file_contents

ROOT = Path(__file__).resolve().parents[1]
PYTEST = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:schemathesis"]


def main(module_path: str, out: Path, pytest_args: list[str]) -> None:
    """Mutate `module_path`, then run the tests against each mutant; print and record each exit code."""
    project = out / "proj"
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".venv", "mutants", ".git", "__pycache__", "build"))
    mutated = mutate_file_contents(module_path, (ROOT / module_path).read_text())
    (project / module_path).write_text(mutated.code)
    module = module_path.removesuffix(".py").replace("/", ".")
    names = [f"{module}.{name}" for name in mutated.mutant_names]
    env = dict(os.environ, PYTHONPATH=str(project))

    def run(name: str) -> tuple[str, int, str]:
        """One mutant's test run."""
        done = subprocess.run(PYTEST + pytest_args, cwd=project, env=dict(env, MUTANT_UNDER_TEST=name),
                              capture_output=True, text=True)
        return name, done.returncode, (done.stdout.strip().splitlines() or [""])[-1]

    clean = run("")
    print(f"{len(names)} mutants; unmutated: {clean[2]}", flush=True)
    if clean[1] != 0:
        sys.exit("The tests fail on the unmutated code.")
    with open(out / "results.tsv", "w") as results, ThreadPoolExecutor(2) as pool:
        for name, code, summary in pool.map(run, names):
            print(code, name, flush=True)
            results.write(f"{name}\t{code}\t{summary}\n")
            results.flush()


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[3] != "--":
        sys.exit(__doc__)
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[4:])
