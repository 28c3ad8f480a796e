"""Losses of a one-stage detector: focal loss for the classes, smooth-L1 or GIoU for the boxes.

* **Sigmoid focal loss** (Lin et al., 2017, RetinaNet): each anchor and class
  is a yes/no question answered by a sigmoid. Almost every anchor is
  background, so plain cross-entropy would be dominated by thousands of easy
  "no"s; the factor ``(1 - p_t) ** gamma`` shrinks the loss of examples the
  model already gets right, and ``alpha`` balances positives against negatives.
* **Smooth-L1** (Girshick, 2015) on the encoded box offsets: quadratic near
  zero, linear for large errors (robust to outliers).
* **GIoU loss** (Rezatofighi et al., 2019) on decoded boxes: ``1 - GIoU``,
  which measures overlap directly, is scale-invariant, and still gives a
  gradient when the boxes do not overlap.

:func:`detection_loss` combines them the RetinaNet way: summed over anchors
and divided by the number of positive anchors in the batch.

Every function uses ``keras.ops`` and works elementwise over leading axes.

Example:
    >>> import numpy as np
    >>> loss = sigmoid_focal_loss(np.array([1.0, 0.0]), np.array([3.0, -3.0]))    # both easy: tiny losses
    >>> np.round(np.asarray(loss, dtype=np.float64), 6).tolist()
    [2.7e-05, 8.2e-05]
"""

from __future__ import annotations

import numpy as np
from keras import ops

from cnnkit import _validate as V
from cnnkit.detection import boxes as box_ops
from cnnkit.detection.anchors import IGNORE

BOX_LOSSES = ("smooth_l1", "giou")


# Targets come from data: when their values are concrete (NumPy, eager tensors) NaN, infinity and strings are
# refused. Predictions come from the model: a NaN there is a diverging model, which Keras reports (TerminateOnNaN),
# so only their type and shape are checked. Inside a traced training step values are symbolic: shapes only.


def _shape(value, name: str) -> tuple:
    shape = getattr(value, "shape", None)
    if shape is None:
        V.concrete_array(value, name, finite=False)  # a string or None: refused here, as a wrong type
        shape = np.shape(value)
    return tuple(shape)


def _same_shape(a, b, name_a: str, name_b: str) -> None:
    shape_a, shape_b = _shape(a, name_a), _shape(b, name_b)
    if len(shape_a) != len(shape_b) or any(x is not None and y is not None and x != y
                                           for x, y in zip(shape_a, shape_b)):
        raise ValueError(f"{name_a} and {name_b} must have the same shape; received {name_a} of shape {shape_a} and "
                         f"{name_b} of shape {shape_b}.")


def _prediction(value, name: str) -> None:
    """A model output: real numbers (not checked for NaN: see above)."""
    V.concrete_array(value, name, finite=False)


def sigmoid_focal_loss(labels, logits, alpha: float = 0.25, gamma: float = 2.0):
    """Elementwise sigmoid focal loss ``-alpha_t (1 - p_t)^gamma log(p_t)``.

    Args:
        labels: 0/1 targets, any shape.
        logits: raw scores of the same shape (``p = sigmoid(logits)``).
        alpha: weight of the positives (``1 - alpha`` for negatives); ``alpha_t`` picks one.
        gamma: focusing exponent; 0 gives alpha-weighted binary cross-entropy.

    Returns:
        The loss of every element, same shape as ``logits``.
    """
    alpha = V.fraction(alpha, "alpha")
    gamma = V.non_negative_float(gamma, "gamma")
    V.concrete_array(labels, "labels")
    _prediction(logits, "logits")
    _same_shape(labels, logits, "labels", "logits")
    logits = ops.convert_to_tensor(logits)
    labels = ops.cast(labels, logits.dtype)
    # Binary cross-entropy from logits, in its numerically stable form.
    ce = ops.maximum(logits, 0.0) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits)))
    p = ops.sigmoid(logits)
    p_t = labels * p + (1 - labels) * (1 - p)
    alpha_t = labels * alpha + (1 - labels) * (1 - alpha)
    return alpha_t * ops.power(1 - p_t, gamma) * ce


