import numpy as np
import pytest

from cnnkit import checks


def test_passing_checks_print_a_mark(capsys):
    checks.check_equal(7, 7, "sum")
    checks.check_close([1.0, 2.0], [1.0, 2.0 + 1e-9], "vectors")
    checks.check_shape(np.zeros((2, 3)), (2, None), "array")
    checks.check_greater(0.9, 0.5, "accuracy")
    checks.check_less(0.1, 0.5, "loss")
    checks.check_true(True, "it holds")
    out = capsys.readouterr().out
    assert out.count(checks.PASS_MARK) == 6


def test_quiet_checks_print_nothing(capsys):
    checks.check_equal(1, 1, quiet=True)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: checks.check_equal(3, 4, "sum"), r"sum: Expected 4\. Received 3\."),
        (lambda: checks.check_close([1.0], [2.0], "values"), r"values: Expected values within .* Received a max absolute difference of 1"),
        (lambda: checks.check_close([1.0, 2.0], [1.0], "values"), r"Expected an array of shape \(1,\)\. Received shape \(2,\)"),
        (lambda: checks.check_shape((2, 3), (3, 2)), r"Expected shape \(3, 2\)\. Received shape \(2, 3\)"),
        (lambda: checks.check_greater(0.4, 0.5, "accuracy"), r"accuracy: Expected more than 0\.5\. Received 0\.4"),
        (lambda: checks.check_less(0.6, 0.5, "loss"), r"loss: Expected less than 0\.5\. Received 0\.6"),
        (lambda: checks.check_true(False, "x is even"), r"Expected: x is even"),
    ],
)
def test_failing_checks_say_expected_and_received(call, pattern):
    with pytest.raises(AssertionError, match=pattern):
        call()


def test_checks_return_none_so_a_cell_shows_only_the_pass_line(capsys):
    # A returned value would be echoed by Jupyter as a stray "0.0" under the check's line.
    results = [checks.check_close([1.0, 2.0], [1.0, 2.5], atol=1.0), checks.check_equal(1, 1),
               checks.check_shape((2, 3), (2, None)), checks.check_greater(2, 1), checks.check_less(1, 2),
               checks.check_true(True, "it holds")]
    assert results == [None] * len(results)
    assert "max abs difference 0.5" in capsys.readouterr().out
