"""MobileNet: depthwise-separable convolutions for phones (V1, Howard et al. 2017) and
inverted residuals with linear bottlenecks (V2, Sandler et al. 2018).

``mobilenet_small`` builds either version at any width (``width_multiplier``,
the papers' alpha) and depth. With ``width_multiplier=1.0`` at 224x224 and
1000 classes, ``version=2`` is exactly ``keras.applications.MobileNetV2``
(3,538,984 parameters) and ``version=1`` is ``keras.applications.MobileNet``
(4,253,864 parameters). Note the clash of names: Keras's ``MobileNet(depth_multiplier=...)``
multiplies the *depthwise channels*; here ``depth_multiplier`` multiplies the
number of blocks, as in EfficientNet.

The blocks at each stride end with a ``P{k}`` mark (strides 2 to 32).

Example:
    >>> from cnnkit.models import create_model
    >>> create_model("mobilenet_small", num_classes=6).output_shape
    (None, 6)
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit.layers.blocks import ConvBNAct, DepthwiseSeparableConv, InvertedResidual
from cnnkit.models.common import (
    PyramidMarker,
    classification_head,
    image_input,
    make_divisible,
    scale_depth,
)
from cnnkit.models.registry import register_model

# MobileNetV2, Table 2 of the paper: (expansion t, channels c, repeats n, stride s) per stage.
V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
             (6, 320, 1, 1))
# MobileNetV1, Table 1: (channels, repeats, stride) of the depthwise-separable blocks.
V1_STAGES = ((64, 1, 1), (128, 1, 2), (128, 1, 1), (256, 1, 2), (256, 1, 1), (512, 1, 2), (512, 5, 1),
             (1024, 1, 2), (1024, 1, 1))


@register_model("mobilenet_small", task="classification", backbone=True)
def mobilenet_small(num_classes=10, input_shape=(32, 32, 3), include_top=True, version=2, width_multiplier=0.5,
                    depth_multiplier=0.5, dropout=0.0, name=None):
    """MobileNetV2 (or V1) at a chosen width and depth.

    V2: a 3x3 stride-2 stem, the seven stages of inverted residuals of the
    paper (ReLU6, linear bottlenecks), a 1x1 convolution to 1280 channels
    (``1280 * width_multiplier`` when wider than 1), pooling and a dense layer.
    V1: a 3x3 stride-2 stem and thirteen depthwise-separable blocks.

    Args:
        num_classes: size of the output (logits).
        input_shape: ``(height, width, channels)``; height and width may be ``None``.
        include_top: add the head; without it the model ends at the last
            block (V2: before the 1280-channel convolution; levels ``P1``..``P5``
            are marked either way).
        version: 1 or 2.
        width_multiplier: alpha: scales every layer's channels (rounded to a
            multiple of 8 in V2, truncated in V1, as in the reference code).
            The default 0.5 (and ``depth_multiplier=0.5``) keeps it CPU-sized.
        depth_multiplier: scales the repeats of every stage (``ceil``).
        dropout: dropout before the dense layer.

    Returns:
        A ``keras.Model`` from images to logits ``(batch, num_classes)``, or to
        the last feature map (stride 32) when ``include_top=False``.

    Example:
        >>> mobilenet_small(num_classes=1000, input_shape=(224, 224, 3), width_multiplier=1.0,
        ...                 depth_multiplier=1.0).count_params()
        3538984
    """
    V.choice(version, "version", (1, 2))
    include_top = V.boolean(include_top, "include_top")
    alpha = V.positive_float(width_multiplier, "width_multiplier")
    depth_multiplier = V.positive_float(depth_multiplier, "depth_multiplier")
    inputs = image_input(input_shape)
    pyramid = PyramidMarker()
    activation = "relu6"

    if version == 2:
        x = ConvBNAct(make_divisible(32 * alpha), 3, strides=2, activation=activation, name="stem_conv")(inputs)
        pyramid.stride *= 2
        index = 0
        for expansion, channels, repeats, stride in V2_STAGES:
            for i in range(scale_depth(repeats, depth_multiplier)):
                strides = stride if i == 0 else 1
                x = pyramid.before_downsampling(x, strides)
                x = InvertedResidual(make_divisible(int(channels * alpha)), strides=strides, expansion=expansion,
                                     activation=activation, name=f"block{index}")(x)
                index += 1
        x = pyramid.finish(x)
        if include_top:
            last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
            x = ConvBNAct(last, 1, activation=activation, name="last_conv")(x)
    else:
        x = ConvBNAct(int(32 * alpha), 3, strides=2, activation=activation, name="stem_conv")(inputs)
        pyramid.stride *= 2
        index = 0
        for channels, repeats, stride in V1_STAGES:
            for i in range(scale_depth(repeats, depth_multiplier)):
                strides = stride if i == 0 else 1
                x = pyramid.before_downsampling(x, strides)
                x = DepthwiseSeparableConv(int(channels * alpha), strides=strides, activation=activation,
                                           name=f"block{index}")(x)
                index += 1
        x = pyramid.finish(x)

    if include_top:
        x = classification_head(x, V.num_classes(num_classes), dropout)
    return keras.Model(inputs, x, name=name or f"mobilenet_v{version}_{alpha:g}")
