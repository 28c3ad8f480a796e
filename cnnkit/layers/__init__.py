"""Reusable Keras layers, importable as ``cnnkit.layers.<Layer>``.

Every layer follows Keras's own conventions: ``__init__`` validates its
arguments (``ValueError`` naming the argument and the received value), weights
are created in ``build``, ``call`` uses ``keras.ops`` only, ``get_config``
mirrors ``__init__``, and the class is registered with
``@keras.saving.register_keras_serializable(package="cnnkit")`` so models that
use it save and load as ``.keras`` files.

The layers live in topic modules; this package re-exports them all.
"""

from cnnkit.layers.blocks import (
    Bottleneck,
    ConvBNAct,
    DepthwiseSeparableConv,
    InvertedResidual,
    ResidualBlock,
    SqueezeExcite,
    StochasticDepth,
)
from cnnkit.layers.patch import PatchEmbedding, PositionEmbedding
from cnnkit.video import Conv2Plus1D

__all__: list[str] = [
    "Bottleneck",
    "Conv2Plus1D",
    "ConvBNAct",
    "DepthwiseSeparableConv",
    "InvertedResidual",
    "PatchEmbedding",
    "PositionEmbedding",
    "ResidualBlock",
    "SqueezeExcite",
    "StochasticDepth",
]
