"""Maintainer tool for the course notebooks and their solutions: one setup cell, clean metadata, full-mode runs.

Usage:
    python tools/nbtool.py run notebooks/01_convolution.ipynb [--quick]   # execute in place, then clean
    python tools/nbtool.py clean notebooks/*.ipynb                        # strip noisy metadata
    python tools/nbtool.py check notebooks/*.ipynb solutions/*.ipynb      # the rules the tests enforce
    python tools/nbtool.py setup notebooks/*.ipynb                        # rewrite the setup cell (source only)
    python tools/nbtool.py time notebooks/04_backbones.ipynb --quick      # slowest cells, nothing written
    python tools/nbtool.py from-py draft.py notebooks/NN_name.ipynb       # percent-format script -> notebook
    python tools/nbtool.py to-py notebooks/NN_name.ipynb draft.py         # notebook -> percent-format script

Every notebook starts with a title cell and then exactly :data:`SETUP_CELL`,
generated here from one template, so the Colab install line cannot drift
between notebooks. ``from-py`` inserts it; ``check`` (and the tests) verify it.

Worked solutions, ``solutions/NN_name_solutions.ipynb``, follow the same rules
except the ones that differ (a ``# Solutions ...`` title, no figure required, no
``## Exercises`` section of their own): one section per exercise, under the same
``### Exercise NN.k · ●● · 15 min — Title`` heading as in the course notebook.
:func:`exercise_problems` checks those headings against ``cnnkit.exercises``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnkit import exercises  # noqa: E402
from cnnkit.checks import PASS_MARK  # noqa: E402
from cnnkit.config import REPO_URL  # noqa: E402

# What a notebook needs in Colab beyond cnnkit's own dependencies, as pip extras of cnnkit
# (pyproject.toml), keyed by notebook number; the solutions of a notebook need the same.
# Colab preinstalls TensorFlow, Keras, JAX, PyTorch, NumPy, SciPy, Matplotlib, scikit-learn,
# scikit-image and tqdm; `python tools/colab_check.py` runs every notebook in such an environment.
# Checked against what each notebook calls: 05 runs BlazeFace (detection.FaceDetector: `faces`),
# 08 converts and runs LiteRT / ONNX files (`export`). The others use generated data, scikit-learn /
# scikit-image photos and digits, and keras.applications (offline fallback); 04's
# export.measure_latency needs nothing extra. A notebook that starts using detection.FaceDetector
# needs `faces`, one that loads data.load_mnist_5k needs `datasets`.
COLAB_EXTRAS = {"05": ("faces",), "08": ("export",)}


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
SOLUTIONS_SUFFIX = "_solutions.ipynb"
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


def is_solutions(path: Path) -> bool:
    """True for a worked-solutions notebook, ``solutions/NN_name_solutions.ipynb``."""
    return Path(path).name.endswith(SOLUTIONS_SUFFIX)


def problems(path: Path, registry: exercises.Registry | None = None) -> list[str]:
    """Everything wrong with a committed notebook (course or solutions), as readable sentences (empty when fine)."""
    nb = nbformat.read(path, as_version=4)
    solutions = is_solutions(path)
    found = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or code[0].source.strip() != setup_cell(path.stem).strip():
        found.append("the first code cell is not the standard setup cell (run `python tools/nbtool.py from-py`, or copy setup_cell())")
    title = "# Solutions" if solutions else "# "
    if not nb.cells or nb.cells[0].cell_type != "markdown" or not nb.cells[0].source.startswith(title):
        found.append(f"the first cell must be a markdown title starting with {title!r}")
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
    # A solutions notebook need not draw (its execution counts show it was run); a course notebook must.
    if not solutions and not any(
            o.get("output_type") in ("display_data", "execute_result") and "image/png" in o.get("data", {})
            for c in code for o in c.get("outputs", [])):
        found.append("no figure outputs: commit the notebook with outputs from a full run")
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("#")]
    if not solutions and not any(re.match(r"^## Exercises\s*$", h) for h in headings):
        found.append("no '## Exercises' section")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        found.append(f"file is {size:,} bytes; keep it under {MAX_NOTEBOOK_BYTES:,} (smaller figures, fewer printed arrays)")
    return found + exercise_problems(path, nb, registry)


# ---------------------------------------------------------------- exercises

EXERCISE_LINE = re.compile(r"^#+\s*Exercise\b")  # any heading that tries to be an exercise heading
SECTION_END = re.compile(r"^#{1,2} ")  # a new '#' or '##' section ends the last exercise


@dataclass
class ExerciseSection:
    """One exercise in a notebook: its heading line and the code cells under it (up to the next heading)."""

    id: str
    heading: str
    heading_cell: int
    code: list = field(default_factory=list)

    def calls(self, function: str) -> list:
        """The code cells that call ``function("NN.k"`` for this exercise (``check`` or ``show_answer``)."""
        pattern = re.compile(rf"\b{function}\(\s*[\"']{re.escape(self.id)}[\"']")
        return [c for c in self.code if pattern.search(c.source)]


def exercise_sections(nb: nbformat.NotebookNode) -> list[ExerciseSection]:
    """Every ``### Exercise NN.k · ...`` heading of a notebook, with the code cells of its section."""
    sections: list[ExerciseSection] = []
    current = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = exercises.HEADING_RE.match(line)
                if match:
                    current = ExerciseSection(match["id"], line.strip(), index)
                    sections.append(current)
                elif SECTION_END.match(line):
                    current = None
        elif cell.cell_type == "code" and current is not None:
            current.code.append(cell)
    return sections


def _text_outputs(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        else:
            data = output.get("data", {})
            parts.append(data.get("text/markdown", "") or data.get("text/plain", ""))
    return "".join(parts)


def _counterpart(path: Path) -> Path:
    """The solutions notebook of a course notebook, and the other way round."""
    root = Path(path).resolve().parents[1]
    if is_solutions(path):
        return root / "notebooks" / (Path(path).name[: -len(SOLUTIONS_SUFFIX)] + ".ipynb")
    return root / "solutions" / (Path(path).stem + SOLUTIONS_SUFFIX)


def _check_lines(section: ExerciseSection) -> list[str]:
    lines = [line.strip() for c in section.calls("check") for line in c.source.splitlines()]
    return [line for line in lines if re.search(rf"\bcheck\(\s*[\"']{re.escape(section.id)}[\"']", line)]


def exercise_problems(path: Path, nb: nbformat.NotebookNode | None = None,
                      registry: exercises.Registry | None = None) -> list[str]:
    """What is wrong with a notebook's exercises: headings, registry, check cells and their committed outputs.

    A notebook with no exercise heading and no registered exercise is not
    converted yet, and has no problems here (tests/test_exercises.py keeps the
    list of those). Otherwise every registered exercise of the notebook has a
    well-formed heading in the course notebook and in its solutions notebook;
    in the course notebook its check cell's committed output says "not answered
    yet" (or points to the model answer), in the solutions it says "✔"; and both
    notebooks call ``check`` with the same line.
    """
    path = Path(path)
    nb = nb if nb is not None else nbformat.read(path, as_version=4)
    registry = registry if registry is not None else exercises.REGISTRY
    solutions = is_solutions(path)
    number = path.name[:2]
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if EXERCISE_LINE.match(line) and not exercises.HEADING_RE.match(line):
                    found.append(f"malformed exercise heading {line.strip()!r}: write it as "
                                 f"'### Exercise {number}.1 · ●● · 15 min — Title' (CONTRIBUTING.md, Exercises)")
    sections = exercise_sections(nb)
    expected = registry.registered(number)
    if not sections and not expected:
        return found
    other = _counterpart(path)
    if not other.exists():
        found.append(f"its {'course notebook' if solutions else 'solutions notebook'} {other.name} does not exist")
    exercises_at = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                         and any(re.match(r"^## Exercises\s*$", line) for line in c.source.splitlines())), None)
    seen = set()
    for section in sections:
        ex = registry.find(section.id)
        where = f"exercise {section.id}"
        if section.id in seen:
            found.append(f"{where} has two headings")
            continue
        seen.add(section.id)
        if section.id.split(".")[0] != number:
            found.append(f"{where} belongs to notebook {section.id.split('.')[0]}, not to {path.name}")
            continue
        if ex is None:
            found.append(f"{where} has no registered check or model answer (add it to cnnkit/exercises/nb{number}.py)")
            continue
        if section.heading != ex.heading:
            found.append(f"{where}: the heading {section.heading!r} differs from the registry's {ex.heading!r}")
        if not solutions and (exercises_at is None or section.heading_cell < exercises_at):
            found.append(f"{where}: its heading must come after the '## Exercises' heading")
        found += _section_problems(section, ex, solutions)
    for ex in expected:
        if ex.id not in seen:
            found.append(f"exercise {ex.id} is registered but {path.name} has no heading {ex.heading!r}")
    if solutions and other.exists():
        course = {s.id: s for s in exercise_sections(nbformat.read(other, as_version=4))}
        for section in sections:
            ex = registry.find(section.id)
            if ex is not None and ex.kind == exercises.CHECK and section.id in course:
                if _check_lines(section)[-1:] != _check_lines(course[section.id])[-1:]:
                    found.append(f"exercise {section.id}: the solution must end with the same check line as the "
                                 f"course notebook ({(_check_lines(course[section.id]) or ['none'])[-1]!r})")
    return found


def _section_problems(section: ExerciseSection, ex: exercises.Exercise, solutions: bool) -> list[str]:
    where = f"exercise {section.id}"
    call = "show_answer" if solutions and ex.kind == exercises.MODEL_ANSWER else "check"
    cells = section.calls(call)
    if not cells:
        return [f"{where}: no code cell under its heading calls {call}({section.id!r}, ...)"]
    output = _text_outputs(cells[-1])
    if solutions and ex.kind == exercises.CHECK:
        want, why = f"{PASS_MARK} {section.id}", "the solution must pass its check"
    elif solutions:
        want, why = f"Model answer {section.id}", "show_answer must display the model answer"
    elif ex.kind == exercises.CHECK:
        want, why = f"{section.id}: not answered yet", "the starter cell must leave the answer as TODO"
    else:
        want, why = f"{section.id}: an open question", "check() on an open question points to its model answer"
    if want not in output:
        return [f"{where}: the committed output of its {call} cell does not show {want!r} ({why}; "
                "run the notebook in full mode and commit its outputs)"]
    return []


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
