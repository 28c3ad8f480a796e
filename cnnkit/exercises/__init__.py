"""Exercises at the end of each notebook: a learner checks an answer, and never sees the solution.

In a course notebook, each exercise has a heading, a starter cell that leaves
the answer as ``TODO``, and a check cell::

    ### Exercise 02.4 · ●● · 15 min — Receptive field by hand      (markdown)

    receptive_field_answer = {"size": TODO, "jump": TODO}           (starter cell)

    exercises.check("02.4", receptive_field_answer)                 (check cell)

``check`` prints one line:

* ``✔ 02.4 · Receptive field by hand: all 2 parts correct`` for a correct answer;
* ``02.4: not answered yet`` while the answer is still ``TODO`` (so a notebook
  run top to bottom, under nbval too, never fails on an unanswered exercise);
* for an open question ("why ...?"), where its model answer is;

and raises ``AssertionError`` for a wrong answer, with *Expected … Received …*
and a hint, never the solution ("Expected the receptive field size to be the
correct value. Received 21.").

``TODO`` is Python's ``...`` (Ellipsis); ``None`` is *not* a placeholder: a
function that forgets to ``return`` gives ``None``, and that is a wrong answer.
A function answer is unanswered while it returns ``TODO``.

**Levels** ● basic, ●● core, ●●● stretch; **time** in minutes. ``registered()``
lists every exercise (``registered("02")`` those of one notebook).

Each notebook's exercises live in their own module, ``cnnkit/exercises/nbNN.py``.
Registering one is a call per exercise, with a ready-made checker::

    from cnnkit.exercises import exercise, expect_equal, expect_fields, model_answer

    exercise("02.4", title="Receptive field by hand", level=2, minutes=15,
             check=expect_fields({"size": expect_equal(25, what="the receptive field size"),
                                  "jump": expect_equal(4, what="the jump")}),
             correct={"size": 25, "jump": 4}, wrong={"size": 21, "jump": 4},
             hint="Each layer adds (k_eff - 1) × jump, with k_eff = d(k - 1) + 1, and multiplies the jump by its stride.")

    model_answer("02.6", "With ReLU about half the paths carry no gradient ...",
                 title="Effective field with ReLU", level=3, minutes=30)

Ready-made checkers: :func:`expect_close` (numbers and arrays, to a tolerance),
:func:`expect_equal` (exact values), :func:`expect_shape`,
:func:`expect_function` (a function run on hidden inputs against a reference),
:func:`expect_model` (a Keras model by its output shape, parameter count,
receptive field or accuracy on hidden data), :func:`expect_fields` (an answer
in named parts), :func:`expect_property` (a property such as "a kernel whose
weights sum to zero"). A custom checker is a function decorated with
``@exercise(...)``: it raises ``AssertionError("Expected ... Received ...")``
for a wrong answer and returns a short description of a correct one; it runs
a learner's function through :func:`call_answer`, which reports an error
inside it ("Expected ... to run on hidden input 2 of 3. It raised ...") and a
``return TODO`` (not answered yet) as every check does. Wrap
anything expensive (a hidden test set, a trained example model) in
``lazy(function)``: registering must stay cheap, since ``import cnnkit``
registers every exercise.

Every check carries a ``correct`` and a ``wrong`` example answer, which the
tests run it with (the wrong one must fail with Expected and Received, without
the correct value in the message). CONTRIBUTING.md ("Exercises and solutions")
has the whole recipe, the solutions notebook included.

Example:
    >>> from cnnkit import exercises
    >>> print(exercises.registered("02"))                   # doctest: +SKIP
    >>> exercises.check("02.4", {"size": TODO, "jump": TODO})  # doctest: +SKIP
    02.4: not answered yet (still TODO: size, jump)
"""

from cnnkit.exercises._checkers import (
    call_answer,
    describe,
    expect_close,
    expect_equal,
    expect_fields,
    expect_function,
    expect_model,
    expect_property,
    expect_shape,
)
from cnnkit.exercises._core import (
    CHECK,
    HEADING_FORMAT,
    HEADING_RE,
    LEVEL_NAMES,
    LEVELS,
    MODEL_ANSWER,
    NOTEBOOKS,
    REGISTRY,
    TODO,
    Exercise,
    ExerciseList,
    Lazy,
    NotAnswered,
    Registry,
    check,
    exercise,
    lazy,
    model_answer,
    registered,
    resolve,
    show_answer,
)

__all__ = [
    "CHECK",
    "HEADING_FORMAT",
    "HEADING_RE",
    "LEVELS",
    "LEVEL_NAMES",
    "MODEL_ANSWER",
    "NOTEBOOKS",
    "REGISTRY",
    "TODO",
    "Exercise",
    "ExerciseList",
    "Lazy",
    "NotAnswered",
    "Registry",
    "call_answer",
    "check",
    "describe",
    "exercise",
    "expect_close",
    "expect_equal",
    "expect_fields",
    "expect_function",
    "expect_model",
    "expect_property",
    "expect_shape",
    "lazy",
    "model_answer",
    "registered",
    "resolve",
    "show_answer",
]

# Each notebook's exercises, registered on import (one module per notebook, so each
# notebook's owner edits only their own file). Imported last: they use the names above.
from cnnkit.exercises import nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08  # noqa: E402, F401, I001
