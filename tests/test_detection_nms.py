"""cnnkit.detection.non_max_suppression: identical kept sets to the greedy reference on random boxes."""

import numpy as np
import pytest

from cnnkit.detection import (
    greedy_nms_reference,
    iou_matrix_numpy,
    non_max_suppression,
    weighted_nms,
)


def _clustered_boxes(rng, n):
    """Boxes in a few clusters, so that suppression chains (A kills B, B would have killed C) happen."""
    centres = rng.uniform(10, 90, size=(6, 2))
    pick = rng.integers(0, len(centres), size=n)
    xy = centres[pick] + rng.normal(0, 4, size=(n, 2))
    wh = rng.uniform(6, 20, size=(n, 2))
    return np.concatenate([xy - wh / 2, xy + wh / 2], axis=1)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("per_class", [False, True])
def test_matches_greedy_reference_on_random_boxes(seed, per_class):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 150))
    boxes = _clustered_boxes(rng, n)
    scores = rng.random(n)
    classes = rng.integers(0, 3, size=n) if per_class else None
    threshold = float(rng.choice([0.3, 0.5, 0.7]))
    kept = non_max_suppression(boxes, scores, classes, iou_threshold=threshold, score_threshold=0.1,
                               max_detections=None)
    expected = greedy_nms_reference(boxes, scores, classes, iou_threshold=threshold, score_threshold=0.1,
                                    max_detections=None)
    assert kept.tolist() == expected
    assert len(kept) < n or n < 3  # the clusters make NMS drop something


def test_hand_example_and_chains():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [2, 0, 12, 10], [30, 30, 40, 40]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    # 0 suppresses 1 (IoU 9/11); 2 overlaps 0 by 8/12 = 0.67 > 0.5, so it goes too.
    assert non_max_suppression(boxes, scores, iou_threshold=0.5).tolist() == [0, 3]
    # At 0.7, 2 survives 0 (0.67 <= 0.7), and 1 is suppressed by 0 (0.82) so cannot suppress 2.
    assert non_max_suppression(boxes, scores, iou_threshold=0.7).tolist() == [0, 2, 3]


def test_per_class_keeps_overlapping_boxes_of_other_classes():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    scores = np.array([0.9, 0.8])
    assert non_max_suppression(boxes, scores).tolist() == [0]
    assert non_max_suppression(boxes, scores, classes=[0, 1]).tolist() == [0, 1]


def test_score_threshold_max_detections_and_order():
    rng = np.random.default_rng(0)
    boxes = np.concatenate([rng.uniform(0, 1000, size=(30, 2))] * 2, axis=1) + [0, 0, 5, 5]
    scores = rng.random(30)
    kept = non_max_suppression(boxes, scores, score_threshold=0.5, max_detections=5)
    assert len(kept) == 5 and np.all(scores[kept] >= 0.5)
    assert np.all(np.diff(scores[kept]) <= 0)  # highest first
    assert non_max_suppression(np.zeros((0, 4)), np.zeros(0)).tolist() == []


