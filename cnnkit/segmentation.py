"""Semantic segmentation: per-pixel losses, and the metrics that judge a predicted mask.

A segmentation model outputs one score per class *per pixel*: logits of shape
``(batch, H, W, classes)``; the labels are a mask of class ids ``(batch, H, W)``
(0 = background in the course's data sets). Everything here follows from
treating each pixel as one classification:

==========================  ==========================================================
name                        what it is
==========================  ==========================================================
:func:`pixel_cross_entropy` Keras's sparse cross-entropy, averaged over every pixel
:class:`DiceLoss`           1 - soft Dice per class (overlap of probabilities and mask)
:class:`CrossEntropyDice`   the sum of the two (the usual U-Net / nnU-Net recipe)
:func:`confusion_matrix`    ``[true class, predicted class]`` pixel counts
:func:`iou_per_class`       ``TP / (TP + FP + FN)`` of each class, from the confusion
:func:`mean_iou`            mean over the classes present (Keras's ``MeanIoU``)
:func:`pixel_accuracy`      fraction of pixels labelled right
:func:`segmentation_metrics` ``keras.metrics`` for ``compile``: mean IoU and pixel accuracy
:func:`evaluate`            predict a set; all of the above in an :class:`SegmentationEvaluation`
==========================  ==========================================================

Why IoU and not pixel accuracy: background covers most pixels, so a model that
predicts "background" everywhere already scores a high pixel accuracy, while
its IoU for every object class is 0. Mean IoU weighs each class the same.

The NumPy metrics are the reference; :func:`segmentation_metrics` gives the
Keras ones that run inside ``model.fit``, and the tests check that both agree.

Instance segmentation (one mask per object, Mask R-CNN's recipe) starts from boxes:
:func:`crop_boxes` (RoIAlign) cuts a window out of the image for each box, a mask head
(``cnnkit.models.create_model("mask_head")``) labels the window's pixels, :func:`paste_masks`
puts each mask back into the image, and :func:`instance_ious` scores each object. The
baseline :func:`component_masks` gives each object a connected region of a semantic mask.

Example:
    >>> import numpy as np
    >>> y_true = np.array([[0, 0, 1, 1]])
    >>> y_pred = np.array([[0, 1, 1, 1]])
    >>> iou_per_class(confusion_matrix(y_true, y_pred, 2)).tolist()   # class 0: 1/2, class 1: 2/3
    [0.5, 0.6666666666666666]
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from cnnkit import _validate as V
from cnnkit._native_logs import quiet_tensorflow_logger

# ---------------------------------------------------------------- losses


def pixel_cross_entropy(from_logits: bool = True, ignore_class: int | None = None):
    """Per-pixel cross-entropy: Keras's ``SparseCategoricalCrossentropy``, averaged over all pixels.

    Keras's sparse cross-entropy already treats every leading axis as a batch
    axis, so an integer mask ``(batch, H, W)`` against logits
    ``(batch, H, W, classes)`` gives ``-log softmax(logits)[label]`` at each
    pixel, averaged over pixels and images. Nothing needs reimplementing; this
    function only names the recipe.

    Args:
        from_logits: the model outputs raw scores (every cnnkit segmenter does).
        ignore_class: a label id whose pixels do not count (e.g. 255 for "void").

    Returns:
        A ``keras.losses.SparseCategoricalCrossentropy``.

    Example:
        >>> loss = pixel_cross_entropy()
        >>> float(loss(np.zeros((1, 2, 2)), np.zeros((1, 2, 2, 4))))   # uniform over 4 classes: log 4
        1.386...
    """
    from_logits = V.boolean(from_logits, "from_logits")
    ignore_class = V.integer(ignore_class, "ignore_class", allow_none=True)  # -1 and 255 are both common "void" ids
    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=ignore_class,
                                                      name="pixel_cross_entropy")


def _check_mask_scores(y_true, y_pred) -> None:
    """A mask ``(batch, H, W)`` of class ids and scores ``(batch, H, W, classes)`` (values when concrete).

    Inside a traced training step only the shapes can be checked. The scores are model outputs: NaN
    there is a diverging model (Keras reports a NaN loss), so only their type is checked.
    """
    V.concrete_array(y_pred, "y_pred", finite=False)
    mask = V.concrete_array(y_true, "y_true")
    true_shape = tuple(getattr(y_true, "shape", None) or np.shape(y_true))
    pred_shape = tuple(getattr(y_pred, "shape", None) or np.shape(y_pred))
    if len(pred_shape) < 2 or len(true_shape) != len(pred_shape) - 1 or any(
            a is not None and b is not None and a != b for a, b in zip(true_shape, pred_shape[:-1])):
        raise ValueError(f"y_true must be a mask of shape (batch, H, W) matching y_pred (batch, H, W, classes); "
                         f"received y_true of shape {true_shape} and y_pred of shape {pred_shape}.")
    if mask is not None and pred_shape[-1] is not None:
        V.class_ids(mask, int(pred_shape[-1]), "y_true", whole_floats=True)


def _soft_dice_per_class(y_true, y_pred, from_logits: bool, smooth: float):
    """(batch, classes) soft Dice of each class in each image."""
    y_pred = ops.convert_to_tensor(y_pred)
    num_classes = y_pred.shape[-1]
    probs = ops.softmax(y_pred, axis=-1) if from_logits else y_pred
    onehot = ops.one_hot(ops.cast(y_true, "int32"), num_classes, dtype=probs.dtype)
    spatial = tuple(range(1, len(probs.shape) - 1))
    intersection = ops.sum(probs * onehot, axis=spatial)
    total = ops.sum(probs, axis=spatial) + ops.sum(onehot, axis=spatial)
    return (2.0 * intersection + smooth) / (total + smooth)


@keras.saving.register_keras_serializable(package="cnnkit")
class DiceLoss(keras.losses.Loss):
    """``1 - soft Dice``, averaged over the classes: a loss that measures overlap, not pixel counts.

    For class ``c`` in one image, with ``p`` the predicted probabilities and
    ``t`` the one-hot mask, ``Dice_c = (2 * sum(p * t) + smooth) / (sum(p) + sum(t) + smooth)``
    (sums over the pixels). The loss of an image is ``1 - mean_c Dice_c``.
    A small object counts as much as the background, which is why Dice helps
    when classes are rare; ``smooth`` keeps a class that is absent from an image
    (and predicted absent) at Dice 1 instead of 0/0.

    Args:
        from_logits: ``y_pred`` are logits (softmax is applied) rather than probabilities.
        smooth: added to numerator and denominator (1.0, as in V-Net implementations).
        include_background: average over class 0 too; ``False`` averages over classes 1.. only.
        reduction, name: as for every ``keras.losses.Loss``.

    Input shape:
        ``y_true`` integer mask ``(batch, H, W)``; ``y_pred`` ``(batch, H, W, classes)``.

    Output shape:
        A scalar (one value per image before the reduction).

    Example:
        >>> loss = DiceLoss()
        >>> perfect = np.eye(3)[[[0, 1], [2, 2]]][None] * 100.0     # confident and right
        >>> round(float(loss(np.array([[[0, 1], [2, 2]]]), perfect)), 6)
        0.0
    """

    def __init__(self, from_logits: bool = True, smooth: float = 1.0, include_background: bool = True,
                 reduction="sum_over_batch_size", name: str = "dice_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = V.boolean(from_logits, "from_logits")
        self.smooth = V.non_negative_float(smooth, "smooth")
        self.include_background = V.boolean(include_background, "include_background")

    def __call__(self, y_true, y_pred, sample_weight=None):
        _check_mask_scores(y_true, y_pred)
        return super().__call__(y_true, y_pred, sample_weight)

    def call(self, y_true, y_pred):
        dice = _soft_dice_per_class(y_true, y_pred, self.from_logits, self.smooth)
        if not self.include_background:
            dice = dice[:, 1:]
        return 1.0 - ops.mean(dice, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(from_logits=self.from_logits, smooth=self.smooth, include_background=self.include_background)
        return config


@keras.saving.register_keras_serializable(package="cnnkit")
class CrossEntropyDice(keras.losses.Loss):
    """Per-pixel cross-entropy plus ``dice_weight`` times the Dice loss (the usual U-Net recipe).

    Cross-entropy gives smooth, per-pixel gradients from the first step;
    Dice keeps small and rare classes from being drowned by the background.

    Args:
        dice_weight: weight of the Dice term (0 gives plain cross-entropy).
        from_logits, smooth, include_background: as in :class:`DiceLoss`.

    Input shape:
        ``y_true`` integer mask ``(batch, H, W)``; ``y_pred`` ``(batch, H, W, classes)``.

    Output shape:
        A scalar (one value per image before the reduction).

    Example:
        >>> model.compile(optimizer="adam", loss=CrossEntropyDice(dice_weight=1.0))   # doctest: +SKIP
    """

    def __init__(self, dice_weight: float = 1.0, from_logits: bool = True, smooth: float = 1.0,
                 include_background: bool = True, reduction="sum_over_batch_size",
                 name: str = "cross_entropy_dice", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.dice_weight = V.non_negative_float(dice_weight, "dice_weight")
        self._dice = DiceLoss(from_logits=from_logits, smooth=smooth, include_background=include_background)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        ce = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=self._dice.from_logits)
        per_image_ce = ops.mean(ce, axis=tuple(range(1, len(ce.shape))))
        return per_image_ce + self.dice_weight * self._dice.call(y_true, y_pred)

    def get_config(self):
        config = super().get_config()
        config.update(dice_weight=self.dice_weight, from_logits=self._dice.from_logits, smooth=self._dice.smooth,
                      include_background=self._dice.include_background)
        return config


# ---------------------------------------------------------------- metrics (NumPy reference)


def _check_masks(y_true, y_pred, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must be masks of the same shape (class ids, e.g. (batch, H, W)); received "
            f"{y_true.shape} and {y_pred.shape}. Take argmax over the class axis of logits first."
        )
    y_true, y_pred = V.class_ids(y_true, num_classes, "y_true"), V.class_ids(y_pred, num_classes, "y_pred")
    return y_true.reshape(-1), y_pred.reshape(-1)


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """``(classes, classes)`` pixel counts: entry ``[i, j]`` = pixels of class ``i`` predicted as ``j``.

    Args:
        y_true, y_pred: integer masks of the same shape (any number of axes).
        num_classes: number of classes (background included).

    Example:
        >>> confusion_matrix([[0, 0, 1, 1]], [[0, 1, 1, 1]], 2).tolist()
        [[1, 1], [0, 2]]
    """
    num_classes = V.num_classes(num_classes)
    y_true, y_pred = _check_masks(y_true, y_pred, num_classes)
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def iou_per_class(confusion) -> np.ndarray:
    """IoU of each class, ``TP / (TP + FP + FN)``, from a confusion matrix; NaN for a class never seen.

    A class that appears neither in the labels nor in the predictions has no
    IoU (0 / 0): it is NaN here and left out of :func:`mean_iou`, exactly as
    ``keras.metrics.MeanIoU`` leaves it out.

    Example:
        >>> iou_per_class(np.array([[1, 1, 0], [0, 2, 0], [0, 0, 0]])).round(3).tolist()
        [0.5, 0.667, nan]
    """
    confusion = V.finite_array(confusion, "confusion", np.float64)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1] or confusion.size == 0:
        raise ValueError(f"confusion must be a square (classes, classes) matrix; received shape {confusion.shape}.")
    V.integer_array(confusion, "confusion", "counts")
    if confusion.min() < 0:
        raise ValueError(f"confusion must hold counts (>= 0); received values down to {confusion.min():g}.")
    tp = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - tp
    return np.divide(tp, union, out=np.full_like(tp, np.nan), where=union > 0)


def mean_iou(y_true, y_pred, num_classes: int) -> float:
    """Mean of the per-class IoUs over the classes that occur (the value of ``keras.metrics.MeanIoU``).

    Args:
        y_true, y_pred: integer masks of the same shape.
        num_classes: number of classes (background included).

    Example:
        >>> round(mean_iou([[0, 0, 1, 1]], [[0, 1, 1, 1]], 2), 4)     # (1/2 + 2/3) / 2
        0.5833
    """
    ious = iou_per_class(confusion_matrix(y_true, y_pred, num_classes))
    return float(np.nanmean(ious)) if np.any(~np.isnan(ious)) else float("nan")


def pixel_accuracy(y_true, y_pred) -> float:
    """Fraction of pixels whose predicted class equals the label.

    Example:
        >>> pixel_accuracy([[0, 0, 1, 1]], [[0, 1, 1, 1]])
        0.75
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"y_true and y_pred must be non-empty masks of the same shape; received {y_true.shape} "
                         f"and {y_pred.shape}.")
    # Class ids, as mean_iou takes them: float probabilities would compare equal to no label, silently.
    y_true, y_pred = V.class_ids(y_true, None, "y_true"), V.class_ids(y_pred, None, "y_pred")
    return float(np.mean(y_true == y_pred))


