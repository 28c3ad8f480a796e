"""LeNet-5 (LeCun et al., 1998): the network that started it, in its common modern form.

Two 5x5 ``valid`` convolutions (6 and 16 filters), each followed by 2x2
subsampling, then dense layers of 120 and 84 units and the classifier. The
1998 paper's C3 layer connects each map to a chosen subset of S2's maps and
its subsampling layers have trainable weights; like most re-implementations
we use full connections and plain average pooling. On a 32x32 input C5 (a
5x5 convolution over a 5x5 map) is the same as a dense layer on the
flattened map, which is how it is built here so other sizes work too.

Parameters for 10 classes at 32x32x1: 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706.

Example:
    >>> from cnnkit.models import create_model
    >>> create_model("lenet5").count_params()
    61706
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit.models.common import image_input
from cnnkit.models.registry import register_model

POOLS = {"avg": keras.layers.AveragePooling2D, "max": keras.layers.MaxPooling2D}


@register_model("lenet5", task="classification")
def lenet5(num_classes=10, input_shape=(32, 32, 1), activation="tanh", pooling="avg", name=None):
    """LeNet-5: conv 6@5x5, pool, conv 16@5x5, pool, dense 120, dense 84, dense ``num_classes`` (logits).

    Args:
        num_classes: size of the output (logits).
        input_shape: ``(height, width, channels)``, at least 16x16 (two
            ``valid`` 5x5 convolutions and two 2x2 poolings must fit).
        activation: ``"tanh"`` as in 1998, or e.g. ``"relu"``.
        pooling: ``"avg"`` (the paper's subsampling) or ``"max"``.

    Returns:
        A ``keras.Model`` from images to logits ``(batch, num_classes)``.

    Example:
        >>> lenet5(num_classes=10, input_shape=(28, 28, 1)).output_shape
        (None, 10)
    """
    num_classes = V.num_classes(num_classes)
    V.activation(activation)
    pool = POOLS[V.choice(pooling, "pooling", POOLS)]
    inputs = image_input(input_shape)
    height, width = input_shape[0], input_shape[1]
    if height is None or width is None or min(height, width) < 16:
        raise ValueError(
            f"LeNet-5 needs a fixed input of at least 16x16 (two valid 5x5 convolutions and two 2x2 "
            f"poolings); received input_shape={tuple(input_shape)!r}."
        )
    x = keras.layers.Conv2D(6, 5, activation=activation, name="C1")(inputs)
    x = pool(2, name="S2")(x)
    x = keras.layers.Conv2D(16, 5, activation=activation, name="C3")(x)
    x = pool(2, name="S4")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(120, activation=activation, name="C5")(x)
    x = keras.layers.Dense(84, activation=activation, name="F6")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name or "lenet5")
