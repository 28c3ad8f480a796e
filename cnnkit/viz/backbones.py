"""Plots for backbones: the feature pyramid of an image, gradient norms through depth, cost vs accuracy.

Same conventions as every ``cnnkit.viz`` function: single-panel plots take
``ax=None``, multi-panel ones ``axes=None``; each returns the Figure; nothing
touches Matplotlib's global settings.
"""

from __future__ import annotations

import numpy as np

from cnnkit import _validate as V
from cnnkit.viz.core import as_displayable, floats, grid_axes, new_axes, show_image


def show_pyramid(image, maps: dict, axes=None, panel_size: float = 1.8, reduce: str = "energy"):
    """An image and one panel per pyramid level: where each level responds, at its own resolution.

    Each level ``(H_k, W_k, C_k)`` is summarised over its channels (``"energy"``:
    root-mean-square; ``"max"``: the largest activation) and drawn over the same
    extent as the image, so the coarser grids of deeper levels are visible.

    Args:
        image: ``(H, W, C)`` the input image.
        maps: ``{"P2": (H/4, W/4, C) array, ...}`` for that image (a batch axis of 1 is dropped),
            e.g. ``pyramid_model(backbone)(image[None])``.
        axes: ``1 + len(maps)`` Axes, or ``None`` for a new figure.
        reduce: ``"energy"`` or ``"max"``.

    Returns:
        The Figure.

    Example:
        >>> levels = pyramid_model(backbone)(image[None])    # doctest: +SKIP
        >>> show_pyramid(image, levels);                      # doctest: +SKIP
    """
    V.choice(reduce, "reduce", ("energy", "max"))
    V.mapping(maps, "maps", "a non-empty {level: feature map} dict")
    as_displayable(image)
    image = np.asarray(image)
    fig, flat = grid_axes(1 + len(maps), ncols=1 + len(maps), axes=axes, panel_size=panel_size)
    show_image(image, title=f"input {image.shape[0]}x{image.shape[1]}", ax=flat[0])
    height, width = image.shape[:2]
    for ax, (level, fmap) in zip(flat[1:], maps.items()):
        fmap = floats(fmap, f"maps[{level!r}]")
        if fmap.ndim == 4 and fmap.shape[0] == 1:
            fmap = fmap[0]
        if fmap.ndim != 3:
            raise ValueError(f"maps[{level!r}] must be (H, W, C) (or (1, H, W, C)); received shape {fmap.shape}.")
        summary = np.sqrt(np.mean(fmap**2, axis=-1)) if reduce == "energy" else fmap.max(axis=-1)
        ax.imshow(summary, cmap="magma", interpolation="nearest", extent=(0, width, height, 0))
        ax.set_title(f"{level}: {fmap.shape[0]}x{fmap.shape[1]}x{fmap.shape[2]}\n{_stride_text(level, height, fmap)}",
                     fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def _stride_text(level, height: int, fmap) -> str:
    """A level named ``"P{k}"`` is at stride ``2**k`` (48 px / P5's 2 rows is not stride 24: the map is rounded up)."""
    from cnnkit.models.registry import (
        pyramid_level,  # lazily: plots do not import the models at import time
    )

    try:
        return f"stride {2 ** pyramid_level(level)}"
    except (TypeError, ValueError):
        return f"image/map {height / fmap.shape[0]:.3g}"


def plot_gradient_norms(norms: dict, ax=None, title: str | None = "gradient norm per layer",
                        figsize=(4.5, 3.0)):
    """Gradient norm of each layer's weights, from the input end to the output end, on a log scale.

    Args:
        norms: ``{"plain": [norm of layer 1, layer 2, ...], "residual": [...]}``; series may
            differ in length.
        ax: an Axes, or ``None`` for a new figure.

    Returns:
        The Figure.
    """
    V.mapping(norms, "norms", "a non-empty {name: [norm per layer]} dict")
    for name, values in norms.items():  # models of different depths have curves of different lengths
        V.numbers(values, f"norms[{name!r}]")
    fig, ax = new_axes(ax, figsize)
    for name, values in norms.items():
        values = V.numbers(values, f"norms[{name!r}]")
        if values.ndim != 1 or not len(values) or np.any(values <= 0):
            raise ValueError(f"norms[{name!r}] must be a 1D sequence of positive numbers; received {values!r}.")
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=name)
    ax.set_yscale("log")
    ax.set(xlabel="layer (input -> output)", ylabel="||dL/dW||", title=title)
    ax.title.set_fontsize(10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_tradeoff(rows, x: str = "macs", y: str = "accuracy", label: str = "model", ax=None,
                  logx: bool = True, figsize=(4.5, 3.2), xlabel: str | None = None, ylabel: str | None = None):
    """Scatter one point per model, e.g. accuracy against MACs or latency, each point labelled.

    Args:
        rows: a list of dicts, one per model, holding ``x``, ``y`` and ``label`` keys.
        x, y: the keys to plot.
        label: the key that names each point.
        ax: an Axes, or ``None`` for a new figure.
        logx: logarithmic x axis (costs span orders of magnitude).
        xlabel, ylabel: axis labels (default: the keys ``x`` and ``y``).

    Returns:
        The Figure.
    """
    x, y, label = (V.text(v, n, allow_none=False) for v, n in ((x, "x"), (y, "y"), (label, "label")))
    logx = V.boolean(logx, "logx")
    items = None if isinstance(rows, dict) else V.as_sequence(rows)
    if not items or not all(isinstance(r, dict) for r in items):
        V.fail("rows", "a non-empty list of dicts, one per model", rows, wrong_type=not items)
    rows = list(items)
    for i, row in enumerate(rows):
        missing = [key for key in (x, y, label) if key not in row]
        if missing:
            raise ValueError(f"rows must all have the keys {x!r}, {y!r} and {label!r} (x, y, label); received row "
                             f"{i} without {missing}.")
    V.numbers([r[y] for r in rows], f"rows' {y!r}")
    xs = V.numbers([r[x] for r in rows], f"rows' {x!r}")
    if logx and xs.min() <= 0:
        raise ValueError(f"rows' {x!r} must be positive for logx=True; received values down to {xs.min():g}.")
    fig, ax = new_axes(ax, figsize)
    xs = [float(r[x]) for r in rows]
    ys = [float(r[y]) for r in rows]
    ax.scatter(xs, ys, s=25)
    for r, xv, yv in zip(rows, xs, ys):
        ax.annotate(str(r[label]), (xv, yv), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel or x, ylabel=ylabel or y)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.margins(x=0.15, y=0.1)
    return fig
