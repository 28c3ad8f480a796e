"""The one home of argument checks: every cnnkit function validates its arguments with these.

Each check returns the value in a normal form (a Python ``int``, a ``float``, a
tuple, a NumPy array) or raises with one wording, naming the argument, what it
must be and what was received::

    filters must be a positive integer; received 0.

* a wrong **value** of the right type (``filters=0``) raises ``ValueError``;
* a wrong **type** (``filters="8"``, ``filters=2.5``) raises
  :class:`ArgumentTypeError`, a ``TypeError`` that is also a ``ValueError``, so
  ``except ValueError`` (and ``pytest.raises(ValueError)``) still catches every
  bad argument, as it did before the split.

The rules are decided once, here:

* ``bool`` is never an integer or a number (``True`` is not ``1`` filters);
  NumPy integers and floats are accepted and converted to Python ones;
* numbers must be finite: NaN and infinity are refused everywhere;
* ``num_classes`` is a positive integer (see :func:`num_classes` for why 1 is allowed);
* ranges are written as intervals: ``[0, 1)`` includes 0 and excludes 1.

Every check takes ``allow_none=True`` where ``None`` means "not set"; the
message then says "... or None".

Example:
    >>> from cnnkit import _validate as V
    >>> V.positive_int(3, "filters"), V.pair(3, "kernel_size"), V.rate(0.1, "dropout")
    (3, (3, 3), 0.1)
    >>> V.positive_int(0, "filters")
    Traceback (most recent call last):
    ValueError: filters must be a positive integer; received 0.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

_MAX_REPR = 80  # longest received value quoted in full; longer ones are shortened
# The largest allocation a call may plan (an up-front estimate, see memory()): a sixth of the course's
# 24 GB machine, a third of a free Colab runtime. A size past it is a typo (10**9 samples), not a plan.
MAX_BYTES = 4 * 10**9


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type: a ``TypeError``, and a ``ValueError`` like every other bad argument."""


class UnknownKeyError(KeyError, ValueError):
    """A name that is not a key of a result (a metric, a run): a ``KeyError`` as for a dict, and a ``ValueError``.

    Its message reads as written (a plain ``KeyError`` would show it in quotes).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# ---------------------------------------------------------------- the message


def describe(value) -> str:
    """A short, readable rendering of a received value for an error message.

    Arrays are described by shape and dtype (never printed in full); other
    values use ``repr``, shortened to about 80 characters.

    Example:
        >>> describe(np.zeros((2, 3)))
        'an array of shape (2, 3) and dtype float64'
    """
    if isinstance(value, np.ndarray) or (hasattr(value, "shape") and hasattr(value, "dtype")):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 5] + " ...)"


def message(name: str, expected: str, value, allow_none: bool = False) -> str:
    """``"<name> must be <expected>[ or None]; received <value>."``: the wording of every check."""
    return f"{name} must be {expected}{' or None' if allow_none else ''}; received {describe(value)}."


def fail(name: str, expected: str, value, allow_none: bool = False, wrong_type: bool = False):
    """Raise the standard error: :class:`ArgumentTypeError` for a wrong type, else ``ValueError``."""
    error = ArgumentTypeError if wrong_type else ValueError
    raise error(message(name, expected, value, allow_none))


# ---------------------------------------------------------------- integers


def is_int(value) -> bool:
    """True for Python and NumPy integers, False for ``bool`` (``True`` is not the number 1 here)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _int_words(minimum, maximum) -> str:
    if maximum is None:
        return {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}")
    if minimum is None:
        return f"an integer <= {maximum}"
    return f"an integer in [{minimum}, {maximum}]"


def integer(value, name: str, minimum: int | None = None, maximum: int | None = None, reason: str | None = None,
            allow_none: bool = False) -> int | None:
    """An integer in ``[minimum, maximum]`` (either bound optional), as a Python ``int``.

    Args:
        value: the argument.
        name: its name, for the message.
        minimum, maximum: inclusive bounds; ``None`` for none.
        reason: why the bound exists, added to the message in parentheses.
        allow_none: accept ``None`` (returned as is).

    Example:
        >>> integer(8, "frames", minimum=2, reason="motion needs two frames")
        8
    """
    if value is None and allow_none:
        return None
    expected = _int_words(minimum, maximum) + (f" ({reason})" if reason else "")
    if not is_int(value):
        fail(name, expected, value, allow_none, wrong_type=True)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        fail(name, expected, value, allow_none)
    return int(value)


def positive_int(value, name: str, allow_none: bool = False) -> int | None:
    """An integer ``>= 1`` (sizes, counts, strides)."""
    return integer(value, name, minimum=1, allow_none=allow_none)


