"""CI gates: `.ci/run` fails when the install or any test run fails.

`.ci/run` is run for real here, with `pip` and `pytest` replaced on PATH by
stubs (so no package is installed and no test suite runs): the stub pytest
fails on one chosen call, and the script must exit non-zero.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools import run_tests

ROOT = Path(__file__).resolve().parents[1]

STUB_PYTEST = """#!/usr/bin/env bash
# Counts its calls in $STUB_LOG and fails on call number $FAIL_ON (0: never).
# Runs go two at a time: the lock makes "append, then count" one step.
exec 9>>"$STUB_LOG.lock"
flock 9
echo "call $KERAS_BACKEND $*" >> "$STUB_LOG"
n=$(wc -l < "$STUB_LOG")
if [ "$n" -eq "$FAIL_ON" ]; then echo "stub pytest: failing call $n"; exit 1; fi
echo "stub pytest: call $n passes"
"""

STUB_PIP = """#!/usr/bin/env bash
echo "pip $*" >> "$STUB_LOG.pip"
exit "$PIP_STATUS"
"""


def run_ci(tmp_path: Path, fail_on: int = 0, pip_status: int = 0) -> tuple[int, list[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("pytest", STUB_PYTEST), ("pip", STUB_PIP)):
        stub = bin_dir / name
        stub.write_text(text)
        stub.chmod(0o755)
    python_dir = Path(sys.executable).parent  # `python` in .ci/run is the interpreter running the tests
    log = tmp_path / "calls.log"
    env = dict(os.environ, PATH=f"{bin_dir}:{python_dir}:{os.environ['PATH']}", STUB_LOG=str(log),
               FAIL_ON=str(fail_on), PIP_STATUS=str(pip_status))
    env.pop("KERAS_BACKEND", None)
    done = subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True,
                          timeout=120)
    calls = log.read_text().splitlines() if log.exists() else []
    return done.returncode, calls, done.stdout + done.stderr


def test_ci_passes_when_every_run_passes(tmp_path):
    status, calls, output = run_ci(tmp_path)
    assert status == 0, output
    assert len(calls) == len(run_tests.RUNS), calls
    assert sorted(c.split()[1] for c in calls) == sorted(r.backend for r in run_tests.RUNS)
    assert "3 of 3 runs passed" in output


@pytest.mark.parametrize("fail_on", [1, 2, 3])
def test_ci_fails_when_any_test_run_fails(tmp_path, fail_on):
    status, calls, output = run_ci(tmp_path, fail_on=fail_on)
    assert status != 0, output
    # Later runs still happen, so one CI report shows every failing backend.
    assert len(calls) == 3, calls
    assert "2 of 3 runs passed" in output
    assert output.count("FAILED") == 1


def test_ci_fails_when_the_install_fails(tmp_path):
    status, calls, output = run_ci(tmp_path, pip_status=3)
    assert status == 3, output
    assert calls == [], "no test may run after a failed install"


def test_summary_counts_come_from_the_junit_report(tmp_path):
    report = tmp_path / "r.xml"
    report.write_text('<testsuites><testsuite tests="10" failures="2" errors="1" skipped="3"/></testsuites>')
    assert run_tests.read_counts(report) == {"passed": 4, "failed": 2, "errors": 1, "skipped": 3}
    assert run_tests.read_counts(tmp_path / "missing.xml") is None


def test_runs_cover_every_backend():
    assert {r.backend for r in run_tests.RUNS} == {"tensorflow", "jax", "torch"}
    assert all("tests" in r.paths for r in run_tests.RUNS)


def test_every_backend_runs_the_notebooks_and_solutions_on_each_backend(capsys):
    assert run_tests.main(["--list", "--every-backend"]) == 0
    assert capsys.readouterr().out.split("\n")[:3] == [
        f"{backend}: tests + notebooks + solutions" for backend in ("tensorflow", "jax", "torch")]
    assert run_tests.main(["--list", "--every-backend", "--backend", "jax"]) == 0
    assert capsys.readouterr().out.strip() == "jax: tests + notebooks + solutions"