def smooth_l1(y_true, y_pred, beta: float = 1.0 / 9.0):
    """Smooth-L1 summed over the last axis: ``0.5 x^2 / beta`` if ``|x| < beta`` else ``|x| - 0.5 beta``.

    Args:
        y_true, y_pred: ``(..., 4)`` encoded offsets.
        beta: where the quadratic part turns linear (Detectron's RetinaNet uses 1/9).

    Returns:
        ``(...)`` the loss per box.
    """
    beta = V.positive_float(beta, "beta")
    V.concrete_array(y_true, "y_true")
    _prediction(y_pred, "y_pred")
    _same_shape(y_true, y_pred, "y_true", "y_pred")
    diff = ops.abs(ops.convert_to_tensor(y_pred) - ops.cast(y_true, "float32"))
    loss = ops.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)
    return ops.sum(loss, axis=-1)


def giou(boxes_a, boxes_b):
    """Generalized IoU of paired ``"xyxy"`` boxes ``(..., 4)``: ``IoU - (|C| - |A ∪ B|) / |C|``.

    ``C`` is the smallest box enclosing both. GIoU is 1 for equal boxes and
    tends to -1 for small boxes far apart.

    Returns:
        ``(...)`` one value per pair.
    """
    _same_shape(box_ops.check_boxes(boxes_a, "xyxy", "boxes_a"), box_ops.check_boxes(boxes_b, "xyxy", "boxes_b"),
                "boxes_a", "boxes_b")
    return _giou(boxes_a, boxes_b)


def _giou(boxes_a, boxes_b):
    a, b = ops.convert_to_tensor(boxes_a), ops.convert_to_tensor(boxes_b)
    area_a = ops.maximum(a[..., 2] - a[..., 0], 0.0) * ops.maximum(a[..., 3] - a[..., 1], 0.0)
    area_b = ops.maximum(b[..., 2] - b[..., 0], 0.0) * ops.maximum(b[..., 3] - b[..., 1], 0.0)
    inter_w = ops.maximum(ops.minimum(a[..., 2], b[..., 2]) - ops.maximum(a[..., 0], b[..., 0]), 0.0)
    inter_h = ops.maximum(ops.minimum(a[..., 3], b[..., 3]) - ops.maximum(a[..., 1], b[..., 1]), 0.0)
    inter = inter_w * inter_h
    union = area_a + area_b - inter
    enclose = ((ops.maximum(a[..., 2], b[..., 2]) - ops.minimum(a[..., 0], b[..., 0]))
               * (ops.maximum(a[..., 3], b[..., 3]) - ops.minimum(a[..., 1], b[..., 1])))
    eps = 1e-7
    return inter / (union + eps) - (enclose - union) / (enclose + eps)


def giou_loss(boxes_true, boxes_pred):
    """``1 - GIoU`` of paired ``"xyxy"`` boxes, ``(..., 4) -> (...)``: 0 for a perfect box, up to 2."""
    box_ops.check_boxes(boxes_true, "xyxy", "boxes_true")
    _prediction(boxes_pred, "boxes_pred")
    if _shape(boxes_pred, "boxes_pred")[-1:] != (4,):
        raise ValueError(f"boxes_pred must have shape (..., 4); received shape {_shape(boxes_pred, 'boxes_pred')}.")
    _same_shape(boxes_true, boxes_pred, "boxes_true", "boxes_pred")
    return 1.0 - _giou(boxes_true, boxes_pred)


