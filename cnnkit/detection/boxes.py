"""Bounding boxes: named formats, IoU, encoding against anchors, clipping.

A box is four numbers in the last axis of an array, ``(..., 4)``. What the
four numbers mean is named by a *format* string, as in keras-hub / KerasCV:

=====================  ==========================================  ==========
format                 the four numbers                            units
=====================  ==========================================  ==========
``"xyxy"``             left, top, right, bottom                    pixels
``"xywh"``             left, top, width, height (COCO's format)    pixels
``"center_xywh"``      centre x, centre y, width, height           pixels
``"rel_xyxy"``         as ``"xyxy"``, divided by the image size    fractions
``"rel_xywh"``         as ``"xywh"``, divided by the image size    fractions
``"rel_center_xywh"``  as ``"center_xywh"``, divided by the size   fractions
=====================  ==========================================  ==========

``x`` runs to the right and ``y`` down, as in an image array
``image[y, x]``; a pixel ``(i, j)`` spans ``[j, j+1) x [i, i+1)``, so a box
covering the whole of an ``H x W`` image is ``[0, 0, W, H]`` in ``"xyxy"``.
Relative formats need ``image_shape=(height, width)`` to convert.

The functions here use ``keras.ops`` (so they run inside a model on any
backend) and return backend tensors; :func:`iou_matrix_numpy` is the plain
NumPy reference they are tested against, and the one the COCO-style
evaluation uses (double precision, like pycocotools).

Example:
    >>> import numpy as np
    >>> from cnnkit.detection import boxes
    >>> b = np.array([[10.0, 20.0, 30.0, 60.0]])               # xyxy
    >>> np.asarray(boxes.convert_format(b, "xyxy", "center_xywh")).tolist()
    [[20.0, 40.0, 20.0, 40.0]]
"""

from __future__ import annotations

import numpy as np
from keras import ops

from cnnkit import _validate as V

FORMATS = ("xyxy", "xywh", "center_xywh", "rel_xyxy", "rel_xywh", "rel_center_xywh")
DEFAULT_VARIANCES = (0.1, 0.1, 0.2, 0.2)
PAD_VALUE = -1.0  # rows of padded batches: every number is -1 (and the class id is -1)

# exp() of a predicted log-size offset is clipped here (as in Detectron) so one
# bad prediction early in training cannot overflow to inf.
_MAX_LOG_SCALE = float(np.log(1000.0 / 16.0))


# ---------------------------------------------------------------- checks


def check_format(box_format: str) -> str:
    """Return ``box_format`` if it is a known format name, else raise ``ValueError``."""
    return V.choice(box_format, "box_format", FORMATS)


def _concrete(values, what: str = "boxes"):
    """A NumPy copy of ``values`` when they are concrete (NumPy, lists, eager tensors), else ``None``.

    Inside a traced function (``tf.function``, ``jax.jit``) values are symbolic and
    cannot be checked; shapes still are. Strings and complex numbers are refused.
    """
    return V.concrete_array(values, what, finite=False)


def check_boxes(boxes, box_format: str = "xyxy", what: str = "boxes"):
    """Validate boxes and return them unchanged.

    Checks that the last axis has 4 numbers and, when the values are concrete,
    that they are finite and that boxes are not inverted (``x2 >= x1`` and
    ``y2 >= y1`` for the xyxy formats, ``w, h >= 0`` for the others). Padding
    rows (all four numbers equal to -1) are allowed.

    Raises:
        ValueError: saying what was expected and what was received.
    """
    check_format(box_format)
    shape = tuple(getattr(boxes, "shape", None) or np.shape(boxes)) if boxes is not None else ()
    if len(shape) == 0 or shape[-1] != 4:
        raise ValueError(
            f"{what} must have shape (..., 4) with 4 numbers per box ({box_format!r}); received shape {shape}"
            f"{'' if hasattr(boxes, 'shape') else f' ({V.describe(boxes)})'}."
        )
    values = _concrete(boxes, what)
    if values is None or values.size == 0:
        return boxes
    flat = values.reshape(-1, 4)
    padding = np.all(flat == PAD_VALUE, axis=1)
    if not np.all(np.isfinite(flat)):
        raise ValueError(f"{what} must be finite numbers; received {int(np.sum(~np.isfinite(flat)))} NaN or inf "
                         f"values in {V.describe(values)}.")
    if box_format.endswith("xyxy"):
        bad = ((flat[:, 2] < flat[:, 0]) | (flat[:, 3] < flat[:, 1])) & ~padding
        rule = "x2 >= x1 and y2 >= y1"
    else:
        bad = ((flat[:, 2] < 0) | (flat[:, 3] < 0)) & ~padding
        rule = "width >= 0 and height >= 0"
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        index = np.unravel_index(first, values.shape[:-1]) if values.ndim > 1 else ()
        raise ValueError(
            f"{what} in {box_format!r} format must have {rule}; received {int(bad.sum())} box(es) "
            f"that do not, e.g. {flat[first].tolist()} at index {tuple(int(i) for i in index)}."
        )
    return boxes


