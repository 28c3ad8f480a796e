"""COCO-style average precision (AP) and recall (AR) of a detector, by the published COCO protocol.

:func:`evaluate` follows pycocotools' ``COCOeval`` for bounding boxes, area
range "all" or one of COCO's object sizes (``area_range``), no crowd boxes (a test checks the figures against ``COCOeval``
on random cases; cnnkit itself does not need pycocotools):

1. **Per image and class**, detections are sorted by score (a stable sort, so
   ties keep their input order) and only the best ``max_detections`` are kept.
2. **Greedy matching**, for each IoU threshold ``t`` separately: walking the
   detections from the highest score down, each is matched to the *unmatched*
   ground-truth box of its class with the largest IoU, provided that IoU is
   at least ``t``. A matched detection is a true positive (TP); an unmatched
   one is a false positive (FP); each ground-truth box is matched at most once.
3. **Per class**, the detections of all images are pooled and sorted by score;
   running sums of TP and FP give recall ``TP / #gt`` and precision
   ``TP / (TP + FP)`` after each detection.
4. The precision curve is made non-increasing from the right (the precision
   at recall ``r`` is the best precision at any recall ``>= r``) and read at
   the **101 recall points** 0, 0.01, ..., 1 (0 where the recall is never
   reached). **AP** of the class at ``t`` is the mean of those 101 values.
5. **AP@[.5:.95]** ("AP", COCO's headline number) averages over the ten IoU
   thresholds 0.50, 0.55, ..., 0.95 and over the classes; **AP@0.5** uses
   ``t = 0.5`` only. **AR** is the final recall (with at most
   ``max_detections`` detections per image and class) averaged over the same
   thresholds and classes. Classes without any ground-truth box are left out
   of every average (as COCO does), so detections of them cost nothing.
   When no image has any ground-truth box, AP and AR are undefined:
   pycocotools then reports -1, which :func:`evaluate` refuses to return (it
   raises a ``ValueError`` saying so), since a -1 averaged with real APs is nonsense.

Inputs follow the keras-hub / KerasCV dict convention, one dict per image:
predictions ``{"boxes": (N, 4), "classes": (N,), "scores": (N,)}`` and ground
truth ``{"boxes": (M, 4), "classes": (M,)}``. Rows whose class id is
negative (batch padding) are dropped.

Example:
    >>> gt = [{"boxes": [[0, 0, 10, 10]], "classes": [0]}]
    >>> pred = [{"boxes": [[0, 0, 10, 10]], "classes": [0], "scores": [0.9]}]
    >>> round(evaluate(pred, gt)["AP"], 6)
    1.0
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnnkit import _validate as V
from cnnkit.detection.boxes import check_boxes, check_format, convert_format, iou_matrix_numpy

# The exact thresholds COCOeval uses (np.linspace with the same arguments).
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
# COCO's object sizes by area in pixels² (COCOeval's areaRng; both ends included): AP_S, AP_M, AP_L.
AREA_RANGES = {"all": (0.0, 1e10), "small": (0.0, 32.0 ** 2), "medium": (32.0 ** 2, 96.0 ** 2),
               "large": (96.0 ** 2, 1e10)}
RECALL_POINTS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


@dataclass
class DetectionMetrics:
    """What :func:`evaluate` returns. ``metrics["AP"]`` and friends work like a dict.

    Attributes:
        AP: AP@[.5:.95], the mean over IoU thresholds 0.5..0.95 and classes.
        AP50, AP75: AP at IoU 0.5 and 0.75.
        AR: recall with at most ``max_detections`` per image, averaged like AP.
        per_class_AP: ``{class_name: AP@[.5:.95]}`` (classes without ground truth are absent).
        per_class_AP50: ``{class_name: AP@0.5}``.
        precision: ``(T, 101, C)`` interpolated precision at each IoU threshold,
            recall point and class; -1 for classes without ground truth.
        recall: ``(T, C)`` final recall; -1 for classes without ground truth.
        iou_thresholds, recall_points: the axes of ``precision``.
        num_gt: ``(C,)`` ground-truth boxes per class (in the area range, if one was given).
    """

    AP: float
    AP50: float
    AP75: float
    AR: float
    per_class_AP: dict
    per_class_AP50: dict
    precision: np.ndarray = field(repr=False)
    recall: np.ndarray = field(repr=False)
    iou_thresholds: np.ndarray = field(repr=False)
    recall_points: np.ndarray = field(repr=False)
    num_gt: np.ndarray = field(repr=False)
    class_names: list = field(repr=False)

    def __getitem__(self, key):
        return getattr(self, key)

    def summary(self) -> dict:
        """The headline numbers as a plain dict."""
        return {"AP": self.AP, "AP50": self.AP50, "AP75": self.AP75, "AR": self.AR}

    def __str__(self) -> str:
        head = "  ".join(f"{k} {v:.3f}" for k, v in self.summary().items())
        per = ", ".join(f"{k} {v:.3f}" for k, v in self.per_class_AP.items())
        return f"{head}\nAP per class: {per}"


def _mean_valid(values: np.ndarray) -> float:
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


def _as_image_list(items, what: str, need_scores: bool, box_format: str, image_shape) -> list[dict]:
    if isinstance(items, dict):
        raise ValueError(f"{what} must be a list with one dict per image; received a single dict.")
    if V.as_sequence(items) is None:
        V.fail(what, "a list with one dict per image", items, wrong_type=True)
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "boxes" not in item or "classes" not in item:
            raise ValueError(f"{what}[{i}] must be a dict with 'boxes' and 'classes'; received {type(item).__name__} "
                             f"{sorted(item) if isinstance(item, dict) else ''}.")
        if need_scores and "scores" not in item:
            raise ValueError(f"{what}[{i}] must have 'scores' (one per box); received keys {sorted(item)}.")
        boxes = V.concrete_array(item["boxes"], f"{what}[{i}]['boxes']", finite=False)
        boxes = boxes.reshape(0, 4) if boxes.size == 0 else boxes
        check_boxes(boxes, box_format, what=f"{what}[{i}]['boxes']")
        classes = V.integer_array(item["classes"], f"{what}[{i}]['classes']", "class ids, -1 on padding").reshape(-1)
        if boxes.ndim != 2 or len(classes) != len(boxes):
            raise ValueError(f"{what}[{i}]: expected 'boxes' (N, 4) and 'classes' (N,); received shapes "
                             f"{boxes.shape} and {classes.shape}.")
        keep = classes >= 0  # padding rows
        if box_format != "xyxy" and keep.any():
            boxes = np.asarray(convert_format(boxes, box_format, "xyxy", image_shape, dtype="float64"))
        entry = {"boxes": boxes[keep], "classes": classes[keep]}
        if need_scores:
            scores = V.finite_array(item["scores"], f"{what}[{i}]['scores']", np.float64).reshape(-1)
            if len(scores) != len(classes):
                raise ValueError(f"{what}[{i}]: 'scores' must have one value per box ({len(classes)}); "
                                 f"received {len(scores)}.")
            entry["scores"] = scores[keep]
        out.append(entry)
    return out


def _match_image(det_boxes, gt_boxes, thresholds, gt_ignore=None, det_outside=None) -> tuple[np.ndarray, np.ndarray]:
    """COCO's greedy matching of one image and class: ``(T, D)`` TP flags and ``(T, D)`` ignore flags.

    The detections are already sorted by score. Ground-truth boxes flagged in
    ``gt_ignore`` (outside the area range) can still absorb a detection, which
    is then ignored rather than counted, but only when no regular box
    qualifies; an unmatched detection flagged in ``det_outside`` is ignored too.
    """
    num_det, num_gt = len(det_boxes), len(gt_boxes)
    matched = np.zeros((len(thresholds), num_det), dtype=bool)
    ignored = np.zeros((len(thresholds), num_det), dtype=bool)
    gt_ignore = np.zeros(num_gt, dtype=bool) if gt_ignore is None else gt_ignore
    det_outside = np.zeros(num_det, dtype=bool) if det_outside is None else det_outside
    if num_det and num_gt:
        order = np.argsort(gt_ignore, kind="mergesort")  # COCOeval walks the regular boxes first
        ious = iou_matrix_numpy(det_boxes, gt_boxes)[:, order]  # (D, G)
        gt_ignore = gt_ignore[order]
        limits = np.minimum(thresholds, 1 - 1e-10)[:, None]  # (T, 1)
        gt_taken = np.zeros((len(thresholds), num_gt), dtype=bool)
        rows = np.arange(len(thresholds))
        for d in range(num_det):  # sequential by nature: each match changes what later detections can take
            candidate = ~gt_taken & (ious[d][None, :] >= limits)  # (T, G)
            regular = candidate & ~gt_ignore
            candidate = np.where(regular.any(axis=1, keepdims=True), regular, candidate)
            # COCOeval keeps the best IoU and, on ties, the later ground truth: take the last maximum.
            masked = np.where(candidate, ious[d][None, :], -1.0)
            best = num_gt - 1 - np.argmax(masked[:, ::-1], axis=1)
            hit = candidate.any(axis=1)
            matched[hit, d] = True
            ignored[hit, d] = gt_ignore[best[hit]]
            gt_taken[rows[hit], best[hit]] = True
    ignored |= ~matched & det_outside[None, :]
    return matched, ignored


def _precision_at_recall_points(tp_flags: np.ndarray, num_gt: int) -> tuple[np.ndarray, float]:
    """COCO's 101-point interpolated precision for one class and threshold, and the final recall."""
    tp = np.cumsum(tp_flags).astype(np.float64)
    fp = np.cumsum(~tp_flags).astype(np.float64)
    recall = tp / num_gt
    precision = tp / (fp + tp + np.spacing(1))
    if len(tp) == 0:
        return np.zeros(len(RECALL_POINTS)), 0.0
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # non-increasing from the right
    idx = np.searchsorted(recall, RECALL_POINTS, side="left")
    reached = idx < len(precision)
    values = np.where(reached, precision[np.minimum(idx, len(precision) - 1)], 0.0)
    return values, float(recall[-1])


