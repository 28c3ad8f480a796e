"""Maintainer tool for the course notebooks: one setup cell, clean metadata, full-mode runs.

Usage:
    python tools/nbtool.py run notebooks/01_convolution.ipynb [--quick]   # execute in place, then clean
    python tools/nbtool.py clean notebooks/*.ipynb                        # strip noisy metadata
    python tools/nbtool.py check notebooks/*.ipynb                        # the rules the tests enforce
    python tools/nbtool.py setup notebooks/*.ipynb                        # rewrite the setup cell (source only)
    python tools/nbtool.py time notebooks/04_backbones.ipynb --quick      # slowest cells, nothing written
    python tools/nbtool.py from-py draft.py notebooks/NN_name.ipynb       # percent-format script -> notebook
    python tools/nbtool.py to-py notebooks/NN_name.ipynb draft.py         # notebook -> percent-format script

Every notebook starts with a title cell and then exactly :data:`SETUP_CELL`,
generated here from one template, so the Colab install line cannot drift
between notebooks. ``from-py`` inserts it; ``check`` (and the tests) verify it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnkit.config import REPO_URL  # noqa: E402

# What a notebook needs in Colab beyond cnnkit's own dependencies, as pip extras of cnnkit
# (pyproject.toml), keyed by notebook number; the solutions of a notebook need the same.
# Colab preinstalls TensorFlow, Keras, JAX, PyTorch, NumPy, SciPy, Matplotlib, scikit-learn,
# scikit-image and tqdm; `python tools/colab_check.py` runs every notebook in such an environment.
COLAB_EXTRAS = {"08": ("export",)}


def setup_cell(notebook: str = "") -> str:
    """The setup cell of ``notebook`` (a file name or stem such as ``08_beyond_images``)."""
    extras = COLAB_EXTRAS.get(Path(notebook).name[:2], ())
    package = f"cnnkit[{','.join(extras)}]" if extras else "cnnkit"
    return f'''# Setup: the same first cell in every notebook of the course.
# In Colab, install cnnkit from its repository (TensorFlow and Keras are preinstalled
# there and are left alone when they satisfy cnnkit's version bounds). Locally,
# `pip install -r requirements.txt` has installed everything already.
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "{package} @ git+{REPO_URL}"

import cnnkit

run = cnnkit.device.setup(seed=42)'''


SETUP_CELL = setup_cell()  # the cell of a notebook that needs no extras


KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
MAX_NOTEBOOK_BYTES = 1_500_000
EXECUTION_TIMEOUT = 1800  # seconds per cell in full mode


# ---------------------------------------------------------------- cleaning


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop metadata that changes on every run (timings, widget state, ids of the run)."""
    nb.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python", "pygments_lexer": "ipython3"},
    }
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags")
        cell.metadata = {"tags": tags} if tags else {}
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("execution", None)
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- checks


def problems(path: Path) -> list[str]:
    """Everything wrong with a committed notebook, as readable sentences (empty when fine)."""
    nb = nbformat.read(path, as_version=4)
    found = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or code[0].source.strip() != setup_cell(path.stem).strip():
        found.append("the first code cell is not the standard setup cell (run `python tools/nbtool.py from-py`, or copy setup_cell())")
    if not nb.cells or nb.cells[0].cell_type != "markdown" or not nb.cells[0].source.startswith("# "):
        found.append("the first cell must be a markdown title starting with '# '")
    counts = [c.execution_count for c in code]
    if counts != list(range(1, len(code) + 1)):
        found.append(f"execution counts are not 1..{len(code)} in order (re-run top to bottom in a fresh kernel): {counts}")
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        found.append(f"{len(errors)} cell(s) have error outputs")
    if set(nb.metadata) - {"kernelspec", "language_info"}:
        found.append(f"notebook metadata has noisy keys {sorted(set(nb.metadata) - {'kernelspec', 'language_info'})} (run clean)")
    if any(set(c.get("metadata", {})) - {"tags"} for c in nb.cells):
        found.append("some cells carry metadata other than tags (run clean)")
    doubled = [c.execution_count for c in code
               if sum("image/png" in o.get("data", {}) for o in c.get("outputs", []) if o.get("output_type") == "execute_result")
               and sum("image/png" in o.get("data", {}) for o in c.get("outputs", []) if o.get("output_type") == "display_data")]
    if doubled:
        found.append(f"cells {doubled} show a figure twice: end the plotting line with ';' or assign the figure")
    if not any(o.get("output_type") in ("display_data", "execute_result") and "image/png" in o.get("data", {})
               for c in code for o in c.get("outputs", [])):
        found.append("no figure outputs: commit the notebook with outputs from a full run")
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("#")]
    if not any(re.search(r"exercises", h, re.I) for h in headings):
        found.append("no 'Exercises' section")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        found.append(f"file is {size:,} bytes; keep it under {MAX_NOTEBOOK_BYTES:,} (smaller figures, fewer printed arrays)")
    return found