def test_box_format_is_respected():
    xywh = np.array([[0, 0, 10, 10], [1, 0, 10, 10]], float)
    assert non_max_suppression(xywh, [0.9, 0.8], box_format="xywh").tolist() == [0]


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"boxes": [[5, 0, 1, 1]], "scores": [0.5]}, r"x2 >= x1"),
        ({"boxes": [[0, 0, 1, 1]], "scores": [0.5, 0.4]}, r"one value per box \(1\); received 2"),
        ({"boxes": [[0, 0, 1, 1]], "scores": [0.5], "classes": [0, 1]}, r"one id per box"),
        ({"boxes": [[0, 0, 1, 1]], "scores": [0.5], "iou_threshold": 1.5}, r"iou_threshold must be a number in \[0, 1\]; received 1.5"),
        ({"boxes": [[0, 0, 1, 1]], "scores": [0.5], "max_detections": 0}, r"max_detections must be a positive"),
        ({"boxes": [[0, 0, 1, 1]], "scores": [0.5], "box_format": "xy"}, r"box_format must be one of"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        non_max_suppression(**kwargs)


def test_many_boxes_across_blocks_match_the_reference():
    # 600 boxes: ten blocks of 64, with suppression chains crossing block boundaries.
    rng = np.random.default_rng(42)
    boxes = _clustered_boxes(rng, 600)
    scores = rng.random(600)
    classes = rng.integers(0, 2, size=600)
    for cls in (None, classes):
        kept = non_max_suppression(boxes, scores, cls, iou_threshold=0.4, max_detections=None)
        assert kept.tolist() == greedy_nms_reference(boxes, scores, cls, iou_threshold=0.4, max_detections=None)


# ---------------------------------------------------------------- weighted NMS (BlazeFace)


def _mediapipe_weighted_nms(boxes, scores, points, threshold):
    """NonMaxSuppressionCalculator::WeightedNonMaxSuppression of MediaPipe, transcribed as a plain loop.

    Source: mediapipe/calculators/util/non_max_suppression_calculator.cc (google/mediapipe, 2024-07).
    """
    remained = sorted(range(len(scores)), key=lambda i: -scores[i])
    out = []
    while remained:
        leader = remained[0]
        candidates, rest = [], []
        for i in remained:
            (candidates if iou_matrix_numpy(boxes[i], boxes[leader])[0, 0] > threshold else rest).append(i)
        total = sum(scores[i] for i in candidates)
        box = sum(scores[i] * boxes[i] for i in candidates) / total
        pts = sum(scores[i] * points[i] for i in candidates) / total
        out.append((box, scores[leader], pts))
        if len(rest) == len(remained):
            break
        remained = rest
    return out


@pytest.mark.parametrize("seed", range(10))
def test_weighted_nms_matches_mediapipes_loop(seed):
    rng = np.random.default_rng(seed)
    boxes = _clustered_boxes(rng, 60)
    scores = rng.uniform(0.5, 1.0, size=60)
    points = rng.uniform(0, 100, size=(60, 6, 2))
    ours = weighted_nms(boxes, scores, iou_threshold=0.3, points=points)
    reference = _mediapipe_weighted_nms(boxes, scores, points, 0.3)
    assert len(ours.indices) == len(reference) and len(reference) < 60
    for k, (box, score, pts) in enumerate(reference):
        np.testing.assert_allclose(ours.boxes[k], box, rtol=1e-9)
        np.testing.assert_allclose(ours.points[k], pts, rtol=1e-9)
        assert ours.scores[k] == score
    assert sorted(np.concatenate(ours.clusters).tolist()) == list(range(60))  # every box in one cluster


def test_weighted_nms_on_a_hand_example():
    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [50, 50, 60, 60], [1, 0, 11, 10]], float)
    scores = np.array([0.6, 0.2, 0.5, 0.2])
    out = weighted_nms(boxes, scores)
    # Cluster of boxes 0, 1, 3 (IoU 0.67 and 0.82 with box 0): x1 = (0.6*0 + 0.2*2 + 0.2*1) / 1.0 = 0.6.
    np.testing.assert_allclose(out.boxes, [[0.6, 0, 10.6, 10], [50, 50, 60, 60]])
    assert out.indices.tolist() == [0, 2] and out.scores.tolist() == [0.6, 0.5] and out.points is None
    assert [c.tolist() for c in out.clusters] == [[0, 1, 3], [2]]
    # Score threshold and max_detections; hard NMS keeps box 0 itself instead of the blend.
    assert weighted_nms(boxes, scores, score_threshold=0.55).indices.tolist() == [0]
    assert len(weighted_nms(boxes, scores, max_detections=1).boxes) == 1
    assert non_max_suppression(boxes, scores, iou_threshold=0.3).tolist() == [0, 2]
    empty = weighted_nms(np.zeros((0, 4)), np.zeros(0), points=np.zeros((0, 6, 2)))
    assert empty.boxes.shape == (0, 4) and empty.points.shape == (0, 6, 2)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"scores": np.array([0.5, -0.1])}, r"scores must be non-negative"),
        ({"points": np.zeros((3, 6, 2))}, r"points must have shape \(2, num_points, 2\)"),
        ({"iou_threshold": 1.5}, r"iou_threshold must be a number in \[0, 1\]; received 1.5"),
    ],
)
def test_weighted_nms_rejects_bad_arguments(kwargs, pattern):
    args = {"boxes": np.array([[0, 0, 1, 1], [0, 0, 2, 2]], float), "scores": np.array([0.5, 0.4])} | kwargs
    with pytest.raises(ValueError, match=pattern):
        weighted_nms(**args)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"scores": [0.9, np.nan]}, r"scores must contain finite numbers only; received 1 NaN or infinite values"),
    ({"scores": [0.9, 0.8], "classes": [0, 0.5]}, r"classes must be class ids \(whole numbers\); received .* 0\.5"),
])
def test_nan_scores_and_fractional_classes_are_refused_not_dropped(kwargs, pattern):
    boxes = [[0, 0, 10, 10], [20, 20, 30, 30]]
    with pytest.raises(ValueError, match=pattern):
        non_max_suppression(boxes, **kwargs)
    if "classes" not in kwargs:  # weighted NMS takes no classes; it reads the scores the same way
        with pytest.raises(ValueError, match=pattern):
            weighted_nms(boxes, kwargs["scores"])
