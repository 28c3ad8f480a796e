"""Convolutions over time: (2+1)D factorisation, weight inflation and the costs of 3D kernels.

A video clip is a 5D tensor ``(batch, time, height, width, channels)``. A
``keras.layers.Conv3D`` slides a ``(t, k, k)`` kernel over time *and* space, so
it can respond to motion: a pattern at one place in one frame and at a nearby
place in the next. This module holds what the course needs on top of Keras:

* :func:`intermediate_filters`, the width of an R(2+1)D block (Tran et al., 2018,
  "A Closer Look at Spatiotemporal Convolutions for Action Recognition") by the
  paper's parameter-matching rule; the block itself is the layer
  :class:`cnnkit.layers.Conv2Plus1D`;
* :func:`inflate_2d_to_3d`, I3D's weight inflation (Carreira & Zisserman, 2017):
  repeat a 2D kernel ``t`` times along time and divide by ``t``, so a clip of one
  repeated frame gives exactly the 2D response;
* :func:`conv3d_params`, :func:`conv2plus1d_params` and :func:`conv_macs`: the
  parameter and multiply-accumulate counts, as formulas to check models against;
* :func:`temporal_saliency`: which frames a video model's decision depends on.

This module is task maths (NumPy, no layer and no model), like every top-level
task module; the video layers live in :mod:`cnnkit.layers.video` and the video
models in :mod:`cnnkit.models.video`.
"""

from __future__ import annotations

import math

import numpy as np

from cnnkit import _validate as V
from cnnkit._deprecated import moved
from cnnkit.analysis.inspect import class_probabilities

# ---------------------------------------------------------------- parameter and cost formulas


def intermediate_filters(in_channels: int, filters: int, kernel_size=3) -> int:
    """Width ``M`` of a (2+1)D block by the R(2+1)D parameter-matching rule.

    ``M = floor(t * d**2 * N_in * N_out / (d**2 * N_in + t * N_out))`` (Tran et
    al., 2018, Sec. 3.5), for a ``(t, d, d)`` kernel: the spatial ``(1, d, d)``
    convolution ``N_in -> M`` plus the temporal ``(t, 1, 1)`` convolution
    ``M -> N_out`` then have at most (and about) the weights of one full
    ``(t, d, d)`` convolution ``N_in -> N_out``. For non-square kernels ``d**2``
    becomes ``k_h * k_w``.

    Example:
        >>> intermediate_filters(64, 64, 3)  # the paper's first block in R(2+1)D-18
        144
    """
    n_in, n_out = V.positive_int(in_channels, "in_channels"), V.positive_int(filters, "filters")
    t, kh, kw = V.triple(kernel_size, "kernel_size")
    area = kh * kw
    return (t * area * n_in * n_out) // (area * n_in + t * n_out)


def conv3d_params(in_channels: int, filters: int, kernel_size=3, use_bias: bool = True) -> int:
    """Parameters of ``Conv3D(filters, kernel_size)`` on ``in_channels`` channels: ``t*k_h*k_w*C_in*C_out (+ C_out)``.

    Example:
        >>> conv3d_params(64, 64, 3, use_bias=False)
        110592
    """
    t, kh, kw = V.triple(kernel_size, "kernel_size")
    n_in, n_out = V.positive_int(in_channels, "in_channels"), V.positive_int(filters, "filters")
    return t * kh * kw * n_in * n_out + (n_out if V.boolean(use_bias, "use_bias") else 0)


def conv2plus1d_params(
    in_channels: int,
    filters: int,
    kernel_size=3,
    intermediate=None,
    use_bias: bool = True,
    batch_norm: bool = True,
) -> int:
    """Parameters of a :class:`Conv2Plus1D` block (all weights, trainable or not).

    spatial ``k_h*k_w*C_in*M`` (+ ``M`` bias when there is no batch norm),
    batch norm ``4*M`` (gamma, beta, moving mean, moving variance), temporal
    ``t*M*C_out`` (+ ``C_out`` bias). ``intermediate=None`` uses
    :func:`intermediate_filters`.

    Example:
        >>> conv2plus1d_params(64, 64, 3, use_bias=False, batch_norm=False)
        110592
    """
    t, kh, kw = V.triple(kernel_size, "kernel_size")
    n_in, n_out = V.positive_int(in_channels, "in_channels"), V.positive_int(filters, "filters")
    use_bias, batch_norm = V.boolean(use_bias, "use_bias"), V.boolean(batch_norm, "batch_norm")
    m = V.positive_int(intermediate, "intermediate", allow_none=True) or intermediate_filters(n_in, n_out, (t, kh, kw))
    spatial = kh * kw * n_in * m + (m if use_bias and not batch_norm else 0)
    norm = 4 * m if batch_norm else 0
    temporal = t * m * n_out + (n_out if use_bias else 0)
    return spatial + norm + temporal


