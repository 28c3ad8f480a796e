"""The checks of notebook 05's exercises on the wrong answers a learner is likely to give.

The generic test in ``tests/test_exercises.py`` runs every check with its
registered correct and wrong examples; these add the other typical mistakes and
the facts the checks rely on (anchor counts, coverage, and the reference AP
against ``detection.evaluate``).
"""

from __future__ import annotations

import numpy as np
from exercise_helpers import check, rejected

from cnnkit import detection, exercises
from cnnkit.exercises import nb05


def test_every_exercise_of_05_is_registered_in_order():
    assert [e.id for e in exercises.registered("05")] == [f"05.{k}" for k in range(1, 9)]
    answered = {"05.3", "05.4", "05.8"}
    for e in exercises.registered("05"):
        assert (e.kind == exercises.MODEL_ANSWER) == (e.id not in answered), e.id


def test_anchor_counts_follow_the_grid_and_the_notebooks_count_is_rejected():
    # 2 anchors (two scales) per cell: 8x8 + 4x4 + 2x2 cells on P3-P5, 16x16 more on P2; 3 ratios triple it.
    assert nb05.anchor_count(levels=(3, 4, 5), sizes=(16, 32, 64)) == 2 * (64 + 16 + 4)
    assert nb05.anchor_count() == 680  # the notebook's Detector
    assert nb05.anchor_count(ratios=(0.5, 1.0, 2.0)) == 3 * 680
    assert check("05.3", 168).startswith("✔ 05.3")
    message = rejected("05.3", 680, "anchors on P3-P5")
    assert "168" not in message  # never the answer
    rejected("05.3", "168", "anchors")


def test_coverage_with_three_ratios_is_checked_in_parts():
    three, one = nb05.coverage((0.5, 1.0, 2.0)), nb05.coverage()
    assert 0.5 < one <= three <= 1.0  # more anchor shapes can only raise the best IoU
    assert check("05.4", {"anchors": 2040, "coverage": three}).startswith("✔ 05.4")
    rejected("05.4", {"anchors": 680, "coverage": three}, "number of anchors")
    message = rejected("05.4", {"anchors": 2040, "coverage": one}, "covered")
    assert f"{three:.4f}" not in message


def test_reference_ap_equals_detection_evaluate_on_ranked_lists():
    # One image per detection, one ground-truth box per image for the TPs, extra empty-matched truth boxes:
    # evaluate then sees exactly the given TP/FP sequence in score order.
    for is_tp, num_truth in nb05._hidden_ranked_lists() + [([True, False, True, False, True, False], 4)]:
        preds, truth = [], []
        n = len(is_tp)
        for rank, hit in enumerate(is_tp):
            preds.append({"boxes": [[0, 0, 10, 10]], "classes": [0], "scores": [1.0 - rank / (n + 1)]})
            truth.append({"boxes": [[0, 0, 10, 10]] if hit else [[50, 50, 60, 60]] * 0, "classes": [0] if hit else []})
        for _ in range(num_truth - int(np.sum(is_tp))):
            preds.append({"boxes": np.zeros((0, 4)), "classes": [], "scores": []})
            truth.append({"boxes": [[20, 20, 30, 30]], "classes": [0]})
        reference = detection.evaluate(preds, truth, num_classes=1).AP50
        assert abs(nb05.coco_ap(is_tp, num_truth) - reference) < 1e-12, (is_tp, num_truth)
    assert abs(nb05.coco_ap([True, False, True, False, True, False], 4) - 57.666666 / 101) < 1e-6  # the notebook's


def test_ap_function_mistakes_are_rejected_with_the_input():
    assert check("05.8", nb05.coco_ap).startswith("✔ 05.8")
    message = rejected("05.8", nb05._uninterpolated_ap, "hidden inputs")
    assert "input" in message
    rejected("05.8", lambda is_tp, num_truth: float(np.mean(is_tp)), "AP function")
    rejected("05.8", lambda is_tp, num_truth: 1 / 0, "raised ZeroDivisionError", received=False)
    rejected("05.8", 0.571, "function")


def test_open_questions_point_to_their_model_answer():
    for exercise_id in ("05.1", "05.2", "05.5", "05.6", "05.7"):
        assert "05_detection_solutions" in check(exercise_id)
