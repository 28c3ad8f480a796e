"""Anchors on every pyramid level, and matching them to ground-truth boxes.

A one-stage detector predicts, at every position of every feature map, a
class score and a box *for each of a few fixed reference boxes*, the
anchors. Level ``P{k}`` has stride ``2**k``: its cell ``(i, j)`` is centred
on the image pixel ``((j + 0.5) * 2**k, (i + 0.5) * 2**k)`` and carries
``len(ratios) * len(scales)`` anchors there.

MediaPipe's SSD anchors (BlazeFace) are a variant of the same grid: one
*fixed* anchor size for every level, and several identical copies of it on
each cell (``repeats``), because MediaPipe merges layers of equal stride and,
with ``fixed_anchor_size``, gives all their anchors the same shape; the
network still predicts a different box for each copy. See
:mod:`cnnkit.detection.faces`.

Training needs, for each anchor, what it *should* predict: matching assigns
each anchor the ground-truth box it overlaps most, and

* **positive** (learn the class and the box) when that IoU >= ``positive_iou``,
  or when the anchor is that box's best anchor (so small boxes that reach no
  anchor above ``positive_iou`` are still learned),
* **negative** (background) when the IoU < ``negative_iou``,
* **ignored** in between: half-overlapping anchors are neither a clear object
  nor clear background, and training on them would blur the two.

Everything is vectorised over the batch, the anchors and the boxes with
``keras.ops``, so matching runs inside the training step on any backend.

Example:
    >>> gen = AnchorGenerator(levels=(3, 4, 5), ratios=(1.0,), scales=(1.0, 1.5))
    >>> gen.counts((64, 64))
    {'P3': 128, 'P4': 32, 'P5': 8}
"""

from __future__ import annotations

import math

import numpy as np
from keras import ops

from cnnkit import _validate as V
from cnnkit.detection import boxes as box_ops

BACKGROUND = -1  # class target of a negative anchor
IGNORE = -2  # class target of an anchor the loss leaves out


class AnchorGenerator:
    """Anchor boxes for every level of a feature pyramid.

    Args:
        levels: pyramid levels, e.g. ``(3, 4, 5)`` for ``P3..P5`` (strides 8, 16, 32).
        sizes: base anchor side per level in pixels; default ``4 * stride``
            (RetinaNet's choice). A number means the same for every level.
        ratios: width / height of the anchors.
        scales: multipliers of the base size, e.g. ``(1, 2**(1/3), 2**(2/3))``.
        repeats: how many identical copies of its anchors each cell carries, one
            number for all levels or one per level (default 1). MediaPipe's
            BlazeFace has ``sizes=128, ratios=(1.0,), scales=(1.0,), repeats=(2, 6)``
            on levels ``(3, 4)``: 16 x 16 x 2 + 8 x 8 x 6 = 896 anchors of 128 x 128
            pixels for a 128 x 128 input.

    Anchors are ``"xyxy"`` pixel boxes, ordered level by level, then row by row
    (``y``), column by column (``x``), then ratio by ratio and scale by scale
    (and copy by copy), which is the order a ``(B, H, W, A * k)`` head output reshaped to
    ``(B, H * W * A, k)`` has.

    Example:
        >>> gen = AnchorGenerator(levels=(3,), sizes=16, ratios=(1.0,), scales=(1.0,))
        >>> gen((16, 16))["P3"][0].tolist()         # first cell, centred on (4, 4)
        [-4.0, -4.0, 12.0, 12.0]
    """

    def __init__(self, levels=(3, 4, 5), sizes=None, ratios=(0.5, 1.0, 2.0), scales=(1.0, 2 ** (1 / 3), 2 ** (2 / 3)),
                 repeats=1):
        items = V.as_sequence(levels)
        items = (levels,) if items is None else items
        if not items or not all(V.is_int(k) and 0 <= k <= 10 for k in items) or list(items) != sorted(set(items)):
            V.fail("levels", "increasing integers between 0 and 10, e.g. (3, 4, 5)", levels)
        self.levels = tuple(int(k) for k in items)
        if sizes is None:
            sizes = tuple(4.0 * 2**k for k in self.levels)
        sizes = V.positive_floats(sizes, "sizes")
        if len(sizes) == 1:
            sizes = sizes * len(self.levels)
        if len(sizes) != len(self.levels):
            raise ValueError(f"sizes must give one size per level ({len(self.levels)}) or one for all; received {sizes!r}.")
        self.sizes = sizes
        self.ratios = V.positive_floats(ratios, "ratios")
        self.scales = V.positive_floats(scales, "scales")
        self.repeats = _repeats(repeats, len(self.levels))

    @property
    def anchors_per_level(self) -> tuple[int, ...]:
        """How many anchors sit on each cell of each level: ``len(ratios) * len(scales) * repeats``."""
        return tuple(len(self.ratios) * len(self.scales) * r for r in self.repeats)

    @property
    def anchors_per_location(self) -> int:
        """How many anchors sit on each feature-map cell: ``len(ratios) * len(scales)`` (times ``repeats``).

        Raises:
            ValueError: when the number differs between levels (see :attr:`anchors_per_level`).
        """
        if len(set(self.anchors_per_level)) > 1:
            raise ValueError(f"anchors_per_location differs between levels {self.levels}: "
                             f"{self.anchors_per_level}; use anchors_per_level.")
        return self.anchors_per_level[0]

    def feature_size(self, image_shape, level: int) -> tuple[int, int]:
        """Height and width of level ``level``'s feature map: ``ceil(size / 2**level)``."""
        height, width = _hw(image_shape)
        return math.ceil(height / 2**level), math.ceil(width / 2**level)

    def _cell_shapes(self, size: float, repeats: int = 1) -> np.ndarray:
        """(ratios * scales * repeats, 2) widths and heights of the anchors on one cell."""
        shapes = [(size * s * math.sqrt(r), size * s / math.sqrt(r)) for r in self.ratios for s in self.scales]
        return np.repeat(np.array(shapes, dtype=np.float32), repeats, axis=0)

    def __call__(self, image_shape) -> dict[str, np.ndarray]:
        """``{"P3": (H3 * W3 * A, 4), ...}``: the anchors of every level, ``"xyxy"`` pixels."""
        total = sum(self.counts(image_shape).values())
        V.memory(total * 4 * 8 * 3, "image_shape", image_shape, "the anchors")  # float64 centres, halves, boxes
        out = {}
        for level, size, repeats in zip(self.levels, self.sizes, self.repeats):
            stride = 2.0**level
            rows, cols = self.feature_size(image_shape, level)
            cy, cx = np.meshgrid((np.arange(rows) + 0.5) * stride, (np.arange(cols) + 0.5) * stride, indexing="ij")
            centers = np.stack([cx, cy], axis=-1).reshape(-1, 1, 2)  # (cells, 1, 2) as (x, y)
            half = self._cell_shapes(size, repeats)[None] / 2  # (1, A, 2)
            anchors = np.concatenate([centers - half, centers + half], axis=-1)  # (cells, A, 4)
            out[f"P{level}"] = anchors.reshape(-1, 4).astype(np.float32)
        return out

    def all(self, image_shape) -> np.ndarray:
        """Every anchor of every level, concatenated: ``(num_anchors, 4)``."""
        return np.concatenate(list(self(image_shape).values()), axis=0)

    def counts(self, image_shape) -> dict[str, int]:
        """Number of anchors per level, e.g. ``{"P3": 576, ...}``."""
        return {f"P{k}": int(np.prod(self.feature_size(image_shape, k))) * per_cell
                for k, per_cell in zip(self.levels, self.anchors_per_level)}

    def get_config(self) -> dict:
        return {"levels": self.levels, "sizes": self.sizes, "ratios": self.ratios, "scales": self.scales,
                "repeats": self.repeats}

    def __repr__(self) -> str:
        return "AnchorGenerator(" + ", ".join(f"{k}={v}" for k, v in self.get_config().items()) + ")"


