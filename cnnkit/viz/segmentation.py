"""Plots for segmentation: masks in colour, image / ground truth / prediction panels, per-class IoU bars.

A mask is an integer array ``(H, W)`` of class ids (0 = background). Every
function colours class ``c`` with ``class_colors(n)[c]``, the background in
black, so the same class has the same colour in every figure of a notebook.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from cnnkit import _validate as V
from cnnkit.viz.core import as_displayable, grid_axes, new_axes

_PALETTE = plt.get_cmap("tab10").colors


def class_colors(num_classes: int) -> np.ndarray:
    """``(num_classes, 3)`` RGB colours in ``[0, 1]``: black for class 0 (background), then tab10 / tab20.

    Example:
        >>> class_colors(3)[0].tolist()
        [0.0, 0.0, 0.0]
    """
    num_classes = V.num_classes(num_classes)
    V.memory(num_classes * 100.0, "num_classes", num_classes, "one colour per class")  # a Python list of tuples
    palette = _PALETTE if num_classes <= 11 else plt.get_cmap("tab20").colors
    colors = [(0.0, 0.0, 0.0)] + [palette[i % len(palette)] for i in range(num_classes - 1)]
    return np.asarray(colors, dtype=np.float32)


def _check_mask(mask, num_classes: int, what: str = "mask") -> np.ndarray:
    num_classes = V.num_classes(num_classes)
    mask = np.asarray(mask)
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"{what} must be an integer (H, W) array of class ids; received {V.describe(mask)}.")
    return V.class_ids(mask, num_classes, what)


def colorize_mask(mask, num_classes: int) -> np.ndarray:
    """An RGB image ``(H, W, 3)`` of a class-id mask ``(H, W)``, coloured by :func:`class_colors`.

    Example:
        >>> colorize_mask(np.array([[0, 1]]), 2).shape
        (1, 2, 3)
    """
    return class_colors(num_classes)[_check_mask(mask, num_classes)]


def overlay_mask(image, mask, num_classes: int, alpha: float = 0.55) -> np.ndarray:
    """The image with every non-background pixel tinted by its class colour (background left as is).

    Args:
        image: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` in ``[0, 1]``.
        mask: ``(H, W)`` class ids, the same height and width.
        num_classes: classes (background included).
        alpha: opacity of the tint, in ``[0, 1]``.

    Returns:
        ``(H, W, 3)`` float32 RGB.
    """
    alpha = V.fraction(alpha, "alpha")
    data, _ = as_displayable(image)
    rgb = np.repeat(data[..., None], 3, axis=-1) if data.ndim == 2 else data[..., :3]
    mask = _check_mask(mask, num_classes)
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask must have the image's height and width {rgb.shape[:2]}; received mask of shape "
                         f"{mask.shape}.")
    tint = class_colors(num_classes)[mask]
    weight = np.where(mask[..., None] > 0, float(alpha), 0.0)
    return np.clip(rgb * (1 - weight) + tint * weight, 0, 1).astype(np.float32)


def _ious(values, name: str) -> np.ndarray:
    """Per-class IoUs: real numbers in [0, 1], NaN allowed (a class absent from the data has none)."""
    array = np.asarray(values)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        V.fail(name, "an array of per-class IoUs in [0, 1]", values, wrong_type=True)
    array = array.astype(np.float64)
    if array.ndim != 1 or not array.size:
        raise ValueError(f"{name} must be one-dimensional (classes,) and non-empty; received {V.describe(array)}.")
    seen = array[~np.isnan(array)]
    if seen.size and (seen.min() < 0 or seen.max() > 1):
        raise ValueError(f"{name} must hold IoUs in [0, 1] (NaN for an absent class); received values from "
                         f"{seen.min():g} to {seen.max():g}.")
    return array


def _names(class_names, num_classes):
    if class_names is None:
        return [str(i) for i in range(num_classes)]
    names = V.names(class_names, "class_names", count=num_classes)
    return names


def _legend(fig, names, colors, classes=None, ncol=None):
    classes = range(len(names)) if classes is None else classes
    handles = [Patch(facecolor=colors[c], edgecolor="grey", label=names[c]) for c in classes]
    ncol = ncol or max(1, min(len(handles), int(fig.get_figwidth() / 1.15)))  # ~1.15 inch per entry
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol, fontsize=8,
               frameon=False)


def show_mask(image, mask, class_names=None, num_classes: int | None = None, ax=None, alpha: float = 0.55,
              title: str | None = None, legend: bool = True, figsize=(3.2, 3.4)):
    """One image with its mask overlaid, and a legend of the classes present.

    Args:
        image: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` in ``[0, 1]``.
        mask: ``(H, W)`` class ids.
        class_names: one name per class (sets ``num_classes``).
        num_classes: needed when ``class_names`` is not given (default: ``mask.max() + 1``).
        alpha: opacity of the tint.
        legend: add a legend of the classes that occur in the mask.

    Returns:
        The Figure.
    """
    mask = np.asarray(mask)
    num_classes = V.num_classes(num_classes) if num_classes is not None else None
    alpha, title, legend = V.fraction(alpha, "alpha"), V.text(title, "title"), V.boolean(legend, "legend")
    if class_names is not None:
        n = len(V.names(class_names, "class_names"))
    elif num_classes is not None:
        n = num_classes
    else:  # from the mask itself (its ids are checked when it is drawn)
        if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer) or not mask.size:
            _check_mask(mask, 1)
        n = max(int(mask.max()) + 1, 1)
    names = _names(class_names, n)
    fig, ax = new_axes(ax, figsize)
    ax.imshow(overlay_mask(image, mask, n, alpha), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    if legend:
        present = [c for c in range(n) if np.any(mask == c)]
        handles = [Patch(facecolor=class_colors(n)[c], edgecolor="grey", label=names[c]) for c in present]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    return fig


def show_segmentation(images, masks, predictions=None, class_names=None, num_classes: int | None = None,
                      titles=None, axes=None, alpha: float = 0.8, errors: bool = True, max_images: int = 6,
                      panel_size: float = 1.7):
    """One row per image: the image, its ground truth, the prediction and the wrong pixels; a legend below.

    Args:
        images: ``(N, H, W, C)`` images in ``[0, 1]``.
        masks: ``(N, H, W)`` ground-truth class ids.
        predictions: ``(N, H, W)`` predicted class ids, or ``None`` (image and ground truth only).
        class_names: one name per class (sets ``num_classes``).
        num_classes: needed when ``class_names`` is not given.
        titles: one string per image (e.g. its IoU), shown over the prediction.
        axes: existing axes (rows x columns, flat), or ``None`` for a new figure.
        alpha: opacity of the masks over the images.
        errors: add a column with the wrong pixels in black (on a faded copy of the image).
        max_images: draw at most this many (the first ones).

    Returns:
        The Figure.
    """
    images, masks = np.asarray(images), np.asarray(masks)
    num_classes = V.num_classes(num_classes) if num_classes is not None else None
    max_images = V.positive_int(max_images, "max_images")
    alpha, errors = V.fraction(alpha, "alpha"), V.boolean(errors, "errors")
    if images.ndim != 4 or masks.shape != images.shape[:3]:
        raise ValueError(f"Expected images (N, H, W, C) and masks (N, H, W) of matching size; received "
                         f"{images.shape} and {masks.shape}.")
    if predictions is not None and np.shape(predictions) != masks.shape:
        raise ValueError(f"predictions must have the shape of masks {masks.shape}; received {np.shape(predictions)}.")
    n_classes = len(class_names) if class_names is not None else num_classes
    if n_classes is None:
        n_classes = int(max(masks.max(), 0 if predictions is None else np.max(predictions))) + 1
    names = _names(class_names, n_classes)
    count = min(len(images), max_images)
    if titles is not None and len(titles) < count:
        raise ValueError(f"titles must have one entry per image shown ({count}); received {len(titles)}.")
    columns = ["image", "ground truth"] + (["prediction"] + (["errors"] if errors else []) if predictions is not None else [])
    fig, flat = grid_axes(count * len(columns), ncols=len(columns), axes=axes, panel_size=panel_size)
    for i in range(count):
        row = flat[i * len(columns):(i + 1) * len(columns)]
        # Masks are tinted over the image in grey, so an object's own colour cannot blend with the
        # class colour; wrong pixels are black on a faded copy (black is no class colour there).
        shown = as_displayable(images[i])[0]
        grey = np.repeat((shown[..., :3].mean(-1) if shown.ndim == 3 else shown)[..., None], 3, axis=-1)
        panels = [images[i], overlay_mask(grey, masks[i], n_classes, alpha)]
        if predictions is not None:
            panels.append(overlay_mask(grey, np.asarray(predictions[i]), n_classes, alpha))
            if errors:
                wrong = np.asarray(predictions[i]) != masks[i]
                panels.append(np.where(wrong[..., None], 0.0, 0.25 * grey + 0.7))
        for j, (ax, panel) in enumerate(zip(row, panels)):
            data, cmap = as_displayable(panel)
            ax.imshow(data, cmap=cmap, interpolation="nearest", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(columns[j], fontsize=9)
            if titles is not None and j == 2:
                ax.set_xlabel(titles[i], fontsize=8)
    _legend(fig, names, class_colors(n_classes))
    return fig


def plot_class_iou(iou, class_names=None, ax=None, title: str | None = "IoU per class", figsize=(5.0, 3.0)):
    """Bars of the IoU of each class, with the mean IoU of each model in the legend.

    Args:
        iou: ``(classes,)`` IoUs of one model, or ``{"model name": (classes,) IoUs, ...}``
            to compare several side by side. NaN (a class never seen) is drawn as no bar.
        class_names: one name per class.
        title: axes title.

    Returns:
        The Figure.

    Example:
        >>> fig = plot_class_iou({"with skips": [0.99, 0.8], "without": [0.98, 0.5]}, ["background", "circle"])
        >>> [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
        ['with skips: mean IoU 0.895', 'without: mean IoU 0.740']
    """
    series = dict(iou) if isinstance(iou, dict) else {"": iou}
    series = {k: _ious(v, f"iou[{k!r}]" if k else "iou") for k, v in series.items()}
    if not series:
        raise ValueError("iou must be an array of per-class IoUs or a non-empty {name: array} dict; received an empty dict.")
    lengths = {v.shape for v in series.values()}
    if len(lengths) != 1 or next(iter(lengths)) == () or len(next(iter(lengths))) != 1:
        raise ValueError(f"every IoU array must be one-dimensional (classes,) with the same length; received shapes {sorted(lengths)}.")
    n = len(next(iter(series.values())))
    names = _names(class_names, n)
    fig, ax = new_axes(ax, figsize)
    width = 0.8 / len(series)
    for k, (label, values) in enumerate(series.items()):
        positions = np.arange(n) + (k - (len(series) - 1) / 2) * width
        mean = np.nanmean(values) if np.any(~np.isnan(values)) else float("nan")
        legend = f"{label}: mean IoU {mean:.3f}" if label else f"mean IoU {mean:.3f}"
        bars = ax.bar(positions, np.nan_to_num(values, nan=0.0), width, label=legend)
        if len(series) <= 2 and n <= 12:
            for bar, value in zip(bars, values):
                if not np.isnan(value):
                    ax.annotate(f"{value:.2f}", (bar.get_x() + bar.get_width() / 2, value), ha="center",
                                va="bottom", fontsize=7, xytext=(0, 1), textcoords="offset points")
    ax.set_xticks(range(n), names, rotation=30 if max(map(len, names)) > 6 else 0, ha="right" if max(map(len, names)) > 6 else "center", fontsize=8)
    ax.set_ylim(0, 1.3)  # room above the bars for the legend
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("IoU")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", ncol=min(len(series), 3), frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
