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

Example:
    >>> b = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], float)
    >>> non_max_suppression(b, np.array([0.9, 0.8, 0.7])).tolist()
    [0, 2]
"""

from __future__ import annotations

import numpy as np

from cnnkit.detection.boxes import check_boxes, check_format, convert_format, iou_matrix_numpy

_BLOCK = 64  # boxes decided together; larger blocks mean fewer, bigger array operations


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

    order = sorted((i for i in range(len(scores)) if scores[i] >= score_threshold), key=lambda i: -scores[i])
    kept: list[int] = []
    for i in order:
        same_class = [k for k in kept if classes is None or classes[k] == classes[i]]
        if all(iou(boxes[k], boxes[i]) <= iou_threshold for k in same_class):
            kept.append(i)
    return kept if max_detections is None else kept[:max_detections]
