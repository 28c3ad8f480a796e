"""The repository keeps its promises: README commands, CI, version bounds, lint, package map."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnkit.config import REPO_URL

try:
    import tomllib  # Python 3.11+
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COURSE_COMMAND = "pip install -r requirements.txt && jupyter lab notebooks/"
# tools/run_tests.py: the unit tests and the notebooks on each backend, then a summary per run.
TEST_COMMAND = "pip install -r requirements-dev.txt && python tools/run_tests.py"


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)


def test_readme_shows_exactly_the_two_commands():
    assert readme_commands() == [COURSE_COMMAND, TEST_COMMAND]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in ci
    lines = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    # The command runs with its exit status kept: `cmd || status=$?`, then `exit "${status}"`.
    assert f"{TEST_COMMAND} || status=$?" in lines
    assert lines[-1] == 'exit "${status}"'


def _requirements(files=("requirements.txt", "requirements-dev.txt")) -> dict[str, str]:
    reqs = {}
    for line in (line for name in files for line in (ROOT / name).read_text().splitlines()):
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name, spec = re.match(r"([A-Za-z0-9_.\-\[\]]+)(.*)", line).groups()
            reqs[name.lower()] = spec.replace(" ", "")
    return reqs


def test_every_requirement_is_bounded_above():
    for name, spec in _requirements().items():
        assert "<" in spec or spec.startswith("=="), f"{name} has no upper bound: a future major release could break the course"


def test_dev_requirements_add_the_other_backends_to_the_course_environment():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements-dev.txt").read_text().splitlines()]
    assert "-r requirements.txt" in lines
    dev = _requirements(["requirements-dev.txt"])
    assert set(dev) == {"jax", "torch"}, dev
    # torch exactly: its CPU wheel is found locally; another version would pull a multi-GB CUDA build.
    assert dev["torch"].startswith("=="), dev["torch"]


def test_requirements_and_pyproject_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    reqs = _requirements()
    for dep in declared:
        name, spec = re.match(r"([A-Za-z0-9_.\-]+)(.*)", dep).groups()
        assert name.lower() in reqs, f"{name} is in pyproject.toml but not in requirements.txt"
        assert reqs[name.lower()] == spec.replace(" ", ""), f"{name}: {reqs[name.lower()]} vs {spec}"
    assert (ROOT / "requirements.txt").read_text().strip().endswith("-e ."), "requirements.txt must install cnnkit itself"


def test_readme_lists_every_notebook_with_a_colab_badge():
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    repo_path = REPO_URL.removeprefix("https://github.com/")
    for name in notebooks:
        assert f"(notebooks/{name})" in README, f"README's table does not link {name}"
        badge = f"https://colab.research.google.com/github/{repo_path}/blob/main/notebooks/{name}"
        assert badge in README, f"README has no Colab badge for {name}"
    linked = set(re.findall(r"\(notebooks/([^)]+\.ipynb)\)", README))
    assert linked == set(notebooks), f"README links notebooks that do not exist: {linked - set(notebooks)}"


def test_readme_maps_every_cnnkit_module():
    package = ROOT / "cnnkit"
    modules = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
    modules |= {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    for module in sorted(modules):
        assert f"`cnnkit.{module}`" in README, f"README's package map misses cnnkit.{module}"


@pytest.mark.skipif(shutil.which("ruff") is None and not Path(sys.executable).with_name("ruff").exists(), reason="ruff is not installed")
def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    result = subprocess.run([ruff, "check", "--no-cache", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
