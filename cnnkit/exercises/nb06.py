"""Exercises of notebook 06, Segmentation (``notebooks/06_segmentation.ipynb``); solutions in ``solutions/06_segmentation_solutions.ipynb``.

No exercise is registered here yet. Register each exercise of the notebook's
``## Exercises`` section here, one call per exercise, in the notebook's order
(the format and a worked example are in ``cnnkit.exercises``; the recipe,
notebook cells included, in CONTRIBUTING.md, "Exercises and solutions")::

    # From the private modules, not from the package, which imports this module (no import cycle).
    from cnnkit.exercises._checkers import expect_equal
    from cnnkit.exercises._core import exercise, model_answer

    exercise("06.1", title="...", level=1, minutes=10, hint="...",
             check=expect_equal(..., what="..."), correct=..., wrong=...)
    model_answer("06.2", "...", title="...", level=2, minutes=15)

Then remove "06" from ``NOT_YET_CONVERTED`` in ``tests/test_exercises.py``.
"""
