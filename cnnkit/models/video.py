"""Video classifiers on clips ``(time, height, width, channels)``: where, and whether, time is mixed in.

Four small models that differ in one thing, how they use the time axis:

* ``per_frame_cnn``: a 2D CNN applied to every frame on its own, features
  averaged over time (the baseline). Written as ``Conv3D`` layers with
  temporal kernel size 1, which is exactly a 2D convolution per frame; its
  temporal receptive field is one frame, and averaging ignores frame order.
* ``c3d_small``: the same network with full ``(3, 3, 3)`` kernels (C3D, Tran
  et al., 2015): every layer mixes neighbouring frames.
* ``r2plus1d_small``: the same with :class:`cnnkit.layers.Conv2Plus1D` blocks,
  each about as big as the 3D convolution it replaces.
* ``cnn_gru``: per-frame 2D features fed, frame by frame, to a GRU (the
  "CNN + RNN" family, e.g. LRCN): time is mixed only at the end.
* ``early_fusion_cnn``: a 2D CNN on the frames stacked as channels (Karpathy
  et al., 2014's "early fusion"): time is mixed once, all of it, in the
  first layer.
* ``frame_difference_cnn``: the per-frame 2D CNN on differences of
  consecutive frames: time is mixed once, two frames at a time, before any
  learning.

All share the widths ``(16, 32, 64)`` by default, so their parameter counts
and speeds can be compared directly.
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit.layers.blocks import BN_EPSILON, BN_MOMENTUM
from cnnkit.layers.video import Conv2Plus1D
from cnnkit.models.registry import register_model

DEFAULT_CLIP_SHAPE = (8, 32, 32, 1)  # 8 frames of 32x32 grey: the moving-dot clips of notebook 07
DEFAULT_WIDTHS = (16, 32, 64)
CLIP_AXES = ("time", "height", "width", "channels")


def _check(input_shape, widths, num_classes, dropout) -> tuple[tuple[int, ...], tuple[int, ...]]:
    shape = V.shape(input_shape, "input_shape", CLIP_AXES)
    widths = V.positive_ints(widths, "widths")
    V.num_classes(num_classes)
    V.rate(dropout, "dropout")
    if shape[1] < 2 ** (len(widths) - 1) or shape[2] < 2 ** (len(widths) - 1):
        raise ValueError(
            f"input_shape {shape} is too small for {len(widths)} stages: each stage after the first halves "
            f"height and width, so they must be at least {2 ** (len(widths) - 1)}."
        )
    return shape, widths


def _pool_size(stage: int, frames_left: int, pool_time: bool) -> tuple[int, int, int]:
    """Stage 0 keeps the time axis (as C3D does: motion is read early); later stages halve it if it can."""
    halve_time = pool_time and stage >= 1 and frames_left >= 2
    return (2 if halve_time else 1, 2, 2)


def _video_convnet(conv, name, num_classes, input_shape, widths, dropout, pool_time, front=None, first_conv=None):
    """The shared skeleton: [conv, BN, ReLU, pool] per stage, global average pooling, classifier.

    ``front(x)`` (optional) transforms the clip before the first stage and
    ``first_conv(width, name)`` (optional) replaces ``conv`` in the first stage.
    """
    shape, widths = _check(input_shape, widths, num_classes, dropout)
    inputs = keras.Input(shape, name="clip")
    x = inputs if front is None else front(inputs)
    frames = x.shape[1]
    for stage, width in enumerate(widths):
        if stage:
            pool = _pool_size(stage, frames, pool_time)
            x = keras.layers.MaxPooling3D(pool, name=f"pool{stage}")(x)
            frames //= pool[0]
        make = first_conv if (stage == 0 and first_conv is not None) else conv
        x = make(width, f"conv{stage + 1}")(x)
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"bn{stage + 1}")(x)
        x = keras.layers.ReLU(name=f"relu{stage + 1}")(x)
    x = keras.layers.GlobalAveragePooling3D(name="avg_time_space")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


@register_model("per_frame_cnn", task="video")
def per_frame_cnn(num_classes: int = 4, input_shape=DEFAULT_CLIP_SHAPE, widths=DEFAULT_WIDTHS,
                  dropout: float = 0.0) -> keras.Model:
    """The baseline: a 2D CNN on every frame separately, averaged over time, then a linear classifier.

    Each convolution is ``Conv3D`` with kernel ``(1, 3, 3)``: the same 2D
    kernel applied to every frame, with no access to any other frame.
    ``GlobalAveragePooling3D`` then averages over space and time, so the output
    does not depend on the order of the frames at all.

    Args:
        num_classes: number of classes (outputs are logits).
        input_shape: ``(time, height, width, channels)``.
        widths: channels of each stage; stages after the first halve height and width.
        dropout: dropout rate before the classifier.

    Example:
        >>> model = per_frame_cnn(num_classes=4, input_shape=(8, 32, 32, 1))
        >>> model.output_shape
        (None, 4)
    """

    def conv(width, name):
        return keras.layers.Conv3D(width, (1, 3, 3), padding="same", use_bias=False, name=name)

    return _video_convnet(conv, "per_frame_cnn", num_classes, input_shape, widths, dropout, pool_time=False)


@register_model("c3d_small", task="video")
def c3d_small(num_classes: int = 4, input_shape=DEFAULT_CLIP_SHAPE, widths=DEFAULT_WIDTHS,
              dropout: float = 0.0, temporal_kernel: int = 3) -> keras.Model:
    """A small C3D: ``(3, 3, 3)`` Conv3D + batch norm + ReLU stages, time pooled after the first.

    Same skeleton and widths as :func:`per_frame_cnn`; the only change is the
    temporal extent of the kernels (``temporal_kernel``), so each layer sees
    neighbouring frames and the network can respond to motion.

    Args:
        num_classes, input_shape, widths, dropout: as in :func:`per_frame_cnn`.
        temporal_kernel: frames each kernel spans (1 gives back the per-frame model).

    Example:
        >>> c3d_small().count_params() > per_frame_cnn().count_params()
        True
    """
    temporal_kernel = V.positive_int(temporal_kernel, "temporal_kernel")

    def conv(width, name):
        return keras.layers.Conv3D(width, (temporal_kernel, 3, 3), padding="same", use_bias=False, name=name)

    return _video_convnet(conv, "c3d_small", num_classes, input_shape, widths, dropout, pool_time=True)


@register_model("r2plus1d_small", task="video")
def r2plus1d_small(num_classes: int = 4, input_shape=DEFAULT_CLIP_SHAPE, widths=DEFAULT_WIDTHS,
                   dropout: float = 0.0, temporal_kernel: int = 3) -> keras.Model:
    """A small R(2+1)D: :func:`c3d_small` with every ``(t, 3, 3)`` Conv3D replaced by a :class:`Conv2Plus1D`.

    Each (2+1)D block's intermediate width follows the R(2+1)D rule, so the
    model has about the parameters of ``c3d_small`` (a little more, for the
    batch norm inside each block), and twice as many nonlinearities.

    Args:
        num_classes, input_shape, widths, dropout, temporal_kernel: as in :func:`c3d_small`.

    Example:
        >>> r2plus1d_small().output_shape
        (None, 4)
    """
    temporal_kernel = V.positive_int(temporal_kernel, "temporal_kernel")

    def conv(width, name):
        return Conv2Plus1D(width, (temporal_kernel, 3, 3), padding="same", use_bias=False, name=name)

    return _video_convnet(conv, "r2plus1d_small", num_classes, input_shape, widths, dropout, pool_time=True)


@register_model("cnn_gru", task="video")
def cnn_gru(num_classes: int = 4, input_shape=DEFAULT_CLIP_SHAPE, widths=(16, 32, 32), units: int = 64,
            feature_channels: int = 8, dropout: float = 0.0) -> keras.Model:
    """A 2D CNN on every frame, then a GRU over the sequence of frame features ("CNN + RNN").

    The per-frame CNN is as in :func:`per_frame_cnn`. Its last feature map is
    squeezed to ``feature_channels`` channels by a 1x1 convolution and
    flattened *without* spatial pooling (pooling would throw away where things
    are, which is what motion is made of), then a GRU reads the frames in
    order and its last state is classified.

    Args:
        num_classes, input_shape, dropout: as in :func:`per_frame_cnn`.
        widths: channels of the per-frame CNN stages.
        units: GRU state size.
        feature_channels: channels per position fed to the GRU.

    Example:
        >>> cnn_gru().output_shape
        (None, 4)
    """
    shape, widths = _check(input_shape, widths, num_classes, dropout)
    units, feature_channels = V.positive_int(units, "units"), V.positive_int(feature_channels, "feature_channels")
    inputs = keras.Input(shape, name="clip")
    x = inputs
    for stage, width in enumerate(widths):
        if stage:
            x = keras.layers.MaxPooling3D((1, 2, 2), name=f"pool{stage}")(x)
        x = keras.layers.Conv3D(width, (1, 3, 3), padding="same", use_bias=False, name=f"conv{stage + 1}")(x)
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"bn{stage + 1}")(x)
        x = keras.layers.ReLU(name=f"relu{stage + 1}")(x)
    x = keras.layers.Conv3D(feature_channels, 1, activation="relu", name="squeeze")(x)
    x = keras.layers.Reshape((shape[0], -1), name="frame_features")(x)
    x = keras.layers.GRU(units, name="gru")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="cnn_gru")


def _per_frame_conv(width, name):
    return keras.layers.Conv3D(width, (1, 3, 3), padding="same", use_bias=False, name=name)


@register_model("early_fusion_cnn", task="video")
def early_fusion_cnn(num_classes: int = 4, input_shape=DEFAULT_CLIP_SHAPE, widths=DEFAULT_WIDTHS,
                     dropout: float = 0.0) -> keras.Model:
    """Early fusion: a 2D CNN whose input channels are all the frames of the clip, stacked.

    The first layer's kernel spans every frame, ``(T, 3, 3)`` with stride ``T``
    and no padding in time, so it is exactly a ``Conv2D`` on the ``T * C``-channel image of
    stacked frames (Karpathy et al., 2014, "early fusion"); its output has one
    time step, and the rest is :func:`per_frame_cnn`'s 2D network. It can read
    motion (each first-layer filter weighs every frame separately), but only
    with first-layer filters: after that, time is gone.

    Args:
        num_classes, input_shape, widths, dropout: as in :func:`per_frame_cnn`.

    Example:
        >>> early_fusion_cnn().get_layer("conv1").output.shape
        (None, 1, 32, 32, 16)
    """
    frames = V.shape(input_shape, "input_shape", CLIP_AXES)[0]

    def fused_conv(width, name):
        # Stride T over T frames: one time step and, under "same" padding, no padding in time
        # (padding in space only; an explicit ZeroPadding3D + "valid" would do the same, but
        # TensorFlow's graph optimizer logs an error on that pattern).
        return keras.layers.Conv3D(width, (frames, 3, 3), strides=(frames, 1, 1), padding="same", use_bias=False,
                                   name=name)

    return _video_convnet(_per_frame_conv, "early_fusion_cnn", num_classes, input_shape, widths, dropout,
                          pool_time=False, first_conv=fused_conv)


@register_model("frame_difference_cnn", task="video")
def frame_difference_cnn(num_classes: int = 4, input_shape=DEFAULT_CLIP_SHAPE, widths=DEFAULT_WIDTHS,
                         dropout: float = 0.0) -> keras.Model:
    """:func:`per_frame_cnn` applied to the differences of consecutive frames, ``x[t + 1] - x[t]``.

    The differences are made by built-in layers with no weights (two
    ``Cropping3D`` and a ``Subtract``): ``T`` frames give ``T - 1``
    difference images, each the 2D CNN's input, features averaged over time.
    A dot moving right leaves a negative blob behind and a positive one
    ahead, so a 2D filter on one difference image can read the direction. The
    model has exactly :func:`per_frame_cnn`'s parameters.

    Args:
        num_classes, input_shape, widths, dropout: as in :func:`per_frame_cnn`.

    Example:
        >>> frame_difference_cnn().count_params() == per_frame_cnn().count_params()
        True
    """
    frames = V.shape(input_shape, "input_shape", CLIP_AXES)[0]
    if frames < 2:
        raise ValueError(f"input_shape must have at least 2 frames to take differences; received {input_shape}.")

    def front(x):
        later = keras.layers.Cropping3D(((1, 0), (0, 0), (0, 0)), name="frames_1_to_T")(x)
        earlier = keras.layers.Cropping3D(((0, 1), (0, 0), (0, 0)), name="frames_0_to_T-1")(x)
        return keras.layers.Subtract(name="frame_difference")([later, earlier])

    return _video_convnet(_per_frame_conv, "frame_difference_cnn", num_classes, input_shape, widths, dropout,
                          pool_time=False, front=front)