def _area_limits(area_range) -> tuple[float, float] | None:
    """``None``, a COCO range name or a ``(low, high)`` pair of areas in pixels² -> ``(low, high)`` or ``None``."""
    if area_range is None:
        return None
    if isinstance(area_range, str):
        if area_range not in AREA_RANGES:
            V.fail("area_range", f"None, one of {sorted(AREA_RANGES)} or a (low, high) pair of areas", area_range)
        return AREA_RANGES[area_range]
    pair = V.as_sequence(area_range)
    if pair is None or len(pair) != 2 or not all(V.is_number(v) for v in pair) or not 0 <= pair[0] <= pair[1]:
        V.fail("area_range", f"None, one of {sorted(AREA_RANGES)} or a (low, high) pair of areas with "
               "0 <= low <= high", area_range)
    return float(pair[0]), float(pair[1])


def _box_areas(boxes: np.ndarray) -> np.ndarray:
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def evaluate(predictions, ground_truth, num_classes: int | None = None, class_names=None,
             box_format: str = "xyxy", image_shape=None, max_detections: int = 100,
             area_range=None) -> DetectionMetrics:
    """COCO-style AP@0.5, AP@[.5:.95], AP@0.75, per-class AP and AR of detections on a set of images.

    The protocol is pycocotools' COCOeval for boxes (area "all", no crowds),
    described step by step in the :mod:`cnnkit.detection.metrics` docstring.

    Args:
        predictions: list (one per image) of ``{"boxes": (N, 4), "classes": (N,), "scores": (N,)}``.
        ground_truth: list (same images, same order) of ``{"boxes": (M, 4), "classes": (M,)}``.
        num_classes: number of classes (default: from ``class_names``, else 1 + the largest id seen).
        class_names: names for the per-class results (default ``"0"``, ``"1"``, ...).
        box_format: format of every box, default ``"xyxy"`` pixels.
        image_shape: ``(height, width)``, needed only for relative box formats.
        max_detections: detections kept per image and class (COCO: 100).
        area_range: ``None`` (every object), ``"small"``, ``"medium"``, ``"large"`` (COCO's
            ranges, :data:`AREA_RANGES`) or a ``(low, high)`` pair of areas in pixels²: AP_S,
            AP_M and AP_L. As in COCOeval, ground-truth boxes whose area is outside the range
            are ignored (a detection matched to one counts neither as TP nor as FP, and only
            when no box in the range qualifies), and so are unmatched detections outside it.
            The area is the box's (COCO's annotation files give the mask's area instead).

    Returns:
        A :class:`DetectionMetrics` (``.AP``, ``.AP50``, ``.AP75``, ``.AR``,
        ``.per_class_AP``, and the ``.precision`` array for PR curves).

    Example:
        >>> truth = [{"boxes": [[0, 0, 10, 10], [20, 20, 40, 40]], "classes": [0, 1]}]
        >>> predictions = [{"boxes": [[0, 0, 10, 11], [20, 20, 40, 40], [50, 50, 60, 60]],
        ...                 "classes": [0, 1, 1], "scores": [0.9, 0.8, 0.3]}]
        >>> m = evaluate(predictions, truth)    # class 0's box has IoU 10/11: a hit up to IoU 0.9
        >>> print(m)
        AP 0.950  AP50 1.000  AP75 1.000  AR 0.950
        AP per class: 0 0.900, 1 1.000
        >>> round(m.AP50, 6), round(m.per_class_AP["0"], 6)
        (1.0, 0.9)
    """
    check_format(box_format)
    max_detections = V.positive_int(max_detections, "max_detections")
    limits = _area_limits(area_range)
    num_classes = V.num_classes(num_classes) if num_classes is not None else None
    preds = _as_image_list(predictions, "predictions", True, box_format, image_shape)
    gts = _as_image_list(ground_truth, "ground_truth", False, box_format, image_shape)
    if len(preds) != len(gts):
        raise ValueError(f"predictions and ground_truth must describe the same images; received {len(preds)} "
                         f"prediction dicts and {len(gts)} ground-truth dicts.")
    boxes_of_truth = sum(len(item["classes"]) for item in gts)
    if boxes_of_truth == 0:  # pycocotools reports -1 here; a learner would average it into nonsense
        raise ValueError(f"ground_truth must hold at least one box (a class id >= 0); received {len(gts)} "
                         f"image{'' if len(gts) == 1 else 's'} without any: AP and AR are undefined without "
                         "ground truth.")
    seen = [int(c.max()) for item in preds + gts for c in [item["classes"]] if len(c)]
    if class_names is not None:
        names = V.as_sequence(class_names)
        if names is None or not names or not all(isinstance(n, str) for n in names):
            V.fail("class_names", "a list of class names (strings), one per class", class_names,
                   wrong_type=names is None)
        class_names = list(names)
        if num_classes is None and seen and max(seen) >= len(class_names):
            raise ValueError(f"class_names must name every class id (0 to {max(seen)}); received {len(class_names)} "
                             f"names.")
        num_classes = num_classes or len(class_names)
    num_classes = num_classes or (max(seen) + 1 if seen else 1)
    if seen and max(seen) >= num_classes:
        raise ValueError(f"num_classes must be above every class id; received num_classes={num_classes} and class id "
                         f"{max(seen)}.")
    class_names = class_names or [str(k) for k in range(num_classes)]
    if len(class_names) != num_classes:
        raise ValueError(f"class_names must have num_classes={num_classes} names; received {len(class_names)}.")

    thresholds = IOU_THRESHOLDS
    precision = -np.ones((len(thresholds), len(RECALL_POINTS), num_classes))
    recall = -np.ones((len(thresholds), num_classes))
    num_gt = np.zeros(num_classes, dtype=np.int64)
    for k in range(num_classes):
        scores, flags, ignored = [], [], []
        for pred, gt in zip(preds, gts):
            gt_boxes = gt["boxes"][gt["classes"] == k]
            sel = np.flatnonzero(pred["classes"] == k)
            order = sel[np.argsort(-pred["scores"][sel], kind="mergesort")][:max_detections]
            gt_ignore = det_outside = None
            if limits is not None:
                outside = [(a < limits[0]) | (a > limits[1]) for a in (_box_areas(gt_boxes), _box_areas(pred["boxes"][order]))]
                gt_ignore, det_outside = outside
            num_gt[k] += len(gt_boxes) - (0 if gt_ignore is None else int(gt_ignore.sum()))
            scores.append(pred["scores"][order])
            image_flags, image_ignored = _match_image(pred["boxes"][order], gt_boxes, thresholds, gt_ignore, det_outside)
            flags.append(image_flags)
            ignored.append(image_ignored)
        if num_gt[k] == 0:
            continue  # COCO leaves classes without ground truth (in the area range) out of every average
        by_score = np.argsort(-np.concatenate(scores), kind="mergesort")
        flags = np.concatenate(flags, axis=1)[:, by_score]
        ignored = np.concatenate(ignored, axis=1)[:, by_score]
        for t in range(len(thresholds)):
            precision[t, :, k], recall[t, k] = _precision_at_recall_points(flags[t][~ignored[t]], int(num_gt[k]))

    if not (num_gt > 0).any():  # only possible with an area range: pycocotools would report -1
        raise ValueError(f"ground_truth must hold at least one box in area_range={area_range!r} {limits}: AP and "
                         "AR are undefined without ground truth.")
    t50 = int(np.argmin(np.abs(thresholds - 0.5)))
    t75 = int(np.argmin(np.abs(thresholds - 0.75)))
    has_gt = np.flatnonzero(num_gt > 0)
    return DetectionMetrics(
        AP=_mean_valid(precision),
        AP50=_mean_valid(precision[t50]),
        AP75=_mean_valid(precision[t75]),
        AR=_mean_valid(recall),
        per_class_AP={class_names[k]: float(precision[:, :, k].mean()) for k in has_gt},
        per_class_AP50={class_names[k]: float(precision[t50, :, k].mean()) for k in has_gt},
        precision=precision,
        recall=recall,
        iou_thresholds=thresholds.copy(),
        recall_points=RECALL_POINTS.copy(),
        num_gt=num_gt,
        class_names=class_names,
    )