def _repeats(repeats, num_levels: int) -> tuple[int, ...]:
    values = (V.positive_int(repeats, "repeats"),) if V.is_int(repeats) else V.positive_ints(repeats, "repeats")
    if len(values) == 1:
        values = values * num_levels
    if len(values) != num_levels:
        raise ValueError(f"repeats must give one count per level ({num_levels}) or one for all; received {repeats!r}.")
    return tuple(int(r) for r in values)


def _hw(image_shape) -> tuple[int, int]:
    shape = V.as_sequence(image_shape)
    if shape is None or len(shape) not in (2, 3) or not all(V.is_int(s) and s > 0 for s in shape[:2]):
        V.fail("image_shape", "(height, width) or (height, width, channels) in pixels", image_shape)
    return int(shape[0]), int(shape[1])


# ---------------------------------------------------------------- matching


def check_thresholds(positive_iou: float, negative_iou: float) -> tuple[float, float]:
    """The matching thresholds as floats, checked: ``0 < negative_iou <= positive_iou <= 1``.

    Anchors with IoU >= ``positive_iou`` are positives, below ``negative_iou``
    negatives, and those in between are ignored by the loss.
    """
    positive_iou, negative_iou = V.fraction(positive_iou, "positive_iou"), V.fraction(negative_iou, "negative_iou")
    if not 0.0 < negative_iou <= positive_iou <= 1.0:
        raise ValueError(
            "negative_iou and positive_iou must satisfy 0 < negative_iou <= positive_iou <= 1; "
            f"received negative_iou={negative_iou!r}, positive_iou={positive_iou!r}."
        )
    return positive_iou, negative_iou


