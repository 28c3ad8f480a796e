"""Rules for committed notebooks and worked solutions (nbval executes them; these check how they are committed)."""

from pathlib import Path

import nbformat
import pytest

from tools import nbtool

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))  # solutions/NN_name_solutions.ipynb


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_committed_cleanly(path):
    assert nbtool.problems(path) == []


def test_every_solutions_notebook_is_named_after_a_course_notebook():
    for path in SOLUTIONS:
        assert path.name.endswith(nbtool.SOLUTIONS_SUFFIX), f"{path.name}: name it NN_name{nbtool.SOLUTIONS_SUFFIX}"
        course = ROOT / "notebooks" / path.name.replace(nbtool.SOLUTIONS_SUFFIX, ".ipynb")
        assert course.exists(), f"{path.name} has no course notebook {course.name}"


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_notebook_has_the_same_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code.source == nbtool.setup_cell(path.stem)


def test_setup_cell_installs_from_the_one_repository_url():
    from cnnkit.config import REPO_URL

    assert f'"cnnkit @ git+{REPO_URL}"' in nbtool.SETUP_CELL
    assert 'if "google.colab" in sys.modules:' in nbtool.SETUP_CELL
    # A notebook that needs optional packages in Colab asks for cnnkit's extras, by its number.
    assert f'"cnnkit[export] @ git+{REPO_URL}"' in nbtool.setup_cell("08_beyond_images")
    assert f'"cnnkit[faces] @ git+{REPO_URL}"' in nbtool.setup_cell("05_detection")  # BlazeFace's LiteRT + model
    assert nbtool.setup_cell("08_beyond_images_solutions") == nbtool.setup_cell("08_beyond_images")


def test_colab_extras_are_extras_of_the_package():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    for extras in nbtool.COLAB_EXTRAS.values():
        assert set(extras) <= set(project["optional-dependencies"]), extras


def test_from_py_round_trip(tmp_path):
    script = tmp_path / "draft.py"
    script.write_text("# %% [markdown]\n# # Title\n#\n# Some *prose*.\n\n# %%\nx = 1\n\n# %% [markdown]\n# ## Exercises\n")
    nb = nbtool.from_py(script)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "markdown"]
    assert nb.cells[0].source == "# Title\n\nSome *prose*."
    assert nb.cells[1].source == nbtool.SETUP_CELL
    again = tmp_path / "again.py"
    again.write_text(nbtool.to_py(nb))
    assert [c.source for c in nbtool.from_py(again).cells] == [c.source for c in nb.cells]


def _executed(cells, title="# Solutions: 02 · Pooling"):
    """A small notebook as nbtool expects it committed: title, setup cell, executed code cells."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(title),
                                         nbformat.v4.new_code_cell(nbtool.setup_cell("02_pooling")), *cells])
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
    return nbtool.clean(nb)


def test_solutions_follow_the_notebook_rules_except_figures_and_the_exercises_section(tmp_path):
    (tmp_path / "solutions").mkdir()
    path = tmp_path / "solutions" / "02_pooling_solutions.ipynb"
    nbtool.write(_executed([nbformat.v4.new_code_cell("x = 1")]), path)
    assert nbtool.problems(path, registry=nbtool.exercises.Registry()) == []  # no figure, no '## Exercises'

    nbtool.write(_executed([nbformat.v4.new_code_cell("x = 1")], title="# Pooling"), path)
    assert nbtool.problems(path, registry=nbtool.exercises.Registry()) == [
        "the first cell must be a markdown title starting with '# Solutions'"]

    course = tmp_path / "notebooks" / "02_pooling.ipynb"
    course.parent.mkdir()
    nbtool.write(_executed([nbformat.v4.new_code_cell("x = 1")], title="# Pooling"), course)
    assert nbtool.problems(course, registry=nbtool.exercises.Registry()) == [
        "no figure outputs: commit the notebook with outputs from a full run", "no '## Exercises' section"]