def detection_loss(box_targets, class_targets, box_pred, class_logits, num_classes: int, anchors=None,
                   alpha: float = 0.25, gamma: float = 2.0, box_loss: str = "smooth_l1",
                   box_loss_weight: float = 1.0, variances=box_ops.DEFAULT_VARIANCES):
    """The one-stage detector loss: focal loss over all non-ignored anchors + box loss over positives.

    Both sums are divided by the number of positive anchors in the batch (at least 1).

    Args:
        box_targets: ``(B, A, 4)`` encoded offsets of each anchor's matched box.
        class_targets: ``(B, A)`` class id for positives, -1 background, -2 ignored.
        box_pred: ``(B, A, 4)`` predicted offsets.
        class_logits: ``(B, A, num_classes)`` raw class scores.
        num_classes: number of classes.
        anchors: ``(A, 4)`` ``"xyxy"`` anchors, needed for ``box_loss="giou"``.
        alpha, gamma: focal loss parameters.
        box_loss: ``"smooth_l1"`` (on offsets) or ``"giou"`` (on decoded boxes).
        box_loss_weight: weight of the box term.
        variances: the encoding's variances (for ``"giou"``).

    Returns:
        ``(total, class_loss, box_loss)`` scalars.
    """
    V.choice(box_loss, "box_loss", BOX_LOSSES)
    num_classes = V.num_classes(num_classes)
    alpha = V.fraction(alpha, "alpha")
    gamma = V.non_negative_float(gamma, "gamma")
    box_loss_weight = V.non_negative_float(box_loss_weight, "box_loss_weight")
    _check_loss_inputs(box_targets, class_targets, box_pred, class_logits, num_classes)
    # Losses in float32 whatever the model computes in (mixed precision gives float16 outputs).
    box_pred, class_logits = ops.cast(box_pred, "float32"), ops.cast(class_logits, "float32")
    box_targets = ops.cast(box_targets, "float32")
    class_targets = ops.cast(class_targets, "int32")
    positive = ops.cast(class_targets >= 0, "float32")
    not_ignored = ops.cast(class_targets != IGNORE, "float32")
    num_positive = ops.maximum(ops.sum(positive), 1.0)

    onehot = ops.one_hot(ops.maximum(class_targets, 0), num_classes) * positive[..., None]
    focal = sigmoid_focal_loss(onehot, class_logits, alpha, gamma)
    class_loss = ops.sum(ops.sum(focal, axis=-1) * not_ignored) / num_positive

    if box_loss == "smooth_l1":
        per_box = smooth_l1(box_targets, box_pred)
    else:
        if anchors is None:
            raise ValueError("box_loss='giou' needs the anchors to decode boxes; received anchors=None.")
        per_box = 1.0 - _giou(box_ops.decode(box_targets, anchors, variances), box_ops.decode(box_pred, anchors, variances))
    box_term = ops.sum(per_box * positive) / num_positive
    return class_loss + box_loss_weight * box_term, class_loss, box_term


def _check_loss_inputs(box_targets, class_targets, box_pred, class_logits, num_classes: int) -> None:
    """Shapes ``(B, A, 4)``, ``(B, A)``, ``(B, A, 4)``, ``(B, A, num_classes)``; concrete targets: finite, valid ids."""
    V.concrete_array(box_targets, "box_targets")
    ids = V.concrete_array(class_targets, "class_targets")
    if ids is not None and ids.size:
        V.integer_array(ids, "class_targets", "class ids")
        if ids.min() < IGNORE or ids.max() >= num_classes:
            raise ValueError(f"class_targets must be class ids in [0, {num_classes - 1}], -1 (background) or "
                             f"{IGNORE} (ignored); received values from {ids.min():g} to {ids.max():g}.")
    _prediction(box_pred, "box_pred")
    _prediction(class_logits, "class_logits")
    shapes = {name: _shape(value, name) for name, value in (("box_targets", box_targets), ("class_targets", class_targets),
                                                            ("box_pred", box_pred), ("class_logits", class_logits))}
    batch = shapes["class_targets"]
    expected = {"box_targets": batch + (4,), "box_pred": batch + (4,), "class_logits": batch + (num_classes,)}
    if len(batch) != 2:
        raise ValueError(f"class_targets must have shape (batch, anchors); received shape {batch}.")
    for name, want in expected.items():
        got = shapes[name]
        if len(got) != 3 or any(x is not None and y is not None and x != y for x, y in zip(got, want)):
            raise ValueError(f"{name} must have shape {want} to match class_targets {batch} and num_classes; "
                             f"received shape {got}.")


def prior_bias(probability: float = 0.01) -> float:
    """Bias of the class output so every anchor starts at ``probability`` (RetinaNet: 0.01).

    Starting near "background everywhere" keeps the huge number of negatives
    from swamping the loss in the first steps.
    """
    return float(-np.log((1 - probability) / probability))
