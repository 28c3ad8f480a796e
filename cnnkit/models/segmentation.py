"""Segmentation models: a U-Net, an FPN decoder on any registered backbone, and a mask head for boxes.

All three output logits ``(batch, H, W, num_classes)``: one score per class at every
input pixel. ``mask_head`` takes the window of one box (``segmentation.crop_boxes``) and
labels its pixels "this box's object" or not: Mask R-CNN's step from boxes to instance masks.

``unet_small`` (Ronneberger et al., 2015) is the classic encoder-decoder. The
encoder halves the size ``len(widths) - 1`` times (two 3x3 convolutions, then
a 2x2 max pool); the decoder doubles it back, and at each size **skip
connections** concatenate the encoder's map of that size, which still knows
*where* edges are, with the upsampled decoder map, which knows *what* is
there. ``skip_connections=False`` removes them (the ablation of notebook 06).
``upsampling`` picks how the decoder doubles the size:

* ``"transpose"``: a learned ``Conv2DTranspose`` (kernel 3, stride 2). With a
  kernel that the stride does not divide, output pixels receive unequal
  numbers of contributions: the checkerboard artefacts of Odena et al. (2016);
* ``"resize"``: bilinear ``UpSampling2D`` followed by a 3x3 ``Conv2D``
  ("resize-convolution"), which has no such pattern. Both options have the
  same number of parameters.

``fpn_seg`` reuses a registered backbone (``resnet_small``, ``mobilenet_small``,
...): its ``pyramid_outputs`` go through the feature pyramid network of
:mod:`cnnkit.models.fpn`, and a semantic-FPN head (Kirillov et al., 2019)
brings every level to the finest one, adds them, classifies each pixel and
resizes the logits to the input size.

Example:
    >>> from cnnkit.models import create_model
    >>> create_model("unet_small", num_classes=7, input_shape=(64, 64, 3)).output_shape
    (None, 64, 64, 7)
    >>> create_model("fpn_seg", num_classes=7, input_shape=(64, 64, 3), backbone="mobilenet_small").output_shape
    (None, 64, 64, 7)
    >>> create_model("mask_head").output_shape
    (None, 28, 28, 2)
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit.layers.blocks import BN_EPSILON, BN_MOMENTUM, ConvBNAct
from cnnkit.models.common import build_backbone, image_input
from cnnkit.models.fpn import fpn
from cnnkit.models.registry import pyramid_level, pyramid_levels, pyramid_outputs, register_model

UPSAMPLING = ("transpose", "resize")


def _check_divisible(input_shape, factor: int, model: str) -> None:
    """Height and width must halve cleanly ``log2(factor)`` times, so the decoder lands on the input size."""
    for axis, size in zip(("height", "width"), tuple(input_shape)[:2]):
        if size is not None and size % factor:
            raise ValueError(f"{model}: input {axis} must be a multiple of {factor} (it is halved "
                             f"{factor.bit_length() - 1} times and doubled back); received input_shape={tuple(input_shape)!r}.")


def upsample(x, filters: int, mode: str, use_bn: bool = True, name: str = "up"):
    """Double the height and width of ``x``: a transposed convolution, or a bilinear resize then a convolution.

    Both use a 3x3 kernel with ``filters`` outputs (so both have the same
    number of weights), then batch norm and ReLU.

    Args:
        x: a ``(batch, H, W, C)`` symbolic tensor.
        filters: output channels.
        mode: ``"transpose"`` or ``"resize"``.
        use_bn: batch normalization after the convolution.
        name: prefix of the layer names.

    Returns:
        ``(batch, 2H, 2W, filters)``.
    """
    V.choice(mode, "upsampling", UPSAMPLING)
    filters, use_bn = V.positive_int(filters, "filters"), V.boolean(use_bn, "use_bn")
    if mode == "transpose":
        x = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same", use_bias=not use_bn,
                                         kernel_initializer="he_normal", name=f"{name}_transpose")(x)
    else:
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_resize")(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=not use_bn, kernel_initializer="he_normal",
                                name=f"{name}_conv")(x)
    if use_bn:
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _double_conv(x, filters: int, use_bn: bool, name: str):
    x = ConvBNAct(filters, 3, use_bn=use_bn, name=f"{name}_conv1")(x)
    return ConvBNAct(filters, 3, use_bn=use_bn, name=f"{name}_conv2")(x)


@register_model("unet_small", task="segmentation")
def unet_small(num_classes=7, input_shape=(32, 32, 3), widths=(16, 32, 64, 128), upsampling="transpose",
               skip_connections=True, use_bn=True, name=None):
    """A small U-Net: an encoder that halves the size, a decoder that doubles it back, skip connections between.

    Args:
        num_classes: classes per pixel (background included).
        input_shape: ``(height, width, channels)``; height and width must be multiples
            of ``2 ** (len(widths) - 1)``, or ``None`` (any such size).
        widths: channels at each size, from full resolution down to the bottleneck;
            ``len(widths) - 1`` halvings. The paper's U-Net is ``(64, 128, 256, 512, 1024)``.
        upsampling: ``"transpose"`` (learned ``Conv2DTranspose``) or ``"resize"``
            (bilinear ``UpSampling2D`` then a convolution).
        skip_connections: concatenate the encoder's map of each size into the decoder.
        use_bn: batch normalization after every convolution.
        name: model name (default ``"unet_<upsampling>"`` or ``"unet_<upsampling>_noskip"``).

    Returns:
        A ``keras.Model`` from images ``(batch, H, W, C)`` to logits ``(batch, H, W, num_classes)``.

    Example:
        >>> model = unet_small(num_classes=3, input_shape=(32, 32, 3), upsampling="resize")
        >>> model.output_shape
        (None, 32, 32, 3)
    """
    num_classes = V.num_classes(num_classes)
    V.choice(upsampling, "upsampling", UPSAMPLING)
    skip_connections = V.boolean(skip_connections, "skip_connections")
    use_bn = V.boolean(use_bn, "use_bn")
    widths = V.positive_ints(widths, "widths", min_length=2, what="full resolution .. bottleneck")
    inputs = image_input(input_shape)
    _check_divisible(input_shape, 2 ** (len(widths) - 1), "unet_small")

    x, skips = inputs, []
    for level, width in enumerate(widths[:-1]):  # encoder: convolutions, remember the map, halve
        x = _double_conv(x, width, use_bn, f"enc{level}")
        skips.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)
    x = _double_conv(x, widths[-1], use_bn, "bottleneck")
    for level in reversed(range(len(widths) - 1)):  # decoder: double, (concatenate the skip), convolutions
        x = upsample(x, widths[level], upsampling, use_bn, name=f"dec{level}_up")
        if skip_connections:
            x = keras.layers.Concatenate(name=f"dec{level}_skip")([skips[level], x])
        x = _double_conv(x, widths[level], use_bn, f"dec{level}")
    logits = keras.layers.Conv2D(num_classes, 1, name="logits")(x)
    default = f"unet_{upsampling}" + ("" if skip_connections else "_noskip")
    return keras.Model(inputs, logits, name=name or default)


@register_model("fpn_seg", task="segmentation")
def fpn_seg(num_classes=7, input_shape=(64, 64, 3), backbone="resnet_small", backbone_kwargs=None,
            levels=("P2", "P3", "P4", "P5"), fpn_channels=32, head_channels=32, use_bn=True, name=None):
    """Semantic FPN on a registered backbone: backbone pyramid -> FPN -> merge at the finest level -> per-pixel logits.

    Every FPN level ``P{k}`` is brought to the finest level ``P{f}`` by
    ``k - f`` steps of (3x3 ConvBNAct, bilinear 2x upsampling) (one 3x3 ConvBNAct when
    ``k = f``); the maps are added, a 1x1 convolution gives the class logits at
    stride ``2 ** f``, and a bilinear resize takes them to the input size.

    Args:
        num_classes: classes per pixel (background included).
        input_shape: ``(height, width, channels)``; height and width must be multiples
            of ``2 ** k`` for the coarsest level ``P{k}`` (32 for ``P5``), or ``None``.
        backbone: name of a registered backbone (one of ``cnnkit.models.list_models(backbone=True)``),
            built with ``include_top=False``.
        backbone_kwargs: extra arguments for the backbone builder (e.g. ``width_multiplier``).
        levels: consecutive pyramid levels to use; ``("P1", ..., "P5")`` adds the
            stride-2 level for finer masks, at a higher cost.
        fpn_channels: channels of every FPN level.
        head_channels: channels of the head's convolutions.
        use_bn: batch normalization in the head.
        name: model name (default ``"fpn_seg_<backbone>"``).

    Returns:
        A ``keras.Model`` from images ``(batch, H, W, C)`` to logits ``(batch, H, W, num_classes)``.

    Example:
        >>> model = fpn_seg(num_classes=3, input_shape=(64, 64, 3), backbone="resnet_small")
        >>> model.output_shape
        (None, 64, 64, 3)
    """
    num_classes = V.num_classes(num_classes)
    use_bn = V.boolean(use_bn, "use_bn")
    head_channels = V.positive_int(head_channels, "head_channels")
    input_shape = V.image_shape(input_shape)
    levels = pyramid_levels(levels, consecutive=True)
    _check_divisible(input_shape, 2 ** pyramid_level(levels[-1]), "fpn_seg")

    base = build_backbone(backbone, input_shape, backbone_kwargs)
    pyramid = pyramid_outputs(base)
    features = fpn(pyramid, channels=fpn_channels, levels=levels, name="fpn")
    finest = levels[0]
    merged = []
    for level, x in features.items():
        steps = pyramid_level(level) - pyramid_level(finest)
        for step in range(max(steps, 1)):
            x = ConvBNAct(head_channels, 3, use_bn=use_bn, name=f"head_{level}_conv{step + 1}")(x)
            if step < steps:
                x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"head_{level}_up{step + 1}")(x)
        merged.append(x)
    x = keras.layers.Add(name="head_merge")(merged) if len(merged) > 1 else merged[0]
    x = keras.layers.Conv2D(num_classes, 1, name="head_logits")(x)
    stride = 2 ** pyramid_level(finest)
    logits = keras.layers.UpSampling2D(stride, interpolation="bilinear", name="logits")(x)
    return keras.Model(base.input, logits, name=name or f"fpn_seg_{backbone}")


@register_model("mask_head", task="segmentation")
def mask_head(num_classes=2, input_shape=(28, 28, 3), width=32, depth=4, use_bn=True, name="mask_head"):
    """Mask R-CNN's mask head, small: a box's window in, a mask of that box's object out.

    The input is a window cut out of the image for one box (``segmentation.crop_boxes``,
    RoIAlign); every pixel of the window is labelled "this box's object" (1) or not (0).
    The layout follows Mask R-CNN's head (He et al., 2017), which sees 14x14 RoIAlign features
    of a backbone: here a stride-2 convolution turns the 28x28 pixels into 14x14 features,
    ``depth`` 3x3 convolutions follow (four in the paper), a transposed convolution doubles the
    size back to 28x28 and a 1x1 convolution gives the logits. The head is class-agnostic
    (one mask per box, whatever its class; the paper found this almost as good as a mask per
    class); ``num_classes`` is 2 for it (other labellings of the window also work).

    Args:
        num_classes: labels per window pixel: 2 for not-this-object / this object.
        input_shape: ``(height, width, channels)`` of the window; even height and width, or ``None``.
        width: channels of every convolution.
        depth: number of 3x3 convolutions at half resolution.
        use_bn: batch normalization after every convolution.
        name: model name.

    Returns:
        A ``keras.Model`` from windows ``(batch, S, S, C)`` to logits ``(batch, S, S, num_classes)``.

    Example:
        >>> model = mask_head()
        >>> model.output_shape, model.count_params() < 60_000
        ((None, 28, 28, 2), True)
    """
    num_classes = V.num_classes(num_classes)
    width, depth = V.positive_int(width, "width"), V.positive_int(depth, "depth")
    use_bn = V.boolean(use_bn, "use_bn")
    inputs = image_input(input_shape)
    _check_divisible(input_shape, 2, "mask_head")
    x = ConvBNAct(width, 3, strides=2, use_bn=use_bn, name="stem")(inputs)  # 28x28 pixels -> 14x14 features
    for i in range(depth):
        x = ConvBNAct(width, 3, use_bn=use_bn, name=f"conv{i + 1}")(x)
    x = upsample(x, width, "transpose", use_bn=use_bn, name="up")  # 14x14 -> 28x28
    logits = keras.layers.Conv2D(num_classes, 1, name="logits")(x)
    return keras.Model(inputs, logits, name=name)
