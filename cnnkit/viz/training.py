"""Plots of training and evaluation: learning curves, the confusion matrix, predictions on images.

Same conventions as every ``cnnkit.viz`` function: single-panel plots take
``ax=None``, multi-panel ones ``axes=None``; each returns the Figure; nothing
touches Matplotlib's global settings.
"""

from __future__ import annotations

import numpy as np

from cnnkit import _validate as V
from cnnkit.viz.core import as_displayable, grid_axes, image_list, new_axes, show_image

CORRECT_COLOR = "tab:green"
WRONG_COLOR = "tab:red"


# ---------------------------------------------------------------- learning curves


def _history_dict(history) -> tuple[dict, int | None]:
    """``(metrics dict, best epoch counted from 1 or None)`` from any kind of history."""
    best = getattr(history, "best_epoch", None)
    if hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history
    if not isinstance(history, dict) or not history:
        raise (V.ArgumentTypeError if not isinstance(history, dict) else ValueError)(
            "history must be a cnnkit TrainingHistory, a keras History or a non-empty "
            f"{{metric: [values per epoch]}} dict; received {type(history).__name__} {V.describe(history)}."
        )
    for key, values in history.items():  # NaN is drawn (a diverged run is a result): only non-numbers are refused
        array = np.asarray(values) if not isinstance(values, (str, bytes)) else np.asarray([values])
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.number):
            V.fail(f"history[{key!r}]", "a list of numbers, one per epoch", values, wrong_type=True)
    return history, best


def plot_history(history, metrics=None, axes=None, panel_size=(3.6, 2.6)):
    """Learning curves: one panel per metric, training (solid) and validation (dashed), best epoch marked.

    Args:
        history: a :class:`cnnkit.train.TrainingHistory`, a ``keras.callbacks.History``
            or a dict ``{"loss": [...], "val_loss": [...], ...}``.
        metrics: base metric names to draw (default: every metric without a ``val_``
            prefix, e.g. ``["loss", "accuracy"]``).
        axes: one Axes per metric, or ``None`` for a new figure.

    Returns:
        The Figure.

    Example:
        >>> plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]});   # doctest: +SKIP
    """
    values, best = _history_dict(history)
    if metrics is not None:
        metrics = V.names(metrics, "metrics")
        if not metrics:
            V.fail("metrics", "a non-empty list of metric names", metrics, allow_none=True)
    names = metrics or [k for k in values if not k.startswith("val_")] or list(values)
    missing = [m for m in names if m not in values and f"val_{m}" not in values]
    if missing:
        raise ValueError(f"metrics must be in the history ({sorted(values)}); received {missing}.")
    panel_size = V.as_tuple(panel_size, "panel_size", 2, V.positive_float, axes="(width, height)",
                            each="positive number")
    if axes is None:
        fig, flat = grid_axes(len(names), ncols=len(names), panel_size=panel_size[0],
                              aspect=panel_size[1] / panel_size[0])
    else:
        fig, flat = grid_axes(len(names), axes=axes)
    for ax, name in zip(flat, names):
        for key, style, label in ((name, "-", "train"), (f"val_{name}", "--", "validation")):
            if key in values:
                ys = values[key]
                ax.plot(np.arange(1, len(ys) + 1), ys, style, marker="o", markersize=3, label=label)
        if best is not None:
            ax.axvline(best, color="grey", linestyle=":", linewidth=1, label=f"best epoch {best}")
        ax.set_xlabel("epoch")
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig


