"""Basic plots: images, kernels, bar charts and line plots, and the axes helpers every plot uses.

Conventions, the same for every function in ``cnnkit.viz``:

* a single-panel plot takes ``ax=None`` (draw into a new figure) or an
  existing Matplotlib ``Axes``; a multi-panel plot takes ``axes=None`` or a
  sequence of ``Axes``;
* every function returns the ``Figure`` it drew on;
* nothing changes Matplotlib's global settings (rcParams): style is passed to
  each call, so importing cnnkit never changes a learner's own plots.

In a notebook, end the line with ``;`` (or assign the figure) so Jupyter shows
the figure once.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from cnnkit import _validate as V

DPI = 100  # sharp in JupyterLab and Colab; committed notebooks stay under 1.5 MB (nbtool check)


# ---------------------------------------------------------------- axes helpers


def new_axes(ax=None, figsize=(4.0, 3.0)):
    """Return ``(figure, ax)``: the given axes and its figure, or a new single-panel figure."""
    if ax is not None:
        return ax.figure, ax
    figsize = V.figure_size(figsize, "figsize", DPI)
    fig, ax = plt.subplots(figsize=figsize, dpi=DPI, layout="constrained")
    return fig, ax


MAX_PANELS = 1024  # panels in one figure (32 x 32 feature maps is the most a notebook shows)


def grid_axes(n: int, ncols: int | None = None, axes=None, panel_size: float = 1.6, aspect: float = 1.0):
    """Return ``(figure, flat list of n axes)`` for a grid of panels (extra panels are hidden).

    At most :data:`MAX_PANELS` panels: each is a matplotlib Axes, and a million of them
    would take hours and gigabytes before anything is drawn.
    """
    n = V.integer(n, "n", minimum=1, maximum=MAX_PANELS, reason="panels of one figure: each is a matplotlib Axes")
    ncols = V.positive_int(ncols, "ncols", allow_none=True)
    panel_size, aspect = V.positive_float(panel_size, "panel_size"), V.positive_float(aspect, "aspect")
    if axes is not None:
        axes = list(np.ravel(axes))
        if len(axes) < n:
            raise ValueError(f"axes must hold at least {n} Axes for {n} panels; received {len(axes)}.")
        return axes[0].figure, axes[:n]
    ncols = min(n, ncols or 8)
    nrows = math.ceil(n / ncols)
    fig, grid = plt.subplots(
        nrows, ncols, figsize=(panel_size * ncols, panel_size * aspect * nrows + 0.3),
        dpi=DPI, layout="constrained", squeeze=False,
    )
    flat = list(grid.ravel())
    for extra in flat[n:]:
        extra.set_visible(False)
    return fig, flat[:n]


# ---------------------------------------------------------------- images


def as_displayable(image, name: str = "image") -> tuple[np.ndarray, str | None]:
    """Squeeze a one-channel image to 2D (shown with a grey colormap); colour images must be in ``[0, 1]``.

    NaN and infinity are refused (matplotlib would leave those pixels blank).
    A colour (RGB or RGBA) image is drawn on the ``[0, 1]`` scale, so a 0-255
    one (integers above 1, or floats above 2) is refused with "divide by 255"
    instead of being drawn almost all white; small overshoots (a bicubic
    resize) are clipped. One-channel images and maps are drawn on their own range.
    """
    raw = np.asarray(image)
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_) or np.iscomplexobj(raw):
        V.fail(name, "an image: an array of real numbers", image, wrong_type=True)
    if raw.ndim not in (2, 3) or (raw.ndim == 3 and raw.shape[-1] not in (1, 3, 4)) or 0 in raw.shape:
        raise ValueError(f"{name} must be an image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); received "
                         f"{V.describe(raw)}.")
    low, high = V.value_range(raw, name)
    colour = raw.ndim == 3 and raw.shape[-1] in (3, 4)
    if colour and (high > 2 or (np.issubdtype(raw.dtype, np.integer) and high > 1)):
        V.images_in_unit_range(raw, name)  # raises the "divide it by 255" message
    image = raw.astype(np.float32, copy=False)
    if colour:
        return np.clip(image, 0.0, 1.0), None
    return (image[..., 0] if image.ndim == 3 else image), "gray"


def floats(value, name: str, dtype=np.float32) -> np.ndarray:
    """A non-empty array of finite real numbers (a map, a kernel, a curve), for drawing."""
    array = V.finite_array(value, name, dtype)
    if array.size == 0 or array.ndim == 0:
        raise ValueError(f"{name} must be a non-empty array; received {V.describe(array)}.")
    return array


def image_list(images, name: str = "images") -> list:
    """A batch ``(N, H, W[, C])`` or a sequence of images, as a non-empty list (each image is checked where drawn)."""
    if images is None or isinstance(images, (str, bytes, dict)) or V.is_number(images):
        V.fail(name, "a batch (N, H, W[, C]) or a list of images", images, wrong_type=True)
    if hasattr(images, "shape") and np.ndim(images) < 3:
        raise ValueError(f"{name} must be a batch (N, H, W[, C]) or a list of images; received {V.describe(images)}.")
    items = list(images)
    if not items:
        V.fail(name, "a non-empty batch or list of images", images)
    return items


def show_image(image, title: str | None = None, ax=None, cmap: str | None = None, signed: bool = False,
               colorbar: bool = False, figsize=(3.0, 3.0)):
    """Show one image. ``signed=True`` centres a diverging colormap on zero (for filter responses).

    Returns:
        The Figure.
    """
    title, signed, colorbar = V.text(title, "title"), V.boolean(signed, "signed"), V.boolean(colorbar, "colorbar")
    data, default_cmap = as_displayable(image)
    fig, ax = new_axes(ax, figsize)
    kwargs = {"cmap": cmap or default_cmap}
    if signed:
        limit = float(np.max(np.abs(data))) or 1.0
        kwargs.update(cmap=cmap or "RdBu_r", vmin=-limit, vmax=limit)
    elif data.ndim == 2 and kwargs["cmap"] == "gray":
        kwargs.update(vmin=min(0.0, float(data.min())), vmax=max(1.0, float(data.max())))
    shown = ax.imshow(data, interpolation="nearest", **kwargs)
    if colorbar:
        fig.colorbar(shown, ax=ax, shrink=0.8)
    if title:
        ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def show_images(images, titles=None, ncols: int | None = None, axes=None, cmap: str | None = None,
                signed: bool = False, panel_size: float = 1.6, suptitle: str | None = None):
    """Show a grid of images with optional titles (e.g. labels or predictions).

    Args:
        images: a sequence or array of images, each (H, W), (H, W, 1) or (H, W, 3).
        titles: one string per image, or ``None``.
        ncols: panels per row (default: up to 8).
        axes: existing axes to draw into, or ``None`` for a new figure.
        signed: centre a diverging colormap on zero in every panel.

    Returns:
        The Figure.
    """
    images = image_list(images)
    for i, image in enumerate(images):
        as_displayable(image, f"images[{i}]")
    titles = V.names(titles, "titles", count=len(images))
    fig, flat = grid_axes(len(images), ncols, axes, panel_size)
    for i, (ax, image) in enumerate(zip(flat, images)):
        show_image(image, titles[i] if titles is not None else None, ax=ax, cmap=cmap, signed=signed)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def show_kernel(kernel, title: str | None = None, ax=None, annotate: bool = True, figsize=(2.2, 2.2)):
    """Draw a small 2D kernel as a heat map with its numbers written in each cell.

    Returns:
        The Figure.
    """
    kernel = V.finite_array(kernel, "kernel", np.float32)
    if kernel.ndim != 2 or kernel.size == 0:
        raise ValueError(f"kernel must be a 2D kernel (k_h, k_w); received {V.describe(kernel)}.")
    annotate = V.boolean(annotate, "annotate")
    fig = show_image(kernel, title=title, ax=ax, signed=True, figsize=figsize)
    ax = ax or fig.axes[0]
    if annotate and kernel.size <= 49:
        limit = float(np.max(np.abs(kernel))) or 1.0
        for (i, j), value in np.ndenumerate(kernel):
            color = "white" if abs(value) > 0.6 * limit else "black"
            ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=8, color=color)
    return fig


# ---------------------------------------------------------------- charts


def bar_chart(values: dict, title: str | None = None, ylabel: str | None = None, ax=None,
              log: bool = False, fmt: str = "{:,.0f}", color=None, figsize=(4.5, 3.0), xlabel: str | None = None):
    """Bar chart of ``{label: value}`` with each value written above its bar.

    ``color``: one colour for every bar (e.g. ``"C0"`` when the bars are bins of one
    quantity), or one per bar; by default each bar gets the next colour of the cycle.

    Returns:
        The Figure.
    """
    V.mapping(values, "values", "a non-empty {label: number} mapping")
    heights = V.numbers(list(values.values()), "values")
    log = V.boolean(log, "log")
    if log and heights.min() <= 0:
        raise ValueError(f"values must be positive for log=True; received values down to {heights.min():g}.")
    fig, ax = new_axes(ax, figsize)
    labels, heights = list(values), [float(v) for v in heights]
    bars = ax.bar(labels, heights, color=color or plt.rcParams["axes.prop_cycle"].by_key()["color"][: len(labels)])
    if log:
        ax.set_yscale("log")
    for bar, height in zip(bars, heights):
        ax.annotate(fmt.format(height), (bar.get_x() + bar.get_width() / 2, height),
                    ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.margins(y=0.15)
    if title:
        ax.set_title(title, fontsize=10)
    if ylabel:
        ax.set_ylabel(ylabel)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.tick_params(axis="x", labelsize=8)
    return fig


# (marker, dash pattern) per series for line_plot(distinct=True): hollow markers of decreasing size.
DISTINCT_STYLES = (("o", "-"), ("s", "--"), ("^", ":"), ("D", "-."), ("v", (0, (5, 1))), ("x", (0, (1, 2))))


def line_plot(x, series: dict, title: str | None = None, xlabel: str | None = None, ylabel: str | None = None,
              ax=None, marker: str = "o", logy: bool = False, figsize=(4.5, 3.0), legend: str = "inside",
              distinct: bool = False, logx: bool = False, chance: float | None = None):
    """Plot several named series ``{name: y_values}`` against the same ``x``.

    Args:
        legend: ``"inside"`` (where it hides the fewest points) or ``"outside"``, right of
            the axes, for many series whose curves fill the plot.
        distinct: give each series its own marker and dash pattern (``marker`` is then
            ignored), so series that coincide (two models both at accuracy 1.0) stay visible.
        logx, logy: logarithmic axes (e.g. training set sizes that grow by a factor).
        chance: draw a dashed grey line at this y value, labelled "chance" (an accuracy's floor).

    Returns:
        The Figure.
    """
    legend = V.choice(legend, "legend", ("inside", "outside"))
    distinct, logy = V.boolean(distinct, "distinct"), V.boolean(logy, "logy")
    x = V.numbers(x, "x")
    V.mapping(series, "series", "a non-empty {name: y_values} dict")
    for name, ys in series.items():
        ys = V.numbers(ys, f"series[{name!r}]", length=len(x))
        if logy and ys.min() <= 0:
            raise ValueError(f"series[{name!r}] must be positive for logy=True; received values down to {ys.min():g}.")
    fig, ax = new_axes(ax, figsize)
    for i, (name, ys) in enumerate(series.items()):
        if distinct:
            style = DISTINCT_STYLES[i % len(DISTINCT_STYLES)]
            ax.plot(x, ys, marker=style[0], linestyle=style[1], markersize=7 - i % 3 * 1.5, markerfacecolor="none",
                    label=name)
        else:
            ax.plot(x, ys, marker=marker, markersize=4, label=name)
    if chance is not None:
        ax.axhline(V.number(chance, "chance"), color="grey", linestyle="--", linewidth=1, label="chance")
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.title.set_fontsize(10)
    ax.grid(alpha=0.3)
    if len(series) + (chance is not None) > 1 and legend == "outside":
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    elif len(series) + (chance is not None) > 1:
        ax.legend(fontsize=8)
    return fig
