"""The seed's SimpleCNN, ported from PyTorch to Keras layer for layer, and a loader for PyTorch weights.

The seed text defines, in PyTorch::

    features = Sequential(
        Conv2d(3, 32, 3, padding=1), ReLU(), MaxPool2d(2),
        Conv2d(32, 64, 3, padding=1), ReLU(), MaxPool2d(2),
        Conv2d(64, 128, 3, padding=1), ReLU(),
        AdaptiveAvgPool2d((4, 4)))
    classifier = Sequential(
        Flatten(), Linear(128 * 4 * 4, 256), ReLU(), Dropout(0.5), Linear(256, num_classes))

The Keras model below has the same layers in the same order, so the same
parameters. Three things differ between the two libraries, and
:func:`load_torch_weights` handles all three when weights are moved across:

* images are channels-last in Keras ``(N, H, W, C)`` and channels-first in PyTorch ``(N, C, H, W)``;
* convolution kernels are ``(k_h, k_w, in, out)`` in Keras and ``(out, in, k_h, k_w)`` ("OIHW") in PyTorch;
* ``Flatten`` reads a ``(4, 4, 128)`` map row by row with the channel fastest in Keras,
  and a ``(128, 4, 4)`` map channel by channel in PyTorch, so the first dense
  layer's 2048 inputs come in a different order, and dense weights are stored
  transposed (``(in, out)`` vs ``(out, in)``).

``padding=1`` with a 3x3 kernel and stride 1 is Keras's ``padding="same"``;
``MaxPool2d(2)`` floors odd sizes, as Keras's ``"valid"`` pooling does; and
``AdaptiveAveragePooling2D`` uses PyTorch's bins (see :func:`cnnkit.ops.adaptive_bins`).
"""

from __future__ import annotations

import keras
import numpy as np

from cnnkit import _validate as V
from cnnkit.models.registry import register_model

# PyTorch state-dict names of the seed model -> Keras layer names here.
TORCH_NAMES = {"features.0": "conv1", "features.3": "conv2", "features.6": "conv3",
               "classifier.1": "fc1", "classifier.4": "logits"}


