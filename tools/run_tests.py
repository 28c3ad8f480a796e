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

Two runs go at a time (``--jobs``, default 2), in the order above: TensorFlow's long
run on one lane, JAX then PyTorch on the other. JAX's unit tests are bound by XLA
compiling, on about one core, so on a 2-core machine the two lanes together take
about as long as TensorFlow's run alone instead of the sum of the three. Each
run's output is kept and printed whole when it ends, so the logs do not interleave.

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


def command_of(run: Run, report: Path, extra: list[str]) -> list[str]:
    paths = [p for p in run.paths if (ROOT / p).exists()]
    return [*pytest_command(), *paths, f"--junitxml={report}", *extra]


def execute(runs: list[Run], extra: list[str], jobs: int = 2) -> list[Outcome]:
    """Run ``runs`` with at most ``jobs`` at once, in order; print each one's output when it ends."""
    outcomes: dict[Run, Outcome] = {}
    waiting = list(runs)
    running = {}  # Run -> (process or None, log file, start time)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        while waiting or running:
            while waiting and len(running) < max(jobs, 1):
                run = waiting.pop(0)
                index = runs.index(run)
                log = open(tmp / f"{index}.log", "w+")
                command = command_of(run, tmp / f"{index}.xml", extra)
                print(f"===== started {run.label}  ({' '.join(command[1:])})", flush=True)
                try:
                    process = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, KERAS_BACKEND=run.backend),
                                               stdout=log, stderr=subprocess.STDOUT)
                except OSError as error:  # pytest missing or not executable
                    log.write(f"could not start pytest: {error}\n")
                    process = None
                running[run] = (process, log, time.perf_counter())
            time.sleep(0.2)
            for run, (process, log, start) in list(running.items()):
                returncode = 127 if process is None else process.poll()
                if returncode is None:
                    continue
                del running[run]
                seconds = time.perf_counter() - start
                log.seek(0)
                print(f"\n===== {run.label}: finished in {seconds:.0f} s, exit status {returncode}", flush=True)
                sys.stdout.write(log.read())
                log.close()
                index = runs.index(run)
                outcomes[run] = Outcome(run, returncode, seconds, read_counts(tmp / f"{index}.xml"))
                sys.stdout.flush()
    return [outcomes[run] for run in runs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the runs and exit")
    parser.add_argument("--backend", action="append", choices=sorted({r.backend for r in RUNS}),
                        help="only the runs on this backend (repeatable)")
    parser.add_argument("--every-backend", action="store_true",
                        help="run the notebooks and solutions on every backend, not only TensorFlow")
    parser.add_argument("--jobs", type=int, default=2, metavar="N",
                        help="runs going at once (default 2: TensorFlow on one lane, JAX then PyTorch on the other)")
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    runs = [r for r in (EVERY_BACKEND if args.every_backend else RUNS) if not args.backend or r.backend in args.backend]
    if args.list:
        for run in runs:
            print(run.label)
        return 0

    clock = time.perf_counter()
    outcomes = execute(runs, extra, jobs=args.jobs)
    print("\n===== summary")
    for outcome in outcomes:
        print(outcome.line())
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} runs passed"
          f" in {time.perf_counter() - clock:.0f} s ({args.jobs} at a time).", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
