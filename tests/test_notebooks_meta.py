"""Rules for committed notebooks (nbval executes them; these check how they are committed)."""

from pathlib import Path

import nbformat
import pytest

from tools import nbtool

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_cleanly(path):
    assert nbtool.problems(path) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
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
