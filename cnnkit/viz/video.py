"""Plots for video: clips as filmstrips and small animated GIFs, space-time slices, 3D filters, frame saliency.

Same conventions as every ``cnnkit.viz`` function: single-panel plots take
``ax=None``, multi-panel ones ``axes=None``; each returns the Figure; nothing
touches Matplotlib's global settings. The one exception is the animation,
which is not a Matplotlib figure: :func:`clip_to_gif` returns the bytes of an
animated GIF (drawn with Pillow, no ffmpeg needed) and :func:`animate_clips`
wraps them for inline display in Jupyter.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np

from cnnkit import _validate as V
from cnnkit.viz.core import floats, grid_axes, new_axes, show_image


def _as_clips(clips) -> np.ndarray:
    """Accept one clip ``(T, H, W, C)`` or a batch ``(N, T, H, W, C)``; return the batch, float32."""
    raw = np.asarray(clips)
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_) or np.iscomplexobj(raw):
        V.fail("clips", "a clip (T, H, W, C) or a batch of clips (N, T, H, W, C) of real numbers", clips,
               wrong_type=True)
    if 0 in raw.shape:
        raise ValueError(f"clips must hold at least one frame; received {V.describe(raw)}.")
    V.model_inputs(raw if raw.ndim != 4 else raw[None], "clips")  # NaN and 0-255 clips refused
    clips = raw.astype(np.float32, copy=False)
    if clips.ndim == 4:
        clips = clips[None]
    if clips.ndim != 5 or clips.shape[-1] not in (1, 3):
        raise ValueError(
            "Expected a clip (T, H, W, C) or a batch of clips (N, T, H, W, C) with C = 1 or 3; "
            f"received shape {clips.shape}."
        )
    return clips


# ---------------------------------------------------------------- filmstrips


def show_filmstrip(clips, row_titles=None, frame_step: int = 1, max_frames: int | None = None, axes=None,
                   panel_size: float = 1.0):
    """Show clips as filmstrips: one row per clip, one panel per frame, time running left to right.

    Args:
        clips: one clip ``(T, H, W, C)`` or a batch ``(N, T, H, W, C)``.
        row_titles: one title per clip (shown left of its row), or ``None``.
        frame_step: show every ``frame_step``-th frame.
        max_frames: show at most this many frames per clip.
        axes: ``N * frames`` Axes to draw into, or ``None`` for a new figure.
        panel_size: inches per frame.

    Returns:
        The Figure.

    Example:
        >>> show_filmstrip(clips[:4], row_titles=["right", "up", "left", "down"]);   # doctest: +SKIP
    """
    clips = _as_clips(clips)
    frame_step = V.positive_int(frame_step, "frame_step")
    max_frames = V.positive_int(max_frames, "max_frames", allow_none=True)
    row_titles = V.names(row_titles, "row_titles", count=len(clips))
    times = list(range(0, clips.shape[1], frame_step))[:max_frames]
    if row_titles is not None and len(row_titles) != len(clips):
        raise ValueError(f"row_titles must have one entry per clip ({len(clips)}); received {len(row_titles)}.")
    fig, flat = grid_axes(len(clips) * len(times), ncols=len(times), axes=axes, panel_size=panel_size)
    for row, clip in enumerate(clips):
        for col, t in enumerate(times):
            ax = flat[row * len(times) + col]
            show_image(clip[t], title=f"t={t}" if row == 0 else None, ax=ax)
            if col == 0 and row_titles is not None:
                ax.set_ylabel(str(row_titles[row]), fontsize=9)
    return fig


def space_time_slice(clip, axis: str = "x") -> np.ndarray:
    """Collapse a clip to one image with time as rows: the average over the other spatial axis.

    ``axis="x"`` gives a ``(T, W)`` image (time down, x across), ``axis="y"`` a
    ``(T, H)`` one. Something moving along that axis draws a slanted line whose
    slope is its speed, which is why motion is *orientation in space-time*, and
    why an oriented 3D kernel can detect it.
    """
    V.choice(axis, "axis", ("x", "y"))
    clip = _as_clips(clip)[0].mean(axis=-1)  # (T, H, W), channels averaged
    return clip.mean(axis=1) if axis == "x" else clip.mean(axis=2)


def show_space_time(clip, axis: str = "x", title: str | None = None, ax=None, figsize=(2.2, 2.0)):
    """Draw :func:`space_time_slice` of a clip: time runs down, the chosen spatial axis across.

    Returns:
        The Figure.
    """
    fig, ax = new_axes(ax, figsize)
    image = space_time_slice(clip, axis)
    ax.imshow(image, cmap="gray", aspect="auto", interpolation="nearest")
    ax.set_xlabel(axis, fontsize=8)
    ax.set_ylabel("time", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks(range(0, image.shape[0], max(1, image.shape[0] // 4)))
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


# ---------------------------------------------------------------- animation


def clip_to_gif(clips, fps: float = 4.0, scale: int = 3, gap: int = 2, path=None) -> bytes:
    """An animated GIF of one clip or several clips side by side (all play in step); returns its bytes.

    Args:
        clips: ``(T, H, W, C)`` or ``(N, T, H, W, C)``, values in ``[0, 1]``.
        fps: frames per second.
        scale: each pixel becomes a ``scale x scale`` block (nearest neighbour, so dots stay crisp).
        gap: pixels of mid-grey between neighbouring clips.
        path: also write the GIF to this file.

    Returns:
        The GIF file as ``bytes`` (loops forever).

    Example:
        >>> data = clip_to_gif(np.zeros((4, 8, 8, 1)))
        >>> data[:6]
        b'GIF89a'
    """
    from PIL import Image

    clips = _as_clips(clips)
    scale, fps, gap = V.positive_int(scale, "scale"), V.positive_float(fps, "fps"), V.non_negative_int(gap, "gap")
    n, frames, height, width, channels = clips.shape
    V.memory(4.0 * frames * height * scale * (n * width + (n - 1) * gap) * scale * channels * 2, "scale", scale,
             "the GIF's frames")
    pixels = np.clip(clips, 0.0, 1.0)
    canvas = np.full((frames, height, n * width + (n - 1) * gap, channels), 0.5, dtype=np.float32)
    for i in range(n):
        left = i * (width + gap)
        canvas[:, :, left : left + width] = pixels[i]
    canvas = np.repeat(np.repeat(canvas, scale, axis=1), scale, axis=2)
    # 32 grey levels are plenty for the eye and keep the GIF small (fewer colours compress better).
    canvas = (np.round(canvas * 31) * (255 / 31) + 0.5).astype(np.uint8)
    mode = "L" if channels == 1 else "RGB"
    images = [Image.fromarray(frame[..., 0] if channels == 1 else frame, mode=mode) for frame in canvas]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(round(1000 / fps)), loop=0)
    data = buffer.getvalue()
    if path is not None:
        with open(path, "wb") as f:
            f.write(data)
    return data


def animate_clips(clips, labels=None, fps: float = 4.0, scale: int = 3):
    """Play clips side by side, inline in Jupyter, as a small animated GIF (with an optional caption).

    Args:
        clips: ``(T, H, W, C)`` or ``(N, T, H, W, C)``.
        labels: one caption per clip, shown under the animation in order, or ``None``.
        fps, scale: as in :func:`clip_to_gif`.

    Returns:
        An ``IPython.display.HTML`` object: the last expression of a cell displays it.
    """
    from IPython.display import HTML

    clips = _as_clips(clips)
    if labels is not None and len(labels) != len(clips):
        raise ValueError(f"labels must have one entry per clip ({len(clips)}); received {len(labels)}.")
    encoded = base64.b64encode(clip_to_gif(clips, fps=fps, scale=scale)).decode("ascii")
    caption = ""
    if labels is not None:
        caption = f"<div style='font-size:0.85em'>{html.escape(' | '.join(str(x) for x in labels))}</div>"
    return HTML(f"<img src='data:image/gif;base64,{encoded}' style='image-rendering:pixelated'>{caption}")


# ---------------------------------------------------------------- filters and saliency


def show_temporal_filters(kernel, max_filters: int = 8, in_channel: int | None = None, axes=None,
                          panel_size: float = 0.9, filters=None, titles=None):
    """Show 3D convolution kernels as columns of time slices: what each filter looks for, frame by frame.

    One column per filter, one row per time step of the kernel. A filter whose
    pattern shifts from one time slice to the next responds to something moving
    that way. Each filter (column) shares one colour scale, centred on zero (red
    positive, blue negative).

    Args:
        kernel: a ``Conv3D`` kernel ``(t, k_h, k_w, C_in, C_out)`` (``layer.get_weights()[0]``).
        max_filters: show the first this many output filters (when ``filters`` is ``None``).
        in_channel: show this input channel; ``None`` averages over input channels.
        axes: ``t * filters`` Axes (row-major), or ``None`` for a new figure.
        filters: indices of the output filters to show, in this order (e.g. the most
            direction-selective ones); ``None`` shows the first ``max_filters``.
        titles: one title per shown filter (default ``"filter <index>"``).

    Returns:
        The Figure.
    """
    max_filters = V.positive_int(max_filters, "max_filters")
    kernel = floats(kernel, "kernel")
    if kernel.ndim != 5:
        raise ValueError(f"Expected a Conv3D kernel (t, k_h, k_w, C_in, C_out); received shape {kernel.shape}.")
    in_channel = V.integer(in_channel, "in_channel", 0, kernel.shape[3] - 1, allow_none=True)
    kernel = kernel.mean(axis=3) if in_channel is None else kernel[:, :, :, in_channel]
    t = kernel.shape[0]
    if filters is None:
        chosen = list(range(min(kernel.shape[-1], max_filters)))
    else:
        items = V.as_sequence(filters)
        if not items:
            V.fail("filters", "a non-empty sequence of filter indices", filters)
        chosen = [V.integer(f, "filters", 0, kernel.shape[-1] - 1) for f in items]
    if titles is None:
        titles = [f"filter {f}" for f in chosen]
    elif len(titles) != len(chosen):
        raise ValueError(f"titles must have one entry per shown filter ({len(chosen)}); received {len(titles)}.")
    n = len(chosen)
    fig, flat = grid_axes(n * t, ncols=n, axes=axes, panel_size=panel_size)
    for column, (f, title) in enumerate(zip(chosen, titles)):
        limit = float(np.abs(kernel[..., f]).max()) or 1.0
        for step in range(t):
            ax = flat[step * n + column]
            ax.imshow(kernel[step, :, :, f], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if step == 0:
                ax.set_title(title, fontsize=8)
            if column == 0:
                ax.set_ylabel(f"t={step}", fontsize=8)
    return fig


def plot_temporal_saliency(saliency, ax=None, title: str | None = None, window=None, figsize=(4.0, 2.6)):
    """Bar chart of how much each frame matters (see :func:`cnnkit.video.temporal_saliency`).

    Args:
        saliency: ``(T,)`` for one clip, or ``(N, T)`` for several (bars show the mean,
            error bars the standard deviation).
        title: panel title.
        window: optional ``(start, stop)`` frames to shade, e.g. where the clip really moves.

    Returns:
        The Figure.
    """
    saliency = floats(saliency, "saliency", np.float64)
    if saliency.ndim == 1:
        saliency = saliency[None]
    if saliency.ndim != 2:
        raise ValueError(f"saliency must have shape (T,) or (N, T); received shape {saliency.shape}.")
    fig, ax = new_axes(ax, figsize)
    frames = np.arange(saliency.shape[1])
    spread = saliency.std(axis=0) if len(saliency) > 1 else None
    if window is not None:
        ax.axvspan(window[0] - 0.5, window[1] - 0.5, color="tab:orange", alpha=0.2, label="frames that move")
        ax.legend(fontsize=8, loc="upper left")
    ax.bar(frames, saliency.mean(axis=0), yerr=spread, color="tab:blue", capsize=2)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(frames)
    ax.set_xlabel("frame blanked", fontsize=9)
    ax.set_ylabel("drop in class probability", fontsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