def segmentation_metrics(num_classes: int) -> list:
    """Keras metrics for ``model.compile`` on logits ``(batch, H, W, classes)``: ``mean_iou`` and ``accuracy``.

    ``keras.metrics.MeanIoU`` with ``sparse_y_pred=False`` takes the argmax of
    the logits and accumulates a confusion matrix over the whole epoch, so its
    value is the data set's mean IoU (not an average of per-batch values).
    Early stopping on ``"val_mean_iou"`` knows higher is better.

    Example:
        >>> model.compile("adam", loss=pixel_cross_entropy(), metrics=segmentation_metrics(7))  # doctest: +SKIP
    """
    num_classes = V.num_classes(num_classes)
    return [keras.metrics.MeanIoU(num_classes, sparse_y_pred=False, name="mean_iou"),
            keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


# ---------------------------------------------------------------- evaluating a model


@dataclass(repr=False)
class SegmentationEvaluation:
    """How well a segmenter labels a set of images, class by class and image by image.

    Attributes:
        confusion: ``(classes, classes)`` pixel counts; row = true class, column = predicted.
        iou: IoU of each class (NaN for a class absent from labels and predictions).
        class_names: one name per class.
        y_true, y_pred: the masks ``(N, H, W)`` and the predicted masks.
        image_miou: mean IoU of each image on its own, over the classes in its ground truth
            (for finding failure cases; see :func:`per_image_mean_iou`).
    """

    confusion: np.ndarray
    iou: np.ndarray
    class_names: list
    y_true: np.ndarray
    y_pred: np.ndarray
    image_miou: np.ndarray

    @property
    def mean_iou(self) -> float:
        """Mean IoU over the classes that occur: the headline number."""
        return float(np.nanmean(self.iou))

    @property
    def pixel_accuracy(self) -> float:
        return float(np.trace(self.confusion) / max(self.confusion.sum(), 1))

    @property
    def worst(self) -> np.ndarray:
        """Image indices sorted from the lowest per-image mean IoU up."""
        return np.argsort(self.image_miou, kind="stable")

    def plot(self, ax=None, **kwargs):
        """Per-class IoU bars (see :func:`cnnkit.viz.plot_class_iou`); returns the Figure."""
        from cnnkit.viz.segmentation import plot_class_iou

        return plot_class_iou(self.iou, self.class_names, ax=ax, **kwargs)

    def __str__(self) -> str:
        width = max(8, *(len(n) for n in self.class_names))
        pixels = self.confusion.sum(axis=1)
        lines = [f"{'class':<{width}}    IoU  pixels"]
        lines += [f"{name:<{width}}  {iou:5.3f}  {int(n):6d}" for name, iou, n in zip(self.class_names, self.iou, pixels)]
        lines.append(f"mean IoU {self.mean_iou:.4f}   pixel accuracy {self.pixel_accuracy:.4f}   "
                     f"({len(self.y_true)} images)")
        return "\n".join(lines)

    __repr__ = __str__


def per_image_mean_iou(y_true, y_pred, num_classes: int, classes: str = "truth") -> np.ndarray:
    """``(N,)`` mean IoU of each image on its own, vectorised (one confusion matrix per image).

    Args:
        y_true, y_pred: integer masks ``(N, H, W)``.
        num_classes: number of classes (background included).
        classes: which classes an image's mean averages over. ``"truth"`` (default): the
            classes in its ground truth, so a class the image does not contain, painted on a
            few stray pixels, costs those pixels (as false positives of the true classes)
            but does not enter the mean with IoU 0. ``"union"``: the classes in truth or
            prediction (what :func:`mean_iou` does image by image), which lets a handful of
            stray pixels outweigh many errors on the image's real objects.

    Example:
        >>> y_true = np.array([[[0, 1]], [[1, 1]]])
        >>> y_pred = np.array([[[0, 1]], [[0, 1]]])
        >>> per_image_mean_iou(y_true, y_pred, 2).tolist()   # image 1 holds only class 1: IoU 1/2
        [1.0, 0.5]
        >>> per_image_mean_iou(y_true, y_pred, 2, classes="union").tolist()   # + class 0's IoU 0/1
        [1.0, 0.25]
        >>> [mean_iou(t, p, 2) for t, p in zip(y_true, y_pred)]   # "union" is mean_iou image by image
        [1.0, 0.25]
    """
    num_classes = V.num_classes(num_classes)
    classes = V.choice(classes, "classes", ("truth", "union"))
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    flat_true, flat_pred = _check_masks(y_true, y_pred, num_classes)
    n = len(y_true)
    image = np.repeat(np.arange(n), flat_true.size // max(n, 1))
    counts = np.bincount((image * num_classes + flat_true) * num_classes + flat_pred,
                         minlength=n * num_classes * num_classes).reshape(n, num_classes, num_classes)
    tp = np.diagonal(counts, axis1=1, axis2=2).astype(np.float64)
    in_truth = counts.sum(axis=2)
    union = in_truth + counts.sum(axis=1) - tp
    counted = in_truth > 0 if classes == "truth" else union > 0
    iou = np.divide(tp, union, out=np.full_like(tp, np.nan), where=counted)
    return np.nanmean(iou, axis=1)


def predict_masks(model, x, batch_size: int = 64) -> np.ndarray:
    """Predicted class ids ``(N, H, W)``: argmax of the model's logits, batch by batch.

    ``model.predict`` runs over chunks of a few batches, and only the argmax of
    each chunk is kept: one int per pixel in memory, not one float per class.
    """
    V.instance(model, "model", keras.Model, "a keras.Model")
    batch_size = V.positive_int(batch_size, "batch_size")
    V.model_inputs(x, "x")
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        V.fail("x", "an array of images (N, H, W, C)", x, wrong_type=True)
    V.fits_model(x, model, "x")
    chunk = 8 * batch_size
    # Each chunk is one predict call; TensorFlow's "triggered tf.function retracing" notice
    # counts those calls across all models and says nothing about this one (see train.fit).
    with quiet_tensorflow_logger():
        out = [np.argmax(model.predict(x[i:i + chunk], batch_size=batch_size, verbose=0), axis=-1)
               for i in range(0, len(x), chunk)]
    return np.concatenate(out).astype(np.int32)


def evaluate(model, x, y, class_names=None, batch_size: int = 64) -> SegmentationEvaluation:
    """Predict ``x`` and measure per-class IoU, mean IoU, pixel accuracy and per-image mean IoU.

    Args:
        model: a segmenter whose output is logits ``(batch, H, W, classes)``.
        x: images ``(N, H, W, C)``.
        y: integer masks ``(N, H, W)``.
        class_names: one name per class (default ``"0"``, ``"1"``, ...).
        batch_size: prediction batch size.

    Returns:
        A :class:`SegmentationEvaluation`; ``print(result)`` shows the per-class table,
        ``result.plot()`` the IoU bars.

    Example:
        >>> result = evaluate(model, data.x_test, data.y_test, data.class_names)   # doctest: +SKIP
        >>> result.mean_iou                                                        # doctest: +SKIP
    """
    V.instance(model, "model", keras.Model, "a keras.Model")
    y = np.asarray(y)
    V.model_inputs(x, "x")
    V.fits_model(x, model, "x")
    if np.ndim(x) != 4 or y.shape != np.shape(x)[:3]:
        raise ValueError(f"y must be masks (N, H, W) matching the images x (N, H, W, C); received y of shape "
                         f"{y.shape} for x of shape {np.shape(x)}.")
    num_classes = model.output_shape[-1]
    given = None if class_names is None else V.as_sequence(class_names)
    if class_names is not None and (given is None or not all(isinstance(n, (str, int)) for n in given)):
        V.fail("class_names", "a list of class names (strings), one per model output", class_names,
               wrong_type=given is None)
    names = [str(i) for i in range(num_classes)] if class_names is None else [str(n) for n in given]
    if len(names) != num_classes:
        raise ValueError(f"class_names must have {num_classes} entries (one per model output); received {len(names)}.")
    y_pred = predict_masks(model, x, batch_size)
    confusion = confusion_matrix(y, y_pred, num_classes)
    return SegmentationEvaluation(confusion=confusion, iou=iou_per_class(confusion), class_names=names,
                                  y_true=y, y_pred=y_pred, image_miou=per_image_mean_iou(y, y_pred, num_classes))


# ---------------------------------------------------------------- instance segmentation: boxes -> per-object masks
#
# Mask R-CNN's recipe, in three steps: cut a fixed-size window out of the image (or a feature map) for each box
# (RoIAlign: :func:`crop_boxes`), predict a mask inside that window (a small network:
# ``cnnkit.models.create_model("mask_head")``), and resize the window's mask back into the image (:func:`paste_masks`).
# :func:`component_masks` is the baseline that cannot separate touching objects of one class, and
# :func:`instance_ious` measures both.


def _check_boxes(boxes, name: str = "boxes") -> np.ndarray:
    """Finite ``(..., 4)`` boxes ``(x1, y1, x2, y2)`` in pixels with ``x2 >= x1`` and ``y2 >= y1``, as float64."""
    boxes = V.finite_array(boxes, name, np.float64)
    if boxes.ndim < 1 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have a last axis of 4 (x1, y1, x2, y2 in pixels); received {V.describe(boxes)}.")
    if np.any(boxes[..., 2] < boxes[..., 0]) or np.any(boxes[..., 3] < boxes[..., 1]):
        raise ValueError(f"{name} must be 'xyxy' boxes with x2 >= x1 and y2 >= y1; received {V.describe(boxes)} "
                         f"with {int(np.sum((boxes[..., 2] < boxes[..., 0]) | (boxes[..., 3] < boxes[..., 1])))} "
                         "reversed boxes.")
    return boxes


def _bilinear(images: np.ndarray, index: np.ndarray, ys: np.ndarray, xs: np.ndarray, chunk: int = 256) -> np.ndarray:
    """``images[index]`` sampled at row/column coordinates ``ys (M, a)``, ``xs (M, b)`` (pixel i's centre at i).

    Coordinates beyond the first or last pixel centre take the edge value (``mode="nearest"``).
    Returns float32 ``(M, a, b, C)``, computed ``chunk`` boxes at a time to bound the float64 temporaries.
    """
    height, width = images.shape[1:3]
    out = np.empty((len(index), ys.shape[1], xs.shape[1], images.shape[-1]), np.float32)
    for start in range(0, len(index), chunk):
        part = slice(start, start + chunk)
        y, x = np.clip(ys[part], 0, height - 1), np.clip(xs[part], 0, width - 1)
        y0, x0 = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
        y1, x1 = np.minimum(y0 + 1, height - 1), np.minimum(x0 + 1, width - 1)
        wy, wx = (y - y0)[:, :, None, None], (x - x0)[:, None, :, None]
        n = index[part][:, None, None]

        def at(rows, cols, n=n):
            return images[n, rows[:, :, None], cols[:, None, :]].astype(np.float64)

        top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
        bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
        out[part] = top * (1 - wy) + bottom * wy
    return out


def crop_boxes(images, boxes, size: int = 28, image_index=None) -> np.ndarray:
    """RoIAlign: a ``size x size`` window of each box, sampled bilinearly at the centres of its bins.

    The box is split into ``size x size`` equal bins and each bin takes the bilinearly interpolated
    value at its centre (RoIAlign with one sample per bin and ``aligned=True``, as in detectron2):
    no coordinate is rounded, so the window lines up with the pixels for any box, including
    fractional ones. Pixel ``i`` covers ``[i, i + 1)``, its value sits at ``i + 0.5``; the bin
    centres of box ``(x1, x2)`` are ``x1 + (j + 0.5) * (x2 - x1) / size``. Points beyond the
    outermost pixel centres take the edge value (``scipy.ndimage.map_coordinates(order=1,
    mode="nearest")``, which the tests compare with; detectron2 gives 0 beyond one pixel outside).

    Args:
        images: ``(N, H, W, C)`` images or feature maps, or ``(N, H, W)`` single-channel maps (masks).
        boxes: ``(N, K, 4)`` boxes ``(x1, y1, x2, y2)`` in pixels, ``K`` per image; or, with
            ``image_index``, ``(M, 4)`` boxes of any images.
        size: side of the window (Mask R-CNN's mask head works at 28).
        image_index: ``None``, or ``(M,)`` the image of each box (as ``torchvision.ops.roi_align``'s batch index).

    Returns:
        float32 ``(N, K, size, size, C)``, or ``(M, size, size, C)`` with ``image_index``
        (without the ``C`` axis for ``(N, H, W)`` maps).

    Example:
        >>> image = np.array([[0.0, 1.0], [2.0, 3.0]])[None]        # one 2x2 map
        >>> crop_boxes(image, [[[0, 0, 2, 2]]], size=2)[0, 0].tolist()   # the bin centres are the pixel centres
        [[0.0, 1.0], [2.0, 3.0]]
        >>> crop_boxes(image, [[[0, 0, 2, 2]]], size=1)[0, 0].tolist()   # one bin: its centre is the mean
        [[1.5]]
    """
    maps = V.finite_array(images, "images", np.float32, ndim=(3, 4))
    squeeze = maps.ndim == 3
    maps = maps[..., None] if squeeze else maps
    if min(maps.shape[:3]) == 0:
        raise ValueError(f"images must hold at least one non-empty image; received {V.describe(maps)}.")
    size = V.positive_int(size, "size")
    boxes = _check_boxes(boxes)
    if image_index is None:
        if boxes.ndim != 3 or boxes.shape[0] != maps.shape[0]:
            raise ValueError(f"boxes must be (N, K, 4), K boxes for each of the {maps.shape[0]} images (or pass "
                             f"image_index with (M, 4) boxes); received boxes of shape {boxes.shape}.")
        lead = boxes.shape[:2]
        index = np.repeat(np.arange(maps.shape[0]), boxes.shape[1])
        flat = boxes.reshape(-1, 4)
    else:
        index = V.integer_array(image_index, "image_index", "image numbers")
        if boxes.ndim != 2 or index.shape != boxes.shape[:1]:
            raise ValueError(f"with image_index, boxes must be (M, 4) and image_index (M,); received boxes of shape "
                             f"{boxes.shape} and image_index of shape {index.shape}.")
        if index.size and (index.min() < 0 or index.max() >= maps.shape[0]):
            raise ValueError(f"image_index must number images in [0, {maps.shape[0]}); received values from "
                             f"{index.min()} to {index.max()}.")
        lead, flat = boxes.shape[:1], boxes
    V.memory(4.0 * len(flat) * size * size * maps.shape[-1], "size", size, "the crops")
    bins = (np.arange(size) + 0.5) / size  # bin centres as fractions of the box
    xs = flat[:, 0:1] + bins * (flat[:, 2:3] - flat[:, 0:1]) - 0.5  # continuous -> pixel-index coordinates
    ys = flat[:, 1:2] + bins * (flat[:, 3:4] - flat[:, 1:2]) - 0.5
    crops = _bilinear(maps, index, ys, xs).reshape(*lead, size, size, maps.shape[-1])
    return crops[..., 0] if squeeze else crops


def paste_masks(mask_probs, boxes, image_shape, threshold: float | None = 0.5) -> np.ndarray:
    """Put each box's ``(S, S)`` mask back into the image frame: resize it to its box, zero outside the box.

    The inverse of :func:`crop_boxes`: the pixel centre ``x + 0.5`` inside box ``(x1, x2)`` reads
    the mask at window coordinate ``(x + 0.5 - x1) / (x2 - x1) * S - 0.5`` (bilinear, edge values
    beyond the outermost bin centres). Pixels whose centre lies outside the box are 0; parts of a
    box outside the image are simply cut off.

    Args:
        mask_probs: ``(..., S, S)`` mask probabilities (or any scores) in each box's window.
        boxes: ``(..., 4)`` the boxes ``(x1, y1, x2, y2)`` in pixels, same leading axes.
        image_shape: ``(H, W)`` of the image (a longer shape such as ``(H, W, C)`` uses its first two).
        threshold: return ``probability > threshold`` as booleans; ``None`` returns the pasted probabilities.

    Returns:
        ``(..., H, W)``: booleans, or float32 probabilities when ``threshold=None``.

    Example:
        >>> paste_masks(np.ones((1, 4, 4)), [[1, 0, 3, 2]], (3, 4)).astype(int).tolist()
        [[[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]]
    """
    probs = V.finite_array(mask_probs, "mask_probs", np.float32)
    if probs.ndim < 2 or probs.shape[-1] != probs.shape[-2] or probs.shape[-1] == 0:
        raise ValueError(f"mask_probs must be (..., S, S) square masks, one per box; received {V.describe(probs)}.")
    boxes = _check_boxes(boxes)
    if boxes.shape[:-1] != probs.shape[:-2]:
        raise ValueError(f"boxes (..., 4) must have the leading axes of mask_probs (..., S, S); received boxes of "
                         f"shape {boxes.shape} and mask_probs of shape {probs.shape}.")
    shape = V.as_sequence(image_shape)
    if shape is None or len(shape) < 2:
        V.fail("image_shape", "(H, W) or (H, W, C)", image_shape)
    height, width = V.pair(tuple(shape[:2]), "image_shape")
    threshold = V.number(threshold, "threshold", allow_none=True)
    lead, side = probs.shape[:-2], probs.shape[-1]
    flat, flat_boxes = probs.reshape(-1, side, side, 1), boxes.reshape(-1, 4)
    V.memory(8.0 * len(flat) * height * width, "image_shape", image_shape, "the pasted masks")
    cx, cy = np.arange(width) + 0.5, np.arange(height) + 0.5
    x1, y1, x2, y2 = (flat_boxes[:, i:i + 1] for i in range(4))
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty box covers no pixel centre
        us = np.nan_to_num((cx - x1) / (x2 - x1) * side - 0.5)
        vs = np.nan_to_num((cy - y1) / (y2 - y1) * side - 0.5)
    pasted = _bilinear(flat, np.arange(len(flat)), vs, us)[..., 0]
    inside = ((cy >= y1) & (cy < y2))[:, :, None] & ((cx >= x1) & (cx < x2))[:, None, :]
    pasted = np.where(inside, pasted, 0.0).reshape(*lead, height, width)
    return pasted > threshold if threshold is not None else pasted.astype(np.float32)


def _binary_masks(masks, name: str) -> np.ndarray:
    """Booleans, or whole numbers that are all 0 or 1, as a boolean array."""
    values = V.integer_array(masks, name, "booleans (or 0 / 1)")
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError(f"{name} must be booleans (or 0 / 1); received values from {values.min()} to {values.max()}.")
    return values.astype(bool)


def instance_ious(true_masks, pred_masks) -> np.ndarray:
    """IoU of each object's predicted mask with its true mask (object ``k`` against prediction ``k``).

    Args:
        true_masks, pred_masks: boolean ``(..., H, W)`` masks of the same shape, one per object
            (e.g. ``(N, K, H, W)`` for K objects in each of N scenes).

    Returns:
        float64 ``(...)``: ``|true & pred| / |true | pred|``; NaN where both masks are empty
        (a padding slot, not an object).

    Example:
        >>> instance_ious([[[1, 1, 0, 0]]], [[[1, 1, 1, 1]]]).tolist()   # one 1x4 object: 2 pixels of 4
        [0.5]
    """
    true_masks, pred_masks = np.asarray(true_masks), np.asarray(pred_masks)
    if true_masks.shape != pred_masks.shape or true_masks.ndim < 2:
        raise ValueError(f"true_masks and pred_masks must be (..., H, W) masks of the same shape; received "
                         f"{true_masks.shape} and {pred_masks.shape}.")
    true_masks, pred_masks = _binary_masks(true_masks, "true_masks"), _binary_masks(pred_masks, "pred_masks")
    inter = np.sum(true_masks & pred_masks, axis=(-2, -1)).astype(np.float64)
    union = np.sum(true_masks | pred_masks, axis=(-2, -1)).astype(np.float64)
    return np.divide(inter, union, out=np.full_like(union, np.nan), where=union > 0)


def component_masks(semantic_mask, instance_masks, classes) -> np.ndarray:
    """The baseline: give each object the connected region of its class that overlaps it most.

    A semantic mask has one class per pixel; its connected regions (4-connected, scipy's
    ``ndimage.label``) are the best guess at objects it allows. Each object gets the region of
    its own class that covers most of its true pixels, so the assignment is the best possible;
    two touching objects of one class share one region, and both get all of it.

    Args:
        semantic_mask: ``(..., H, W)`` class ids, ``class + 1`` for an object of class ``class``
            and 0 for the background (the convention of ``data.load_scene_masks``).
        instance_masks: boolean ``(..., K, H, W)`` true masks of the K objects of each image.
        classes: ``(..., K)`` class of each object, -1 for a padding slot (which gets an empty mask).

    Returns:
        boolean ``(..., K, H, W)``: the region given to each object.

    Example:
        >>> semantic = np.array([[1, 1, 0, 1]])                    # two regions of class 0
        >>> objects = np.array([[[1, 0, 0, 0]], [[0, 1, 0, 0]], [[0, 0, 0, 1]]], bool)
        >>> component_masks(semantic, objects, [0, 0, 0]).astype(int).tolist()   # the first two share a region
        [[[1, 1, 0, 0]], [[1, 1, 0, 0]], [[0, 0, 0, 1]]]
    """
    from scipy import ndimage

    semantic = V.class_ids(semantic_mask, None, "semantic_mask")
    masks = _binary_masks(instance_masks, "instance_masks")
    classes = V.integer_array(classes, "classes", "class ids (-1 for padding)")
    if classes.size and classes.min() < -1:
        raise ValueError(f"classes must be class ids >= 0, or -1 for a padding slot; received values down to "
                         f"{classes.min()}.")
    if (semantic.ndim < 2 or masks.ndim != semantic.ndim + 1 or masks.shape[:-3] + masks.shape[-2:] != semantic.shape
            or classes.shape != masks.shape[:-2]):
        raise ValueError(f"Expected semantic_mask (..., H, W), instance_masks (..., K, H, W) and classes (..., K) that "
                         f"agree; received shapes {semantic.shape}, {masks.shape} and {classes.shape}.")
    flat_sem = semantic.reshape(-1, *semantic.shape[-2:])
    flat_masks, flat_classes = masks.reshape(len(flat_sem), *masks.shape[-3:]), classes.reshape(len(flat_sem), -1)
    out = np.zeros_like(flat_masks)
    for i, (sem, objects, object_classes) in enumerate(zip(flat_sem, flat_masks, flat_classes)):
        for c in np.unique(object_classes[object_classes >= 0]):
            regions, _ = ndimage.label(sem == c + 1)
            for k in np.flatnonzero(object_classes == c):
                counts = np.bincount(regions[objects[k]], minlength=1)
                counts[0] = 0  # region 0 is "not this class"
                if counts.max() > 0:
                    out[i, k] = regions == counts.argmax()
    return out.reshape(masks.shape)
