"""A one-stage detector (RetinaNet-style): backbone + FPN + shared class and box heads.

The detection maths (boxes, anchors, matching, losses, NMS, AP) is in
:mod:`cnnkit.detection`; this module holds the model, like every model of cnnkit,
and registers the builder ``"detector"`` (``create_model("detector",
backbone="resnet_small", ...)``).

The model is three parts:

1. a **backbone** from the registry (any model built with ``include_top=False``
   whose feature maps are marked ``P2``..``P5``);
2. a **feature pyramid** (:func:`cnnkit.models.fpn.fpn`) over the chosen levels;
3. two small **heads** shared by every level: a convolution tower that scores
   each anchor for each class (sigmoid, focal loss) and one that regresses
   each anchor's box offsets (smooth-L1 or GIoU loss).

Training needs only ``fit(images, {"boxes": (B, K, 4), "classes": (B, K)})``
with padded ``"xyxy"`` pixel boxes: :meth:`Detector.compute_loss` matches
anchors to boxes and encodes the targets inside the training step.
:meth:`Detector.predict` returns decoded, NMS-filtered detections per image in
the keras-hub dict convention. Saving to ``.keras`` and loading round-trips.

Example:
    >>> from cnnkit import data
    >>> from cnnkit.models import Detector, create_model
    >>> scenes = data.make_scenes(8, image_size=64, classes=("circle", "square", "triangle"), seed=0)
    >>> backbone = create_model("resnet_small", include_top=False, input_shape=(64, 64, 3))
    >>> detector = Detector(backbone, num_classes=3, levels=("P3", "P4", "P5"))
    >>> detector.compile(optimizer="adam")
    >>> detector.fit(scenes.images, {"boxes": scenes.boxes, "classes": scenes.classes},  # doctest: +SKIP
    ...              epochs=5)
    >>> detections = detector.predict(scenes.images[:2])    # untrained here: any boxes, but the right form
    >>> len(detections), sorted(detections[0])
    (2, ['boxes', 'classes', 'scores'])
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from cnnkit import _validate as V
from cnnkit.detection import boxes as box_ops
from cnnkit.detection.anchors import AnchorGenerator, check_thresholds, encode_targets
from cnnkit.detection.losses import BOX_LOSSES, detection_loss, prior_bias
from cnnkit.detection.nms import non_max_suppression
from cnnkit.models.common import build_backbone
from cnnkit.models.fpn import fpn
from cnnkit.models.registry import pyramid_level, pyramid_levels, pyramid_outputs, register_model

PRE_NMS_TOP_K = 1000  # candidates per image kept before NMS (as in RetinaNet)


HEAD_NORMS = (None, "group")


def _head_tower(depth: int, channels: int, out_channels: int, bias, name: str, norm=None):
    """Layers of one head: ``depth`` x (3x3 conv [+ group norm] + ReLU), then a 3x3 conv to ``out_channels``."""
    tower = []
    for i in range(depth):
        # He initialisation keeps the signal's scale through the ReLU tower.
        tower.append(keras.layers.Conv2D(channels, 3, padding="same", use_bias=norm is None,
                                         kernel_initializer="he_normal", name=f"{name}_conv{i + 1}"))
        if norm == "group":  # statistics per image and group of channels: fine for a head shared by all levels
            tower.append(keras.layers.GroupNormalization(groups=math.gcd(16, channels), name=f"{name}_norm{i + 1}"))
        tower.append(keras.layers.ReLU(name=f"{name}_relu{i + 1}"))
    # The output convolution starts near zero, so the first predictions are "the prior everywhere".
    tower.append(keras.layers.Conv2D(out_channels, 3, padding="same",
                                     kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                                     bias_initializer=keras.initializers.Constant(bias), name=f"{name}_out"))
    return tower


@keras.saving.register_keras_serializable(package="cnnkit")
class Detector(keras.Model):
    """One-stage detector on a registered backbone: FPN, focal-loss class head, box head, anchors, NMS.

    Args:
        backbone: a functional model with pyramid levels (``create_model(name, include_top=False,
            input_shape=(H, W, 3))``); its input size must be fixed.
        num_classes: number of object classes (background is not a class).
        levels: pyramid levels to detect on, consecutive, e.g. ``("P3", "P4", "P5")``.
        fpn_channels: channels of the FPN and of the head towers.
        head_depth: 3x3 convolutions in each head tower before its output convolution.
        head_norm: ``None`` or ``"group"`` (group normalization after each tower convolution).
        anchor_sizes: base anchor side per level in pixels (default ``4 * stride``).
        anchor_ratios: anchor width / height ratios.
        anchor_scales: multipliers of the base size.
        variances: scales of the box encoding (see :func:`cnnkit.detection.boxes.encode`).
        positive_iou, negative_iou: the matching thresholds (the band between is ignored).
        focal_alpha, focal_gamma: focal loss parameters.
        box_loss: ``"smooth_l1"`` or ``"giou"``.
        box_loss_weight: weight of the box loss against the class loss.
        score_threshold, iou_threshold, max_detections: defaults of :meth:`predict`.
        class_names: optional names of the classes (kept in the saved model).

    Input shape:
        ``(batch, H, W, C)`` images, as the backbone expects them.

    Output shape (calling the model, or ``keras.Model.predict``):
        ``{"boxes": (batch, A, 4), "classes": (batch, A, num_classes)}``: box
        offsets and class logits for every one of the ``A`` anchors (:attr:`anchors`).
        :meth:`predict` decodes these into detections.
    """

    def __init__(self, backbone, num_classes, levels=("P3", "P4", "P5"), fpn_channels=64, head_depth=2, head_norm=None,
                 anchor_sizes=None, anchor_ratios=(0.5, 1.0, 2.0), anchor_scales=(1.0, 2 ** (1 / 3), 2 ** (2 / 3)),
                 variances=box_ops.DEFAULT_VARIANCES, positive_iou=0.5, negative_iou=0.4, focal_alpha=0.25,
                 focal_gamma=2.0, box_loss="smooth_l1", box_loss_weight=1.0, score_threshold=0.05,
                 iou_threshold=0.5, max_detections=100, class_names=None, **kwargs):
        num_classes = V.num_classes(num_classes)
        fpn_channels = V.positive_int(fpn_channels, "fpn_channels")
        head_depth = V.non_negative_int(head_depth, "head_depth")
        V.choice(box_loss, "box_loss", BOX_LOSSES)
        V.choice(head_norm, "head_norm", HEAD_NORMS)
        check_thresholds(positive_iou, negative_iou)
        focal_alpha, focal_gamma = V.fraction(focal_alpha, "focal_alpha"), V.non_negative_float(focal_gamma, "focal_gamma")
        box_loss_weight = V.non_negative_float(box_loss_weight, "box_loss_weight")
        score_threshold, iou_threshold = V.fraction(score_threshold, "score_threshold"), V.fraction(iou_threshold, "iou_threshold")
        max_detections = V.positive_int(max_detections, "max_detections")
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"class_names must have num_classes={num_classes} names; received {len(class_names)}.")
        V.instance(backbone, "backbone", keras.Model, "a keras.Model with pyramid levels")
        image_shape = tuple(backbone.input_shape[1:])
        if len(image_shape) != 3 or None in image_shape[:2]:
            raise ValueError("The backbone must be built with a fixed input_shape=(H, W, C) so the anchors "
                             f"are known; received input shape {image_shape}.")
        pyramid = pyramid_outputs(backbone)
        levels = pyramid_levels(levels)
        missing = [lv for lv in levels if lv not in pyramid]
        if missing:
            raise ValueError(f"levels {missing} are not marked in the backbone; it has {list(pyramid)}.")
        levels = pyramid_levels(levels, consecutive=True)
        anchor_generator = AnchorGenerator([pyramid_level(lv) for lv in levels], anchor_sizes, anchor_ratios,
                                           anchor_scales)
        per_location = anchor_generator.anchors_per_location

        # --- the network: backbone -> FPN -> shared heads, one output row per anchor
        features = keras.Model(backbone.inputs, {lv: pyramid[lv] for lv in levels}, name="backbone_features")
        images = keras.Input(image_shape, name="images")
        pyramid_features = fpn(features(images), fpn_channels, levels=levels, name="fpn")
        class_tower = _head_tower(head_depth, fpn_channels, per_location * num_classes, prior_bias(0.01), "class_head",
                                  head_norm)
        box_tower = _head_tower(head_depth, fpn_channels, per_location * 4, 0.0, "box_head", head_norm)
        class_outputs, box_outputs = [], []
        for lv in levels:
            c = b = pyramid_features[lv]
            for layer in class_tower:
                c = layer(c)
            for layer in box_tower:
                b = layer(b)
            class_outputs.append(keras.layers.Reshape((-1, num_classes), name=f"class_{lv}")(c))
            box_outputs.append(keras.layers.Reshape((-1, 4), name=f"box_{lv}")(b))
        outputs = {
            "boxes": keras.layers.Concatenate(axis=1, name="boxes")(box_outputs),
            "classes": keras.layers.Concatenate(axis=1, name="classes")(class_outputs),
        }
        super().__init__(inputs=images, outputs=outputs, **kwargs)

        self.backbone = backbone
        self.num_classes = num_classes
        self.levels = levels
        self.fpn_channels = fpn_channels
        self.head_depth = head_depth
        self.head_norm = head_norm
        self.anchor_generator = anchor_generator
        self.anchors = anchor_generator.all(image_shape)  # (A, 4) "xyxy" pixels, in the heads' order
        if self.anchors.shape[0] != outputs["boxes"].shape[1]:
            raise ValueError(f"Anchors ({self.anchors.shape[0]}) and head outputs ({outputs['boxes'].shape[1]}) "
                             "disagree: the backbone's level sizes are not ceil(H / stride).")
        self.variances = tuple(float(v) for v in variances)
        self.positive_iou, self.negative_iou = float(positive_iou), float(negative_iou)
        self.focal_alpha, self.focal_gamma = focal_alpha, focal_gamma
        self.box_loss, self.box_loss_weight = box_loss, box_loss_weight
        self.score_threshold, self.iou_threshold = score_threshold, iou_threshold
        self.max_detections = max_detections
        self.class_names = list(class_names) if class_names is not None else None
        self.image_shape = image_shape
        self.class_loss_tracker = keras.metrics.Mean(name="class_loss")
        self.box_loss_tracker = keras.metrics.Mean(name="box_loss")

    # ---------------------------------------------------------------- training

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """``keras.Model.fit``, after refusing bad images and targets given as arrays (datasets pass as they are).

        Refused before the first step: NaN images and 0-255 images
        (:func:`cnnkit._validate.model_inputs`); NaN or inverted boxes, class ids
        that are not whole numbers or ``>= num_classes``, and box and class counts
        that differ (:func:`cnnkit._validate.box_targets`). The same for
        ``validation_data=(x, y)``.
        """
        self._check_data(x, y, "x", "y")
        if isinstance(validation_data, (tuple, list)) and len(validation_data) >= 2:
            self._check_data(validation_data[0], validation_data[1], "validation_data[0]", "validation_data[1]")
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def _check_data(self, x, y, x_name: str, y_name: str) -> None:
        V.model_inputs(x, x_name)
        V.fits_model(x, self, x_name)
        array = hasattr(x, "shape")
        if array and not (isinstance(y, dict) and "boxes" in y and "classes" in y):
            V.fail(y_name, "a dict {'boxes': (B, K, 4), 'classes': (B, K)} of padded targets", y, wrong_type=True)
        if isinstance(y, dict) and "boxes" in y and "classes" in y:
            boxes, _ = V.box_targets(ops.convert_to_numpy(y["boxes"]), ops.convert_to_numpy(y["classes"]),
                                     self.num_classes, y_name)
            if array and (boxes.ndim != 3 or len(boxes) != len(x)):
                raise ValueError(f"{y_name}['boxes'] must have shape (B, K, 4) with one row of targets per image of "
                                 f"{x_name} ({len(x)}); received {V.describe(boxes)}.")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Focal + box loss from padded ground truth ``y = {"boxes": (B, K, 4), "classes": (B, K)}``.

        Anchors are matched and targets encoded here, in the training step,
        so the data pipeline only has to pad boxes.
        """
        if not isinstance(y, dict) or "boxes" not in y or "classes" not in y:
            raise ValueError("Detector targets must be a dict {'boxes': (B, K, 4) 'xyxy' pixels, "
                             f"'classes': (B, K) ids, -1 on padding}}; received {type(y).__name__}.")
        box_targets, class_targets = encode_targets(
            self.anchors, y["boxes"], y["classes"], self.variances, self.positive_iou, self.negative_iou)
        total, class_loss, box_loss = detection_loss(
            box_targets, class_targets, y_pred["boxes"], y_pred["classes"], self.num_classes, self.anchors,
            self.focal_alpha, self.focal_gamma, self.box_loss, self.box_loss_weight, self.variances)
        self.class_loss_tracker.update_state(class_loss)
        self.box_loss_tracker.update_state(box_loss)
        if self.losses:  # regularization losses of any layer
            total = total + ops.sum(self.losses)
        return total

    # ---------------------------------------------------------------- inference

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, score_threshold=None,
                iou_threshold=None, max_detections=None):
        """Detections per image: ``[{"boxes": (n, 4), "classes": (n,), "scores": (n,)}, ...]``.

        Boxes are ``"xyxy"`` pixels clipped to the image, best score first,
        after per-class NMS. ``keras.Model.predict(detector, x)`` gives the raw outputs.

        Args:
            x: images ``(N, H, W, C)`` or a dataset of them.
            batch_size, verbose, steps, callbacks: as in ``keras.Model.predict``.
            score_threshold, iou_threshold, max_detections: override the model's defaults.
        """
        V.model_inputs(x, "x")
        V.fits_model(x, self, "x")
        raw = super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)
        return self.decode_predictions(raw, score_threshold, iou_threshold, max_detections)

    def decode_predictions(self, raw, score_threshold=None, iou_threshold=None, max_detections=None) -> list[dict]:
        """Turn raw outputs ``{"boxes": (B, A, 4), "classes": (B, A, C)}`` into per-image detections."""
        score_threshold = V.fraction(score_threshold, "score_threshold", allow_none=True)
        iou_threshold = V.fraction(iou_threshold, "iou_threshold", allow_none=True)
        max_detections = V.positive_int(max_detections, "max_detections", allow_none=True)
        score_threshold = self.score_threshold if score_threshold is None else score_threshold
        iou_threshold = self.iou_threshold if iou_threshold is None else iou_threshold
        max_detections = self.max_detections if max_detections is None else max_detections
        offsets = np.asarray(ops.convert_to_numpy(raw["boxes"]), dtype=np.float32)
        logits = np.asarray(ops.convert_to_numpy(raw["classes"]), dtype=np.float32)
        decoded = box_ops.clip_boxes(box_ops.decode(offsets, self.anchors, self.variances), self.image_shape)
        decoded = np.asarray(ops.convert_to_numpy(decoded))
        scores = 1.0 / (1.0 + np.exp(-logits))  # (B, A, C): every (anchor, class) pair is a candidate
        results = []
        for image_boxes, image_scores in zip(decoded, scores):  # one iteration per image
            anchor_idx, class_idx = np.nonzero(image_scores > score_threshold)
            cand = image_scores[anchor_idx, class_idx]
            top = np.argsort(-cand, kind="stable")[:PRE_NMS_TOP_K]
            anchor_idx, class_idx, cand = anchor_idx[top], class_idx[top], cand[top]
            cand_boxes = image_boxes[anchor_idx]
            keep = non_max_suppression(cand_boxes, cand, class_idx, iou_threshold, score_threshold, max_detections)
            results.append({"boxes": cand_boxes[keep].astype(np.float32), "classes": class_idx[keep].astype(np.int32),
                            "scores": cand[keep].astype(np.float32)})
        return results

    # ---------------------------------------------------------------- saving

    def get_config(self) -> dict:
        gen = self.anchor_generator
        return {
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "levels": list(self.levels),
            "fpn_channels": self.fpn_channels,
            "head_depth": self.head_depth,
            "head_norm": self.head_norm,
            "anchor_sizes": list(gen.sizes),
            "anchor_ratios": list(gen.ratios),
            "anchor_scales": list(gen.scales),
            "variances": list(self.variances),
            "positive_iou": self.positive_iou,
            "negative_iou": self.negative_iou,
            "focal_alpha": self.focal_alpha,
            "focal_gamma": self.focal_gamma,
            "box_loss": self.box_loss,
            "box_loss_weight": self.box_loss_weight,
            "score_threshold": self.score_threshold,
            "iou_threshold": self.iou_threshold,
            "max_detections": self.max_detections,
            "class_names": self.class_names,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)


