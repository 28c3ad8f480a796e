"""The checks of notebook 04's exercises on the wrong answers a learner is likely to give.

The generic test in ``tests/test_exercises.py`` runs every check with its
registered correct and wrong examples; these add the other typical mistakes and
the facts the checks rely on (the builders' parameter counts and levels).
"""

from __future__ import annotations

from exercise_helpers import check, rejected

from cnnkit import exercises
from cnnkit.exercises import nb04


def test_every_exercise_of_04_is_registered_in_order():
    assert [e.id for e in exercises.registered("04")] == [f"04.{k}" for k in range(1, 9)]
    answered = {"04.3", "04.5"}
    for e in exercises.registered("04"):
        assert (e.kind == exercises.MODEL_ANSWER) == (e.id not in answered), e.id


def test_bottleneck_counts_differ_and_swapped_or_trainable_only_counts_are_rejected():
    basic, bottleneck = nb04.resnet_params("basic"), nb04.resnet_params("bottleneck")
    assert bottleneck > basic  # 4x wider outputs
    assert check("04.3", {"basic": basic, "bottleneck": bottleneck}).startswith("✔ 04.3")
    message = rejected("04.3", {"basic": bottleneck, "bottleneck": basic}, "parameter count")
    assert str(basic) not in message.split("Hint")[0].split("Received")[0]  # never the answer
    rejected("04.3", {"basic": basic - 1, "bottleneck": bottleneck}, "basic blocks")


def test_pyramid_levels_are_p1_to_p5_and_a_set_or_a_missing_level_is_rejected():
    assert nb04.pyramid_levels("mobilenet_small") == nb04.pyramid_levels("vgg_small") == ["P1", "P2", "P3", "P4", "P5"]
    rejected("04.5", {"mobilenet_small": ["P2", "P3", "P4", "P5"], "vgg_small": ["P1", "P2", "P3", "P4", "P5"]},
             "mobilenet_small")
    rejected("04.5", {"mobilenet_small": ["P1", "P2", "P3", "P4", "P5"], "vgg_small": "P1-P5"}, "vgg_small")


def test_open_questions_point_to_their_model_answer():
    for exercise_id in ("04.1", "04.2", "04.4", "04.6", "04.7", "04.8"):
        assert "04_backbones_solutions" in check(exercise_id) or "open question" in check(exercise_id)
