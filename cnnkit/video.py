"""Convolutions over time: (2+1)D factorisation, weight inflation and the costs of 3D kernels.

A video clip is a 5D tensor ``(batch, time, height, width, channels)``. A
``keras.layers.Conv3D`` slides a ``(t, k, k)`` kernel over time *and* space, so
it can respond to motion: a pattern at one place in one frame and at a nearby
place in the next. This module holds what the course needs on top of Keras:

* :class:`Conv2Plus1D`, the R(2+1)D block (Tran et al., 2018, "A Closer Look at
  Spatiotemporal Convolutions for Action Recognition"): a spatial ``(1, k, k)``
  convolution, a nonlinearity, then a temporal ``(t, 1, 1)`` convolution, with
  the intermediate width chosen by the paper's rule (:func:`intermediate_filters`)
  so the block has about the parameters of the full 3D convolution it replaces;
* :func:`inflate_2d_to_3d`, I3D's weight inflation (Carreira & Zisserman, 2017):
  repeat a 2D kernel ``t`` times along time and divide by ``t``, so a clip of one
  repeated frame gives exactly the 2D response;
* :func:`conv3d_params`, :func:`conv2plus1d_params` and :func:`conv_macs`: the
  parameter and multiply-accumulate counts, as formulas to check models against.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from cnnkit.ops import conv_output_size

# ---------------------------------------------------------------- argument checks


def _triple(value, name: str) -> tuple[int, int, int]:
    """Turn an int or three ints into a validated ``(t, h, w)`` triple of positive ints."""
    triple = (value,) * 3 if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        triple = tuple(triple)
    except TypeError:
        triple = ()
    if len(triple) != 3 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in triple
    ):
        raise ValueError(f"{name} must be a positive int or three positive ints (t, h, w); received {value!r}.")
    return tuple(int(v) for v in triple)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; received {value!r}.")
    return int(value)


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
    n_in, n_out = _positive_int(in_channels, "in_channels"), _positive_int(filters, "filters")
    t, kh, kw = _triple(kernel_size, "kernel_size")
    area = kh * kw
    return (t * area * n_in * n_out) // (area * n_in + t * n_out)


def conv3d_params(in_channels: int, filters: int, kernel_size=3, use_bias: bool = True) -> int:
    """Parameters of ``Conv3D(filters, kernel_size)`` on ``in_channels`` channels: ``t*k_h*k_w*C_in*C_out (+ C_out)``.

    Example:
        >>> conv3d_params(64, 64, 3, use_bias=False)
        110592
    """
    t, kh, kw = _triple(kernel_size, "kernel_size")
    n_in, n_out = _positive_int(in_channels, "in_channels"), _positive_int(filters, "filters")
    return t * kh * kw * n_in * n_out + (n_out if use_bias else 0)


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
    t, kh, kw = _triple(kernel_size, "kernel_size")
    n_in, n_out = _positive_int(in_channels, "in_channels"), _positive_int(filters, "filters")
    m = intermediate_filters(n_in, n_out, (t, kh, kw)) if intermediate is None else _positive_int(intermediate, "intermediate")
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
    output_shape = tuple(int(s) for s in output_shape)
    kernel = tuple(int(k) for k in np.atleast_1d(kernel_size))
    if len(kernel) != len(output_shape) - 1:
        raise ValueError(
            f"kernel_size needs one entry per non-channel output axis ({len(output_shape) - 1} for output "
            f"shape {output_shape}); received {kernel_size!r}."
        )
    if in_channels % groups:
        raise ValueError(f"in_channels ({in_channels}) must be divisible by groups ({groups}).")
    return math.prod(output_shape) * math.prod(kernel) * (in_channels // groups)


# ---------------------------------------------------------------- the (2+1)D block


@keras.saving.register_keras_serializable(package="cnnkit")
class Conv2Plus1D(keras.layers.Layer):
    """A (2+1)D convolution: spatial ``(1, k_h, k_w)``, batch norm and ReLU, then temporal ``(t, 1, 1)``.

    Factorising a ``(t, k_h, k_w)`` Conv3D into a 2D spatial and a 1D temporal
    convolution (R(2+1)D, Tran et al., 2018) keeps about the same number of
    parameters (the intermediate width follows :func:`intermediate_filters`)
    but adds a nonlinearity between space and time, and in the paper trains
    easier and generalises better than the full 3D convolution.

    Args:
        filters: output channels ``N_out``.
        kernel_size: int or ``(t, k_h, k_w)``; the full 3D kernel being factorised.
        strides: int or ``(s_t, s_h, s_w)``: the spatial strides go to the
            spatial convolution, the temporal stride to the temporal one.
        padding: ``"same"`` or ``"valid"``.
        intermediate_filters: width ``M`` between the two convolutions; ``None``
            (default) applies the paper's parameter-matching rule.
        batch_norm: batch normalisation between the two convolutions (as in the
            paper). The spatial convolution then has no bias (batch norm's beta replaces it).
        batch_norm_momentum: momentum of batch norm's moving statistics (Keras's default 0.99;
            0.9 follows the data faster in short trainings).
        intermediate_activation: activation between the two convolutions (default ``"relu"``).
        activation: activation applied to the output (default none, like ``Conv3D``).
        use_bias: bias of the temporal convolution (and of the spatial one when ``batch_norm=False``).
        kernel_initializer: initializer of both kernels.

    Input shape:
        ``(batch, time, height, width, channels)``.

    Output shape:
        ``(batch, time', height', width', filters)``, the same as
        ``Conv3D(filters, kernel_size, strides, padding)`` would give.

    Example:
        >>> layer = Conv2Plus1D(64, kernel_size=3)
        >>> layer(keras.ops.zeros((2, 8, 16, 16, 64))).shape
        (2, 8, 16, 16, 64)
        >>> layer.intermediate_width
        144
    """

    def __init__(
        self,
        filters: int,
        kernel_size=3,
        strides=1,
        padding: str = "same",
        intermediate_filters: int | None = None,
        batch_norm: bool = True,
        batch_norm_momentum: float = 0.99,
        intermediate_activation="relu",
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = _positive_int(filters, "filters")
        self.kernel_size = _triple(kernel_size, "kernel_size")
        self.strides = _triple(strides, "strides")
        if not isinstance(padding, str) or padding.lower() not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid'; received {padding!r}.")
        self.padding = padding.lower()
        if intermediate_filters is not None:
            intermediate_filters = _positive_int(intermediate_filters, "intermediate_filters")
        self.intermediate_filters = intermediate_filters
        self.batch_norm = bool(batch_norm)
        if isinstance(batch_norm_momentum, bool) or not isinstance(batch_norm_momentum, (int, float)) \
                or not 0.0 <= batch_norm_momentum < 1.0:
            raise ValueError(f"batch_norm_momentum must be a number in [0, 1); received {batch_norm_momentum!r}.")
        self.batch_norm_momentum = float(batch_norm_momentum)
        self.intermediate_activation = keras.activations.get(intermediate_activation)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.intermediate_width = intermediate_filters  # set in build() when chosen by the rule
        self.spatial = self.norm = self.temporal = None

    def build(self, input_shape):
        if len(input_shape) != 5 or input_shape[-1] is None:
            raise ValueError(
                "Conv2Plus1D expects inputs of shape (batch, time, height, width, channels) with a known "
                f"number of channels; received {tuple(input_shape)}."
            )
        t, kh, kw = self.kernel_size
        st, sh, sw = self.strides
        in_channels = int(input_shape[-1])
        if self.intermediate_width is None:
            self.intermediate_width = intermediate_filters(in_channels, self.filters, self.kernel_size)
        self.spatial = keras.layers.Conv3D(
            self.intermediate_width, (1, kh, kw), strides=(1, sh, sw), padding=self.padding,
            use_bias=self.use_bias and not self.batch_norm, kernel_initializer=self.kernel_initializer,
            name="spatial",
        )
        self.spatial.build(input_shape)
        shape = self.spatial.compute_output_shape(input_shape)
        if self.batch_norm:
            self.norm = keras.layers.BatchNormalization(momentum=self.batch_norm_momentum, name="norm")
            self.norm.build(shape)
        self.temporal = keras.layers.Conv3D(
            self.filters, (t, 1, 1), strides=(st, 1, 1), padding=self.padding, use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer, name="temporal",
        )
        self.temporal.build(shape)
        self.built = True

    def call(self, inputs, training=None):
        x = self.spatial(inputs)
        if self.norm is not None:
            x = self.norm(x, training=training)
        x = self.intermediate_activation(x)
        return self.activation(self.temporal(x))

    def compute_output_shape(self, input_shape):
        sizes = [
            None if n is None else conv_output_size(int(n), k, s, self.padding)
            for n, k, s in zip(input_shape[1:4], self.kernel_size, self.strides)
        ]
        return (input_shape[0], *sizes, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            intermediate_filters=self.intermediate_filters,
            batch_norm=self.batch_norm,
            batch_norm_momentum=self.batch_norm_momentum,
            intermediate_activation=keras.activations.serialize(self.intermediate_activation),
            activation=keras.activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config


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
    t = _positive_int(time, "time")
    given_list = isinstance(conv2d_weights, (list, tuple))
    parts = list(conv2d_weights) if given_list else [conv2d_weights]
    if not parts or len(parts) > 2:
        raise ValueError(
            "conv2d_weights must be a kernel (k_h, k_w, C_in, C_out) or a [kernel] / [kernel, bias] list; "
            f"received a list of {len(parts)} arrays."
        )
    kernel = np.asarray(parts[0])
    if kernel.ndim != 4:
        raise ValueError(f"A Conv2D kernel has shape (k_h, k_w, C_in, C_out); received shape {kernel.shape}.")
    inflated = np.repeat(kernel[None], t, axis=0) / t
    inflated = inflated.astype(kernel.dtype if np.issubdtype(kernel.dtype, np.floating) else np.float32)
    if not given_list:
        return inflated
    return [inflated, *[np.asarray(p) for p in parts[1:]]]


# ---------------------------------------------------------------- which frames matter


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def blank_frame(clips, t: int, fill: float = 0.0) -> np.ndarray:
    """Copies of ``clips`` ``(N, T, H, W, C)`` in which frame ``t`` is replaced by a blank frame of value ``fill``.

    "Frame ``t`` went missing": whatever the model read from that frame, alone or
    together with its neighbours (the motion into and out of it), is gone.
    """
    clips = np.asarray(clips)
    if clips.ndim != 5 or not 0 <= t < clips.shape[1]:
        raise ValueError(f"Expected clips (N, T, H, W, C) and 0 <= t < T; received shape {clips.shape} and t={t!r}.")
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
    clips = np.asarray(clips, dtype=np.float32)
    single = clips.ndim == 4
    if single:
        clips = clips[None]
    if clips.ndim != 5 or clips.shape[1] < 2:
        raise ValueError(
            f"clips must have shape (N, T, H, W, C) or (T, H, W, C) with T >= 2; received shape {clips.shape}."
        )

    def probabilities(x):
        out = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
        return _softmax(out) if from_logits else out

    base = probabilities(clips)
    num_classes = base.shape[-1]
    if class_index is None:
        classes = base.argmax(axis=-1)
    elif isinstance(class_index, (int, np.integer)) and 0 <= class_index < num_classes:
        classes = np.full(len(clips), int(class_index))
    else:
        raise ValueError(f"class_index must be an int in [0, {num_classes - 1}] or None; received {class_index!r}.")
    rows = np.arange(len(clips))
    saliency = np.stack(
        [base[rows, classes] - probabilities(blank_frame(clips, t, fill))[rows, classes] for t in range(clips.shape[1])],
        axis=1,
    )
    return (saliency[0], int(classes[0])) if single else (saliency, classes)
