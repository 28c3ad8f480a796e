"""Detection plots: boxes with labels and scores, keypoints, ground truth vs predictions, anchors, PR curves.

Boxes are ``"xyxy"`` pixels by default (``box_format=`` takes any named
format); images are drawn so that pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)``,
the convention of :mod:`cnnkit.detection.boxes`, so a box drawn on an image
lines up with the pixels it was computed from.

Ground truth is drawn dashed white (outlined in black), predictions solid in one
colour per class with ``"name 0.93"`` labels.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.patches import Rectangle

from cnnkit import _validate as V
from cnnkit.viz.core import grid_axes, image_list, new_axes, show_image

# White dashes on a thin black outline: visible on light and on dark backgrounds.
GT_STYLE = {"edgecolor": "white", "linestyle": (0, (3, 2)), "linewidth": 1.2,
            "path_effects": [patheffects.withStroke(linewidth=2.4, foreground="black")]}


def _class_color(k: int):
    return plt.get_cmap("tab10")(int(k) % 10)


def _as_xyxy(boxes, box_format: str, image_shape, name: str = "boxes") -> np.ndarray:
    from cnnkit.detection.boxes import check_boxes, check_format, convert_format

    check_format(box_format)
    boxes = V.concrete_array(boxes, name, finite=False).astype(np.float32)
    boxes = boxes.reshape(0, 4) if boxes.size == 0 else boxes
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (N, 4); received shape {boxes.shape}.")
    check_boxes(boxes, box_format, name)
    if box_format == "xyxy" or len(boxes) == 0:
        return boxes
    return np.asarray(convert_format(boxes, box_format, "xyxy", image_shape))


def _ids_and_scores(n: int, classes, scores, class_names, names=("classes", "scores")):
    """Class ids (-1 on padding) and scores, one per box, checked; class names covering every id."""
    if classes is not None:
        classes = V.integer_array(classes, names[0], "class ids (-1 on padding rows)").ravel()
        if len(classes) != n:
            raise ValueError(f"{names[0]} must have one entry per box of boxes ({n}); received {len(classes)}.")
        if classes.size and classes.min() < -1:
            raise ValueError(f"{names[0]} must be class ids >= 0 (-1 on padding); received values down to "
                             f"{classes.min()}.")
    if scores is not None:
        scores = V.finite_array(scores, names[1], np.float64).ravel()
        if len(scores) != n:
            raise ValueError(f"{names[1]} must have one entry per box of boxes ({n}); received {len(scores)}.")
    if class_names is not None:
        class_names = V.names(class_names, "class_names")
        if classes is not None and classes.size and classes.max() >= len(class_names):
            raise ValueError(f"class_names must name every class id of {names[0]} (0 to {classes.max()}); received "
                             f"{len(class_names)} names.")
    return classes, scores, class_names


def _show_background(image, ax, figsize):
    """Draw the image with pixel-edge coordinates (or an empty frame for an ``(H, W)`` shape)."""
    if np.ndim(image) == 1 and len(image) in (2, 3) and all(V.is_int(v) and v >= 1 for v in image):
        height, width = (int(v) for v in image[:2])
        fig, ax = new_axes(ax, figsize)
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        return fig, ax, (height, width)
    fig = show_image(image, ax=ax, figsize=figsize)
    ax = ax or fig.axes[0]
    height, width = np.shape(image)[:2]
    ax.images[-1].set_extent((0, width, height, 0))
    return fig, ax, (height, width)


def draw_boxes(image, boxes, classes=None, scores=None, class_names=None, ax=None, box_format: str = "xyxy",
               color=None, ground_truth: bool = False, labels: bool = True, title: str | None = None,
               fontsize: float = 7, alpha: float = 1.0, linewidth: float = 1.4, figsize=(3.0, 3.0)):
    """Draw boxes on an image, labelled with class names and scores.

    Args:
        image: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``; or an ``(H, W)`` shape tuple for an empty frame.
        boxes: ``(N, 4)`` in ``box_format``.
        classes: ``(N,)`` class ids (colours and labels), or ``None``.
        scores: ``(N,)`` scores written next to the labels, or ``None``.
        class_names: names of the class ids.
        ax: axes to draw into (``None``: a new figure).
        box_format: format of ``boxes``.
        color: one colour for every box (default: one per class).
        ground_truth: draw dashed white boxes without labels (for the truth under predictions).
        labels: write class names / scores next to the boxes.
        title: panel title.
        alpha: opacity of the box edges, in ``(0, 1]``: with ``alpha=0.25`` four boxes
            stacked on one another look as dark as one opaque box, so a stack of
            near-identical candidates (before NMS) shows as a darker outline.
        linewidth: width of the box edges in points.

    Returns:
        The Figure.

    Example:
        >>> from cnnkit import data
        >>> scenes = data.make_scenes(4, image_size=64, seed=0)
        >>> fig = draw_boxes(scenes.images[0], scenes.boxes[0][:2], scenes.classes[0][:2],
        ...                  class_names=scenes.class_names)
        >>> len(fig.axes[0].patches), [text.get_text() for text in fig.axes[0].texts]
        (2, ['triangle', 'star'])
    """
    alpha = V.number(alpha, "alpha", 0, 1, min_open=True)
    linewidth, fontsize = V.positive_float(linewidth, "linewidth"), V.positive_float(fontsize, "fontsize")
    ground_truth, labels, title = V.boolean(ground_truth, "ground_truth"), V.boolean(labels, "labels"), V.text(
        title, "title")
    fig, ax, shape = _show_background(image, ax, figsize)
    xyxy = _as_xyxy(boxes, box_format, shape)
    n = len(xyxy)
    classes, scores, class_names = _ids_and_scores(n, classes, scores, class_names)
    for i, (x1, y1, x2, y2) in enumerate(xyxy):
        k = None if classes is None else classes[i]
        if k is not None and k < 0:  # padding row
            continue
        if ground_truth:
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, **GT_STYLE))
            continue
        edge = color or (_class_color(k) if k is not None else "yellow")
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=edge, linewidth=linewidth,
                               alpha=alpha))
        label = "" if k is None else (class_names[k] if class_names is not None else str(k))
        if scores is not None:
            label = f"{label} {float(np.ravel(scores)[i]):.2f}".strip()
        if label and labels:
            ax.text(x1, y1, label, fontsize=fontsize, color="black", va="bottom", ha="left", clip_on=True,
                    bbox={"facecolor": edge, "alpha": 0.8, "pad": 0.5, "edgecolor": "none"})
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def draw_keypoints(image, keypoints, ax=None, names=None, color="cyan", size: float = 12.0,
                   title: str | None = None, figsize=(3.0, 3.0)):
    """Draw keypoints (e.g. a face detector's eyes, nose, mouth and ears) as dots on an image.

    Args:
        image: the image (see :func:`draw_boxes`), or an ``(H, W)`` shape tuple for an empty frame;
            not drawn again when ``ax`` already shows an image.
        keypoints: ``(K, 2)`` points of one object or ``(N, K, 2)`` of ``N`` objects, ``(x, y)``
            in pixels (pixel-edge coordinates, as the boxes).
        ax: axes to draw into (``None``: a new figure), e.g. the axes of :func:`draw_boxes`.
        names: ``K`` names written next to the points of each object, or ``None``.
        color: dot colour (outlined in black, visible on light and dark photos).
        size: dot area in points squared.
        title: panel title.

    Returns:
        The Figure.

    Example:
        With a face detector's answer: ``fig = draw_boxes(photo, faces.boxes)``,
        then ``draw_keypoints(photo, faces.keypoints, ax=fig.axes[0])``. With made-up points:

        >>> photo = np.zeros((64, 64, 3))
        >>> fig = draw_boxes(photo, [[10, 10, 40, 40]])
        >>> draw_keypoints(photo, [[[20, 20], [30, 20]]], names=["left eye", "right eye"], ax=fig.axes[0]) is fig
        True
    """
    size, title = V.positive_float(size, "size"), V.text(title, "title")
    names = V.names(names, "names")
    points = V.finite_array(keypoints, "keypoints")
    if points.ndim == 2 and points.size:
        points = points[None]
    # (0, K, 2) is a detector's answer when it found nothing: nothing to draw, not an error.
    if points.ndim != 3 or points.shape[-1] != 2 or (points.size == 0 and points.shape[0] != 0):
        raise ValueError(f"keypoints must have shape (K, 2) or (N, K, 2) as (x, y), N = 0 for no objects; "
                         f"received shape {np.shape(keypoints)}.")
    if names is not None and len(names) != points.shape[1]:
        raise ValueError(f"names must have one entry per keypoint ({points.shape[1]}); received {len(names)}.")
    if ax is None or not ax.images:  # on the axes of draw_boxes, the photo is there already
        fig, ax, _ = _show_background(image, ax, figsize)
    else:
        fig = ax.figure
    flat = points.reshape(-1, 2)
    ax.scatter(flat[:, 0], flat[:, 1], s=size, c=[color], edgecolors="black", linewidths=0.6, zorder=3)
    if names is not None:
        for obj in points:
            for name, (x, y) in zip(names, obj):
                ax.text(x, y, f" {name}", fontsize=6, color=color, va="center", ha="left", clip_on=True,
                        path_effects=[patheffects.withStroke(linewidth=1.5, foreground="black")])
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def show_detections(image, prediction=None, ground_truth=None, class_names=None, ax=None, score_threshold: float = 0.0,
                    box_format: str = "xyxy", title: str | None = None, figsize=(3.0, 3.0)):
    """Ground truth (dashed white) and predictions (coloured, with scores) on one image.

    Args:
        image: the image.
        prediction: ``{"boxes", "classes", "scores"}`` for this image, or ``None``.
        ground_truth: ``{"boxes", "classes"}`` for this image, or ``None``.
        class_names: names of the class ids.
        score_threshold: hide predictions scoring below this.

    Returns:
        The Figure.
    """
    score_threshold = V.number(score_threshold, "score_threshold")
    for name, item, keys in (("ground_truth", ground_truth, ("boxes", "classes")),
                             ("prediction", prediction, ("boxes", "classes", "scores"))):
        if item is None:
            continue
        if not isinstance(item, dict) or not all(k in item for k in keys):
            V.fail(name, f"a dict with {', '.join(map(repr, keys))}", item, allow_none=True,
                   wrong_type=not isinstance(item, dict))
        boxes = _as_xyxy(item["boxes"], box_format, np.shape(image)[:2], f"{name}['boxes']")
        _ids_and_scores(len(boxes), item["classes"], item.get("scores"), class_names,
                        (f"{name}['classes']", f"{name}['scores']"))
    fig, ax, _ = _show_background(image, ax, figsize)
    if ground_truth is not None:
        draw_boxes(image, ground_truth["boxes"], ground_truth["classes"], ax=ax, box_format=box_format,
                   ground_truth=True)
    if prediction is not None:
        keep = np.asarray(prediction["scores"]) >= score_threshold
        draw_boxes(image, np.asarray(prediction["boxes"])[keep], np.asarray(prediction["classes"])[keep],
                   np.asarray(prediction["scores"])[keep], class_names, ax=ax, box_format=box_format)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def show_detection_grid(images, predictions=None, ground_truth=None, class_names=None, titles=None,
                        score_threshold: float = 0.3, ncols: int = 4, axes=None, panel_size: float = 2.4,
                        suptitle: str | None = None):
    """:func:`show_detections` for several images in a grid.

    Args:
        images: a sequence of images.
        predictions, ground_truth: lists of per-image dicts (or ``None``).
        titles: one title per panel, or ``None``.
        score_threshold: hide predictions scoring below this.

    Returns:
        The Figure.
    """
    images = image_list(images)
    titles = V.names(titles, "titles", count=len(images))
    for name, items in (("predictions", predictions), ("ground_truth", ground_truth)):
        if items is not None and (isinstance(items, dict) or V.as_sequence(items) is None):
            V.fail(name, "a list of per-image dicts", items, allow_none=True, wrong_type=True)
        if items is not None and len(items) != len(images):
            raise ValueError(f"{name} must have one entry per image ({len(images)}); received {len(items)}.")
    fig, flat = grid_axes(len(images), ncols, axes, panel_size)
    for i, ax in enumerate(flat):
        show_detections(images[i], None if predictions is None else predictions[i],
                        None if ground_truth is None else ground_truth[i], class_names, ax=ax,
                        score_threshold=score_threshold, title=None if titles is None else titles[i])
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def show_anchors(image, anchors: dict, cells=None, highlight=None, ax=None, title: str | None = None,
                 figsize=(3.2, 3.2)):
    """Anchor centres of every pyramid level, the anchors of one cell per level, and chosen anchors.

    Args:
        image: an image, or an ``(H, W)`` shape for an empty frame.
        anchors: ``{"P3": (N3, 4), ...}`` from :class:`cnnkit.detection.AnchorGenerator`.
        cells: ``{"P3": (x, y), ...}`` pixel positions whose nearest cell's anchors
            are drawn in full (default: the image centre on every level).
        highlight: ``(M, 4)`` ``"xyxy"`` anchors to draw in addition (e.g. the
            ones matched to a ground-truth box), or ``None``.

    Returns:
        The Figure.
    """
    V.mapping(anchors, "anchors", "a dict {'P3': (N, 4), ...} from AnchorGenerator(...)(image_shape)")
    for level in anchors:
        if not (isinstance(level, str) and level[:1] == "P" and level[1:].isdigit()):
            V.fail("anchors", "a dict keyed by pyramid level names like 'P3'", level)
    fig, ax, (height, width) = _show_background(image, ax, figsize)
    for i, (level, boxes) in enumerate(anchors.items()):
        boxes = _as_xyxy(boxes, "xyxy", (height, width), f"anchors[{level!r}]")
        centers = (boxes[:, :2] + boxes[:, 2:]) / 2
        color = plt.get_cmap("tab10")(i + 1)
        unique = np.unique(np.round(centers, 3), axis=0)
        ax.scatter(unique[:, 0], unique[:, 1], s=3 + 3 * i, color=color, label=level, zorder=3)
        target = np.asarray((cells or {}).get(level, (width / 2, height / 2)), dtype=np.float32)
        nearest = unique[np.argmin(np.sum((unique - target) ** 2, axis=1))]
        for x1, y1, x2, y2 in boxes[np.all(np.isclose(centers, nearest, atol=1e-3), axis=1)]:
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color, linewidth=1.2))
    if highlight is not None:
        for x1, y1, x2, y2 in np.asarray(highlight, dtype=np.float32).reshape(-1, 4):
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="red", linewidth=1.0))
    ax.set_xlim(0, width)  # anchors larger than the image are cut at its border
    ax.set_ylim(height, 0)
    ax.legend(fontsize=7, loc="upper right", markerscale=1.5, framealpha=0.7)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_pr_curves(metrics, iou_threshold: float = 0.5, ax=None, figsize=(4.0, 3.2)):
    """Precision-recall curve of every class at one IoU threshold, from :func:`cnnkit.detection.evaluate`.

    The curves are COCO's interpolated precision at the 101 recall points; the
    legend gives each class's AP at that threshold (the area under its curve).

    Returns:
        The Figure.
    """
    thresholds = np.asarray(metrics.iou_thresholds)
    t = int(np.argmin(np.abs(thresholds - iou_threshold)))
    if abs(thresholds[t] - iou_threshold) > 1e-6:
        raise ValueError(f"iou_threshold must be one of {np.round(thresholds, 2).tolist()}; received {iou_threshold!r}.")
    fig, ax = new_axes(ax, figsize)
    for k, name in enumerate(metrics.class_names):
        curve = metrics.precision[t, :, k]
        if np.all(curve < 0):
            continue  # no ground truth of this class
        ax.plot(metrics.recall_points, curve, color=_class_color(k), label=f"{name} (AP {curve.mean():.2f})")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.02),
           title=f"precision-recall at IoU {thresholds[t]:.2f}")
    ax.title.set_fontsize(10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return fig


def plot_ap_vs_iou(metrics, ax=None, figsize=(4.0, 3.0)):
    """AP (mean over classes) at each IoU threshold 0.50..0.95: how fast AP falls as boxes must fit tighter.

    Returns:
        The Figure.
    """
    fig, ax = new_axes(ax, figsize)
    precision = np.asarray(metrics.precision)
    values = [float(p[p > -1].mean()) if np.any(p > -1) else 0.0 for p in precision]
    ax.plot(metrics.iou_thresholds, values, marker="o", markersize=4)
    ax.axhline(metrics.AP, color="gray", linestyle="--", linewidth=1, label=f"AP@[.5:.95] = {metrics.AP:.3f}")
    ax.set(xlabel="IoU threshold", ylabel="AP", ylim=(0, 1.02), title="AP as the required overlap rises")
    ax.title.set_fontsize(10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
