"""Plots that look inside a CNN: learned filters, feature maps, Grad-CAM heat maps, receptive fields, patches.

The arrays come from :mod:`cnnkit.analysis` (``feature_maps``, ``grad_cam``);
these functions only draw. Same conventions as every ``cnnkit.viz`` function.
"""

from __future__ import annotations

import keras
import numpy as np

from cnnkit import _validate as V
from cnnkit.analysis import flatten_layers
from cnnkit.viz.core import floats, grid_axes, new_axes, show_image


def _first_kernel(source) -> tuple[np.ndarray, str]:
    """A conv kernel ``(k_h, k_w, in, out)`` from a model (its first conv), a layer or an array."""
    if isinstance(source, keras.Model):
        convs = [layer for layer in flatten_layers(source, include_self=False)
                 if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)) and layer.built]
        if not convs:
            raise ValueError(f"source must be a model with a built Conv2D layer, a conv layer or a kernel; received "
                             f"model {source.name!r} without one.")
        source = convs[0]
    if isinstance(source, keras.layers.Layer):
        if not hasattr(source, "kernel"):
            raise ValueError(f"source must be a layer with a kernel; received layer {source.name!r} "
                             f"({type(source).__name__}) without one.")
        return keras.ops.convert_to_numpy(source.kernel), source.name
    kernel = floats(source, "source")
    if kernel.ndim != 4:
        raise ValueError(f"source must be a model, a conv layer or a kernel (k_h, k_w, in, out); received "
                         f"{V.describe(kernel)}.")
    return kernel, "kernel"


def show_filters(source, max_filters: int = 32, ncols: int = 8, axes=None, panel_size: float = 0.9):
    """Draw the filters of a convolution: colour for 3 input channels, a signed grey map otherwise.

    Each colour filter is stretched to ``[0, 1]`` on its own (only its pattern
    matters, not its scale). Filters with another number of input channels
    are shown as their mean over the input channels, red-blue around zero.

    Args:
        source: a model (its first ``Conv2D`` is shown), a conv layer, or a kernel
            array ``(k_h, k_w, in_channels, filters)``.
        max_filters: draw at most this many.
        axes: existing axes (one per filter), or ``None``.

    Returns:
        The Figure.

    Example:
        >>> show_filters(model, max_filters=16);     # doctest: +SKIP
    """
    max_filters = V.positive_int(max_filters, "max_filters")
    kernel, name = _first_kernel(source)
    n = min(kernel.shape[-1], max_filters)
    fig, flat = grid_axes(n, ncols, axes, panel_size)
    for i, ax in enumerate(flat):
        f = kernel[..., i]
        if f.shape[-1] == 3:
            low, high = f.min(), f.max()
            show_image((f - low) / (high - low or 1.0), ax=ax)
        else:
            show_image(f.mean(axis=-1), ax=ax, signed=True)
        ax.set_title(str(i), fontsize=7)
    if axes is None:
        fig.suptitle(f"{name}: {n} of {kernel.shape[-1]} filters, {kernel.shape[0]}x{kernel.shape[1]}", fontsize=9)
    return fig


def show_feature_maps(maps, max_maps: int = 16, ncols: int = 8, axes=None, title: str | None = None,
                      panel_size: float = 1.1):
    """Draw the channels of one feature map ``(h, w, channels)`` side by side.

    Get the maps with :func:`cnnkit.analysis.feature_maps` (one image). Each
    channel has its own grey scale, so weak and strong channels are both visible.

    Args:
        maps: ``(h, w, channels)`` activations of one image.
        max_maps: draw at most this many channels.
        axes: existing axes (one per channel), or ``None``.
        title: figure title (new figures only).

    Returns:
        The Figure.

    Example:
        >>> show_feature_maps(analysis.feature_maps(model, image, "relu1"), max_maps=8);  # doctest: +SKIP
    """
    max_maps = V.positive_int(max_maps, "max_maps")
    maps = floats(maps, "maps")
    if maps.ndim != 3:
        raise ValueError(f"maps must be one feature map (h, w, channels); received {V.describe(maps)}.")
    n = min(maps.shape[-1], max_maps)
    fig, flat = grid_axes(n, ncols, axes, panel_size)
    for i, ax in enumerate(flat):
        channel = maps[..., i]
        span = float(channel.max() - channel.min()) or 1.0
        show_image((channel - channel.min()) / span, ax=ax, cmap="viridis")
        ax.set_title(str(i), fontsize=7)
    if title and axes is None:
        fig.suptitle(title, fontsize=9)
    return fig


def show_grad_cam(image, heatmap, title: str | None = None, ax=None, alpha: float = 0.45, cmap: str = "jet",
                  figsize=(2.6, 2.6)):
    """Overlay a Grad-CAM heat map on its image (the map is stretched over the image, smoothly).

    Args:
        image: ``(H, W, C)`` image in ``[0, 1]``.
        heatmap: ``(h, w)`` map in ``[0, 1]`` from :func:`cnnkit.analysis.grad_cam`, at any resolution.
        alpha: opacity of the heat map.

    Returns:
        The Figure.

    Example:
        >>> from cnnkit import analysis
        >>> model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
        ...                           keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
        >>> image = np.random.default_rng(0).random((32, 32, 3), dtype="float32")
        >>> heat, cls = analysis.grad_cam(model, image)
        >>> heat.shape                                  # the last convolution's (30, 30) map
        (30, 30)
        >>> fig = show_grad_cam(image, heat, title=f"class {cls}")
        >>> fig.axes[0].get_title() == f"class {cls}"
        True
    """
    alpha = V.fraction(alpha, "alpha")
    heatmap = floats(heatmap, "heatmap")
    if heatmap.ndim != 2:
        raise ValueError(f"heatmap must be a 2D heat map (h, w); received {V.describe(heatmap)}.")
    fig, ax = new_axes(ax, figsize)
    show_image(image, title=title, ax=ax)
    height, width = np.asarray(image).shape[:2]
    ax.imshow(heatmap, cmap=cmap, alpha=alpha, vmin=0.0, vmax=1.0, interpolation="bilinear",
              extent=(-0.5, width - 0.5, height - 0.5, -0.5))
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    return fig


