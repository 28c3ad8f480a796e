"""Ready-made checkers: one per kind of answer (numbers, arrays, shapes, functions, models, dicts).

Each ``expect_*`` function returns a checker, ``checker(answer) -> str``: it
returns a short description of a correct answer and raises ``AssertionError``
with an *Expected … Received …* message for a wrong one. The messages describe
what was expected (a tolerance, a property, which axes are wrong) and what was
received, and never print the correct value itself when that value is the answer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from cnnkit.exercises._core import TODO, Lazy, NotAnswered, resolve

# ---------------------------------------------------------------- describing values


def describe(value) -> str:
    """A short description of a received value, for *Received …* (never of the expected one)."""
    if value is TODO:
        return "TODO"
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}" if abs(int(value)) >= 10_000 else str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57]) + "..."
    if _is_model(value):
        return f"a keras Model {value.name!r}"
    array = _as_array(value) if not isinstance(value, (list, tuple, Mapping)) else None
    if array is not None:
        return describe(array.item()) if array.ndim == 0 else f"an array of shape {array.shape} ({array.dtype})"
    if isinstance(value, (list, tuple)):
        text = repr(value)
        return text if len(text) <= 60 else f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, Mapping):
        return f"a dict with keys {list(value)}"
    if callable(value):
        return f"the function {getattr(value, '__name__', type(value).__name__)}"
    return f"a {type(value).__name__}"


def _is_model(value) -> bool:
    import keras

    return isinstance(value, keras.Model)


def _as_array(value) -> np.ndarray | None:
    """The answer as a NumPy array of numbers (from lists, NumPy or any backend's tensor), or None."""
    import keras

    if isinstance(value, (str, bytes, Mapping)) or value is None or callable(value):
        return None
    try:
        array = keras.ops.convert_to_numpy(value) if keras.ops.is_tensor(value) else np.asarray(value)
    except (ValueError, TypeError):
        return None
    if array.dtype == bool:
        return array.astype(np.int64)
    return array if np.issubdtype(array.dtype, np.number) else None


def _check_reference(reference, name: str):
    """Reject a plain function where a value (or ``lazy(...)``) is expected."""
    if callable(reference) and not isinstance(reference, Lazy):
        raise ValueError(f"{name} must be a value or lazy(function); received a function: "
                         "wrap it as exercises.lazy(...) to compute it on first use.")


def _tolerance(rtol: float, atol: float) -> str:
    if rtol <= 1e-5 and atol <= 1e-6:
        return "equal to the correct value (up to float rounding)"
    if atol == 0:
        return f"within {rtol * 100:g}% of the correct value"
    if rtol == 0:
        return f"within {atol:g} of the correct value"
    return f"within rtol={rtol:g}, atol={atol:g} of the correct value"


def _axes(indices) -> str:
    names = [str(i) for i in indices]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"axis {joined} is" if len(names) == 1 else f"axes {joined} are"


# ---------------------------------------------------------------- numbers and arrays


def _compare_numbers(answer, reference: np.ndarray, rtol: float, atol: float, what: str,
                     tolerance: str | None = None) -> str | None:
    """None when ``answer`` matches, else the message (no reference values in it)."""
    tolerance = tolerance or _tolerance(rtol, atol)
    array = _as_array(answer)
    if reference.ndim == 0:
        if array is None or array.size != 1:
            return f"Expected {what} as a single number. Received {describe(answer)}."
        value = float(array.reshape(()))
        if not np.isclose(value, float(reference), rtol=rtol, atol=atol):
            return f"Expected {what} {tolerance}. Received {describe(value)}."
        return None
    if array is None:
        return f"Expected {what} as an array of numbers. Received {describe(answer)}."
    if array.shape != reference.shape:
        return f"Expected {what} as an array of shape {reference.shape}. Received shape {array.shape}."
    ok = np.isclose(array.astype(np.float64), reference.astype(np.float64), rtol=rtol, atol=atol)
    if not ok.all():
        diff = np.abs(array.astype(np.float64) - reference.astype(np.float64))
        diff = np.where(np.isnan(diff), np.inf, diff)
        worst = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
        return (f"Expected {what} {tolerance} at every position. Received values that differ "
                f"at {int((~ok).sum()):,} of {ok.size:,} positions (the largest difference, "
                f"{float(diff.max()):.3g}, at index {worst}).")
    return None


def expect_close(reference, *, rtol: float = 1e-6, atol: float = 0.0, what: str = "your answer"):
    """Check a number or an array against the correct one, to a tolerance.

    Args:
        reference: the correct number or array, or ``lazy(function)`` computing it.
        rtol, atol: relative and absolute tolerance (as ``np.isclose``);
            ``rtol=0.01`` accepts answers within 1 %.
        what: what the answer is, for the message ("the output size").

    Returns:
        A checker. For a number, a wrong answer reads "Expected the output size
        within 1% of the correct value. Received 31."; for an array it says how
        many positions differ and by how much, never the correct values.
    """
    _check_reference(reference, "reference")

    def checker(answer):
        correct = _as_array(resolve(reference))
        if correct is None:
            raise ValueError(f"expect_close: the reference must be numeric; received {describe(resolve(reference))}.")
        problem = _compare_numbers(answer, correct, rtol, atol, what)
        if problem:
            raise AssertionError(problem)
        return "correct" if correct.ndim == 0 else f"all {correct.size:,} values match"

    return checker


def expect_equal(reference, *, what: str = "your answer"):
    """Check an exact answer: a whole number, a word, a tuple, an integer array.

    Args:
        reference: the correct value, or ``lazy(function)`` computing it.
        what: what the answer is, for the message.

    Returns:
        A checker; a wrong answer reads "Expected the number of parameters to be
        the correct value. Received 1,234." (the correct value is not shown).
    """
    _check_reference(reference, "reference")

    def checker(answer):
        correct = resolve(reference)
        if isinstance(correct, str):
            if not isinstance(answer, str):
                raise AssertionError(f"Expected {what} as a string. Received {describe(answer)}.")
            if answer.strip() != correct:
                raise AssertionError(f"Expected {what} to be the correct text. Received {describe(answer)}.")
            return "correct"
        if isinstance(correct, (list, tuple)) and all(np.ndim(c) == 0 for c in correct):
            if not isinstance(answer, (list, tuple, np.ndarray)) or len(answer) != len(correct):
                raise AssertionError(f"Expected {what} as a sequence of {len(correct)} values. "
                                     f"Received {describe(answer)}.")
            wrong = [i for i, (a, c) in enumerate(zip(answer, correct)) if not _same(a, c)]
            if wrong:
                raise AssertionError(f"Expected {what} to be correct in every position. Received {describe(answer)}: "
                                     f"{'item' if len(wrong) == 1 else 'items'} {', '.join(map(str, wrong))} "
                                     f"{'is' if len(wrong) == 1 else 'are'} wrong.")
            return "correct"
        array = _as_array(correct)
        if array is not None:
            if array.ndim == 0:
                kind = "a whole number" if np.issubdtype(array.dtype, np.integer) else "a number"
                tolerance = "to be the correct value"
            else:
                kind, tolerance = "an array", "equal to the correct values"
            problem = _compare_numbers(answer, array, 0.0, 0.0, what, tolerance)
            if problem and array.ndim == 0 and _as_array(answer) is None:
                raise AssertionError(f"Expected {what} as {kind}. Received {describe(answer)}.")
            if problem:
                raise AssertionError(problem)
            return "correct" if array.ndim == 0 else f"all {array.size:,} values match"
        if not _same(answer, correct):
            raise AssertionError(f"Expected {what} to be the correct value. Received {describe(answer)}.")
        return "correct"

    return checker


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return False


# ---------------------------------------------------------------- shapes


def _shape_of(answer) -> tuple | None:
    shape = getattr(answer, "shape", answer)
    if hasattr(answer, "shape") and not isinstance(shape, (list, tuple)):
        try:
            shape = tuple(shape)  # TensorFlow's TensorShape
        except TypeError:
            return None
    if isinstance(shape, (list, tuple)) and all(
            s is None or (isinstance(s, (int, np.integer)) and not isinstance(s, bool)) for s in shape):
        return tuple(None if s is None else int(s) for s in shape)
    return None


def _shape_problem(shape: tuple, expected: tuple, what: str) -> str | None:
    if len(shape) != len(expected):
        return f"Expected {what} with {len(expected)} axes. Received {shape} ({len(shape)} axes)."
    wrong = [i for i, (s, e) in enumerate(zip(shape, expected)) if e is not None and s != e]
    if wrong:
        return f"Expected {what} with the correct size on every axis. Received {shape}: {_axes(wrong)} wrong."
    return None


def expect_shape(reference, *, what: str = "the shape"):
    """Check a shape: a tuple of integers, or an array / tensor whose shape it is.

    Args:
        reference: the correct shape; ``None`` on an axis accepts any size there.
        what: what the shape is of, for the message.

    Returns:
        A checker; a wrong answer says how many axes were expected, or which
        axes have the wrong size, never the correct sizes.
    """
    _check_reference(reference, "reference")

    def checker(answer):
        expected = tuple(resolve(reference))
        shape = _shape_of(answer)
        if shape is None:
            raise AssertionError(f"Expected {what} as a tuple of integers (or an array whose shape it is). "
                                 f"Received {describe(answer)}.")
        problem = _shape_problem(shape, expected, what)
        if problem:
            raise AssertionError(problem)
        return f"{shape}"

    return checker


# ---------------------------------------------------------------- functions


def call_answer(function: Callable, *args, name: str, where: str):
    """Run the learner's function once, and turn what can go wrong into what ``check`` reports.

    Every checker that runs a learner's function calls it through here, so each
    exercise reports a failure in the same words:

    * the function raises (anything: it is the learner's code): ``AssertionError``
      "Expected <name> to run <where>. It raised <ExceptionType>: <its message>";
    * the function returns ``TODO`` (the starter's ``return TODO``):
      :class:`NotAnswered`, so ``check`` prints "not answered yet";
    * otherwise its result, for the checker to judge.

    Args:
        function: the learner's function.
        *args: its arguments. Pass copies of hidden inputs a function might
            modify (``copy.deepcopy``) when a reference sees them afterwards.
        name: the function, for the message ("to_torch_state_dict", "your max_pool").
        where: the input it ran on, for the message, so the learner can
            reproduce the error ("on hidden input 2 of 3 (an array of shape (8, 8) (float64), 2)").

    Returns:
        What ``function(*args)`` returned.

    Example:
        >>> call_answer(lambda x: 2 * x, 3, name="double", where="on hidden input 1 of 1 (3)")
        6
        >>> call_answer(lambda x: 1 / x, 0, name="inverse", where="on hidden input 1 of 1 (0)")
        Traceback (most recent call last):
        AssertionError: Expected inverse to run on hidden input 1 of 1 (0). It raised ZeroDivisionError: division by zero
    """
    try:
        result = function(*args)
    except Exception as error:  # the learner's code: report whatever it raised
        raised = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise AssertionError(f"Expected {name} to run {where}. It raised {raised}") from None
    if result is TODO:
        raise NotAnswered()
    return result


def _describe_args(args: tuple) -> str:
    return ", ".join(describe(a) for a in args) or "no arguments"


def _result_problem(result, correct, rtol: float, atol: float) -> str | None:
    """How ``result`` differs from ``correct`` (None when it matches), without the correct values."""
    if isinstance(correct, (list, tuple)):
        if not isinstance(result, (list, tuple)) or len(result) != len(correct):
            return f"returned {describe(result)} where the correct result is a {type(correct).__name__} of {len(correct)} items"
        for i, (r, c) in enumerate(zip(result, correct)):
            problem = _result_problem(r, c, rtol, atol)
            if problem:
                return f"item {i}: {problem}"
        return None
    reference = _as_array(correct)
    if reference is None:
        return None if _same(result, correct) else f"returned {describe(result)}, which is not the correct result"
    array = _as_array(result)
    if array is None:
        return f"returned {describe(result)} instead of {'a number' if reference.ndim == 0 else 'an array'}"
    if reference.ndim == 0:
        if array.size != 1 or not np.isclose(float(array.reshape(-1)[0]), float(reference), rtol=rtol, atol=atol):
            return f"returned {describe(result)}, which is not the correct result"
        return None
    if array.shape != reference.shape:
        return f"returned shape {array.shape} where the correct result has shape {reference.shape}"
    ok = np.isclose(array.astype(np.float64), reference.astype(np.float64), rtol=rtol, atol=atol)
    if not ok.all():
        diff = np.abs(array.astype(np.float64) - reference.astype(np.float64))
        return (f"returned values that differ from the correct ones at {int((~ok).sum()):,} of {ok.size:,} "
                f"positions (largest difference {float(np.nanmax(np.where(np.isnan(diff), np.inf, diff))):.3g})")
    return None


def expect_function(reference: Callable, inputs, *, rtol: float = 1e-5, atol: float = 1e-6,
                    what: str = "your function"):
    """Check a function by running it and a reference on hidden inputs.

    Args:
        reference: the correct function.
        inputs: the hidden inputs: a sequence of argument tuples, one per call
            (``[(x1, k1), (x2, k2)]``), or ``lazy(function)`` returning it. Each
            call gets its own copy, so a function that modifies its input cannot
            change what the reference sees.
        rtol, atol: tolerance for numeric results (numbers, arrays, tuples of them).
        what: what the function computes, for the message.

    Returns:
        A checker. A function that returns ``TODO`` (the starter's placeholder)
        counts as not answered; an error inside it, or a wrong result, fails
        with the input described (shapes of arrays) and how the result differs.
    """
    if not callable(reference):
        raise ValueError(f"reference must be the correct function; received {describe(reference)}.")
    if callable(inputs) and not isinstance(inputs, Lazy):
        raise ValueError("inputs must be a sequence of argument tuples or lazy(function); received a function.")

    def checker(answer):
        calls = resolve(inputs)
        if not isinstance(calls, Sequence) or not calls or not all(isinstance(c, tuple) for c in calls):
            raise ValueError("expect_function: inputs must be a non-empty sequence of argument tuples.")
        if not callable(answer):
            raise AssertionError(f"Expected {what} as a function. Received {describe(answer)}.")
        for i, args in enumerate(calls):
            result = call_answer(answer, *copy.deepcopy(args), name=what,
                                 where=f"on hidden input {i + 1} of {len(calls)} ({_describe_args(args)})")
            problem = _result_problem(result, reference(*copy.deepcopy(args)), rtol, atol)
            if problem:
                raise AssertionError(
                    f"Expected {what} to give the correct result on {len(calls)} hidden inputs. "
                    f"Received: on input {i + 1} ({_describe_args(args)}) it {problem}.")
        return f"correct on {len(calls)} hidden inputs"

    return checker


# ---------------------------------------------------------------- models


def _accuracy(model, x, y, batch_size: int) -> float:
    scores = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    if scores.ndim >= 2 and scores.shape[-1] > 1:
        predicted = scores.argmax(-1)
    else:  # one sigmoid output
        predicted = (scores.reshape(len(scores), -1)[:, 0] > 0.5).astype(np.int64)
    y = np.asarray(y)
    if y.ndim == scores.ndim and y.ndim >= 2 and y.shape[-1] == scores.shape[-1] > 1:
        y = y.argmax(-1)  # one-hot labels
    return float(np.mean(predicted == y.reshape(predicted.shape)))


def expect_model(*, data=None, min_accuracy: float | None = None, output_shape=None, params: int | None = None,
                 max_params: int | None = None, receptive_field=None, min_receptive_field=None,
                 batch_size: int = 256, what: str = "your model"):
    """Check a Keras model by its properties: shape, size, receptive field, accuracy on hidden data.

    Requirements the exercise *states* (a bar, a budget) are printed in the
    message; exact properties that *are* the answer (``params``,
    ``receptive_field``) are not.

    Args:
        data: the hidden test set ``(x, y)`` (integer or one-hot labels), or
            ``lazy(function)`` returning it; needed with ``min_accuracy``.
        min_accuracy: the bar, e.g. ``0.9`` (argmax of the outputs, or a single
            sigmoid output thresholded at 0.5).
        output_shape: the output shape without the batch axis (``None`` = any size).
        params: the exact parameter count of the architecture the exercise describes.
        max_params: a parameter budget.
        receptive_field: the exact receptive field of the last spatial feature map
            (``cnnkit.analysis.receptive_field``): an int for every axis, or a tuple.
        min_receptive_field: the least receptive field (int or tuple).
        batch_size: for predicting on ``data``.
        what: for the message.

    Returns:
        A checker; checks run in the order above, cheapest first, the accuracy last.
    """
    if min_accuracy is not None and data is None:
        raise ValueError("expect_model: min_accuracy needs data=(x_test, y_test) (or lazy(...)).")
    if min_accuracy is not None and not 0 < min_accuracy <= 1:
        raise ValueError(f"min_accuracy must be in (0, 1]; received {min_accuracy!r}.")
    if all(v is None for v in (min_accuracy, output_shape, params, max_params, receptive_field, min_receptive_field)):
        raise ValueError("expect_model needs at least one requirement (min_accuracy, output_shape, params, "
                         "max_params, receptive_field or min_receptive_field).")

    def checker(answer):
        if not _is_model(answer):
            raise AssertionError(f"Expected {what} as a keras Model. Received {describe(answer)}.")
        if not answer.built:
            raise AssertionError(f"Expected {what} built (start it with keras.Input(shape) or call it on a batch). "
                                 "Received a model that has no weights yet.")
        found = []
        if output_shape is not None:
            shape = tuple(answer.output_shape[1:])
            problem = _shape_problem(shape, tuple(output_shape), f"the output shape of {what} (without the batch axis)")
            if problem:
                raise AssertionError(problem)
            found.append(f"output {shape}")
        count = int(answer.count_params())
        if params is not None and count != params:
            raise AssertionError(f"Expected {what} to have the parameter count of the architecture described. "
                                 f"Received a model with {count:,} parameters.")
        if max_params is not None and count > max_params:
            raise AssertionError(f"Expected {what} to have at most {max_params:,} parameters. Received {count:,}.")
        if params is not None or max_params is not None:
            found.append(f"{count:,} parameters")
        if receptive_field is not None or min_receptive_field is not None:
            found.append(_check_receptive_field(answer, receptive_field, min_receptive_field, what))
        if min_accuracy is not None:
            x, y = resolve(data)
            try:
                accuracy = _accuracy(answer, x, y, batch_size)
            except Exception as error:  # a model built for another input shape
                raise AssertionError(f"Expected {what} to classify the hidden test images of shape "
                                     f"{tuple(np.shape(x)[1:])}. Received an error: {type(error).__name__}: "
                                     f"{str(error)[:300]}") from None
            if accuracy < min_accuracy:
                raise AssertionError(f"Expected {what} to reach at least {min_accuracy:.1%} accuracy on "
                                     f"{len(x):,} hidden test images. Received {accuracy:.1%}.")
            found.append(f"{accuracy:.1%} accuracy on {len(x):,} hidden test images (the bar: {min_accuracy:.1%})")
        return ", ".join(found)

    return checker


def _check_receptive_field(model, exact, least, what: str) -> str:
    from cnnkit.analysis import receptive_field

    size = tuple(int(s) for s in receptive_field(model).size)
    expand = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * len(size)  # noqa: E731
    if exact is not None and size != expand(exact):
        raise AssertionError(f"Expected {what} to have the receptive field the exercise asks for. "
                             f"Received a receptive field of {size}.")
    if least is not None and any(s < m for s, m in zip(size, expand(least))):
        raise AssertionError(f"Expected {what} to have a receptive field of at least {expand(least)}. "
                             f"Received {size}.")
    return f"receptive field {size}"


# ---------------------------------------------------------------- several parts, properties


def expect_fields(fields: Mapping[str, Callable], *, what: str = "your answer"):
    """Check an answer in several named parts, ``{"size": ..., "jump": ...}``, each with its own checker.

    Args:
        fields: ``{name: checker}``, e.g. ``{"size": expect_equal(25, what="the size")}``.
        what: for the message about a missing part.

    Returns:
        A checker that reports every wrong part (each with its own Expected / Received).
        Parts still ``TODO`` make the whole answer "not answered yet".
    """
    if not isinstance(fields, Mapping) or not fields or not all(callable(c) for c in fields.values()):
        raise ValueError("fields must be a non-empty dict {name: checker}.")

    def checker(answer):
        if not isinstance(answer, Mapping) or set(fields) - set(answer):
            raise AssertionError(f"Expected {what} as a dict with the keys {list(fields)}. Received {describe(answer)}.")
        wrong = []
        for name, check in fields.items():
            try:
                check(answer[name])
            except AssertionError as error:
                wrong.append(f"{name}: {error}")
        if wrong:
            verb = "is" if len(wrong) == 1 else "are"
            raise AssertionError(f"{len(wrong)} of {len(fields)} parts {verb} wrong.\n" + "\n".join(wrong))
        return f"all {len(fields)} parts correct"

    return checker


def expect_property(predicate: Callable[[object], bool], expected: str, *, received: Callable | None = None):
    """Check a property of the answer that has no single correct value ("a kernel whose weights sum to 0").

    Args:
        predicate: ``predicate(answer) -> bool``.
        expected: the property as a noun phrase, printed after "Expected".
        received: optional ``received(answer) -> str`` describing the answer by
            the property (e.g. ``lambda k: f"weights summing to {k.sum():g}"``);
            by default the answer's type and shape.

    Returns:
        A checker.
    """
    if not callable(predicate) or not isinstance(expected, str) or not expected:
        raise ValueError("expect_property needs a predicate function and a description of the property.")

    def _received(answer) -> str:
        try:
            return received(answer) if received else describe(answer)
        except Exception:  # the description assumes the right type; fall back to the generic one
            return describe(answer)

    def checker(answer):
        try:
            holds = bool(predicate(answer))
        except Exception as error:  # an answer of the wrong type
            raise AssertionError(f"Expected {expected}. Received {describe(answer)} "
                                 f"(checking it raised {type(error).__name__}: {error}).") from None
        if not holds:
            raise AssertionError(f"Expected {expected}. Received {_received(answer)}.")
        return expected

    return checker
