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
  nothing changes, usually after a handful of passes.

Per-class NMS only lets boxes of the same class suppress each other;
class-agnostic NMS (``classes=None``) lets any box suppress any other.

Example:
    >>> b = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], float)
    >>> non_max_suppression(b, np.array([0.9, 0.8, 0.7])).tolist()
    [0, 2]
"""

from __future__ import annotations

import numpy as np

from cnnkit.detection.boxes import check_boxes, check_format, convert_format, iou_matrix_numpy


def _prepare(boxes, scores, classes, box_format):
    check_format(box_format)
    check_boxes(boxes, box_format)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if box_format != "xyxy":
        boxes = np.asarray(convert_format(boxes, box_format, "xyxy", dtype="float64"))
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise ValueError(f"scores must have one value per box ({len(boxes)}); received {len(scores)}.")
    if classes is not None:
        classes = np.asarray(classes).reshape(-1)
        if len(classes) != len(boxes):
            raise ValueError(f"classes must have one id per box ({len(boxes)}); received {len(classes)}.")
    return boxes, scores, classes


def _check_settings(iou_threshold, max_detections):
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be between 0 and 1; received {iou_threshold!r}.")
    if max_detections is not None and (isinstance(max_detections, bool) or int(max_detections) != max_detections
                                       or max_detections < 1):
        raise ValueError(f"max_detections must be a positive integer or None; received {max_detections!r}.")


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
    _check_settings(iou_threshold, max_detections)
    boxes, scores, classes = _prepare(boxes, scores, classes, box_format)
    candidates = np.flatnonzero(scores >= score_threshold)
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    if len(order) == 0:
        return order.astype(np.int64)
    overlap = iou_matrix_numpy(boxes[order], boxes[order]) > iou_threshold
    if classes is not None:
        overlap &= classes[order][:, None] == classes[order][None, :]
    suppresses = np.triu(overlap, k=1)  # suppresses[i, j]: i outranks j and overlaps it

    keep = np.ones(len(order), dtype=bool)
    for _ in range(len(order)):  # at most N passes; usually a few
        new_keep = ~np.any(suppresses & keep[:, None], axis=0)
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
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

    order = sorted((i for i in range(len(scores)) if scores[i] >= score_threshold), key=lambda i: -scores[i])
    kept: list[int] = []
    for i in order:
        same_class = [k for k in kept if classes is None or classes[k] == classes[i]]
        if all(iou(boxes[k], boxes[i]) <= iou_threshold for k in same_class):
            kept.append(i)
    return kept if max_detections is None else kept[:max_detections]
