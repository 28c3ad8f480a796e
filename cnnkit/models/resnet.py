"""ResNet (He et al., 2016): a stem, four stages of residual blocks, global pooling, a dense layer.

``resnet_small`` builds the family at any width and depth, with the basic or
the bottleneck block. Named layouts reproduce the published networks:
``layout="resnet18"`` is ResNet-18 exactly (11,689,512 trainable parameters
with 1000 classes, as in the paper and torchvision).

Every stage after the first halves the size (stride 2 on its first block), so
with the stem's stride 4 the stage outputs are at strides 4, 8, 16 and 32:
they are marked ``P2`` .. ``P5`` for detection and segmentation heads. The
stem's strided convolution (before its max pool, stride 2) is marked ``P1``,
for decoders that go back to half the input size.

Example:
    >>> from cnnkit.models import create_model, pyramid_outputs
    >>> model = create_model("resnet_small", num_classes=6, input_shape=(64, 64, 3))
    >>> backbone = create_model("resnet_small", include_top=False, input_shape=(64, 64, 3))
    >>> {k: tuple(v.shape[1:3]) for k, v in pyramid_outputs(backbone).items()}
    {'P1': (32, 32), 'P2': (16, 16), 'P3': (8, 8), 'P4': (4, 4), 'P5': (2, 2)}
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit.layers.blocks import Bottleneck, ConvBNAct, ResidualBlock
from cnnkit.models.common import (
    PyramidMarker,
    classification_head,
    image_input,
    scale_depth,
)
from cnnkit.models.registry import register_model

# name -> (block, blocks per stage, channels of each stage, stem)
LAYOUTS = {
    "small": ("basic", (1, 1, 1, 1), (16, 32, 64, 128), "small"),
    "resnet18": ("basic", (2, 2, 2, 2), (64, 128, 256, 512), "imagenet"),
    "resnet34": ("basic", (3, 4, 6, 3), (64, 128, 256, 512), "imagenet"),
    "resnet50": ("bottleneck", (3, 4, 6, 3), (64, 128, 256, 512), "imagenet"),
}
BLOCKS = {"basic": ResidualBlock, "bottleneck": Bottleneck}
STEM_KERNEL = {"small": 3, "imagenet": 7}


def _stem(x, filters: int, kind: str, use_bn: bool, pyramid: PyramidMarker):
    """A strided convolution (3x3 small, 7x7 ImageNet), then a 3x3 stride-2 max pool: stride 4."""
    x = ConvBNAct(filters, STEM_KERNEL[kind], strides=2, use_bn=use_bn, name="stem_conv")(x)
    pyramid.stride *= 2
    x = pyramid.before_downsampling(x)
    return keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)


@register_model("resnet_small", task="classification", backbone=True)
def resnet_small(num_classes=10, input_shape=(32, 32, 3), include_top=True, layout="small", block=None,
                 depths=None, widths=None, width_multiplier=1.0, depth_multiplier=1.0, residual=True,
                 use_bn=True, drop_path_rate=0.0, dropout=0.0, name=None):
    """A ResNet: stem (stride 4), four stages of residual blocks, then pooling and a dense layer.

    Args:
        num_classes: size of the output (logits).
        input_shape: ``(height, width, channels)``; height and width may be ``None``
            (any size) when ``include_top=False`` or with the pooling head.
        include_top: add the classification head; without it the model ends
            at the last stage (pyramid levels ``P1``..``P5`` are marked either way).
        layout: ``"small"`` (16-128 channels, one basic block per stage),
            ``"resnet18"``, ``"resnet34"`` or ``"resnet50"`` (the published networks).
        block: ``"basic"`` or ``"bottleneck"``; overrides the layout's.
        depths: blocks per stage (four ints); overrides the layout's.
        widths: channels of each stage (four ints; a bottleneck stage outputs
            four times as many); overrides the layout's.
        width_multiplier: scales every width (rounded, at least 1).
        depth_multiplier: scales every depth (``ceil``).
        residual: ``False`` removes every shortcut: the "plain" network of He et al.
        use_bn: batch normalization after every convolution.
        drop_path_rate: stochastic depth, rising linearly from 0 to this rate over the blocks.
        dropout: dropout before the dense layer.

    Returns:
        A ``keras.Model`` from images to logits ``(batch, num_classes)``, or to the
        last feature map ``(batch, H/32, W/32, C)`` when ``include_top=False``.

    Example:
        >>> model = resnet_small(num_classes=6, input_shape=(32, 32, 3))
        >>> model.output_shape
        (None, 6)
    """
    V.choice(layout, "layout", LAYOUTS)
    default_block, default_depths, default_widths, stem = LAYOUTS[layout]
    block = V.choice(block or default_block, "block", BLOCKS)
    depths = V.positive_ints(default_depths if depths is None else depths, "depths", length=4, what="one per stage")
    widths = V.positive_ints(default_widths if widths is None else widths, "widths", length=4, what="one per stage")
    residual, use_bn = V.boolean(residual, "residual"), V.boolean(use_bn, "use_bn")
    include_top = V.boolean(include_top, "include_top")
    drop_path_rate = V.rate(drop_path_rate, "drop_path_rate")
    width_multiplier = V.positive_float(width_multiplier, "width_multiplier")
    depth_multiplier = V.positive_float(depth_multiplier, "depth_multiplier")
    widths = [max(1, round(w * width_multiplier)) for w in widths]
    depths = [scale_depth(d, depth_multiplier) for d in depths]

    inputs = image_input(input_shape)
    pyramid = PyramidMarker()
    x = _stem(inputs, widths[0], stem, use_bn, pyramid)
    total, index = sum(depths), 0
    for stage, (depth, width) in enumerate(zip(depths, widths)):
        for i in range(depth):
            strides = 2 if (i == 0 and stage > 0) else 1
            x = pyramid.before_downsampling(x, strides)
            rate = drop_path_rate * index / max(1, total - 1)
            x = BLOCKS[block](width, strides=strides, residual=residual, use_bn=use_bn, drop_path_rate=rate,
                              name=f"stage{stage + 1}_block{i + 1}")(x)
            index += 1
    x = pyramid.finish(x)
    if include_top:
        x = classification_head(x, V.num_classes(num_classes), dropout)
    kind = "resnet" if residual else "plain"
    return keras.Model(inputs, x, name=name or f"{kind}_{layout}_{block}")
