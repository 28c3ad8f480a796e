"""Non-maximum suppression: keep the best box of each cluster of overlapping detections.

A detector fires on many neighbouring anchors around each object. Greedy
NMS walks the detections from the highest score down and keeps a box unless
it overlaps an already *kept* box by more than ``iou_threshold``.

Two implementations sit side by side:

* :func:`greedy_nms_reference` is that sentence as a Python loop: easy to read,
  slow for many boxes;
* :func:`non_max_suppression` computes the same kept set with array operations:
  with ``S[i, j]`` = "box ``i`` outranks box ``j`` and overlaps it too much",
  box ``j`` is kept exactly when no *kept* ``i`` has ``S[i, j]``. Starting from
  "keep everything" and re-applying that rule fixes at least one more box per
  pass (the first ``t`` boxes are final after ``t`` passes) and stops as soon as
  nothing changes. To keep the number of passes small, the boxes are taken in
  blocks of 64 (best first): the rule runs to its fixed point inside a block,
  then the block's kept boxes suppress every later box in one array operation.

Per-class NMS only lets boxes of the same class suppress each other;
class-agnostic NMS (``classes=None``) lets any box suppress any other.

:func:`weighted_nms` is BlazeFace's variant (MediaPipe's ``WEIGHTED``
algorithm): instead of keeping the best box of a cluster and throwing the
others away, it *blends* the cluster into one box, each member weighted by its
score. Neighbouring anchors each see the face slightly differently; their
average is steadier from frame to frame than any one of them.

Example:
    >>> b = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], float)
    >>> non_max_suppression(b, np.array([0.9, 0.8, 0.7])).tolist()
    [0, 2]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cnnkit import _validate as V
from cnnkit.detection.boxes import check_boxes, check_format, convert_format, iou_matrix_numpy

_BLOCK = 64  # boxes decided together; larger blocks mean fewer, bigger array operations


def _prepare(boxes, scores, classes, box_format):
    check_format(box_format)
    check_boxes(boxes, box_format)
    boxes = V.finite_array(boxes, "boxes", np.float64, ndim=2)  # one image's (N, 4): a batch needs a loop
    if box_format != "xyxy":
        boxes = np.asarray(convert_format(boxes, box_format, "xyxy", dtype="float64"))
    # A NaN score compares false with every threshold: the box would vanish without a word.
    scores = V.finite_array(scores, "scores", np.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise ValueError(f"scores must have one value per box ({len(boxes)}); received {len(scores)} (for boxes of "
                         f"shape {boxes.shape}).")
    if classes is not None:
        classes = V.integer_array(classes, "classes", "class ids").reshape(-1)
        if len(classes) != len(boxes):
            raise ValueError(f"classes must have one id per box ({len(boxes)}); received {len(classes)}.")
    return boxes, scores, classes


def _settings(iou_threshold, score_threshold, max_detections) -> tuple[float, float, int | None]:
    """The thresholds and the cap shared by both suppressions, checked."""
    return (V.fraction(iou_threshold, "iou_threshold"), V.number(score_threshold, "score_threshold"),
            V.positive_int(max_detections, "max_detections", allow_none=True))


def non_max_suppression(boxes, scores, classes=None, iou_threshold: float = 0.5, score_threshold: float = 0.0,
                        max_detections: int | None = 100, box_format: str = "xyxy") -> np.ndarray:
    """Indices of the boxes greedy NMS keeps, highest score first.

    Args:
        boxes: ``(N, 4)`` boxes of one image.
        scores: ``(N,)`` confidence of each box.
        classes: ``(N,)`` class ids for per-class NMS, or ``None`` for class-agnostic NMS.
        iou_threshold: a box is suppressed by a kept, higher-scoring box (of the
            same class) whose IoU with it is *greater* than this.
        score_threshold: boxes scoring below this are dropped first.
        max_detections: keep at most this many (``None``: no limit).
        box_format: format of ``boxes``.

    Returns:
        int64 indices into ``boxes``, sorted by decreasing score (ties keep input order).
    """
    iou_threshold, score_threshold, max_detections = _settings(iou_threshold, score_threshold, max_detections)
    boxes, scores, classes = _prepare(boxes, scores, classes, box_format)
    candidates = np.flatnonzero(scores >= score_threshold)
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    if len(order) == 0:
        return order.astype(np.int64)
    sorted_boxes = boxes[order]
    sorted_classes = None if classes is None else classes[order]
    n = len(order)
    keep = np.zeros(n, dtype=bool)
    suppressed = np.zeros(n, dtype=bool)  # by a kept box of an earlier block
    for start in range(0, n, _BLOCK):  # one iteration per block of 64 boxes, not per box
        stop = min(start + _BLOCK, n)
        # suppresses[i, j]: block box i outranks box start + j (j > i) and overlaps it too much
        suppresses = iou_matrix_numpy(sorted_boxes[start:stop], sorted_boxes[start:]) > iou_threshold
        if sorted_classes is not None:
            suppresses &= sorted_classes[start:stop, None] == sorted_classes[None, start:]
        suppresses &= np.arange(n - start)[None, :] > np.arange(stop - start)[:, None]
        alive = ~suppressed[start:stop]
        block_keep = alive.copy()
        inner = suppresses[:, : stop - start]
        for _ in range(stop - start):  # fixed point inside the block: a few passes
            new_keep = alive & ~np.any(inner & block_keep[:, None], axis=0)
            if np.array_equal(new_keep, block_keep):
                break
            block_keep = new_keep
        keep[start:stop] = block_keep
        suppressed[start:] |= np.any(suppresses[block_keep], axis=0)
    kept = order[keep]
    return (kept if max_detections is None else kept[: int(max_detections)]).astype(np.int64)


def greedy_nms_reference(boxes, scores, classes=None, iou_threshold: float = 0.5, score_threshold: float = 0.0,
                         max_detections: int | None = 100) -> list[int]:
    """The textbook greedy NMS as a plain loop over ``"xyxy"`` boxes: the reference the tests compare with."""

    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
        return w * h / union if union > 0 else 0.0

    iou_threshold, score_threshold, max_detections = _settings(iou_threshold, score_threshold, max_detections)
    boxes, scores, classes = _prepare(boxes, scores, classes, "xyxy")
    order = sorted((i for i in range(len(scores)) if scores[i] >= score_threshold), key=lambda i: -scores[i])
    kept: list[int] = []
    for i in order:
        same_class = [k for k in kept if classes is None or classes[k] == classes[i]]
        if all(iou(boxes[k], boxes[i]) <= iou_threshold for k in same_class):
            kept.append(i)
    return kept if max_detections is None else kept[:max_detections]


class WeightedNMS(NamedTuple):
    """What :func:`weighted_nms` returns: one row per cluster, best cluster first."""

    indices: np.ndarray  # (K,) int64: the highest-scoring box of each cluster (its "leader")
    boxes: np.ndarray  # (K, 4) float64 score-weighted mean of the cluster's boxes, "xyxy"
    scores: np.ndarray  # (K,) the leader's score (MediaPipe keeps it, it does not average scores)
    points: np.ndarray | None  # (K, P, 2) score-weighted mean of the cluster's points, if points were given
    clusters: list  # K int64 arrays: the indices of the boxes blended into each row


def weighted_nms(boxes, scores, iou_threshold: float = 0.3, score_threshold: float = 0.0,
                 max_detections: int | None = None, points=None, box_format: str = "xyxy") -> WeightedNMS:
    """Blend each cluster of overlapping boxes into their score-weighted mean (BlazeFace's NMS).

    Walking from the highest score down, the best remaining box leads a cluster
    of every remaining box whose IoU with it is *greater* than ``iou_threshold``
    (itself included); the cluster is replaced by the average of its boxes (and
    points), weighted by their scores, and leaves the pool. MediaPipe's face
    detection runs this with ``iou_threshold=0.3``.

    Args:
        boxes: ``(N, 4)`` boxes of one image.
        scores: ``(N,)`` confidence of each box (the weights; non-negative).
        iou_threshold: IoU above which a box joins the leader's cluster.
        score_threshold: boxes scoring below this are dropped first.
        max_detections: keep at most this many clusters (``None``: no limit).
        points: optional ``(N, P, 2)`` keypoints of each box, blended with the same weights.
        box_format: format of ``boxes``; the blended boxes come back as ``"xyxy"``.

    Returns:
        A :class:`WeightedNMS` ``(indices, boxes, scores, points, clusters)``.

    Example:
        >>> b = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [50, 50, 60, 60]], float)
        >>> out = weighted_nms(b, np.array([0.75, 0.25, 0.5]))
        >>> out.boxes.tolist(), out.indices.tolist()
        ([[0.5, 0.0, 10.5, 10.0], [50.0, 50.0, 60.0, 60.0]], [0, 2])
    """
    iou_threshold, score_threshold, max_detections = _settings(iou_threshold, score_threshold, max_detections)
    boxes, scores, _ = _prepare(boxes, scores, None, box_format)
    if np.any(scores < 0):
        raise ValueError("scores must be non-negative to weight the boxes; received negative scores.")
    if points is not None:
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 3 or points.shape[0] != len(boxes) or points.shape[2] != 2:
            raise ValueError(f"points must have shape ({len(boxes)}, num_points, 2); received {points.shape}.")
    remaining = np.flatnonzero(scores >= score_threshold)
    remaining = remaining[np.argsort(-scores[remaining], kind="stable")]
    leaders, blended, blended_points, clusters = [], [], [], []
    while len(remaining) and (max_detections is None or len(leaders) < max_detections):
        leader = remaining[0]
        overlap = iou_matrix_numpy(boxes[leader], boxes[remaining])[0] > iou_threshold
        overlap[0] = True  # the leader is in its own cluster (even a zero-area box, whose IoU is 0)
        members = remaining[overlap]
        weights = scores[members] / max(scores[members].sum(), 1e-12)
        leaders.append(leader)
        clusters.append(members.astype(np.int64))
        blended.append(weights @ boxes[members])
        if points is not None:
            blended_points.append(np.tensordot(weights, points[members], axes=1))
        remaining = remaining[~overlap]
    num_points = 0 if points is None else points.shape[1]
    return WeightedNMS(
        indices=np.array(leaders, dtype=np.int64),
        boxes=np.array(blended, dtype=np.float64).reshape(-1, 4),
        scores=scores[np.array(leaders, dtype=np.int64)],
        points=None if points is None else np.array(blended_points, dtype=np.float64).reshape(-1, num_points, 2),
        clusters=clusters,
    )
