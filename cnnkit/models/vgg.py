"""VGG (Simonyan & Zisserman, 2015): only 3x3 convolutions and 2x2 max pooling, stacked deep.

Five stages, each a few 3x3 convolutions followed by a 2x2 max pool that halves
the size, so the stage outputs sit at strides 2, 4, 8, 16 and 32 and are
marked ``P1`` .. ``P5``. Two stacked 3x3 convolutions see a 5x5 window with
fewer parameters than one 5x5 convolution (``2*9 = 18`` vs ``25`` per pair of
channels), and add a non-linearity: the paper's main argument.

``layout="vgg16"`` with ``batch_norm=False`` and ``head="fc"`` is VGG-16
exactly (138,357,544 parameters with 1000 classes at 224x224, as in
``keras.applications.VGG16`` and torchvision).

Example:
    >>> from cnnkit.models import create_model
    >>> create_model("vgg_small", num_classes=6).output_shape
    (None, 6)
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit.layers.blocks import ConvBNAct
from cnnkit.models.common import (
    PyramidMarker,
    classification_head,
    image_input,
    scale_depth,
)
from cnnkit.models.registry import register_model

# name -> (convolutions per stage, channels per stage)
LAYOUTS = {
    "small": ((1, 1, 2, 2, 2), (16, 32, 64, 128, 128)),
    "vgg11": ((1, 1, 2, 2, 2), (64, 128, 256, 512, 512)),
    "vgg16": ((2, 2, 3, 3, 3), (64, 128, 256, 512, 512)),
}
HEADS = ("gap", "fc")


@register_model("vgg_small", task="classification", backbone=True)
def vgg_small(num_classes=10, input_shape=(32, 32, 3), include_top=True, layout="small", width_multiplier=1.0,
              depth_multiplier=1.0, batch_norm=True, head="gap", fc_units=4096, dropout=0.0, name=None):
    """A VGG network: five stages of 3x3 ``ConvBNAct`` layers, each ending in a 2x2 max pool.

    Args:
        num_classes: size of the output (logits).
        input_shape: ``(height, width, channels)``; height and width may be
            ``None`` except with ``head="fc"``.
        include_top: add the classification head; without it the model ends
            after the fifth pool (levels ``P1``..``P5`` are marked either way).
        layout: ``"small"`` (16-128 channels), ``"vgg11"`` or ``"vgg16"``.
        width_multiplier: scales every stage's channels.
        depth_multiplier: scales the convolutions per stage (``ceil``).
        batch_norm: batch norm after every convolution (the later "VGG-BN");
            without it each convolution has a bias, as in the paper.
        head: ``"gap"`` (global average pooling, then one dense layer) or
            ``"fc"`` (flatten, two dense layers of ``fc_units`` with dropout,
            then the classifier: the paper's head).
        fc_units: width of the two hidden dense layers of the ``"fc"`` head.
        dropout: dropout before each dense layer of the head.

    Returns:
        A ``keras.Model`` from images to logits ``(batch, num_classes)``, or to
        the last feature map (stride 32) when ``include_top=False``.

    Example:
        >>> vgg_small(num_classes=6, batch_norm=False).output_shape
        (None, 6)
    """
    V.choice(layout, "layout", LAYOUTS)
    V.choice(head, "head", HEADS)
    include_top, batch_norm = V.boolean(include_top, "include_top"), V.boolean(batch_norm, "batch_norm")
    fc_units = V.positive_int(fc_units, "fc_units")
    width_multiplier = V.positive_float(width_multiplier, "width_multiplier")
    depth_multiplier = V.positive_float(depth_multiplier, "depth_multiplier")
    depths, widths = LAYOUTS[layout]
    inputs = image_input(input_shape)
    if include_top and head == "fc" and None in tuple(input_shape)[:2]:
        raise ValueError(f"head='fc' flattens the last map, so it needs a fixed input size; received input_shape={tuple(input_shape)!r}.")

    pyramid = PyramidMarker()
    x = inputs
    for stage, (depth, width) in enumerate(zip(depths, widths)):
        for i in range(scale_depth(depth, depth_multiplier)):
            x = ConvBNAct(max(1, round(width * width_multiplier)), 3, use_bn=batch_norm,
                          name=f"stage{stage + 1}_conv{i + 1}")(x)
        x = pyramid.before_downsampling(x)
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"stage{stage + 1}_pool")(x)
    x = pyramid.finish(x)
    if not include_top:
        return keras.Model(inputs, x, name=name or f"vgg_{layout}")

    num_classes = V.num_classes(num_classes)
    if head == "gap":
        x = classification_head(x, num_classes, dropout)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
        for i in (1, 2):
            x = keras.layers.Dense(fc_units, activation="relu", name=f"fc{i}")(x)
            if dropout:
                x = keras.layers.Dropout(dropout, name=f"dropout{i}")(x)
        x = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, x, name=name or f"vgg_{layout}")
