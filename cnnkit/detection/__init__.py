"""Object detection on a CNN backbone: boxes, anchors, matching, NMS, losses, a detector, COCO-style AP.

================  ==================================================================
module            what it holds
================  ==================================================================
``boxes``         named box formats, conversion, IoU, encoding against anchors, clipping
``anchors``       multi-level anchor generator; IoU matching with an ignore band
``nms``           vectorised greedy non-maximum suppression (per class or not) + reference;
                  BlazeFace's weighted NMS
``losses``        sigmoid focal loss, smooth-L1 and GIoU box losses
``metrics``       :func:`evaluate`: AP@0.5, AP@[.5:.95], per-class AP, AR (COCO protocol)
``faces``         :class:`FaceDetector`: MediaPipe's pretrained BlazeFace through the pieces above
================  ==================================================================

This package is the task's maths (NumPy and ``keras.ops``, no layer and no
model). The model that uses it, :class:`cnnkit.models.Detector` (backbone + FPN
+ one-stage head, ``predict`` -> boxes), lives in :mod:`cnnkit.models.detection`
and is registered as ``create_model("detector", ...)``. ``cnnkit.detection.Detector``
still works for one release, with a ``DeprecationWarning``.

Predictions and ground truth follow the keras-hub / KerasCV dict convention:
per image ``{"boxes": (N, 4), "classes": (N,), "scores": (N,)}``, boxes in
``"xyxy"`` pixels unless a ``box_format`` says otherwise.

Example:
    >>> import numpy as np
    >>> from cnnkit import detection
    >>> iou = detection.iou_matrix([[0, 0, 2, 2]], [[1, 0, 3, 2]])  # a backend tensor
    >>> np.round(np.asarray(iou, dtype=np.float64), 4).tolist()
    [[0.3333]]
"""

from cnnkit._deprecated import moved
from cnnkit.detection.anchors import (
    BACKGROUND,
    IGNORE,
    AnchorGenerator,
    check_thresholds,
    encode_targets,
    match_anchors,
)
from cnnkit.detection.boxes import (
    FORMATS,
    box_area,
    check_boxes,
    clip_boxes,
    convert_format,
    decode,
    decode_points,
    encode,
    iou_matrix,
    iou_matrix_numpy,
)
from cnnkit.detection.faces import KEYPOINT_NAMES, FaceDetections, FaceDetector, blazeface_anchors
from cnnkit.detection.losses import detection_loss, giou, giou_loss, sigmoid_focal_loss, smooth_l1
from cnnkit.detection.metrics import DetectionMetrics, evaluate
from cnnkit.detection.nms import (
    WeightedNMS,
    greedy_nms_reference,
    non_max_suppression,
    weighted_nms,
)

__all__ = [
    "BACKGROUND",
    "FORMATS",
    "IGNORE",
    "KEYPOINT_NAMES",
    "AnchorGenerator",
    "DetectionMetrics",
    "FaceDetections",
    "FaceDetector",
    "WeightedNMS",
    "blazeface_anchors",
    "box_area",
    "check_boxes",
    "check_thresholds",
    "clip_boxes",
    "convert_format",
    "decode",
    "decode_points",
    "detection_loss",
    "encode",
    "encode_targets",
    "evaluate",
    "giou",
    "giou_loss",
    "greedy_nms_reference",
    "iou_matrix",
    "iou_matrix_numpy",
    "match_anchors",
    "non_max_suppression",
    "sigmoid_focal_loss",
    "smooth_l1",
    "weighted_nms",
]

# Moved: every model lives in cnnkit.models (imported on use, so this package never imports models).
__getattr__ = moved(__name__, {"Detector": "cnnkit.models.detection"})
