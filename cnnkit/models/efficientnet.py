"""EfficientNet (Tan & Le, 2019): one baseline network scaled in depth, width and resolution together.

The baseline (B0) is a stack of MBConv blocks (:class:`cnnkit.layers.InvertedResidual`
with squeeze-excite and swish). *Compound scaling* grows all three dimensions
with one coefficient ``phi``:

    depth ``d = alpha ** phi``, width ``w = beta ** phi``, resolution ``r = gamma ** phi``,
    with ``alpha = 1.2``, ``beta = 1.1``, ``gamma = 1.15`` (found by a small grid search
    under the constraint ``alpha * beta**2 * gamma**2 ~ 2``),

so every step of ``phi`` roughly doubles the FLOPs (FLOPs grow as ``d * w**2 * r**2``).
Channels are rounded to multiples of 8 and block repeats rounded up, as in the
reference code. ``phi=0`` with 1000 classes is B0 exactly: 5,288,548 trainable
parameters, as ``keras.applications.EfficientNetB0`` and torchvision. (The
published B1..B7 use hand-rounded coefficients; pass them as
``width_multiplier`` / ``depth_multiplier``, e.g. B1 = 1.0 / 1.1 at 240x240.)

The blocks at each stride end with a ``P{k}`` mark (strides 2 to 32).

Example:
    >>> compound_scaling(1)
    {'depth': 1.2, 'width': 1.1, 'resolution': 1.15}
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit.layers.blocks import ConvBNAct, InvertedResidual
from cnnkit.models.common import (
    PyramidMarker,
    classification_head,
    image_input,
    make_divisible,
    scale_depth,
)
from cnnkit.models.registry import register_model

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15  # depth, width, resolution bases (Tan & Le, 2019, Sec. 3.3)
BASE_RESOLUTION = 224  # B0's input size
# B0, Table 1 of the paper: (expansion, kernel, stride, output channels, repeats) per stage.
B0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
             (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
STEM_CHANNELS, HEAD_CHANNELS, SE_RATIO = 32, 1280, 0.25


def compound_scaling(phi: float) -> dict:
    """The depth, width and resolution multipliers for compound coefficient ``phi``.

    Example:
        >>> {k: round(v, 3) for k, v in compound_scaling(2).items()}
        {'depth': 1.44, 'width': 1.21, 'resolution': 1.322}
    """
    phi = V.number(phi, "phi")
    return {"depth": ALPHA**phi, "width": BETA**phi, "resolution": GAMMA**phi}


def input_size(phi: float, base: int = BASE_RESOLUTION) -> int:
    """Input side for ``phi``: ``round(base * gamma ** phi)`` (224 for B0)."""
    return int(round(base * compound_scaling(phi)["resolution"]))


@register_model("efficientnet_small", task="classification", backbone=True)
def efficientnet_small(num_classes=10, input_shape=(32, 32, 3), include_top=True, phi=-4.0, width_multiplier=None,
                       depth_multiplier=None, dropout=0.2, drop_path_rate=0.2, name=None):
    """EfficientNet-B0 scaled by the compound coefficient ``phi``.

    Args:
        num_classes: size of the output (logits).
        input_shape: ``(height, width, channels)``; height and width may be ``None``.
            Compound scaling would use ``input_size(phi)``; a CPU course passes smaller images.
        include_top: add the head (1x1 convolution to ``1280 * w`` channels, pooling,
            dropout, dense); without it the model ends at the last block (levels
            ``P1``..``P5`` are marked either way).
        phi: compound coefficient: ``0`` is B0; the default ``-4`` shrinks it to a CPU
            size (depth x0.48, width x0.68).
        width_multiplier: overrides ``beta ** phi``.
        depth_multiplier: overrides ``alpha ** phi``.
        dropout: dropout before the dense layer (0.2 in B0).
        drop_path_rate: stochastic depth, rising linearly over the blocks to this rate (0.2 in B0).

    Returns:
        A ``keras.Model`` from images to logits ``(batch, num_classes)``, or to
        the last feature map (stride 32) when ``include_top=False``.

    Example:
        >>> efficientnet_small(num_classes=1000, input_shape=(224, 224, 3), phi=0).output_shape
        (None, 1000)
    """
    scaling = compound_scaling(phi)
    width = scaling["width"] if width_multiplier is None else V.positive_float(width_multiplier, "width_multiplier")
    depth = scaling["depth"] if depth_multiplier is None else V.positive_float(depth_multiplier, "depth_multiplier")
    drop_path_rate = V.rate(drop_path_rate, "drop_path_rate")
    include_top = V.boolean(include_top, "include_top")

    inputs = image_input(input_shape)
    pyramid = PyramidMarker()
    x = ConvBNAct(make_divisible(STEM_CHANNELS * width), 3, strides=2, activation="swish", name="stem_conv")(inputs)
    pyramid.stride *= 2
    repeats = [scale_depth(stage[4], depth) for stage in B0_STAGES]
    total, index = sum(repeats), 0
    for (expansion, kernel, stride, channels, _), n in zip(B0_STAGES, repeats):
        for i in range(n):
            strides = stride if i == 0 else 1
            x = pyramid.before_downsampling(x, strides)
            x = InvertedResidual(make_divisible(channels * width), strides=strides, expansion=expansion,
                                 kernel_size=kernel, activation="swish", se_ratio=SE_RATIO,
                                 drop_path_rate=drop_path_rate * index / total, name=f"block{index}")(x)
            index += 1
    x = pyramid.finish(x)
    if include_top:
        x = ConvBNAct(make_divisible(HEAD_CHANNELS * width), 1, activation="swish", name="head_conv")(x)
        x = classification_head(x, V.num_classes(num_classes), dropout)
    return keras.Model(inputs, x, name=name or f"efficientnet_phi{phi:g}")