def non_negative_int(value, name: str, allow_none: bool = False) -> int | None:
    """An integer ``>= 0`` (seeds, patience, the number of layers to unfreeze)."""
    return integer(value, name, minimum=0, allow_none=allow_none)


def num_classes(value, name: str = "num_classes") -> int:
    """The number of classes a model outputs: a positive integer.

    One rule for every model. 1 is allowed on purpose: a classifier with one
    output unit is a binary classifier scored by a single logit (what
    :func:`cnnkit.train.compile_model` compiles with binary cross-entropy), and a
    detector's classes exclude the background, so a one-class detector (faces)
    is a common model. A *dataset* needs at least two classes to be a
    classification task; the data loaders check that themselves.
    """
    return positive_int(value, name)


def seed(value, name: str = "seed") -> int | None:
    """A random seed: a non-negative integer or ``None`` (fresh randomness)."""
    return non_negative_int(value, name, allow_none=True)


# ---------------------------------------------------------------- real numbers


def _interval(minimum, maximum, min_open: bool, max_open: bool) -> str:
    low = "(" if min_open else "["
    high = ")" if max_open else "]"
    return f"{low}{minimum:g}, {maximum:g}{high}"


def _number_words(minimum, maximum, min_open, max_open) -> str:
    if minimum is None and maximum is None:
        return "a finite number"
    if maximum is None:
        if minimum == 0:
            return "a positive number" if min_open else "a non-negative number"
        return f"a number {'>' if min_open else '>='} {minimum:g}"
    if minimum is None:
        return f"a number {'<' if max_open else '<='} {maximum:g}"
    return f"a number in {_interval(minimum, maximum, min_open, max_open)}"