def conv_macs(output_shape, kernel_size, in_channels: int, groups: int = 1) -> int:
    """Multiply-accumulates of one convolution: output positions x kernel volume x ``C_in / groups``.

    Works for any number of dimensions: a Conv2D has output ``(H, W, C_out)``
    and kernel ``(k_h, k_w)``, a Conv3D has output ``(T, H, W, C_out)`` and kernel
    ``(t, k_h, k_w)``. Each output value costs one multiply-accumulate per kernel
    tap and input channel it sees.

    Args:
        output_shape: output shape without the batch axis, channels last.
        kernel_size: the kernel's spatial (and temporal) extent, one int per non-channel axis.
        in_channels: input channels.
        groups: channel groups (``in_channels`` for a depthwise convolution).

    Example:
        >>> conv_macs((8, 32, 32, 16), (3, 3, 3), in_channels=1)  # Conv3D on an 8-frame clip
        3538944
    """
    output_shape = V.positive_ints(output_shape, "output_shape", min_length=2, what="channels last")
    in_channels, groups = V.positive_int(in_channels, "in_channels"), V.positive_int(groups, "groups")
    kernel = V.as_tuple(kernel_size, "kernel_size", len(output_shape) - 1,
                        axes="(one per non-channel output axis)")
    if in_channels % groups:
        raise ValueError(f"groups must divide in_channels ({in_channels}); received groups={groups}.")
    return math.prod(output_shape) * math.prod(kernel) * (in_channels // groups)


# ---------------------------------------------------------------- inflation


def inflate_2d_to_3d(conv2d_weights, time: int):
    """Inflate 2D convolution weights to 3D (I3D): repeat the kernel ``time`` times along time, divide by ``time``.

    A clip made of one frame repeated then gives, at every time step where the
    3D kernel sees only real frames, exactly the 2D layer's response to that
    frame: the ``time`` copies of ``kernel / time`` add up to ``kernel``. That is
    how I3D (Carreira & Zisserman, 2017) starts a video network from an image
    network's trained weights.

    Args:
        conv2d_weights: a Conv2D kernel ``(k_h, k_w, C_in, C_out)``, or the list
            ``layer.get_weights()`` returns (``[kernel]`` or ``[kernel, bias]``).
        time: temporal extent ``t`` of the 3D kernel.

    Returns:
        The 3D kernel ``(t, k_h, k_w, C_in, C_out)``, or ``[kernel_3d, bias]`` /
        ``[kernel_3d]`` when given a list (the bias is unchanged), ready for
        ``Conv3D.set_weights``.

    Example:
        >>> inflate_2d_to_3d(np.ones((3, 3, 1, 4)), time=4).shape
        (4, 3, 3, 1, 4)
    """
    t = V.positive_int(time, "time")
    given_list = isinstance(conv2d_weights, (list, tuple))
    parts = list(conv2d_weights) if given_list else [conv2d_weights]
    if not parts or len(parts) > 2:
        raise ValueError(
            "conv2d_weights must be a kernel (k_h, k_w, C_in, C_out) or a [kernel] / [kernel, bias] list; "
            f"received a list of {len(parts)} arrays."
        )
    raw = np.asarray(parts[0])
    kernel = V.finite_array(raw, "conv2d_weights", raw.dtype if np.issubdtype(raw.dtype, np.floating) else np.float32)
    if kernel.ndim != 4:
        raise ValueError(f"conv2d_weights must hold a Conv2D kernel of shape (k_h, k_w, C_in, C_out); received "
                         f"{V.describe(kernel)}.")
    inflated = np.repeat(kernel[None], t, axis=0) / t
    inflated = inflated.astype(kernel.dtype if np.issubdtype(kernel.dtype, np.floating) else np.float32)
    if not given_list:
        return inflated
    return [inflated, *[np.asarray(p) for p in parts[1:]]]


# ---------------------------------------------------------------- which frames matter


def _clips(clips) -> np.ndarray:
    """An array of real numbers, no NaN, never 0-255 clips (cnnkit's clips are in [0, 1]); not converted."""
    raw = np.asarray(clips)
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_) or np.iscomplexobj(raw):
        V.fail("clips", "an array of clips (N, T, H, W, C) of real numbers", clips, wrong_type=True)
    return V.model_inputs(raw, "clips")