def _image_hw(image_shape, source: str, target: str) -> tuple[float, float]:
    if image_shape is None:
        raise ValueError(
            f"Converting {source!r} to {target!r} needs image_shape=(height, width) "
            "because relative formats are fractions of the image size; received image_shape=None."
        )
    shape = V.as_sequence(image_shape)
    if shape is None or len(shape) not in (2, 3) or not all(V.is_int(v) and v >= 1 for v in shape):
        V.fail("image_shape", "(height, width) or (height, width, channels) of positive integers", image_shape,
               wrong_type=shape is None)
    return float(shape[0]), float(shape[1])


# ---------------------------------------------------------------- conversion


def _split(boxes):
    return boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]


def convert_format(boxes, source: str, target: str, image_shape=None, dtype: str = "float32"):
    """Convert boxes between named formats (see the module docstring for the table).

    Args:
        boxes: array or tensor of shape ``(..., 4)``.
        source: the format of ``boxes``, e.g. ``"xyxy"``.
        target: the wanted format, e.g. ``"center_xywh"``.
        image_shape: ``(height, width)``; needed when exactly one of the formats is relative.
        dtype: float dtype of the result.

    Returns:
        A tensor of shape ``(..., 4)`` in the ``target`` format.

    Example:
        >>> np.asarray(convert_format([[0.0, 0.0, 32.0, 16.0]], "xyxy", "rel_xywh", image_shape=(64, 64))).tolist()
        [[0.0, 0.0, 0.5, 0.25]]
    """
    V.choice(source, "source", FORMATS)
    V.choice(target, "target", FORMATS)
    check_boxes(boxes, source)
    return _convert(boxes, source, target, image_shape, dtype)


def _convert(boxes, source: str, target: str, image_shape=None, dtype: str = "float32"):
    """:func:`convert_format` without the value checks (for boxes computed here, e.g. decoded ones)."""
    check_format(source)
    check_format(target)
    boxes = ops.cast(ops.convert_to_tensor(boxes), dtype)
    if source == target:
        return boxes
    x1, y1, x2, y2 = _to_xyxy(boxes, source)
    if source.startswith("rel_") != target.startswith("rel_"):
        height, width = _image_hw(image_shape, source, target)
        sx, sy = (width, height) if source.startswith("rel_") else (1.0 / width, 1.0 / height)
        x1, x2, y1, y2 = x1 * sx, x2 * sx, y1 * sy, y2 * sy
    return _from_xyxy(x1, y1, x2, y2, target)


def _to_xyxy(boxes, source: str):
    a, b, c, d = _split(boxes)
    base = source.removeprefix("rel_")
    if base == "xyxy":
        return a, b, c, d
    if base == "xywh":
        return a, b, a + c, b + d
    return a - c / 2, b - d / 2, a + c / 2, b + d / 2  # center_xywh


def _from_xyxy(x1, y1, x2, y2, target: str):
    base = target.removeprefix("rel_")
    if base == "xyxy":
        parts = (x1, y1, x2, y2)
    elif base == "xywh":
        parts = (x1, y1, x2 - x1, y2 - y1)
    else:
        parts = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    return ops.stack(parts, axis=-1)


# ---------------------------------------------------------------- areas and IoU


