""""Check yourself" helpers for notebooks and exercises.

Each check prints one line starting with a check mark when it passes, and raises
``AssertionError`` with an ``Expected … / Received …`` message when it does not,
so a learner sees at once what went wrong. Notebooks use them to assert their
own key results, which also makes a broken notebook fail its test run.

Example:
    >>> from cnnkit import checks
    >>> checks.check_equal(3 + 4, 7, "3 + 4")
    ✔ 3 + 4 = 7
"""

from __future__ import annotations

import numpy as np

PASS_MARK = "✔"


def _passed(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"{PASS_MARK} {message}")


def check_equal(actual, expected, what: str = "value", quiet: bool = False) -> None:
    """Check that ``actual == expected`` (element-wise for arrays)."""
    same = np.array_equal(np.asarray(actual), np.asarray(expected))
    if not same:
        raise AssertionError(f"{what}: Expected {expected!r}. Received {actual!r}.")
    _passed(f"{what} = {_short(actual)}", quiet)


def check_close(
    actual, expected, what: str = "value", rtol: float = 1e-5, atol: float = 1e-6, quiet: bool = False
) -> None:
    """Check that two arrays agree to float tolerance (the pass line shows the max absolute difference).

    Like every check it returns None, so a notebook cell that ends with a check shows only its line.
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(
            f"{what}: Expected an array of shape {expected.shape}. Received shape {actual.shape}."
        )
    diff = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    if not np.allclose(actual, expected, rtol=rtol, atol=atol):
        raise AssertionError(
            f"{what}: Expected values within rtol={rtol:g}, atol={atol:g} of the reference. "
            f"Received a max absolute difference of {diff:.3g}."
        )
    _passed(f"{what} match (max abs difference {diff:.2g})", quiet)


def check_shape(array_or_shape, expected, what: str = "shape", quiet: bool = False) -> None:
    """Check a shape; ``None`` in ``expected`` matches any size on that axis."""
    shape = tuple(getattr(array_or_shape, "shape", array_or_shape))
    expected = tuple(expected)
    ok = len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))
    if not ok:
        raise AssertionError(f"{what}: Expected shape {expected}. Received shape {shape}.")
    _passed(f"{what} is {shape}", quiet)


def check_greater(actual, threshold, what: str = "value", quiet: bool = False) -> None:
    """Check that ``actual > threshold``."""
    if not actual > threshold:
        raise AssertionError(f"{what}: Expected more than {threshold:g}. Received {actual:g}.")
    _passed(f"{what} = {actual:g} > {threshold:g}", quiet)


def check_less(actual, threshold, what: str = "value", quiet: bool = False) -> None:
    """Check that ``actual < threshold``."""
    if not actual < threshold:
        raise AssertionError(f"{what}: Expected less than {threshold:g}. Received {actual:g}.")
    _passed(f"{what} = {actual:g} < {threshold:g}", quiet)


def check_true(condition, message: str, quiet: bool = False) -> None:
    """Check a condition that has no natural Expected/Received pair."""
    if not bool(condition):
        raise AssertionError(f"Expected: {message}. Received: it does not hold.")
    _passed(message, quiet)


def _short(value) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= 60 else text[:57] + "..."