def _check_ground_truth(anchors, gt_boxes, gt_classes) -> None:
    """``anchors (A, 4)``, ``gt_boxes (B, K, 4)`` and ``gt_classes (B, K)`` (ids >= 0, -1 padding), before any maths."""
    box_ops.check_boxes(anchors, "xyxy", "anchors")
    if len(tuple(getattr(anchors, "shape", None) or np.shape(anchors))) != 2:
        raise ValueError(f"anchors must have shape (A, 4); received shape {tuple(np.shape(anchors))}.")
    box_ops.check_boxes(gt_boxes, "xyxy", "gt_boxes")
    boxes_shape = tuple(getattr(gt_boxes, "shape", None) or np.shape(gt_boxes))
    classes = V.concrete_array(gt_classes, "gt_classes")
    classes_shape = tuple(getattr(gt_classes, "shape", None) or np.shape(gt_classes))
    if len(boxes_shape) != 3 or boxes_shape[:2] != classes_shape or 0 in boxes_shape[:1]:
        raise ValueError(f"gt_boxes and gt_classes must have shapes (batch, max_boxes, 4) and (batch, max_boxes) with "
                         f"batch >= 1; received gt_boxes of shape {boxes_shape} and gt_classes of shape {classes_shape}.")
    if classes is not None and classes.size:
        V.integer_array(classes, "gt_classes", "class ids")
        if classes.min() < BACKGROUND:
            raise ValueError(f"gt_classes must be class ids >= 0 or -1 (padding); received values down to "
                             f"{classes.min():g}.")


def match_anchors(anchors, gt_boxes, gt_classes, positive_iou: float = 0.5, negative_iou: float = 0.4,
                  match_best: bool = True):
    """Assign every anchor a ground-truth box and a class target (positive, background or ignored).

    Args:
        anchors: ``(A, 4)`` ``"xyxy"`` pixel anchors.
        gt_boxes: ``(B, K, 4)`` ``"xyxy"`` pixel boxes, padded with rows of -1.
        gt_classes: ``(B, K)`` integer class ids, -1 on padding rows.
        positive_iou: an anchor whose best IoU reaches this is positive.
        negative_iou: an anchor whose best IoU is below this is background;
            between the two it is ignored (the *ignore band*).
        match_best: also make each box's highest-IoU anchor(s) positive, so
            every box is learned even if no anchor reaches ``positive_iou``.

    Returns:
        ``(matched_boxes, class_targets)``: ``(B, A, 4)`` the box each anchor is
        matched to, and ``(B, A)`` int32 class ids for positives,
        :data:`BACKGROUND` (-1) for negatives, :data:`IGNORE` (-2) for ignored.
    """
    check_thresholds(positive_iou, negative_iou)
    match_best = V.boolean(match_best, "match_best")
    _check_ground_truth(anchors, gt_boxes, gt_classes)
    gt_boxes = ops.cast(ops.convert_to_tensor(gt_boxes), "float32")
    gt_classes = ops.cast(ops.convert_to_tensor(gt_classes), "int32")
    if len(gt_boxes.shape) != 3 or gt_boxes.shape[-1] != 4:
        raise ValueError(f"gt_boxes must have shape (batch, max_boxes, 4); received {tuple(gt_boxes.shape)}.")
    valid = gt_classes >= 0  # (B, K)

    iou = box_ops.iou_matrix(anchors, gt_boxes)  # (B, A, K)
    iou = ops.where(valid[:, None, :], iou, -1.0)
    best_gt = ops.argmax(iou, axis=-1)  # (B, A)
    best_iou = ops.max(iou, axis=-1)
    positive = best_iou >= positive_iou
    negative = best_iou < negative_iou

    if match_best:
        # The anchors that are a box's best, ties included (several anchors can share a centre and shape).
        best_for_gt = ops.max(iou, axis=1, keepdims=True)  # (B, 1, K)
        is_best = (iou >= best_for_gt) & valid[:, None, :] & (iou > 0)
        forced = ops.any(is_best, axis=-1)
        # A forced anchor learns the box it is best for (the one with the largest IoU among those).
        forced_gt = ops.argmax(ops.where(is_best, iou, -1.0), axis=-1)
        best_gt = ops.where(forced & ~positive, forced_gt, best_gt)
        positive = positive | forced
        negative = negative & ~forced

    matched_boxes = ops.take_along_axis(gt_boxes, ops.expand_dims(best_gt, -1), axis=1)  # (B, A, 4)
    matched_classes = ops.take_along_axis(gt_classes, best_gt, axis=1)  # (B, A)
    class_targets = ops.where(positive, matched_classes, ops.where(negative, BACKGROUND, IGNORE))
    return matched_boxes, ops.cast(class_targets, "int32")


def encode_targets(anchors, gt_boxes, gt_classes, variances=box_ops.DEFAULT_VARIANCES,
                   positive_iou: float = 0.5, negative_iou: float = 0.4, match_best: bool = True):
    """Training targets of every anchor: ``(box_targets (B, A, 4), class_targets (B, A))``.

    ``box_targets`` are the :func:`~cnnkit.detection.boxes.encode` offsets of
    each anchor's matched box (meaningful for positive anchors only);
    ``class_targets`` come from :func:`match_anchors`.

    Example:
        >>> anchors = AnchorGenerator(levels=(3,)).all((32, 32))
        >>> box_t, cls_t = encode_targets(anchors, [[[4, 4, 20, 20]]], [[2]])
    """
    matched_boxes, class_targets = match_anchors(anchors, gt_boxes, gt_classes, positive_iou, negative_iou,
                                                 match_best)
    return box_ops.encode(matched_boxes, anchors, variances), class_targets
