"""Run every notebook as Colab would: a fresh environment with only Colab's packages.

Usage::

    python tools/colab_check.py                      # every notebook (and solution), quick mode
    python tools/colab_check.py notebooks/08_*.ipynb  # some of them
    python tools/colab_check.py --keep /tmp/colab     # keep the environment for a second run

What it does, step by step:

1. builds a virtual environment holding only what Colab preinstalls
   (:data:`COLAB_PACKAGES`: TensorFlow, Keras, JAX, PyTorch's CPU build, NumPy,
   SciPy, Matplotlib, scikit-learn, scikit-image, tqdm, ipykernel) plus
   ``nbclient`` to drive the kernels, and records its package list;
2. for each notebook, copies it, points its setup cell at this repository
   (``git+file://...`` instead of :data:`cnnkit.config.REPO_URL`: pip installs the
   *committed* HEAD, as Colab installs the pushed one) and executes it top to bottom
   in quick mode in a kernel of that environment, where ``google.colab`` is importable,
   so the setup cell's ``%pip install`` runs exactly as in Colab;
3. uninstalls whatever the notebook's setup cell installed, so the next notebook
   starts from Colab's packages again;
4. prints, per notebook, the install time (the setup cell), the run time, and what
   the setup cell added; exits non-zero when any notebook fails.

It needs the package registry (pip), not the internet at large. Expect a few
minutes to build the environment and about as long as the TensorFlow notebook
run of the tests to execute the notebooks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnkit.config import REPO_URL  # noqa: E402

# What Colab preinstalls that the course touches (versions: whatever pip picks within cnnkit's
# bounds, as on Colab). torch is the CPU build found on this project's machines.
COLAB_PACKAGES = [
    "tensorflow>=2.18,<3", "keras>=3.13,<4", "jax>=0.10,<0.11", "torch==2.13.0",
    "numpy>=1.26,<3", "scipy>=1.11,<2", "matplotlib>=3.8,<4", "scikit-learn>=1.4,<2",
    "scikit-image>=0.22,<1", "tqdm>=4.66,<5", "ipykernel>=6.29,<8",
]
RUNNER_PACKAGES = ["nbclient", "nbformat"]  # drive the kernels (Colab's own front end does this there)
CELL_TIMEOUT = 900

# Runs in every kernel before the notebook: Colab's kernels have google.colab imported.
# (``google`` itself stays the real namespace package that protobuf, and so TensorFlow, lives in.)
FAKE_COLAB = """import sys, types
try:
    import google
except ImportError:
    google = sys.modules["google"] = types.ModuleType("google")
google.colab = sys.modules["google.colab"] = types.ModuleType("google.colab")
"""

RUNNER = r'''
import json, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

path, out, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3])
nb = nbformat.read(path, as_version=4)
client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                        resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}})
start = time.perf_counter()
error = None
try:
    client.execute()
except CellExecutionError as exc:
    error = str(exc)[-3000:]
except Exception as exc:  # a kernel that died, a timeout
    error = f"{type(exc).__name__}: {exc}"[-3000:]
seconds = time.perf_counter() - start
setup = next(c for c in nb.cells if c.cell_type == "code")
timing = setup.get("metadata", {}).get("execution", {})
def stamp(key):
    from datetime import datetime
    value = timing.get(key)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None
begin, end = stamp("iopub.execute_input"), stamp("shell.execute_reply")
json.dump({"seconds": seconds, "setup_seconds": (end - begin) if begin and end else None,
           "error": error}, open(out, "w"))
'''


def sh(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], check=True, text=True, **kwargs)


def build_environment(venv: Path) -> Path:
    """A fresh venv with Colab's packages; returns its python."""
    python = venv / "bin" / "python"
    if python.exists():
        print(f"reusing {venv}")
        return python
    print(f"building a Colab-like environment in {venv} ...", flush=True)
    start = time.perf_counter()
    sh(sys.executable, "-m", "venv", venv)
    sh(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")  # Colab's pip is current
    sh(python, "-m", "pip", "install", "--quiet", *COLAB_PACKAGES, *RUNNER_PACKAGES)
    print(f"  built in {time.perf_counter() - start:.0f} s", flush=True)
    return python


def installed(python: Path) -> set[str]:
    out = sh(python, "-m", "pip", "list", "--format=json", capture_output=True).stdout
    return {p["name"].lower() for p in json.loads(out)}


def point_setup_cell_at(notebook: Path, target: Path, url: str) -> None:
    """Copy ``notebook`` to ``target`` with the setup cell installing from ``url``."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    setup = next(c for c in nb["cells"] if c["cell_type"] == "code")
    source = "".join(setup["source"])
    if f"git+{REPO_URL}" not in source:
        raise SystemExit(f"{notebook}: its setup cell does not install from {REPO_URL}")
    setup["source"] = source.replace(f"git+{REPO_URL}", f"git+{url}")
    target.write_text(json.dumps(nb), encoding="utf-8")


def run_notebook(python: Path, notebook: Path, workdir: Path, env: dict) -> dict:
    copy = workdir / notebook.name
    point_setup_cell_at(notebook, copy, f"file://{ROOT}")
    result_file = workdir / f"{notebook.stem}.json"
    runner = workdir / "runner.py"
    runner.write_text(RUNNER)
    subprocess.run([str(python), str(runner), str(copy), str(result_file), str(CELL_TIMEOUT)], env=env,
                   cwd=workdir, check=False)
    return json.loads(result_file.read_text())


def kernel_environment(workdir: Path, venv: Path) -> dict:
    ipython_dir = workdir / "ipython"
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-colab.py").write_text(FAKE_COLAB)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_BACKEND", "VIRTUAL_ENV")}
    env.update(IPYTHONDIR=str(ipython_dir), CNNKIT_QUICK="1", CNNKIT_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="3",
               PATH=f"{venv / 'bin'}:{env['PATH']}")
    return env


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the environment here and keep it")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
    dirty = sh("git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", capture_output=True).stdout
    if dirty.strip():
        print("note: uncommitted changes are not tested (pip installs the committed HEAD):\n" + dirty)

    base = args.keep or Path(tempfile.mkdtemp(prefix="colab-check-"))
    venv = base / "venv"
    python = build_environment(venv)
    colab = installed(python)
    env = kernel_environment(base, venv)
    rows, failed = [], 0
    for notebook in notebooks:
        print(f"\n===== {notebook.name}", flush=True)
        result = run_notebook(python, notebook.resolve(), base, env)
        added = sorted(installed(python) - colab)
        if added:  # back to Colab's packages for the next notebook
            sh(python, "-m", "pip", "uninstall", "--quiet", "--yes", *added)
        failed += bool(result["error"])
        rows.append((notebook.name, result, added))
        if result["error"]:
            print(re.sub(r"\x1b\[[0-9;]*m", "", result["error"]))

    print("\n===== Colab-like run (quick mode)")
    print(f"{'notebook':<40} {'status':<7} {'install s':>9} {'total s':>8}  setup cell installed")
    for name, result, added in rows:
        setup = f"{result['setup_seconds']:.0f}" if result["setup_seconds"] else "?"
        print(f"{name:<40} {'FAILED' if result['error'] else 'ok':<7} {setup:>9} {result['seconds']:>8.0f}  "
              f"{', '.join(added) or '-'}")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    print(f"{len(rows) - failed} of {len(rows)} notebooks ran.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