def is_number(value) -> bool:
    """True for Python and NumPy reals (ints included, 0-d arrays too), False for ``bool`` and complex numbers."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and np.issubdtype(value.dtype, np.number) and not np.iscomplexobj(value)
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def number(value, name: str, minimum: float | None = None, maximum: float | None = None, min_open: bool = False,
           max_open: bool = False, reason: str | None = None, allow_none: bool = False) -> float | None:
    """A finite real number in an interval, as a Python ``float``.

    Args:
        value: the argument.
        name: its name, for the message.
        minimum, maximum: the bounds (``None`` for none).
        min_open, max_open: exclude the bound itself (``(0, 1)`` vs ``[0, 1]``).
        reason: why the bounds exist, added to the message in parentheses.
        allow_none: accept ``None``.

    Example:
        >>> number(0.5, "alpha", minimum=0, maximum=1)
        0.5
    """
    if value is None and allow_none:
        return None
    expected = _number_words(minimum, maximum, min_open, max_open) + (f" ({reason})" if reason else "")
    if not is_number(value):
        fail(name, expected, value, allow_none, wrong_type=True)
    real = float(value)
    below = minimum is not None and (real <= minimum if min_open else real < minimum)
    above = maximum is not None and (real >= maximum if max_open else real > maximum)
    if not math.isfinite(real) or below or above:
        fail(name, expected, value, allow_none)
    return real


def positive_float(value, name: str, allow_none: bool = False) -> float | None:
    """A finite number ``> 0`` (learning rates, sample rates, scales)."""
    return number(value, name, minimum=0, min_open=True, allow_none=allow_none)


def non_negative_float(value, name: str, allow_none: bool = False) -> float | None:
    """A finite number ``>= 0`` (noise levels, loss weights, smoothing terms)."""
    return number(value, name, minimum=0, allow_none=allow_none)


def fraction(value, name: str, allow_none: bool = False) -> float | None:
    """A number in ``[0, 1]``: a probability, a share, an opacity, an IoU threshold."""
    return number(value, name, minimum=0, maximum=1, allow_none=allow_none)


def rate(value, name: str, allow_none: bool = False) -> float | None:
    """A number in ``[0, 1)``: a dropout or drop-path rate, a momentum, an augmentation strength.

    1 is excluded: a dropout of 1 drops everything (and divides by ``1 - rate = 0``),
    a momentum of 1 never updates.
    """
    return number(value, name, minimum=0, maximum=1, max_open=True, allow_none=allow_none)


def open_fraction(value, name: str) -> float:
    """A number strictly between 0 and 1: the share of a data set split off (both parts non-empty)."""
    return number(value, name, minimum=0, maximum=1, min_open=True, max_open=True)


def number_range(value, name: str, minimum: float | None = None, maximum: float | None = None,
                 min_open: bool = False) -> tuple[float, float]:
    """A ``(low, high)`` pair of numbers with ``low <= high``, both inside ``[minimum, maximum]``.

    Example:
        >>> number_range((0.1, 0.3), "radius_range", 0.01, 0.5)
        (0.1, 0.3)
    """
    if minimum is None and maximum is None:
        bounds = "low <= high"
    elif maximum is None:
        bounds = f"{minimum:g} {'<' if min_open else '<='} low <= high"
    else:
        bounds = f"{minimum:g} {'<' if min_open else '<='} low <= high <= {maximum:g}"
    expected = f"a (low, high) pair of numbers with {bounds}"
    pair = as_sequence(value)
    if pair is None or len(pair) != 2 or not all(is_number(v) for v in pair):
        fail(name, expected, value, wrong_type=pair is None)
    low, high = float(pair[0]), float(pair[1])
    ok = math.isfinite(low) and math.isfinite(high) and low <= high
    if minimum is not None:
        ok = ok and (low > minimum if min_open else low >= minimum)
    if maximum is not None:
        ok = ok and high <= maximum
    if not ok:
        fail(name, expected, value)
    return low, high


# ---------------------------------------------------------------- flags and choices


def boolean(value, name: str) -> bool:
    """``True`` or ``False`` (NumPy booleans too); 0, 1 and strings are refused."""
    if not isinstance(value, (bool, np.bool_)):
        fail(name, "True or False", value, wrong_type=True)
    return bool(value)


def choice(value, name: str, choices, case_sensitive: bool = True):
    """One of ``choices`` (returned as written in ``choices``).

    Args:
        value: the argument.
        name: its name.
        choices: the allowed values (any iterable; a dict's keys).
        case_sensitive: ``False`` accepts strings in any case (``"SAME"`` for ``"same"``).

    Example:
        >>> choice("Same", "padding", ("valid", "same"), case_sensitive=False)
        'same'
    """
    options = tuple(choices)
    for option in options:
        if _same_choice(value, option, case_sensitive):
            return option
    fail(name, f"one of {options}", value)


def _same_choice(value, option, case_sensitive: bool) -> bool:
    if isinstance(value, (bool, np.bool_)) != isinstance(option, (bool, np.bool_)):
        return False  # True is not the choice 1
    if not case_sensitive and isinstance(value, str) and isinstance(option, str):
        return value.lower() == option.lower()
    try:
        return bool(value == option) and type(value) is not np.ndarray
    except (TypeError, ValueError):
        return False


def distinct_choices(value, name: str, choices, min_count: int = 1) -> list:
    """A list of distinct entries of ``choices`` (class names picked from a data set's), in the given order.

    Example:
        >>> distinct_choices(("circle", "square"), "classes", ("circle", "square", "triangle"), min_count=2)
        ['circle', 'square']
    """
    options = tuple(choices)
    counted = "one or more" if min_count <= 1 else f"{min_count} or more"
    expected = f"{counted} distinct names from {options}"
    items = (value,) if isinstance(value, str) else as_sequence(value)
    if items is None:
        fail(name, expected, value, wrong_type=True)
    if len(items) < min_count or len(set(items)) != len(items) or any(item not in options for item in items):
        fail(name, expected, value)
    return list(items)


def activation(value, name: str = "activation") -> Callable:
    """The Keras activation function for a name (``None`` = linear), or a clear error.

    Example:
        >>> activation("relu").__name__
        'relu'
    """
    import keras

    expected = "the name of a Keras activation (e.g. 'relu', 'relu6', 'swish')"
    if value is None:
        return keras.activations.linear
    if not isinstance(value, str):
        fail(name, expected, value, allow_none=True, wrong_type=True)
    try:
        return keras.activations.get(value)
    except (ValueError, TypeError):
        fail(name, expected, value, allow_none=True)


def instance(value, name: str, classes, expected: str):
    """``value`` if it is an instance of ``classes``; else an :class:`ArgumentTypeError` naming its type.

    Example:
        >>> instance({}, "backbone_kwargs", dict, "a dict")
        {}
    """
    if not isinstance(value, classes):
        raise ArgumentTypeError(f"{name} must be {expected}; received {type(value).__name__} {describe(value)}.")
    return value


# ---------------------------------------------------------------- tuples and shapes


def as_sequence(value) -> tuple | None:
    """``tuple(value)`` for ordered sized collections: lists, tuples, 1D arrays, shapes.

    Shapes count (``tf.TensorShape``, ``torch.Size``: a tensor's ``.shape`` on any
    backend); strings, dicts, sets, scalars and arrays of another rank give ``None``.
    """
    if isinstance(value, (str, bytes, dict, set, frozenset)):
        return None
    if isinstance(value, np.ndarray):
        return tuple(value) if value.ndim == 1 else None
    if isinstance(value, Sequence) or (hasattr(value, "__len__") and hasattr(value, "__iter__")):
        return tuple(value)
    return None


def as_tuple(value, name: str, n: int, check: Callable = positive_int, axes: str | None = None,
             each: str = "positive integer") -> tuple:
    """One value for every axis, or ``n`` values: a validated ``n``-tuple.

    Args:
        value: a single value (used for all ``n`` axes) or a sequence of ``n`` values.
        name: the argument's name.
        n: the number of axes.
        check: the check every element must pass (default :func:`positive_int`).
        axes: names of the axes for the message, e.g. ``"(height, width)"``.
        each: what one element is, for the message (``"positive integer"``).

    Example:
        >>> as_tuple(2, "strides", 3), as_tuple((1, 2, 2), "strides", 3)
        ((2, 2, 2), (1, 2, 2))
    """
    expected = f"a {each} or {n} {each}s" + (f" {axes}" if axes else "")
    items = as_sequence(value)
    if items is None:
        items = (value,) * n
    if len(items) != n:
        fail(name, expected, value)
    try:
        return tuple(check(item, name) for item in items)
    except ValueError as error:  # re-word: the message names the whole argument, not one element
        raise type(error)(message(name, expected, value)) from None


def pair(value, name: str, check: Callable = positive_int) -> tuple:
    """An int or a pair of ints ``(height, width)``: kernel sizes, strides, image sizes."""
    return as_tuple(value, name, 2, check, axes="(height, width)")


def triple(value, name: str, check: Callable = positive_int) -> tuple:
    """An int or three ints ``(time, height, width)``: 3D kernel sizes and strides."""
    return as_tuple(value, name, 3, check, axes="(time, height, width)")


def positive_ints(value, name: str, length: int | None = None, min_length: int = 1,
                  what: str | None = None) -> tuple[int, ...]:
    """A sequence of positive integers (channels per stage, blocks per stage), as a tuple.

    Args:
        value: the sequence.
        name: its name.
        length: the exact length required, if any.
        min_length: the shortest length allowed (default 1: non-empty).
        what: what the entries are, for the message (``"one per stage"``).

    Example:
        >>> positive_ints([16, 32], "widths")
        (16, 32)
    """
    if length is not None:
        expected = f"{length} positive integers"
    elif min_length <= 1:
        expected = "a non-empty sequence of positive integers"
    else:
        expected = f"a sequence of at least {min_length} positive integers"
    expected += f" ({what})" if what else ""
    items = as_sequence(value)
    if items is None:
        fail(name, expected, value, wrong_type=True)
    if (length is not None and len(items) != length) or len(items) < min_length or not all(
            is_int(v) and v >= 1 for v in items):
        fail(name, expected, value)
    return tuple(int(v) for v in items)


def positive_floats(value, name: str, length: int | None = None) -> tuple[float, ...]:
    """One or more positive finite numbers (a single number counts as one), as a tuple of floats.

    Example:
        >>> positive_floats(0.5, "ratios"), positive_floats([1, 2], "scales")
        ((0.5,), (1.0, 2.0))
    """
    expected = f"{length} positive numbers" if length is not None else "one or more positive numbers"
    items = as_sequence(value)
    if items is None:
        items = (value,)
    ok = bool(items) and (length is None or len(items) == length)
    ok = ok and all(is_number(v) and math.isfinite(float(v)) and v > 0 for v in items)
    if not ok:
        fail(name, expected, value)
    return tuple(float(v) for v in items)


def shape(value, name: str, axes: Sequence[str], unknown: Sequence[str] = ()) -> tuple:
    """A shape without the batch axis: one positive integer per named axis (``None`` where allowed).

    Args:
        value: the shape, e.g. ``(32, 32, 3)``.
        name: its name (``"input_shape"``).
        axes: the axis names, e.g. ``("height", "width", "channels")``.
        unknown: axes that may be ``None`` (any size).

    Example:
        >>> shape((None, None, 3), "input_shape", ("height", "width", "channels"), unknown=("height", "width"))
        (None, None, 3)
    """
    expected = f"({', '.join(axes)}) with positive integers"
    if unknown:
        expected += f" ({' and '.join(unknown)} may be None)"
    items = as_sequence(value)
    if items is None:
        fail(name, expected, value, wrong_type=True)
    ok = len(items) == len(axes) and all(
        (v is None and axis in unknown) or (is_int(v) and v >= 1) for v, axis in zip(items, axes))
    if not ok:
        fail(name, expected, value)
    return tuple(None if v is None else int(v) for v in items)


def image_shape(value, name: str = "input_shape", unknown_size: bool = True) -> tuple:
    """``(height, width, channels)`` of positive integers; height and width may be ``None`` if ``unknown_size``.

    One image of the shape must fit in :data:`MAX_BYTES` as float32: a larger size is a typo (a model for
    it could be built, symbolically, but never run).
    """
    checked = shape(value, name, ("height", "width", "channels"), ("height", "width") if unknown_size else ())
    if None not in checked:
        memory(4.0 * math.prod(checked), name, value, "one float32 image")
    return checked


def image_channels(value, name: str = "channels") -> int:
    """1 (grey, as a grey data set comes) or 3 (the grey channel repeated, for networks that take RGB)."""
    if not is_int(value) or value not in (1, 3):
        fail(name, "1 (grey) or 3 (grey repeated as RGB)", value, wrong_type=not is_int(value))
    return int(value)


def image_size(value, name: str = "image_size") -> tuple[int, int] | None:
    """``None`` (keep the native size), an int (square) or a ``(height, width)`` pair; one resized image must fit.

    Resizing works in float64 on RGB and returns float32: 36 bytes per pixel at most, checked up front.
    """
    if value is None:
        return None
    size = pair(value, name)
    memory(36.0 * size[0] * size[1], name, value, "the resized image")
    return size


# ---------------------------------------------------------------- arrays


def finite_array(value, name: str, dtype=np.float32, ndim: int | Sequence[int] | None = None) -> np.ndarray:
    """A numeric array with no NaN or infinity, converted to ``dtype``.

    Args:
        value: anything ``np.asarray`` accepts (lists, arrays, backend tensors).
        name: its name.
        dtype: the dtype to return.
        ndim: the number of axes required (an int or several allowed ints).

    Example:
        >>> finite_array([[1, 2]], "boxes", ndim=2).dtype
        dtype('float32')
    """
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise ArgumentTypeError(f"{name} must be an array of real numbers; received {describe(array)}.")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and array.ndim not in tuple(allowed):
        axes = " or ".join(str(a) for a in allowed)
        raise ValueError(f"{name} must be an array with {axes} axes; received {describe(array)}.")
    array = array.astype(dtype, copy=False)
    if np.issubdtype(array.dtype, np.floating):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise ValueError(f"{name} must contain finite numbers only; received {bad} NaN or infinite "
                             f"values in {describe(array)}.")
    return array


def concrete_array(value, name: str, finite: bool = True) -> np.ndarray | None:
    """The values of an array or tensor as float64 NumPy, or ``None`` for a symbolic tensor (inside a traced graph).

    For the functions that run both on NumPy data and inside a compiled training
    step (box maths, losses): a concrete value is checked (real numbers only; no NaN
    or infinity when ``finite``), a symbolic one cannot be and is passed through.

    Example:
        >>> concrete_array([[0, 0, 4, 4]], "boxes").shape
        (1, 4)
    """
    if isinstance(value, (np.ndarray, np.generic, list, tuple, int, float, str, bytes)) or value is None:
        array = np.asarray(value)
    else:
        try:
            from keras import ops

            array = np.asarray(ops.convert_to_numpy(value))
        except Exception:  # a symbolic tensor: no values to look at
            return None
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise ArgumentTypeError(f"{name} must be an array of real numbers; received {describe(array)}.")
    array = array.astype(np.float64)
    if finite:
        value_range(array, name)
    return array


def value_range(value, name: str) -> tuple[float, float]:
    """The smallest and largest value of a numeric array, refusing NaN and infinity, without copying it.

    ``min`` and ``max`` propagate NaN and reach an infinity, so two reductions
    find every non-finite value of a large image set at no memory cost (where
    ``np.isfinite`` would allocate a mask as large as the data).

    Example:
        >>> value_range(np.array([[0.0, 0.5], [1.0, 0.25]]), "images")
        (0.0, 1.0)
    """
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise ArgumentTypeError(f"{name} must be an array of real numbers; received {describe(array)}.")
    if array.size == 0:
        return 0.0, 0.0
    low, high = float(array.min()), float(array.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))  # only on the way to an error
        raise ValueError(f"{name} must contain finite numbers only; received {bad} NaN or infinite values in "
                         f"{describe(array)}.")
    return low, high


def _refuse_0_255(raw: np.ndarray, name: str, low: float, high: float, float_limit: float = 1.0) -> None:
    """The "divide by 255" refusal shared by :func:`images_in_unit_range` and :func:`model_inputs`.

    Integers above 1 are refused; non-negative floats above ``float_limit``.
    """
    if np.issubdtype(raw.dtype, np.integer) and high > 1:
        raise ValueError(f"{name} must be float images in [0, 1]; received {describe(raw)} with values up to "
                         f"{high:g}: 0-255 data, divide it by 255 first (x.astype('float32') / 255).")
    if low >= 0 and high > float_limit:
        raise ValueError(f"{name} must be images with values in [0, 1]; received values from {low:g} to "
                         f"{high:g} (0-255 data? divide it by 255 first).")


def images_in_unit_range(value, name: str = "images", ndim: int | Sequence[int] | None = None) -> np.ndarray:
    """Float32 images with values in ``[0, 1]``, the convention of every cnnkit model and plot.

    Integer images (``uint8``, 0-255) and float images with values above 1 get
    a message that says what to do: divide by 255. NaN and infinity are
    refused. The check costs two reductions (:func:`value_range`); float32
    input is returned without a copy.

    Example:
        >>> images_in_unit_range(np.full((1, 2, 2, 1), 0.5)).max()
        np.float32(0.5)
    """
    raw = np.asarray(value)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and raw.ndim not in tuple(allowed):
        axes = " or ".join(str(a) for a in allowed)
        raise ValueError(f"{name} must be an array with {axes} axes; received {describe(raw)}.")
    low, high = value_range(raw, name)
    _refuse_0_255(raw, name, low, high)
    if low < 0:
        raise ValueError(f"{name} must be images with values in [0, 1]; received values from {low:g} to "
                         f"{high:g}.")
    return raw.astype(np.float32, copy=False)


def model_inputs(value, name: str = "x"):
    """Inputs for a model: finite numbers, and never 0-255 images; returned unchanged.

    What a model accepts depends on the model (log-mel spectrograms are negative,
    token ids are integers), so only what can only be a mistake is refused:
    NaN or infinity anywhere, and image batches (4 axes ``(N, H, W, C)`` or 5
    ``(N, T, H, W, C)``) that hold integers above 1 or non-negative floats above 2:
    the 0-255 range, which no cnnkit model or data set expects (their images are
    in ``[0, 1]``). Floats up to 2 pass (synthetic images with a brightness
    offset), and so do signed inputs (standardised images, spectrograms).
    Anything that is not an array (a ``tf.data.Dataset``, a dict) is returned as is; ``None``, a string,
    a number and a list of strings (file names) are refused.

    Example:
        >>> model_inputs(np.full((2, 4, 4, 1), 0.5)).shape
        (2, 4, 4, 1)
    """
    if value is None or isinstance(value, (str, bytes)) or is_number(value) or (
            isinstance(value, (list, tuple)) and value and isinstance(value[0], (str, bytes))):
        fail(name, "an array of images (batch, height, width, channels) or a dataset", value, wrong_type=True)
    if not (isinstance(value, np.ndarray) or (hasattr(value, "shape") and hasattr(value, "dtype"))):
        return value
    raw = np.asarray(value)
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_) or np.iscomplexobj(raw):
        fail(name, "an array of real numbers", value, wrong_type=True)
    low, high = value_range(raw, name)
    if raw.ndim in (4, 5):
        _refuse_0_255(raw, name, low, high, float_limit=2.0)
    return value


def fits_model(x, model, name: str = "x") -> None:
    """An array batch for ``model``: its input rank and sizes (``None`` in the model's shape is any size), non-empty.

    Catches, before Keras's own deep errors, a channels-first batch (the message says
    how to move the axis), a single image without its batch axis, a grey batch without
    its channel axis and an empty batch. Models with several inputs or no known input
    shape are not checked here. Non-arrays (datasets) pass.

    Example:
        >>> class Model: input_shape = (None, 8, 8, 3)
        >>> fits_model(np.zeros((2, 8, 8, 3)), Model())
    """
    if not hasattr(x, "shape"):
        return
    try:
        expected = tuple(model.input_shape)
    except (AttributeError, ValueError, TypeError):  # not built, or several inputs
        return
    if not expected or isinstance(expected[0], (tuple, list)):
        return
    received = tuple(x.shape)
    wanted = "(batch, " + ", ".join("any" if d is None else str(d) for d in expected[1:]) + ")"
    if len(received) != len(expected) or any(e is not None and e != r for e, r in zip(expected[1:], received[1:])):
        hint = ""
        if (len(received) == len(expected) >= 4 and expected[-1] is not None and received[1] == expected[-1]
                and all(e is None or e == r for e, r in zip(expected[1:-1], received[2:]))):
            hint = " (channels first? move the channel axis last: np.moveaxis(x, 1, -1))"
        elif len(received) == len(expected) - 1:
            hint = (" (one sample? add the batch axis: x[None])" if all(
                e is None or e == r for e, r in zip(expected[1:], received)) else " (a missing channel axis? x[..., None])")
        raise ValueError(f"{name} must have the model's input shape {wanted}; received {describe(x)}{hint}.")
    if received[0] == 0:
        raise ValueError(f"{name} must hold at least one sample; received {describe(x)}.")


def integer_array(value, name: str, what: str = "integers") -> np.ndarray:
    """An array of whole numbers (integer dtype, or floats that are all whole, as JSON gives), as ``int64``.

    Floats with a fractional part are refused, never truncated (``0.7`` is no class id 0).

    Example:
        >>> integer_array([1.0, -1.0], "classes").tolist()
        [1, -1]
    """
    array = np.asarray(value)
    if array.size == 0:
        return array.astype(np.int64).reshape(array.shape)
    if np.issubdtype(array.dtype, np.floating):
        value_range(array, name)  # NaN and infinity are no whole numbers
        fractional = array[array != np.round(array)]
        if fractional.size:
            raise ValueError(f"{name} must be {what} (whole numbers); received {describe(array)} with "
                             f"{fractional.size} fractional values such as {float(fractional.flat[0]):g}.")
    elif not (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_):
        raise ArgumentTypeError(f"{name} must be {what}; received {describe(array)}.")
    return array.astype(np.int64)


def class_ids(labels, num_classes: int | None, name: str = "labels", whole_floats: bool = False) -> np.ndarray:
    """Integer class ids in ``[0, num_classes)`` (labels, masks, predicted classes), as ``int64``, any shape.

    The array must have an integer dtype: float "labels" are most often logits
    or probabilities that still need an ``argmax``, so they are refused with a
    message saying so. ``num_classes=None`` checks ids ``>= 0`` without an upper
    bound (pixel accuracy needs no class count). With ``whole_floats=True`` (labels on their way into
    ``model.fit``, which accepts ``3.0``) floats are accepted when every one is a
    whole number; ``3.9`` is refused, never truncated to 3.

    Example:
        >>> class_ids([0, 2, 1], 3).tolist()
        [0, 2, 1]
    """
    num_classes = positive_int(num_classes, "num_classes", allow_none=True)
    array = np.asarray(labels)
    expected = "integer class ids >= 0" if num_classes is None else f"integer class ids in [0, {num_classes - 1}]"
    floats = np.issubdtype(array.dtype, np.floating)
    if floats and whole_floats:
        array = integer_array(array, name, expected)
    elif not np.issubdtype(array.dtype, np.integer):
        hint = " (scores? take the argmax over the class axis first)" if floats else ""
        raise ArgumentTypeError(f"{name} must be {expected}; received {describe(array)}{hint}.")
    array = array.astype(np.int64)
    if array.size and (array.min() < 0 or (num_classes is not None and array.max() >= num_classes)):
        count = "" if num_classes is None else f" (num_classes={num_classes})"
        raise ValueError(f"{name} must be {expected}; received values from {array.min()} to {array.max()}{count}.")
    return array


def text(value, name: str, allow_none: bool = True) -> str | None:
    """A string (a title, a label); ``None`` when ``allow_none``."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        fail(name, "a string", value, allow_none=allow_none, wrong_type=True)
    return value


def names(value, name: str, count: int | None = None, allow_none: bool = True) -> list | None:
    """A list of names (strings, or ints used as names), ``count`` of them when given.

    Example:
        >>> names(("cat", "dog"), "class_names", count=2)
        ['cat', 'dog']
    """
    if value is None and allow_none:
        return None
    expected = "a list of names (strings)" + (f", {count} of them" if count is not None else "")
    items = (value,) if isinstance(value, str) and count == 1 else as_sequence(value)
    if items is None or not all(isinstance(v, (str, int, np.integer)) and not isinstance(v, bool) for v in items):
        fail(name, expected, value, allow_none=allow_none, wrong_type=items is None)
    if count is not None and len(items) != count:
        fail(name, expected, value, allow_none=allow_none)
    return [str(v) for v in items]


def numbers(value, name: str, length: int | None = None, min_length: int = 1) -> np.ndarray:
    """A 1D sequence of finite real numbers (a curve, a bar per label), as float64.

    Example:
        >>> numbers([1, 2.5], "loss").tolist()
        [1.0, 2.5]
    """
    if isinstance(value, (str, bytes)) or value is None or is_number(value) or isinstance(value, (dict, set)):
        fail(name, "a sequence of numbers", value, wrong_type=True)
    array = finite_array(value, name, np.float64, ndim=1)
    if len(array) < min_length or (length is not None and len(array) != length):
        wanted = f"{length} numbers" if length is not None else f"at least {min_length} number(s)"
        raise ValueError(f"{name} must hold {wanted}; received {describe(array)}.")
    return array


def mapping(value, name: str, expected: str = "a non-empty dict") -> dict:
    """A non-empty dict (named curves, values per label)."""
    if not isinstance(value, dict):
        fail(name, expected, value, wrong_type=True)
    if not value:
        fail(name, expected, value)
    return value


def figure_size(value, name: str = "figsize", dpi: float = 100.0) -> tuple[float, float]:
    """A matplotlib ``(width, height)`` in inches: positive finite numbers whose pixels fit in memory.

    Example:
        >>> figure_size((4, 3))
        (4.0, 3.0)
    """
    items = as_sequence(value)
    if items is None or len(items) != 2 or not all(is_number(v) and math.isfinite(float(v)) and v > 0 for v in items):
        fail(name, "(width, height) in inches, two positive numbers", value, wrong_type=items is None)
    width, height = float(items[0]), float(items[1])
    memory(width * height * dpi * dpi * 4, name, value, "the figure's pixels")
    return width, height


# ---------------------------------------------------------------- files


def output_file(value, name: str, suffix: str, overwrite: bool = False) -> Path:
    """A path a file can be written to, checked before the work that produces the file.

    Refused: a wrong suffix, a path that is a folder, an existing file unless
    ``overwrite``, and a folder that cannot be written (the nearest existing
    parent must be a writable folder; missing folders are created by the writer).

    Example:
        >>> output_file("runs/model.keras", "output", ".keras").name
        'model.keras'
    """
    if not isinstance(value, (str, os.PathLike)):
        fail(name, f"a path ending in {suffix}", value, wrong_type=True)
    path = Path(value)
    if path.suffix != suffix:
        fail(name, f"a path ending in {suffix}", str(path))
    if path.is_dir():
        fail(name, f"a file path ending in {suffix}, not a folder", str(path))
    if path.exists() and not overwrite:
        fail(name, "a path where no file exists yet (pass overwrite to replace it)", str(path))
    parent = path.parent.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        fail(name, f"a path in a writable folder ({str(parent)!r} is not writable)", str(path))
    return path


# ---------------------------------------------------------------- boxes


def box_targets(boxes, classes, num_classes: int, name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Padded detection targets: ``boxes (B, K, 4)`` ``"xyxy"`` and ``classes (B, K)`` ids, ``-1`` on padding.

    Refused: NaN or infinite coordinates, inverted boxes (``x2 < x1`` or ``y2 < y1``),
    class ids that are not whole numbers, below -1 or ``>= num_classes``, and a
    box count that does not match the class count. Padding rows (class -1) are
    not checked.

    Example:
        >>> b, c = box_targets([[[0, 0, 4, 4], [-1, -1, -1, -1]]], [[1, -1]], num_classes=2)
        >>> b.shape, c.tolist()
        ((1, 2, 4), [[1, -1]])
    """
    num_classes = positive_int(num_classes, "num_classes")
    boxes = finite_array(boxes, f"{name}['boxes']", np.float32)
    classes = integer_array(classes, f"{name}['classes']", f"class ids in [0, {num_classes - 1}] or -1 (padding)")
    if boxes.ndim < 1 or boxes.shape[-1] != 4 or boxes.shape[:-1] != classes.shape:
        raise ValueError(f"{name}['boxes'] must have shape (..., K, 4) with one box per class id of "
                         f"{name}['classes']; received boxes of shape {boxes.shape} and classes of shape "
                         f"{classes.shape}.")
    if classes.size and (classes.min() < -1 or classes.max() >= num_classes):
        raise ValueError(f"{name}['classes'] must be class ids in [0, {num_classes - 1}] or -1 (padding); "
                         f"received values from {classes.min()} to {classes.max()}.")
    real = boxes[classes >= 0]
    inverted = (real[:, 2] < real[:, 0]) | (real[:, 3] < real[:, 1])
    if inverted.any():
        raise ValueError(f"{name}['boxes'] must be 'xyxy' boxes with x2 >= x1 and y2 >= y1; received "
                         f"{int(inverted.sum())} inverted boxes such as {real[inverted][0].tolist()}.")
    return boxes, classes


# ---------------------------------------------------------------- sizes


def memory(nbytes: float, name: str, value, what: str, limit: float = MAX_BYTES) -> None:
    """Refuse, before any work, a size whose estimated allocation exceeds ``limit`` bytes (:data:`MAX_BYTES`).

    Args:
        nbytes: the estimate, in bytes, of what the call would allocate.
        name: the argument that sets the size.
        value: its value, for the message.
        what: what would be allocated ("the images").
        limit: the largest estimate accepted.

    Example:
        >>> memory(10**6, "num_samples", 1000, "the images")
    """
    if nbytes > limit:
        raise ValueError(f"{name} must be small enough for {what} to fit in {limit / 1e9:g} GB; received "
                         f"{describe(value)}, which would need about {nbytes / 1e9:.3g} GB.")


def memory_of(nbytes: float, sizes: dict, what: str, limit: float = MAX_BYTES) -> None:
    """:func:`memory` for an allocation set by several arguments: the message names each with its value.

    Example:
        >>> memory_of(10**6, {"num_samples": 100, "image_size": 32}, "the images")
    """
    if nbytes > limit:
        names = " and ".join(sizes)
        received = ", ".join(f"{k}={v!r}" for k, v in sizes.items())
        raise ValueError(f"{names} must be small enough for {what} to fit in {limit / 1e9:g} GB; received {received}, "
                         f"which would need about {nbytes / 1e9:.3g} GB.")
