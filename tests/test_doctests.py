"""Every docstring example in cnnkit runs and shows its true output, on the backend of the test run.

Learners copy these examples from the source, so they are tests: one test per
module, found with ``pkgutil.walk_packages`` (a new module is covered without
listing it here). An example that needs something heavy or unavailable (a
trained model, minutes of training, the network) carries ``# doctest: +SKIP``.
The examples never use the network: the test run sets ``CNNKIT_OFFLINE=1``
(the top-level conftest.py).
"""

import doctest
import importlib
import pkgutil

import pytest

import cnnkit

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(cnnkit.__path__, prefix="cnnkit.")
    if info.name != "cnnkit.__main__"  # running it is the command line, not an import
)
FLAGS = doctest.ELLIPSIS  # as pytest --doctest-modules; an example asks for NORMALIZE_WHITESPACE itself


def run_doctests(module) -> doctest.TestResults:
    """Run every example of ``module`` (its docstrings only, not those of names it imports)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    failures, failed, attempted = [], 0, 0
    for test in finder.find(module, module.__name__, globs=dict(vars(module))):
        result = runner.run(test, out=failures.append)
        failed, attempted = failed + result.failed, attempted + result.attempted
    if failed:
        pytest.fail(f"{failed} of {attempted} doctest examples of {module.__name__} failed:\n"
                    + "".join(failures), pytrace=False)
    return doctest.TestResults(failed, attempted)


def test_every_module_is_found():
    # walk_packages imports the packages it walks into; a broken import would silently shrink MODULES.
    assert {"cnnkit.audio", "cnnkit.layers.video", "cnnkit.models.resnet", "cnnkit.viz.detection"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    run_doctests(module)


def test_a_wrong_example_fails():
    """The runner above reports a wrong expected output (it does not pass everything)."""
    import types

    module = types.ModuleType("cnnkit_fake")
    module.__doc__ = ">>> 1 + 1\n3\n"
    with pytest.raises(pytest.fail.Exception, match="1 of 1 doctest examples of cnnkit_fake failed"):
        run_doctests(module)