def box_area(boxes, box_format: str = "xyxy"):
    """Area of each box, shape ``(...)`` (in pixels squared, or fractions for relative formats)."""
    check_format(box_format)
    xyxy = convert_format(boxes, box_format, "rel_xyxy" if box_format.startswith("rel_") else "xyxy")
    x1, y1, x2, y2 = _split(xyxy)
    return ops.maximum(x2 - x1, 0.0) * ops.maximum(y2 - y1, 0.0)


def iou_matrix(boxes_a, boxes_b, box_format: str = "xyxy"):
    """Intersection over union of every box in ``boxes_a`` with every box in ``boxes_b``.

    ``IoU = area(A ∩ B) / area(A ∪ B)``, 0 for disjoint boxes and 1 for equal
    ones; two empty boxes have IoU 0.

    Args:
        boxes_a: ``(..., N, 4)``.
        boxes_b: ``(..., M, 4)``; leading axes broadcast against ``boxes_a``'s.
        box_format: the format of both (relative formats work as they are: IoU has no units).

    Returns:
        A tensor of shape ``(..., N, M)``.

    Example:
        >>> iou = iou_matrix([[0, 0, 2, 2]], [[1, 0, 3, 2], [5, 5, 6, 6]])   # 1/3 and 0
        >>> np.round(np.asarray(iou, dtype=np.float64), 6).tolist()
        [[0.333333, 0.0]]
    """
    check_format(box_format)
    same = "rel_xyxy" if box_format.startswith("rel_") else "xyxy"
    a = _convert(check_boxes(boxes_a, box_format, "boxes_a"), box_format, same)
    b = _convert(check_boxes(boxes_b, box_format, "boxes_b"), box_format, same)
    a, b = a[..., :, None, :], b[..., None, :, :]
    ax1, ay1, ax2, ay2 = _split(a)
    bx1, by1, bx2, by2 = _split(b)
    inter_w = ops.maximum(ops.minimum(ax2, bx2) - ops.maximum(ax1, bx1), 0.0)
    inter_h = ops.maximum(ops.minimum(ay2, by2) - ops.maximum(ay1, by1), 0.0)
    inter = inter_w * inter_h
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return ops.where(union > 0, inter / ops.maximum(union, 1e-12), 0.0)


def iou_matrix_numpy(boxes_a, boxes_b) -> np.ndarray:
    """NumPy reference of :func:`iou_matrix` for ``"xyxy"`` boxes, in float64: ``(N, 4), (M, 4) -> (N, M)``."""
    a = V.finite_array(check_boxes(boxes_a, "xyxy", "boxes_a"), "boxes_a", np.float64, ndim=(1, 2)).reshape(-1, 4)
    b = V.finite_array(check_boxes(boxes_b, "xyxy", "boxes_b"), "boxes_b", np.float64, ndim=(1, 2)).reshape(-1, 4)
    inter_w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    inter_h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = inter_w * inter_h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def clip_boxes(boxes, image_shape, box_format: str = "xyxy"):
    """Clip boxes to the image: ``0 <= x <= width`` and ``0 <= y <= height`` (result in ``box_format``).

    Example:
        >>> np.asarray(clip_boxes([[-5.0, 10.0, 70.0, 20.0]], (64, 64))).tolist()
        [[0.0, 10.0, 64.0, 20.0]]
    """
    check_format(box_format)
    relative = box_format.startswith("rel_")
    xyxy = convert_format(boxes, box_format, "rel_xyxy" if relative else "xyxy")
    height, width = (1.0, 1.0) if relative else _image_hw(image_shape, box_format, box_format)
    x1, y1, x2, y2 = _split(xyxy)
    clipped = ops.stack([ops.clip(x1, 0.0, width), ops.clip(y1, 0.0, height),
                         ops.clip(x2, 0.0, width), ops.clip(y2, 0.0, height)], axis=-1)
    same = "rel_xyxy" if relative else "xyxy"
    return _convert(clipped, same, box_format, image_shape)


# ---------------------------------------------------------------- encoding against anchors


SIZE_CODINGS = ("log", "linear")