def blank_frame(clips, t: int, fill: float = 0.0) -> np.ndarray:
    """Copies of ``clips`` ``(N, T, H, W, C)`` in which frame ``t`` is replaced by a blank frame of value ``fill``.

    "Frame ``t`` went missing": whatever the model read from that frame, alone or
    together with its neighbours (the motion into and out of it), is gone.
    """
    clips = _clips(clips)
    if clips.ndim != 5:
        raise ValueError(f"clips must have shape (N, T, H, W, C); received {V.describe(clips)}.")
    t = V.integer(t, "t", 0, clips.shape[1] - 1)
    fill = V.number(fill, "fill")
    blanked = clips.copy()
    blanked[:, t] = fill
    return blanked


def temporal_saliency(model, clips, class_index=None, fill: float = 0.0, from_logits: bool = True,
                      batch_size: int = 64):
    """Which frames drive a video model's decision: the drop in class probability when a frame goes missing.

    For every frame ``t`` the clip is changed in one place, frame ``t`` blanked
    (:func:`blank_frame`), and the model's probability for the explained class
    is measured again. The drop is the frame's saliency: large where the
    decision depends on what the clip shows at ``t``, near zero where it does
    not. It is an occlusion test (Zeiler & Fergus, 2014) along time, so it
    needs no gradients and works on every backend. (Gradients of the score with
    respect to each frame mostly show the shape of the temporal receptive field
    instead: they are large wherever the model *could* look.)

    Args:
        model: a video classifier on ``(batch, T, H, W, C)`` clips.
        clips: ``(N, T, H, W, C)``, or one clip ``(T, H, W, C)``.
        class_index: the class to explain (int); default: each clip's predicted class.
        fill: value of the blank frame (0 is the black background of the moving-dot clips).
        from_logits: the model outputs logits (cnnkit's convention); ``False`` if it outputs probabilities.
        batch_size: clips per forward pass.

    Returns:
        ``(saliency, classes)``: ``(N, T)`` probability drops (negative when losing
        a frame makes the model *more* sure) and the explained class per clip
        (without ``N`` for one clip).

    Example:
        >>> saliency, classes = temporal_saliency(model, clips[:16])   # doctest: +SKIP
    """
    clips = _clips(clips).astype(np.float32, copy=False)
    fill, from_logits = V.number(fill, "fill"), V.boolean(from_logits, "from_logits")
    batch_size = V.positive_int(batch_size, "batch_size")
    single = clips.ndim == 4
    if single:
        clips = clips[None]
    if clips.ndim != 5 or clips.shape[1] < 2:
        raise ValueError(
            f"clips must have shape (N, T, H, W, C) or (T, H, W, C) with T >= 2; received shape {clips.shape}."
        )
    V.fits_model(clips, model, "clips")

    def probabilities(x):
        return class_probabilities(model, x, batch_size=batch_size, from_logits=from_logits)

    base = probabilities(clips)
    num_classes = base.shape[-1]
    class_index = V.integer(class_index, "class_index", 0, num_classes - 1, allow_none=True)
    classes = base.argmax(axis=-1) if class_index is None else np.full(len(clips), class_index)
    rows = np.arange(len(clips))
    saliency = np.stack(
        [base[rows, classes] - probabilities(blank_frame(clips, t, fill))[rows, classes] for t in range(clips.shape[1])],
        axis=1,
    )
    return (saliency[0], int(classes[0])) if single else (saliency, classes)


# Moved: the layer lives with every other layer now (cnnkit.layers.Conv2Plus1D).
__getattr__ = moved(__name__, {"Conv2Plus1D": "cnnkit.layers.video"})