# ---------------------------------------------------------------- conversion


def from_py(source: Path, name: str = "") -> nbformat.NotebookNode:
    """Build a notebook from a percent-format script (``# %%`` code cells, ``# %% [markdown]`` prose).

    The setup cell of notebook ``name`` (see :func:`setup_cell`) is inserted after the first
    markdown cell, replacing the script's own setup cell if it has one.
    """
    cells, kind, lines = [], None, []

    def flush():
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(re.sub(r"^# ?", "", line) for line in text.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(text))
        elif kind == "code" and text.strip():
            cells.append(nbformat.v4.new_code_cell(text))

    for line in source.read_text(encoding="utf-8").splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    cells = [c for c in cells if not (c.cell_type == "code" and c.source.startswith("# Setup: the same first cell"))]
    first_md = next((i for i, c in enumerate(cells) if c.cell_type == "markdown"), -1)
    cells.insert(first_md + 1, nbformat.v4.new_code_cell(setup_cell(name)))
    nb = nbformat.v4.new_notebook(cells=cells)
    return clean(nb)


def to_py(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            body = "\n".join(("# " + line) if line else "#" for line in cell.source.splitlines())
            parts.append("# %% [markdown]\n" + body)
        elif cell.cell_type == "code":
            parts.append("# %%\n" + cell.source)
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- running


def run(path: Path, quick: bool) -> float:
    """Execute a notebook top to bottom in a fresh kernel, write it back cleaned; return seconds."""
    from nbclient import NotebookClient

    os.environ["CNNKIT_QUICK"] = "1" if quick else "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TF's C++ start-up logs would land in the outputs
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=EXECUTION_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    write(clean(nb), path)
    return seconds


def time_cells(path: Path, quick: bool, top: int = 8) -> float:
    """Execute a copy of a notebook and print its slowest cells (the notebook is not written)."""
    from datetime import datetime

    from nbclient import NotebookClient

    os.environ["CNNKIT_QUICK"] = "1" if quick else "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=EXECUTION_TIMEOUT, kernel_name="python3", record_timing=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    total = time.perf_counter() - start

    def seconds(cell) -> float:
        stamps = cell.metadata.get("execution", {})
        begin, end = stamps.get("iopub.execute_input"), stamps.get("shell.execute_reply")
        if not (begin and end):
            return 0.0
        parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
        return (parse(end) - parse(begin)).total_seconds()

    timed = sorted(((seconds(c), i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"), reverse=True)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    print(f"{path.name} ({backend}, {'quick' if quick else 'full'} mode): {total:.1f} s; slowest cells:")
    for sec, index, cell in timed[:top]:
        first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
        print(f"  [{index:3d}] {sec:7.1f} s  {first[:80]}")
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="execute in place (full mode unless --quick), then clean")
    p_run.add_argument("paths", nargs="+", type=Path)
    p_run.add_argument("--quick", action="store_true")
    sub.add_parser("clean", help="strip noisy metadata").add_argument("paths", nargs="+", type=Path)
    sub.add_parser("check", help="report rule violations").add_argument("paths", nargs="+", type=Path)
    sub.add_parser("setup", help="rewrite the setup cell's source from the template").add_argument(
        "paths", nargs="+", type=Path)
    p_time = sub.add_parser("time", help="execute a copy and print the slowest cells (nothing written)")
    p_time.add_argument("paths", nargs="+", type=Path)
    p_time.add_argument("--quick", action="store_true")
    p_from = sub.add_parser("from-py", help="percent-format script -> notebook")
    p_from.add_argument("source", type=Path)
    p_from.add_argument("target", type=Path)
    p_to = sub.add_parser("to-py", help="notebook -> percent-format script")
    p_to.add_argument("source", type=Path)
    p_to.add_argument("target", type=Path)
    args = parser.parse_args(argv)

    if args.command == "run":
        for path in args.paths:
            seconds = run(path, args.quick)
            print(f"{path}: executed in {seconds:.1f} s ({'quick' if args.quick else 'full'} mode)")
    elif args.command == "clean":
        for path in args.paths:
            write(clean(nbformat.read(path, as_version=4)), path)
    elif args.command == "time":
        for path in args.paths:
            time_cells(path, args.quick)
    elif args.command == "setup":
        for path in args.paths:
            nb = nbformat.read(path, as_version=4)
            next(c for c in nb.cells if c.cell_type == "code").source = setup_cell(path.stem)
            write(nb, path)
    elif args.command == "check":
        bad = 0
        for path in args.paths:
            for problem in problems(path):
                bad += 1
                print(f"{path}: {problem}")
        return 1 if bad else 0
    elif args.command == "from-py":
        write(from_py(args.source, args.target.stem), args.target)
    elif args.command == "to-py":
        args.target.write_text(to_py(nbformat.read(args.source, as_version=4)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