def _offsets(offsets, last: tuple, expected: str) -> tuple:
    """The shape of concrete-or-symbolic ``offsets``, checked: real numbers, ``last`` as the last axis.

    Offsets are model outputs: NaN is not refused here (a diverging model; NMS refuses the NaN boxes it gives).
    """
    shape = tuple(offsets.shape) if hasattr(offsets, "shape") else np.shape(offsets) if offsets is not None else ()
    V.concrete_array(offsets, "offsets", finite=False)
    if tuple(shape)[-len(last):] != last:
        raise ValueError(f"offsets must have shape {expected}; received shape {tuple(shape)}.")
    return tuple(shape)


def _paired(values, anchors, name: str) -> None:
    """``values (..., A, 4)`` and ``anchors (A, 4)``: one anchor per value, leading axes broadcasting."""
    a_shape = tuple(getattr(values, "shape", None) or np.shape(values))[:-1]
    b_shape = tuple(getattr(anchors, "shape", None) or np.shape(anchors))[:-1]
    try:
        np.broadcast_shapes(tuple(1 if d is None else d for d in a_shape), tuple(1 if d is None else d for d in b_shape))
    except ValueError:
        raise ValueError(f"{name} and anchors must pair one anchor with each box (shapes (..., A, 4) and (A, 4)); "
                         f"received {name} of shape {a_shape + (4,)} and anchors of shape {b_shape + (4,)}.") from None


def encode(boxes, anchors, variances=DEFAULT_VARIANCES, box_format: str = "xyxy", size_coding: str = "log"):
    """Express boxes as offsets from anchors: the regression targets of a detector.

    With both in centre form, ``(x, y, w, h)`` for the box and ``(xa, ya, wa, ha)``
    for its anchor::

        t = ((x - xa) / wa, (y - ya) / ha, log(w / wa), log(h / ha)) / variances

    Dividing by the variances scales the four targets to similar, roughly unit
    spread (the SSD / Faster R-CNN convention). With ``size_coding="linear"``
    the sizes are plain ratios, ``w / wa`` and ``h / ha``, instead of their
    logarithms: MediaPipe's coding (BlazeFace), where ``variances = 1 / 128``
    and 128-pixel anchors make every offset a distance in input pixels.

    Args:
        boxes: ``(..., A, 4)`` boxes, each paired with the anchor at the same position.
        anchors: ``(A, 4)`` or ``(..., A, 4)``; broadcasts against ``boxes``.
        variances: four positive scales.
        box_format: the format of both ``boxes`` and ``anchors`` (absolute formats only).
        size_coding: ``"log"`` (SSD, RetinaNet) or ``"linear"`` (MediaPipe).

    Returns:
        Offsets of shape ``(..., A, 4)``; :func:`decode` inverts them.
    """
    variances = V.positive_floats(variances, "variances", length=4)
    V.choice(size_coding, "size_coding", SIZE_CODINGS)
    check_format(box_format)
    if box_format.startswith("rel_"):
        raise ValueError(f"encode works on absolute box formats; received box_format={box_format!r}.")
    _paired(check_boxes(boxes, box_format, "boxes"), check_boxes(anchors, box_format, "anchors"), "boxes")
    b = _convert(boxes, box_format, "center_xywh")
    a = _convert(anchors, box_format, "center_xywh")
    if size_coding == "log":
        eps = 1e-6
        sizes = [ops.log(ops.maximum(b[..., 2], eps) / a[..., 2]), ops.log(ops.maximum(b[..., 3], eps) / a[..., 3])]
    else:
        sizes = [b[..., 2] / a[..., 2], b[..., 3] / a[..., 3]]
    t = ops.stack([(b[..., 0] - a[..., 0]) / a[..., 2], (b[..., 1] - a[..., 1]) / a[..., 3], *sizes], axis=-1)
    return t / ops.convert_to_tensor(np.array(variances, dtype="float32"))