@register_model("simple_cnn", task="classification")
def simple_cnn(num_classes: int = 10, input_shape=(32, 32, 3), dropout: float = 0.5, pooled_size: int = 4,
               name: str = "simple_cnn"):
    """The seed's SimpleCNN: three 3x3 conv + ReLU stages, adaptive average pooling, a two-layer head.

    Args:
        num_classes: outputs of the last layer (raw scores: logits, no softmax).
        input_shape: ``(H, W, C)`` of one image; any size of at least 4x4 works, because
            adaptive pooling always delivers a ``pooled_size`` x ``pooled_size`` map.
        dropout: dropout rate before the last layer (0.5 in the seed).
        pooled_size: side of the adaptive pooling output (4 in the seed: 128 * 4 * 4 = 2048 features),
            at most 32 (fc1 alone would otherwise hold more than 33.6 million weights).

    Input shape:
        ``(batch, H, W, C)`` images.

    Output shape:
        ``(batch, num_classes)`` logits.

    Example:
        >>> model = simple_cnn(num_classes=10, input_shape=(32, 32, 3))
        >>> model.count_params()   # the seed's PyTorch model has the same count
        620362
    """
    num_classes = V.num_classes(num_classes)
    pooled_size = V.integer(pooled_size, "pooled_size", minimum=1, maximum=32,
                            reason="fc1 holds 128 * pooled_size**2 * 256 weights: 33.6 million at 32, 328 million at 100")
    shape = V.image_shape(input_shape, unknown_size=False)
    if min(shape[:2]) < 4:
        raise ValueError(f"input_shape needs height and width of at least 4 (two 2x2 poolings); received {shape}.")
    dropout = V.rate(dropout, "dropout")

    L = keras.layers
    inputs = keras.Input(shape, name="image")
    x = inputs
    for i, filters in enumerate((32, 64, 128), start=1):
        x = L.Conv2D(filters, 3, padding="same", name=f"conv{i}")(x)  # PyTorch: Conv2d(.., 3, padding=1)
        x = L.ReLU(name=f"relu{i}")(x)
        if i < 3:
            x = L.MaxPooling2D(2, name=f"pool{i}")(x)
    x = L.AdaptiveAveragePooling2D((pooled_size, pooled_size), name="adaptive_pool")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(256, name="fc1")(x)
    x = L.ReLU(name="relu4")(x)
    x = L.Dropout(dropout, name="dropout")(x)
    # float32 logits keep the softmax stable under mixed precision on a GPU.
    outputs = L.Dense(num_classes, name="logits", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def torch_parameter_count(num_classes: int = 10, in_channels: int = 3, pooled_size: int = 4) -> dict:
    """Parameters of each layer of the seed's PyTorch model, from PyTorch's own formulas.

    ``Conv2d(in, out, k)`` has ``out * in * k * k`` weights and ``out`` biases;
    ``Linear(in, out)`` has ``out * in`` weights and ``out`` biases.

    Example:
        >>> sum(torch_parameter_count().values())
        620362
    """
    flat = 128 * pooled_size * pooled_size
    return {
        f"features.0 Conv2d({in_channels}, 32, 3)": 32 * in_channels * 3 * 3 + 32,
        "features.3 Conv2d(32, 64, 3)": 64 * 32 * 3 * 3 + 64,
        "features.6 Conv2d(64, 128, 3)": 128 * 64 * 3 * 3 + 128,
        f"classifier.1 Linear({flat}, 256)": 256 * flat + 256,
        f"classifier.4 Linear(256, {num_classes})": num_classes * 256 + num_classes,
    }


def load_torch_weights(model, state_dict: dict) -> None:
    """Load a PyTorch SimpleCNN ``state_dict`` (as NumPy arrays) into the Keras model, in place.

    Converts convolution kernels from OIHW to HWIO, transposes dense weights, and
    reorders the first dense layer's inputs from PyTorch's channels-first flatten
    ``(C, h, w)`` to Keras's channels-last flatten ``(h, w, C)``.

    Args:
        model: a model built by :func:`simple_cnn` (same ``num_classes`` and channels).
        state_dict: ``{"features.0.weight": array, "features.0.bias": array, ...}``, e.g.
            ``{k: v.numpy() for k, v in torch_model.state_dict().items()}``.

    Example:
        >>> load_torch_weights(model, {k: v.numpy() for k, v in torch_model.state_dict().items()})  # doctest: +SKIP
    """
    missing = [f"{t}.{p}" for t in TORCH_NAMES for p in ("weight", "bias") if f"{t}.{p}" not in state_dict]
    if missing:
        raise ValueError(f"state_dict lacks {missing}; expected the seed SimpleCNN's keys "
                         f"{sorted(f'{t}.weight' for t in TORCH_NAMES)} (and .bias).")
    pooled = model.get_layer("adaptive_pool").output.shape[1:3]
    for torch_name, keras_name in TORCH_NAMES.items():
        layer = model.get_layer(keras_name)
        weight = np.asarray(state_dict[f"{torch_name}.weight"], dtype="float32")
        bias = np.asarray(state_dict[f"{torch_name}.bias"], dtype="float32")
        if weight.ndim == 4:  # conv: (out, in, kh, kw) -> (kh, kw, in, out)
            kernel = weight.transpose(2, 3, 1, 0)
        elif keras_name == "fc1":  # inputs ordered (C, h, w) in PyTorch, (h, w, C) in Keras
            out_features, flat = weight.shape
            channels = flat // (pooled[0] * pooled[1])
            kernel = (weight.reshape(out_features, channels, pooled[0], pooled[1])
                      .transpose(2, 3, 1, 0).reshape(flat, out_features))
        else:
            kernel = weight.T
        expected = tuple(layer.kernel.shape)
        if kernel.shape != expected:
            raise ValueError(f"{torch_name}.weight of shape {weight.shape} does not fit Keras layer {keras_name!r} "
                             f"(kernel {expected}); check num_classes and the input channels.")
        layer.set_weights([kernel, bias])
