"""cnnkit.exercises: the framework for every answer kind, the generic test over every notebook, the notebook machinery.

Three parts:

1. The framework, on a private ``Registry`` (so no example pollutes the course's):
   for each kind of answer, a correct one passes, a wrong one raises with
   Expected and Received and without the solution, ``TODO`` prints "not answered yet".
2. The generic tests over the course's registry and notebooks: every registered
   check passes its ``correct`` example and rejects its ``wrong`` one; every
   notebook not in ``NOT_YET_CONVERTED`` has exercises whose headings, check
   cells and solutions ``tools/nbtool.py`` accepts.
3. The TEMPLATE: one complete worked exercise (registration, course-notebook
   cells, solutions-notebook cells), built in a temporary folder and checked
   by ``tools/nbtool.py``, then broken in the ways a notebook owner might.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from contextlib import redirect_stdout
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest

from cnnkit import exercises
from cnnkit.checks import PASS_MARK
from cnnkit.exercises import (
    TODO,
    Registry,
    call_answer,
    expect_close,
    expect_equal,
    expect_fields,
    expect_function,
    expect_model,
    expect_property,
    expect_shape,
    lazy,
    resolve,
)
from tools import nbtool

ROOT = Path(__file__).resolve().parents[1]

# Notebooks whose exercises are not in the new format yet. Each notebook's owner
# converts it (CONTRIBUTING.md, "Exercises and solutions") and removes it from
# this list; the list may only shrink, and a listed notebook must stay unconverted.
NOT_YET_CONVERTED: set[str] = set()


def run_check(registry, exercise_id, answer) -> str:
    """What ``check`` prints (raises what it raises)."""
    out = io.StringIO()
    with redirect_stdout(out):
        registry.check(exercise_id, answer)
    return out.getvalue()


def wrong_message(registry, exercise_id, answer) -> str:
    with pytest.raises(AssertionError) as caught:
        run_check(registry, exercise_id, answer)
    return str(caught.value)


# ================================================================ 1. the framework, kind by kind


@pytest.fixture
def reg():
    return Registry()


def test_a_number_within_a_tolerance(reg):
    reg.exercise("01.2", title="Output size", level=1, minutes=5, hint="Use the output-size formula.",
                 check=expect_close(31, rtol=0.01, what="the output size"), correct=31, wrong=36)
    assert run_check(reg, "01.2", 31.2) == f"{PASS_MARK} 01.2 · Output size: correct\n"
    message = wrong_message(reg, "01.2", 36)
    assert message == ("01.2 · Output size: Expected the output size within 1% of the correct value. "
                       "Received 36.\nHint: Use the output-size formula.")
    assert "31" not in message
    assert run_check(reg, "01.2", TODO) == "01.2: not answered yet\n"
    assert "Expected the output size as a single number. Received 'thirty-one'" in wrong_message(reg, "01.2", "thirty-one")
    assert "Received nan" in wrong_message(reg, "01.2", float("nan"))


def test_an_exact_number(reg):
    reg.exercise("01.3", title="Parameters", level=1, minutes=5, hint="Count weights and biases.",
                 check=expect_equal(896, what="the number of parameters"), correct=896, wrong=864)
    assert run_check(reg, "01.3", 896).startswith(f"{PASS_MARK} 01.3")
    assert run_check(reg, "01.3", np.int64(896)).startswith(PASS_MARK)
    message = wrong_message(reg, "01.3", 864)
    assert "Expected the number of parameters to be the correct value. Received 864." in message
    assert "896" not in message
    assert "as a whole number. Received '896'" in wrong_message(reg, "01.3", "896")


def test_an_array_and_a_backend_tensor(reg):
    reference = np.arange(12, dtype="float32").reshape(3, 4) / 7
    reg.exercise("01.4", title="Feature map", level=2, minutes=10, hint="Correlate, do not convolve.",
                 check=expect_close(lazy(lambda: reference), rtol=1e-5, atol=1e-6, what="the feature map"),
                 correct=reference, wrong=reference[::-1])
    assert "all 12 values match" in run_check(reg, "01.4", keras.ops.convert_to_tensor(reference))
    wrong = reference.copy()
    wrong[1, 2] += 0.5
    message = wrong_message(reg, "01.4", wrong)
    assert ("Expected the feature map equal to the correct value (up to float rounding) at every position. "
            "Received values that differ at 1 of 12 positions (the largest difference, 0.5, at index (1, 2)).") in message
    assert f"{reference[1, 2]:.3g}" not in message
    assert "as an array of shape (3, 4). Received shape (4, 3)" in wrong_message(reg, "01.4", reference.T)
    assert "as an array of numbers. Received None" in wrong_message(reg, "01.4", None)


def test_a_shape(reg):
    reg.exercise("02.1", title="Pooled shape", level=1, minutes=5, hint="Pooling keeps the channels.",
                 check=expect_shape((1, 15, 15, 8), what="the pooled shape"), correct=(1, 15, 15, 8),
                 wrong=(1, 16, 16, 8))
    assert run_check(reg, "02.1", np.zeros((1, 15, 15, 8))).endswith("(1, 15, 15, 8)\n")
    assert run_check(reg, "02.1", keras.ops.zeros((1, 15, 15, 8))).startswith(PASS_MARK)
    message = wrong_message(reg, "02.1", [1, 16, 16, 8])
    assert "Expected the pooled shape with the correct size on every axis. Received (1, 16, 16, 8): axes 1 and 2 are wrong." in message
    assert "15" not in message
    assert "with 4 axes. Received (15, 15, 8) (3 axes)" in wrong_message(reg, "02.1", (15, 15, 8))
    assert "as a tuple of integers" in wrong_message(reg, "02.1", "1x15x15x8")


def max_pool_reference(x, size):
    h, w = x.shape[0] // size, x.shape[1] // size
    return x[: h * size, : w * size].reshape(h, size, w, size).max(axis=(1, 3))


def test_a_function_on_hidden_inputs(reg):
    rng = np.random.default_rng(0)
    inputs = lazy(lambda: [(rng.normal(size=(8, 8)), 2), (rng.normal(size=(9, 6)), 3)])
    reg.exercise("02.2", title="Max pooling by hand", level=2, minutes=15, hint="Reshape into blocks.",
                 check=expect_function(max_pool_reference, inputs, what="your max_pool"),
                 correct=max_pool_reference, wrong=lambda x, size: max_pool_reference(x, size) * 0.5)
    assert run_check(reg, "02.2", max_pool_reference) == f"{PASS_MARK} 02.2 · Max pooling by hand: correct on 2 hidden inputs\n"

    def starter(x, size):
        # your code here
        return TODO

    assert run_check(reg, "02.2", starter) == "02.2: not answered yet\n"
    message = wrong_message(reg, "02.2", lambda x, size: x[::size, ::size])
    assert ("Expected your max_pool to give the correct result on 2 hidden inputs. Received: on input 1 "
            "(an array of shape (8, 8) (float64), 2) it returned values that differ") in message
    assert "returned shape (8, 8) where the correct result has shape (4, 4)" in wrong_message(reg, "02.2", lambda x, s: x)
    assert ("Expected your max_pool to run on hidden input 1 of 2 (an array of shape (8, 8) (float64), 2). "
            "It raised ZeroDivisionError: division by zero") in wrong_message(reg, "02.2", lambda x, s: 1 / 0)
    assert "Expected your max_pool as a function. Received an array" in wrong_message(reg, "02.2", np.zeros(3))

    def mutating(x, size):  # a function that changes its input cannot fool the reference
        out = max_pool_reference(x, size)
        x[:] = 0
        return out

    assert run_check(reg, "02.2", mutating).startswith(PASS_MARK)


def test_call_answer_runs_the_learners_function_and_reports_what_goes_wrong():
    """The one place a checker runs a learner's function: its result, an error named with where, or TODO."""
    assert call_answer(lambda x, k: x * k, 3, 4, name="f", where="on hidden input 1 of 1") == 12
    assert call_answer(lambda: None, name="f", where="anywhere") is None  # None is a (wrong) answer, not TODO

    def broken(x):
        return x.nonexistent

    with pytest.raises(AssertionError) as caught:
        call_answer(broken, 5, name="your function", where="on hidden input 2 of 3 (5)")
    assert str(caught.value) == ("Expected your function to run on hidden input 2 of 3 (5). It raised "
                                 "AttributeError: 'int' object has no attribute 'nonexistent'")
    assert caught.value.__suppress_context__  # the learner sees one message, not the checker's traceback
    def raising(error):
        def function():
            raise error
        return function

    with pytest.raises(AssertionError, match=r"to run here\. It raised ValueError$"):  # an error without a message
        call_answer(raising(ValueError()), name="f", where="here")
    with pytest.raises(AssertionError, match="It raised AssertionError: my own assert"):  # the learner's own assert
        call_answer(raising(AssertionError("my own assert")), name="f", where="here")

    def starter(x):
        # your code here
        return TODO

    with pytest.raises(exercises.NotAnswered):
        call_answer(starter, 5, name="your function", where="on hidden input 1 of 3")