def decode(offsets, anchors, variances=DEFAULT_VARIANCES, box_format: str = "xyxy", size_coding: str = "log"):
    """Turn offsets from :func:`encode` (or a detector's box head) back into boxes.

    Args:
        offsets: ``(..., A, 4)``.
        anchors: ``(A, 4)`` or ``(..., A, 4)`` in ``box_format``.
        variances: the same four scales used to encode.
        box_format: the format of ``anchors`` and of the result.
        size_coding: ``"log"`` (sizes are ``anchor * exp(t)``) or ``"linear"``
            (sizes are ``anchor * t``, MediaPipe's BlazeFace), as used to encode.

    Returns:
        Boxes of shape ``(..., A, 4)`` in ``box_format``.

    Example:
        >>> anchor = np.array([[0.0, 0.0, 128.0, 128.0]])             # centre (64, 64), 128 x 128
        >>> np.asarray(decode(np.array([[10.0, -4.0, 50.0, 60.0]]), anchor, (1 / 128,) * 4,
        ...                   box_format="xyxy", size_coding="linear")).tolist()
        [[49.0, 30.0, 99.0, 90.0]]
    """
    variances = V.positive_floats(variances, "variances", length=4)
    V.choice(size_coding, "size_coding", SIZE_CODINGS)
    check_format(box_format)
    if box_format.startswith("rel_"):
        raise ValueError(f"decode works on absolute box formats; received box_format={box_format!r}.")
    _offsets(offsets, (4,), "(..., 4)")
    _paired(offsets, check_boxes(anchors, box_format, "anchors"), "offsets")
    # A tensor of the variances, not a NumPy array: torch cannot mix an ndarray into autograd.
    t = ops.cast(ops.convert_to_tensor(offsets), "float32") * ops.convert_to_tensor(np.array(variances, dtype="float32"))
    a = _convert(anchors, box_format, "center_xywh")
    if size_coding == "log":
        size_w = ops.exp(ops.minimum(t[..., 2], _MAX_LOG_SCALE))
        size_h = ops.exp(ops.minimum(t[..., 3], _MAX_LOG_SCALE))
    else:
        size_w, size_h = t[..., 2], t[..., 3]
    center = ops.stack([a[..., 0] + t[..., 0] * a[..., 2], a[..., 1] + t[..., 1] * a[..., 3],
                        a[..., 2] * size_w, a[..., 3] * size_h], axis=-1)
    return _convert(center, "center_xywh", box_format)


def decode_points(offsets, anchors, variances=DEFAULT_VARIANCES[:2], box_format: str = "xyxy"):
    """Turn keypoint offsets into points, the way :func:`decode` turns box centres.

    Each point is ``(xa + tx * vx * wa, ya + ty * vy * ha)``: an offset from
    its anchor's centre in units of the anchor's size (MediaPipe decodes
    BlazeFace's six face keypoints like this).

    Args:
        offsets: ``(..., A, K, 2)`` offsets ``(tx, ty)`` of ``K`` points per anchor.
        anchors: ``(A, 4)`` or ``(..., A, 4)`` in ``box_format``.
        variances: two positive scales ``(vx, vy)``.
        box_format: the format of ``anchors`` (absolute formats only); points come out in its units.

    Returns:
        Points ``(x, y)`` of shape ``(..., A, K, 2)``.

    Example:
        >>> anchor = np.array([[0.0, 0.0, 128.0, 128.0]])
        >>> np.asarray(decode_points(np.array([[[10.0, -4.0]]]), anchor, (1 / 128, 1 / 128))).tolist()
        [[[74.0, 60.0]]]
    """
    values = tuple(float(v) for v in variances)
    if len(values) != 2 or min(values) <= 0:
        raise ValueError(f"variances must be 2 positive numbers (x, y); received {variances!r}.")
    check_format(box_format)
    if box_format.startswith("rel_"):
        raise ValueError(f"decode_points works on absolute box formats; received box_format={box_format!r}.")
    shape = _offsets(offsets, (2,), "(..., anchors, points, 2)")
    if len(shape) < 3:
        raise ValueError(f"offsets must have shape (..., anchors, points, 2); received shape {shape}.")
    check_boxes(anchors, box_format, "anchors")
    _paired(np.zeros(shape[:-1]), anchors, "offsets")
    t = ops.cast(ops.convert_to_tensor(offsets), "float32") * ops.convert_to_tensor(np.array(values, dtype="float32"))
    a = convert_format(anchors, box_format, "center_xywh")[..., None, :]  # (..., A, 1, 4)
    return ops.stack([a[..., 0] + t[..., 0] * a[..., 2], a[..., 1] + t[..., 1] * a[..., 3]], axis=-1)