def plot_histories(histories: dict, metric: str = "accuracy", ax=None, title: str | None = None,
                   chance: float | None = None, figsize=(4.5, 3.0)):
    """Learning curves of several models over several seeds in one panel: train solid, validation dashed.

    Each model gets one colour and one thin line per seed (the seeds may have
    stopped at different epochs), so overfitting (training far above
    validation) and underfitting (both low) show at a glance, with their spread.

    Args:
        histories: ``{model name: [history per seed]}``; each history a
            :class:`cnnkit.train.TrainingHistory`, a ``keras.callbacks.History`` or a
            ``{metric: [values per epoch]}`` dict.
        metric: the base metric to draw (its ``val_`` twin is drawn dashed when logged).
        ax: an existing Axes, or ``None`` for a new figure.
        chance: draw a dotted grey line at this value (an accuracy's floor).

    Returns:
        The Figure.

    Example:
        >>> plot_histories({"CNN": [h0, h1, h2], "ViT": [g0, g1, g2]}, chance=1 / 6);   # doctest: +SKIP
    """
    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty {model name: [history per seed]} dict; "
                         f"received {type(histories).__name__}.")
    fig, ax = new_axes(ax, figsize)
    for i, (name, runs) in enumerate(histories.items()):
        color = f"C{i % 10}"
        runs = list(runs) if isinstance(runs, (list, tuple)) else [runs]
        for j, run in enumerate(runs):
            values, _ = _history_dict(run)
            if metric not in values:
                raise ValueError(f"metric {metric!r} is not in the history of {name!r}; it has {sorted(values)}.")
            for key, style, part in ((metric, "-", "train"), (f"val_{metric}", "--", "validation")):
                if key in values:
                    ys = values[key]
                    ax.plot(np.arange(1, len(ys) + 1), ys, style, color=color, linewidth=1, alpha=0.8,
                            label=f"{name}, {part}" if j == 0 else None)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set(xlabel="epoch", ylabel=metric, title=title or f"{metric}: one line per seed")
    ax.title.set_fontsize(10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


# ---------------------------------------------------------------- confusion matrix


def plot_confusion_matrix(confusion, class_names=None, normalize: bool = False, ax=None, cmap: str = "Blues",
                          figsize=(4.2, 3.8)):
    """The confusion matrix as a heat map with the counts (or row fractions) written in the cells.

    Args:
        confusion: ``(classes, classes)`` counts, row = true class, column = predicted.
        class_names: tick labels (default: class indices).
        normalize: show each row as fractions of the true class (the recall is on the diagonal).

    Returns:
        The Figure.

    Example:
        >>> plot_confusion_matrix([[5, 1], [0, 4]], ["cat", "dog"], normalize=True);   # doctest: +SKIP
    """
    confusion = V.finite_array(confusion, "confusion", np.float64)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1] or confusion.size == 0:
        raise ValueError(f"confusion must be a square (classes, classes) matrix; received shape {confusion.shape}.")
    V.integer_array(confusion, "confusion", "counts")
    if confusion.min() < 0:
        raise ValueError(f"confusion must hold counts (>= 0); received values down to {confusion.min():g}.")
    normalize = V.boolean(normalize, "normalize")
    n = confusion.shape[0]
    names = [str(i) for i in range(n)] if class_names is None else V.names(class_names, "class_names", count=n)
    shown = confusion.astype(float)
    if normalize:
        rows = shown.sum(axis=1, keepdims=True)
        shown = np.divide(shown, rows, out=np.zeros_like(shown), where=rows > 0)
    fig, ax = new_axes(ax, figsize)
    image = ax.imshow(shown, cmap=cmap, vmin=0, interpolation="nearest")
    if n <= 20:
        limit = shown.max() or 1.0
        for (i, j), value in np.ndenumerate(shown):
            text = f"{value:.2f}" if normalize else f"{int(value)}"
            if value or i == j:
                ax.text(j, i, text, ha="center", va="center", fontsize=7 if n > 10 else 8,
                        color="white" if value > 0.6 * limit else "black")
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right" if max(map(len, names)) > 2 else "center", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix" + (" (row fractions)" if normalize else ""), fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


# ---------------------------------------------------------------- predictions on images


def show_predictions(images, y_true, y_pred, class_names=None, ncols: int | None = None, axes=None,
                     max_images: int = 32, panel_size: float = 1.3):
    """A grid of images titled with the prediction; wrong ones in red with the true class.

    Args:
        images: ``(N, H, W, C)`` images.
        y_true, y_pred: ``(N,)`` integer labels and predicted classes.
        class_names: names for the class indices.
        max_images: draw at most this many (the first ones).

    Returns:
        The Figure.

    Example:
        After ``result = cnnkit.train.evaluate(model, x_test, y_test)``, the mistakes are
        ``show_predictions(x_test[result.errors], result.y_true[result.errors], result.y_pred[result.errors])``.
        With made-up predictions:

        >>> images = np.random.default_rng(0).random((3, 8, 8, 1))
        >>> fig = show_predictions(images, [0, 1, 2], [0, 2, 2], class_names=["a", "b", "c"])
        >>> [ax.get_title() for ax in fig.axes]
        ['a', 'c (true b)', 'c']
    """
    images = image_list(images)
    max_images = V.positive_int(max_images, "max_images")
    y_true = V.class_ids(V.numbers(y_true, "y_true") if not hasattr(y_true, "dtype") else y_true, None, "y_true",
                         whole_floats=True).reshape(-1)
    y_pred = V.class_ids(V.numbers(y_pred, "y_pred") if not hasattr(y_pred, "dtype") else y_pred, None, "y_pred",
                         whole_floats=True).reshape(-1)
    if not len(images) == len(y_true) == len(y_pred):
        raise ValueError(f"images, y_true and y_pred must have the same length; received "
                         f"{len(images)}, {len(y_true)} and {len(y_pred)}.")
    if class_names is not None:
        class_names = V.names(class_names, "class_names")
        top = int(max(y_true.max(), y_pred.max()))
        if top >= len(class_names):
            raise ValueError(f"class_names must name every class id of y_true and y_pred (0 to {top}); received "
                             f"{len(class_names)} names.")
    n = min(len(images), max_images)
    for i, image in enumerate(images[:n]):
        as_displayable(image, f"images[{i}]")
    name = (lambda i: str(i)) if class_names is None else (lambda i: class_names[int(i)])
    fig, flat = grid_axes(n, ncols, axes, panel_size)
    for ax, image, truth, pred in zip(flat, images[:n], y_true[:n], y_pred[:n]):
        ok = truth == pred
        title = name(pred) if ok else f"{name(pred)} (true {name(truth)})"
        show_image(image, title=title, ax=ax)
        ax.title.set_color(CORRECT_COLOR if ok else WRONG_COLOR)
        ax.title.set_fontsize(8)
    return fig