def comparator(swap=False):
    """A Dense model that says which of two numbers is larger (by construction: weights set by hand)."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    kernel = np.eye(2)[:, ::-1] if swap else np.eye(2)
    model.layers[0].set_weights([kernel.astype("float32"), np.zeros(2, "float32")])
    return model


def comparison_data():
    x = np.random.default_rng(1).normal(size=(200, 2)).astype("float32")
    return x, (x[:, 1] > x[:, 0]).astype("int64")


def test_a_model_by_accuracy_on_hidden_data_and_parameter_count(reg):
    reg.exercise("03.1", title="A comparator", level=2, minutes=10, hint="Which weight links which input to which class?",
                 check=expect_model(data=lazy(comparison_data), min_accuracy=0.95, output_shape=(2,), max_params=10),
                 correct=lazy(comparator), wrong=lazy(lambda: comparator(swap=True)))
    assert run_check(reg, "03.1", comparator()) == (
        f"{PASS_MARK} 03.1 · A comparator: output (2,), 6 parameters, 100.0% accuracy on 200 hidden test images "
        "(the bar: 95.0%)\n")
    assert "Expected your model to reach at least 95.0% accuracy on 200 hidden test images. Received 0.0%." in \
        wrong_message(reg, "03.1", comparator(swap=True))
    big = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8), keras.layers.Dense(2)])
    assert "Expected your model to have at most 10 parameters. Received 42." in wrong_message(reg, "03.1", big)
    three = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    assert "Received (3,): axis 0 is wrong" in wrong_message(reg, "03.1", three)
    assert "as a keras Model. Received the function comparator" in wrong_message(reg, "03.1", comparator)
    other_input = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert "to classify the hidden test images of shape (2,). Received an error" in wrong_message(reg, "03.1", other_input)
    # One-hot labels work too.
    onehot = expect_model(data=lazy(lambda: (comparison_data()[0], np.eye(2)[comparison_data()[1]])), min_accuracy=0.9)
    assert "100.0% accuracy" in onehot(comparator())


def test_a_model_by_exact_parameter_count_and_receptive_field(reg):
    def cnn(kernel=3, filters=4):
        return keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Conv2D(filters, kernel),
                                 keras.layers.Conv2D(filters, kernel)])

    reg.exercise("04.1", title="Two 3x3 convolutions", level=1, minutes=10, hint="Two 3x3 layers see 5x5.",
                 check=expect_model(params=int(cnn().count_params()), receptive_field=5),
                 correct=lazy(cnn), wrong=lazy(lambda: cnn(kernel=5)))
    assert run_check(reg, "04.1", cnn()).endswith("188 parameters, receptive field (5, 5)\n")
    message = wrong_message(reg, "04.1", cnn(filters=5))
    assert "the parameter count of the architecture described. Received a model with 280 parameters." in message
    assert "188" not in message
    field = expect_model(receptive_field=5)
    with pytest.raises(AssertionError, match=r"the receptive field the exercise asks for. Received a receptive field of \(9, 9\)"):
        field(cnn(kernel=5))
    with pytest.raises(AssertionError, match=r"receptive field of at least \(7, 7\). Received \(5, 5\)"):
        expect_model(min_receptive_field=7)(cnn())


def test_an_answer_in_parts(reg):
    reg.exercise("02.4", title="Receptive field by hand", level=2, minutes=15, hint="Multiply the jump by each stride.",
                 check=expect_fields({"size": expect_equal(25, what="the size"), "jump": expect_equal(4, what="the jump")}),
                 correct={"size": 25, "jump": 4}, wrong={"size": 21, "jump": 2})
    assert run_check(reg, "02.4", {"size": 25, "jump": 4}).endswith("all 2 parts correct\n")
    assert run_check(reg, "02.4", {"size": TODO, "jump": TODO}) == "02.4: not answered yet (still TODO: size, jump)\n"
    assert run_check(reg, "02.4", {"size": 25, "jump": TODO}) == "02.4: not answered yet (still TODO: jump)\n"
    message = wrong_message(reg, "02.4", {"size": 21, "jump": 2})
    assert message.startswith("02.4 · Receptive field by hand: 2 of 2 parts are wrong.\n"
                              "size: Expected the size to be the correct value. Received 21.\n"
                              "jump: Expected the jump to be the correct value. Received 2.")
    assert "1 of 2 parts is wrong" in wrong_message(reg, "02.4", {"size": 25, "jump": 3})
    assert "as a dict with the keys ['size', 'jump']. Received 25" in wrong_message(reg, "02.4", 25)


def test_a_property(reg):
    reg.exercise("01.1", title="Diagonal edges", level=1, minutes=10, hint="Opposite corners, opposite signs.",
                 check=expect_property(lambda k: np.shape(k) == (3, 3) and abs(np.sum(k)) < 1e-6
                                       and np.allclose(np.transpose(k), -np.asarray(k)) and np.any(k),
                                       "a non-zero 3×3 kernel whose weights sum to zero, antisymmetric about "
                                       "its diagonal (k.T == -k)",
                                       received=lambda k: f"a kernel of shape {np.shape(k)}, weights summing to {np.sum(k):g}"),
                 correct=np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]]), wrong=np.ones((3, 3)))
    assert run_check(reg, "01.1", np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]])).startswith(PASS_MARK)
    assert "Received a kernel of shape (3, 3), weights summing to 9." in wrong_message(reg, "01.1", np.ones((3, 3)))
    assert "Received 'sobel'." in wrong_message(reg, "01.1", "sobel")  # the description fell back
    with pytest.raises(AssertionError, match=r"Received 'sobel' \(checking it raised AttributeError"):
        expect_property(lambda k: k.sum() == 0, "a kernel summing to zero")("sobel")


def test_a_custom_checker_by_decorator(reg):
    @reg.exercise("05.3", title="Anchors left", level=2, minutes=10, hint="Anchors per level: positions x sizes x ratios.",
                  correct=1200, wrong=1344)
    def anchors(answer):
        if answer != 1200:
            raise AssertionError(f"Expected the number of anchors on P3-P5. Received {answer}.")
        return "1,200 anchors"

    assert anchors(1200) == "1,200 anchors"  # the decorator returns the checker
    assert run_check(reg, "05.3", 1200) == f"{PASS_MARK} 05.3 · Anchors left: 1,200 anchors\n"
    assert wrong_message(reg, "05.3", 7).endswith("Received 7.\nHint: Anchors per level: positions x sizes x ratios.")


def test_an_open_question_has_a_model_answer_and_no_check(reg):
    reg.model_answer("03.6", "Dropout is on in training and off in evaluation.", title="Why is validation loss lower?",
                     level=1, minutes=5)
    expected = ("03.6: an open question, with no automatic check; compare your answer with the model answer "
                "in solutions/03_classification_solutions.ipynb.\n")
    assert run_check(reg, "03.6", TODO) == expected
    assert run_check(reg, "03.6", "because of dropout") == expected
    out = io.StringIO()
    with redirect_stdout(out):
        reg.show_answer("03.6")
    assert out.getvalue() == "**Model answer 03.6.** Dropout is on in training and off in evaluation.\n"
    reg.exercise("03.1", title="t", level=1, minutes=1, hint="h", check=expect_equal(1), correct=1, wrong=2)
    with pytest.raises(ValueError, match=r"exercise 03.1 has an automatic check, not a model answer"):
        reg.show_answer("03.1")


def test_registered_lists_every_exercise_in_order(reg):
    reg.model_answer("02.6", "text", title="Effective field with ReLU", level=3, minutes=30)
    reg.exercise("02.4", title="Receptive field by hand", level=2, minutes=15, hint="h", check=expect_equal(1),
                 correct=1, wrong=2)
    reg.exercise("01.10", title="Ten", level=1, minutes=5, hint="h", check=expect_equal(1), correct=1, wrong=2)
    reg.exercise("01.2", title="Two", level=1, minutes=5, hint="h", check=expect_equal(1), correct=1, wrong=2)
    listed = reg.registered()
    assert [e.id for e in listed] == ["01.2", "01.10", "02.4", "02.6"]
    assert [e.kind for e in listed] == ["check", "check", "check", "model answer"]
    assert [e.id for e in reg.registered("02")] == ["02.4", "02.6"]
    text = str(listed).splitlines()
    assert text[0].split() == ["id", "level", "time", "kind", "title"]
    assert text[3] == "02.4   ●●      15 min  check         Receptive field by hand"
    assert text[4] == "02.6   ●●●     30 min  model answer  Effective field with ReLU"
    assert text[-1] == "4 exercises: 3 checks, 1 model answer."
    assert listed[2].heading == "### Exercise 02.4 · ●● · 15 min — Receptive field by hand"
    assert exercises.HEADING_RE.match(listed[2].heading)["title"] == "Receptive field by hand"
    assert str(Registry().registered()) == "No exercises registered."


@pytest.mark.parametrize("kwargs, message", [
    (dict(id="2.4"), r"id must be a string 'NN.k' \(notebook NN, exercise k\), e.g. '02.4'; received '2.4'"),
    (dict(id="02.0"), r"id must be a string 'NN.k'"),
    (dict(id="09.1"), r"id '09.1': notebook must be one of \['01', .*'08'\]; received '09'"),
    (dict(title=""), r"exercise 02.4: title must be a one-line, non-empty string"),
    (dict(level=4), r"exercise 02.4: level must be 1 \(● basic\), 2 \(●● core\) or 3 \(●●● stretch\); received 4"),
    (dict(minutes=0), r"exercise 02.4: minutes must be a positive integer; received 0"),
    (dict(hint=""), r"exercise 02.4: hint must be a non-empty string"),
    (dict(correct=exercises._core._MISSING), r"exercise 02.4: correct= and wrong= example answers are required"),
    (dict(check=5), r"exercise 02.4: check must be a function of the answer; received int"),
])
def test_registration_rejects_bad_arguments(reg, kwargs, message):
    args = dict(id="02.4", title="T", level=2, minutes=15, hint="h", check=expect_equal(1), correct=1, wrong=2) | kwargs
    with pytest.raises(ValueError, match=message):
        reg.exercise(args.pop("id"), **args)


def test_unknown_and_duplicate_ids_and_bad_checker_arguments(reg):
    reg.exercise("02.4", title="T", level=2, minutes=15, hint="h", check=expect_equal(1), correct=1, wrong=2)
    with pytest.raises(ValueError, match=r"exercise 02.4 is registered twice"):
        reg.model_answer("02.4", "text", title="U", level=1, minutes=5)
    with pytest.raises(ValueError, match=r"No exercise '02.5' is registered \(notebook 02 has 02.4\)"):
        reg.check("02.5", 1)
    with pytest.raises(ValueError, match=r"exercise id must be a string like '02.4'; received 2.4"):
        reg.check(2.4, 1)
    with pytest.raises(ValueError, match=r"reference must be a value or lazy\(function\)"):
        expect_close(lambda: 3.0)
    with pytest.raises(ValueError, match=r"min_accuracy needs data"):
        expect_model(min_accuracy=0.9)
    with pytest.raises(ValueError, match=r"at least one requirement"):
        expect_model()
    with pytest.raises(ValueError, match=r"fields must be a non-empty dict"):
        expect_fields({})
    with pytest.raises(ValueError, match=r"lazy\(\) needs a function of no arguments"):
        lazy(3)


def test_lazy_values_are_computed_once_on_first_use():
    calls = []
    value = lazy(lambda: calls.append(1) or 42)
    assert calls == []
    assert resolve(value) == 42 and resolve(value) == 42 and calls == [1]
    assert resolve(7) == 7


# ================================================================ 2. the generic tests over the course


def _scalars(value):
    """The numbers and strings inside a correct answer (the things a message must not print)."""
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _scalars(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _scalars(v)
    elif isinstance(value, (bool, np.bool_)):
        return
    elif isinstance(value, (int, float, np.integer, np.floating, str)):
        yield value


def revealed(body: str, correct, wrong) -> list[str]:
    """Parts of the correct answer that a failure message prints.

    Values the wrong answer shares with the correct one are left out (echoing
    what the learner typed reveals nothing), and so are 0, 1, -1 and strings
    shorter than 3 characters (too common to test).
    """
    shared = set(_scalars(wrong))
    found = []
    for value in _scalars(correct):
        if value in shared:
            continue
        if isinstance(value, str):
            if len(value) >= 3 and value in body:
                found.append(value)
            continue
        if value in (0, 1, -1):
            continue
        forms = {str(value), f"{value:g}", f"{value:,}"}
        if any(re.search(rf"(?<![\d.]){re.escape(form)}(?!\d)", body) for form in forms):
            found.append(str(value))
    return found


def example_problems(exercise, registry) -> list[str]:
    """Run a check with its correct and its wrong example answers; say what is wrong (empty when fine)."""
    found = []
    try:
        out = run_check(registry, exercise.id, resolve(exercise.correct))
    except AssertionError as error:
        found.append(f"{exercise.id}: its correct example fails: {error}")
    else:
        if not out.startswith(f"{PASS_MARK} {exercise.id} · "):
            found.append(f"{exercise.id}: its correct example printed {out.strip()!r}, not a pass line")
    wrong = resolve(exercise.wrong)
    try:
        out = run_check(registry, exercise.id, wrong)
    except AssertionError as error:
        message = str(error)
        for word in ("Expected", "Received", "\nHint: "):
            if word not in message:
                found.append(f"{exercise.id}: the message for its wrong example has no {word.strip()!r}: {message!r}")
        body = message.removeprefix(f"{exercise.id} · {exercise.title}: ")
        leaks = revealed(body, resolve(exercise.correct), wrong)
        if leaks:
            found.append(f"{exercise.id}: the message for its wrong example reveals the answer ({leaks}): {message!r}")
    else:
        found.append(f"{exercise.id}: its wrong example does not fail (it printed {out.strip()!r})")
    if run_check(registry, exercise.id, TODO) != f"{exercise.id}: not answered yet\n":
        found.append(f"{exercise.id}: TODO does not print 'not answered yet'")
    return found


def test_every_registered_check_passes_its_correct_example_and_rejects_its_wrong_one():
    problems = {e.id: example_problems(e, exercises.REGISTRY)
                for e in exercises.registered() if e.kind == exercises.CHECK}
    assert {k: v for k, v in problems.items() if v} == {}


def test_every_registered_model_answer_has_text_and_a_solutions_notebook_name():
    for e in exercises.registered():
        if e.kind == exercises.MODEL_ANSWER:
            assert e.text and e.solutions == f"solutions/{exercises.NOTEBOOKS[e.notebook]}_solutions.ipynb"


def test_the_generic_example_test_catches_what_it_must(reg):
    reg.exercise("01.2", title="Leaky", level=1, minutes=5, hint="h", correct=31, wrong=30,
                 check=expect_close(31, what="the size"))
    reg.exercise("01.3", title="Passes anything", level=1, minutes=5, hint="h", correct=1, wrong=2,
                 check=lambda answer: "fine")

    @reg.exercise("01.4", title="Tells the answer", level=1, minutes=5, hint="h", correct=124, wrong=126)
    def _(answer):
        if answer != 124:
            raise AssertionError(f"Expected 124. Received {answer}.")

    @reg.exercise("01.5", title="Vague", level=1, minutes=5, hint="h", correct="max", wrong="mean")
    def _(answer):
        if answer != "max":
            raise AssertionError("No.")

    reg.exercise("02.1", title="Shape", level=1, minutes=5, hint="h", correct=(1, 15, 15, 8), wrong=(1, 16, 16, 8),
                 check=expect_shape((1, 15, 15, 8)))
    assert example_problems(reg.get("01.2"), reg) == []
    assert example_problems(reg.get("02.1"), reg) == []  # "8" in "Received (1, 16, 16, 8)" echoes the learner
    assert example_problems(reg.get("01.3"), reg) == ["01.3: its wrong example does not fail (it printed '✔ 01.3 · Passes anything: fine')"]
    assert example_problems(reg.get("01.4"), reg)[0].startswith("01.4: the message for its wrong example reveals the answer (['124'])")
    problems = example_problems(reg.get("01.5"), reg)
    assert len(problems) == 2 and "no 'Expected'" in problems[0] and "no 'Received'" in problems[1]


def _exercise_headings(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [s.id for s in nbtool.exercise_sections(nb)]


def test_the_notebook_list_matches_the_course():
    assert {f"{number}_{name.split('_', 1)[1]}.ipynb" for number, name in exercises.NOTEBOOKS.items()} == \
        {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}


def test_every_converted_notebook_has_its_exercises_checked_and_solved():
    assert NOT_YET_CONVERTED <= set(exercises.NOTEBOOKS), "NOT_YET_CONVERTED names a notebook that does not exist"
    for number, name in exercises.NOTEBOOKS.items():
        course = ROOT / "notebooks" / f"{name}.ipynb"
        solutions = ROOT / "solutions" / f"{name}{nbtool.SOLUTIONS_SUFFIX}"
        if number in NOT_YET_CONVERTED:
            # Still listed: nothing converted yet. Converting? Remove it from NOT_YET_CONVERTED.
            assert not exercises.registered(number), f"{number} has registered exercises: remove it from NOT_YET_CONVERTED"
            assert not _exercise_headings(course), f"{course.name} has exercise headings: remove {number} from NOT_YET_CONVERTED"
            assert not solutions.exists(), f"{solutions.name} exists: remove {number} from NOT_YET_CONVERTED"
            continue
        assert exercises.registered(number), f"notebook {number} is converted but registers no exercise"
        assert solutions.exists(), f"notebook {number} is converted but has no {solutions.name}"
        assert nbtool.exercise_problems(course) == []
        assert nbtool.exercise_problems(solutions) == []


# ================================================================ 3. TEMPLATE: one complete worked exercise
#
# What a notebook owner writes for one exercise with a check, and one open
# question, here for notebook 02 (a private registry stands in for the course's):
#
# cnnkit/exercises/nb02.py
#     exercise("02.4", title="Receptive field by hand", level=2, minutes=15,
#              check=expect_fields({"size": expect_equal(25, what="the receptive field size"),
#                                   "jump": expect_equal(4, what="the jump")}),
#              correct={"size": 25, "jump": 4}, wrong={"size": 21, "jump": 4},
#              hint="Each layer adds (k_eff - 1) × jump to the field ...")
#     model_answer("02.6", "...", title="Effective field with ReLU", level=3, minutes=30)
#
# notebooks/02_pooling.ipynb, under "## Exercises"     solutions/02_pooling_solutions.ipynb
#     from cnnkit.exercises import TODO, check             same imports (+ show_answer)
#     ### Exercise 02.4 · ●● · 15 min — Receptive ...      the same heading
#     <the exercise text>                                  <how to solve it>
#     rf_answer = {"size": TODO, "jump": TODO}             rf_answer = {"size": 25, "jump": 4}
#     check("02.4", rf_answer)                             check("02.4", rf_answer)   -> ✔
#     ### Exercise 02.6 · ●●● · 30 min — Effective ...     the same heading
#     check("02.6")                                        show_answer("02.6")


def template_registry() -> Registry:
    reg = Registry()
    reg.exercise("02.4", title="Receptive field by hand", level=2, minutes=15,
                 check=expect_fields({"size": expect_equal(25, what="the receptive field size"),
                                      "jump": expect_equal(4, what="the jump")}),
                 correct={"size": 25, "jump": 4}, wrong={"size": 21, "jump": 4},
                 hint="Each layer adds (k_eff - 1) × jump to the field, with k_eff = d(k - 1) + 1, "
                      "and multiplies the jump by its stride.")
    reg.model_answer("02.6", "With ReLU about half the paths carry no gradient, so the influence "
                     "concentrates even more in the centre.", title="Effective field with ReLU", level=3, minutes=30)
    return reg


def executed_cell(source: str, registry: Registry):
    """A code cell with the output that running it gives (check / show_answer calls only)."""
    out = io.StringIO()
    namespace = {"TODO": TODO, "check": registry.check, "show_answer": registry.show_answer}
    with redirect_stdout(out):
        exec(source, namespace)
    cell = nbformat.v4.new_code_cell(source)
    if out.getvalue():
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=out.getvalue())]
    return cell


def template_cells(registry: Registry, solutions: bool, answer="{'size': 25, 'jump': 4}"):
    md = nbformat.v4.new_markdown_cell
    imports = "from cnnkit.exercises import TODO, check" + (", show_answer" if solutions else "")
    rf_answer = answer if solutions else "{'size': TODO, 'jump': TODO}"
    cells = [] if solutions else [md("## Exercises")]
    cells += [
        executed_cell(imports.replace("from cnnkit.exercises import", "# from cnnkit.exercises import"), registry),
        md("### Exercise 02.4 · ●● · 15 min — Receptive field by hand\n\nCompute the receptive field ..."),
        executed_cell(f"# your code here\nrf_answer = {rf_answer}", registry),
        executed_cell('rf_answer = ' + rf_answer + '\ncheck("02.4", rf_answer)', registry),
        md("### Exercise 02.6 · ●●● · 30 min — Effective field with ReLU\n\nRepeat the experiment ..."),
        executed_cell('show_answer("02.6")' if solutions else 'check("02.6")', registry),
    ]
    return cells


def write_notebook(path: Path, cells):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbtool.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


@pytest.fixture
def template(tmp_path):
    reg = template_registry()
    course = write_notebook(tmp_path / "notebooks" / "02_pooling.ipynb", template_cells(reg, solutions=False))
    solutions = write_notebook(tmp_path / "solutions" / "02_pooling_solutions.ipynb", template_cells(reg, solutions=True))
    return reg, course, solutions


def test_template_is_accepted_by_nbtool(template):
    reg, course, solutions = template
    assert example_problems(reg.get("02.4"), reg) == []
    assert nbtool.exercise_problems(course, registry=reg) == []
    assert nbtool.exercise_problems(solutions, registry=reg) == []
    assert [s.id for s in nbtool.exercise_sections(nbformat.read(course, as_version=4))] == ["02.4", "02.6"]
    outputs = "".join(c.outputs[0].text for c in nbformat.read(course, as_version=4).cells
                      if c.cell_type == "code" and c.outputs)
    assert outputs.splitlines() == [  # one line per exercise for a learner who answers nothing
        "02.4: not answered yet (still TODO: size, jump)",
        "02.6: an open question, with no automatic check; compare your answer with the model answer in "
        "solutions/02_pooling_solutions.ipynb.",
    ]


def test_nbtool_reports_every_way_a_notebook_owner_can_slip(template, tmp_path):
    reg, course, solutions = template
    nb = nbformat.read(course, as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("15 min", "20 min")
    nb.cells.append(nbformat.v4.new_markdown_cell("### Exercise 02.5 · ● · 5 min — Not registered"))
    nb.cells.append(nbformat.v4.new_markdown_cell("### Exercise 2.7 — Malformed"))
    nbtool.write(nb, course)
    assert nbtool.exercise_problems(course, registry=reg) == [
        "malformed exercise heading '### Exercise 2.7 — Malformed': write it as "
        "'### Exercise 02.1 · ●● · 15 min — Title' (CONTRIBUTING.md, Exercises)",
        "exercise 02.4: the heading '### Exercise 02.4 · ●● · 20 min — Receptive field by hand' differs from the "
        "registry's '### Exercise 02.4 · ●● · 15 min — Receptive field by hand'",
        "exercise 02.5 has no registered check or model answer (add it to cnnkit/exercises/nb02.py)",
    ]

    # A starter cell that gives the answer away shows a pass mark instead of "not answered yet".
    answered = template_cells(reg, solutions=True)  # solution cells under the course's heading layout
    write_notebook(course, [nbformat.v4.new_markdown_cell("## Exercises"), *answered])
    problems = nbtool.exercise_problems(course, registry=reg)
    assert problems[0].startswith("exercise 02.4: the committed output of its check cell does not show "
                                  "'02.4: not answered yet' (the starter cell must leave the answer as TODO")
    assert problems[1].startswith("exercise 02.6: no code cell under its heading calls check('02.6', ...)")

    # The solutions: a check that fails, a different check line, a missing exercise, no course notebook.
    cells = template_cells(reg, solutions=True, answer="{'size': 25, 'jump': 4}")
    cells[3] = executed_cell('answer = {"size": 25, "jump": 4}\ncheck("02.4", answer)', reg)
    write_notebook(solutions, cells[:4])
    course.unlink()
    assert nbtool.exercise_problems(solutions, registry=reg) == [
        "its course notebook 02_pooling.ipynb does not exist",
        "exercise 02.6 is registered but 02_pooling_solutions.ipynb has no heading "
        "'### Exercise 02.6 · ●●● · 30 min — Effective field with ReLU'",
    ]
    write_notebook(course, template_cells(reg, solutions=False))
    assert nbtool.exercise_problems(solutions, registry=reg)[-1] == (
        "exercise 02.4: the solution must end with the same check line as the course notebook "
        "('check(\"02.4\", rf_answer)')")
    with pytest.raises(AssertionError, match="parts? (is|are) wrong"):  # a wrong solution cannot even be committed run
        executed_cell('check("02.4", {"size": 21, "jump": 4})', reg)


def test_a_notebook_without_exercises_in_the_new_format_has_no_exercise_problems(tmp_path):
    path = write_notebook(tmp_path / "notebooks" / "02_pooling.ipynb",
                          [nbformat.v4.new_markdown_cell("## Exercises\n\n1. **Overlapping pooling.** ...")])
    assert nbtool.exercise_problems(path, registry=Registry()) == []
    # ... until an exercise is registered for it: then its heading is missing.
    reg = template_registry()
    assert nbtool.exercise_problems(path, registry=reg)[0] == "its solutions notebook 02_pooling_solutions.ipynb does not exist"
