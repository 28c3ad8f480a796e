"""Run the whole test suite on every Keras backend and say, per run, what passed.

This is the test command README prints and CI runs (``.ci/run``)::

    python tools/run_tests.py                 # every run below, then a summary
    python tools/run_tests.py --list          # print the runs without starting them
    python tools/run_tests.py --every-backend # notebooks and solutions on JAX and PyTorch too (long)

Each run is one ``pytest`` process with ``KERAS_BACKEND`` set (the backend is
chosen when Keras is first imported, so it cannot change inside one process):

* TensorFlow: the unit tests, the course notebooks and their worked solutions;
* JAX and PyTorch: the unit tests (with ``--every-backend``, the notebooks and
  solutions too: about twice as long in all, which is why CI, held to 30 minutes
  on a 2-core CPU, runs them on TensorFlow only; README's Backends table gives
  the times per notebook and backend).

Every run is started even when an earlier one fails, so one report shows every
failure; the exit status is non-zero when any run fails (or cannot start).
Extra arguments after ``--`` go to every ``pytest`` call, e.g.
``python tools/run_tests.py -- -x -k conv``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    """One pytest process: a backend and the paths it collects."""

    backend: str
    paths: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.backend}: {' + '.join(self.paths)}"


RUNS = (
    Run("tensorflow", ("tests", "notebooks", "solutions")),
    Run("jax", ("tests",)),
    Run("torch", ("tests",)),
)
EVERY_BACKEND = tuple(Run(r.backend, ("tests", "notebooks", "solutions")) for r in RUNS)


@dataclass
class Outcome:
    run: Run
    returncode: int
    seconds: float
    counts: dict[str, int] | None  # None when pytest wrote no report (it crashed or never started)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def line(self) -> str:
        status = "ok    " if self.ok else "FAILED"
        if self.counts is None:
            tally = f"no test report (exit status {self.returncode})"
        else:
            tally = ", ".join(f"{n} {kind}" for kind, n in self.counts.items() if n or kind in ("passed", "failed"))
        return f"{status} {self.run.label:<46} {tally:<44} {self.seconds:7.0f} s"


def pytest_command() -> list[str]:
    """``pytest`` from PATH (so CI's own checks can stand a stub in for it), else ``python -m pytest``."""
    found = shutil.which("pytest")
    return [found] if found else [sys.executable, "-m", "pytest"]


def read_counts(junit_xml: Path) -> dict[str, int] | None:
    """Passed / failed / errors / skipped counts from pytest's JUnit XML report."""
    if not junit_xml.exists() or junit_xml.stat().st_size == 0:
        return None
    try:
        root = ET.parse(junit_xml).getroot()
    except ET.ParseError:
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = {key: sum(int(s.get(key, 0)) for s in suites) for key in ("tests", "failures", "errors", "skipped")}
    passed = total["tests"] - total["failures"] - total["errors"] - total["skipped"]
    return {"passed": passed, "failed": total["failures"], "errors": total["errors"], "skipped": total["skipped"]}


def execute(run: Run, extra: list[str]) -> Outcome:
    env = dict(os.environ, KERAS_BACKEND=run.backend)
    paths = [p for p in run.paths if (ROOT / p).exists()]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        command = [*pytest_command(), *paths, f"--junitxml={report}", *extra]
        print(f"\n===== {run.label}  ({' '.join(command[1:])})", flush=True)
        start = time.perf_counter()
        try:
            returncode = subprocess.call(command, cwd=ROOT, env=env)
        except OSError as error:  # pytest missing or not executable
            print(f"could not start pytest: {error}", flush=True)
            returncode = 127
        seconds = time.perf_counter() - start
        return Outcome(run, returncode, seconds, read_counts(report))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the runs and exit")
    parser.add_argument("--backend", action="append", choices=sorted({r.backend for r in RUNS}),
                        help="only the runs on this backend (repeatable)")
    parser.add_argument("--every-backend", action="store_true",
                        help="run the notebooks and solutions on every backend, not only TensorFlow")
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    runs = [r for r in (EVERY_BACKEND if args.every_backend else RUNS) if not args.backend or r.backend in args.backend]
    if args.list:
        for run in runs:
            print(run.label)
        return 0

    outcomes = [execute(run, extra) for run in runs]
    print("\n===== summary")
    for outcome in outcomes:
        print(outcome.line())
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} runs passed"
          f" in {sum(o.seconds for o in outcomes):.0f} s.", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