@register_model("detector", task="detection")
def detector(num_classes=3, input_shape=(64, 64, 3), backbone="resnet_small", backbone_kwargs=None,
             levels=("P3", "P4", "P5"), **kwargs) -> Detector:
    """A :class:`Detector` on a registered backbone, built by name like every other model.

    Args:
        num_classes: object classes (background is not a class).
        input_shape: ``(height, width, channels)``, fixed (the anchors depend on it).
        backbone: name of a registered backbone (one of ``list_models(backbone=True)``).
        backbone_kwargs: extra arguments for the backbone's builder (e.g. ``width_multiplier``).
        levels: pyramid levels to detect on.
        **kwargs: the other arguments of :class:`Detector` (``fpn_channels``, ``anchor_sizes``, ...).

    Returns:
        A :class:`Detector`; calling it gives ``{"boxes": (batch, A, 4), "classes": (batch, A, num_classes)}``.

    Example:
        >>> from cnnkit.models import create_model
        >>> model = create_model("detector", num_classes=2, input_shape=(64, 64, 3))
        >>> model(np.zeros((1, 64, 64, 3), "float32"))["classes"].shape[-1]
        2
    """
    input_shape = V.image_shape(input_shape, unknown_size=False)
    return Detector(build_backbone(backbone, input_shape, backbone_kwargs), num_classes, levels=levels, **kwargs)