def draw_receptive_fields(image, rows, ax=None, title: str | None = None, figsize=(3.2, 3.2), margin: int = 0):
    """Draw the receptive field of the central unit of one or more layers as rectangles over the image.

    Args:
        image: the model input ``(H, W, C)``.
        rows: one or more :class:`cnnkit.analysis.FieldRow` (``receptive_field(model)[name]``),
            each drawn in its own colour and labelled with the layer name and field size.
        ax: existing axes, or ``None``.
        margin: pixels of empty canvas drawn around the image (the image framed in
            white), so a field larger than the image is seen leaving it.

    Returns:
        The Figure.

    Example:
        >>> from cnnkit import analysis
        >>> model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, name="conv1"),
        ...                           keras.layers.MaxPooling2D(name="pool1"), keras.layers.Conv2D(4, 3, name="conv2")])
        >>> rf = analysis.receptive_field(model)
        >>> rf["conv1"].size, rf["conv2"].size
        ((3, 3), (8, 8))
        >>> image = np.random.default_rng(0).random((32, 32, 3), dtype="float32")
        >>> fig = draw_receptive_fields(image, [rf["conv1"], rf["conv2"]], margin=8)
        >>> len(fig.axes[0].patches)                    # the image's frame and one rectangle per layer
        3
    """
    from matplotlib.patches import Rectangle

    rows = [rows] if hasattr(rows, "size") else list(rows)
    margin = V.non_negative_int(margin, "margin")
    fig, ax = new_axes(ax, figsize)
    show_image(image, title=title, ax=ax)
    colors = ["yellow", "orange", "red", "magenta", "cyan", "lime", "white", "blue"]
    height, width = np.asarray(image).shape[:2]
    for i, row in enumerate(rows):
        if len(row.size) != 2 or row.is_global:
            raise ValueError(f"Expected the 2D, spatial field of a layer; received {row.name!r} with sizes "
                             f"{row.size} ({'global' if row.is_global else 'spatial'}).")
        unit = [n // 2 for n in row.output_shape[:2]]
        top = row.start[0] + unit[0] * row.jump[0]
        left = row.start[1] + unit[1] * row.jump[1]
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), row.size[1], row.size[0], fill=False,
                               edgecolor=colors[i % len(colors)], linewidth=1.5,
                               label=f"{row.name}: {row.size[0]}x{row.size[1]}"))
    if margin:
        ax.set_facecolor("0.85")  # the canvas outside the image
        ax.add_patch(Rectangle((-0.5, -0.5), width, height, fill=False, edgecolor="white", linewidth=1.0))
    ax.set_xlim(-0.5 - margin, width - 0.5 + margin)
    ax.set_ylim(height - 0.5 + margin, -0.5 - margin)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    return fig


def show_patches(image, patch_size: int, title: str | None = None, axes=None, max_patches: int = 16):
    """An image with its patch grid drawn on it, and its first patches as the tokens a ViT sees.

    Args:
        image: ``(H, W, C)`` or ``(H, W)`` in ``[0, 1]``; ``H`` and ``W`` multiples of ``patch_size``.
        patch_size: side of the patches.
        axes: two existing axes (image, token strip) or ``None``.
        max_patches: how many patches to lay out in a row, in reading order.

    Returns:
        The Figure.
    """
    image = V.images_in_unit_range(image, "image", ndim=(2, 3))
    patch_size = V.positive_int(patch_size, "patch_size")
    max_patches = V.positive_int(max_patches, "max_patches")
    h, w = image.shape[:2]
    if h % patch_size or w % patch_size:
        raise ValueError(f"patch_size must divide the image's height and width {(h, w)}; received {patch_size}.")
    if image.ndim == 2:
        image = image[..., None]
    fig, (left, right) = grid_axes(2, ncols=2, axes=axes, panel_size=2.4, aspect=1.0)
    show_image(image, title=title or f"{patch_size}x{patch_size} patches", ax=left)
    for k in range(1, h // patch_size):
        left.axhline(k * patch_size - 0.5, color="white", linewidth=0.8)
    for k in range(1, w // patch_size):
        left.axvline(k * patch_size - 0.5, color="white", linewidth=0.8)
    grid = image.reshape(h // patch_size, patch_size, w // patch_size, patch_size, -1).swapaxes(1, 2)
    tokens = grid.reshape(-1, patch_size, patch_size, grid.shape[-1])[:max_patches]
    gap = np.ones((patch_size, 1, tokens.shape[-1]), dtype=np.float32)
    strip = np.concatenate([np.concatenate([t, gap], axis=1) for t in tokens], axis=1)
    show_image(strip, title=f"the first {len(tokens)} tokens, in order", ax=right)
    return fig
