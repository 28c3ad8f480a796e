"""Reusable Keras layers, importable as ``cnnkit.layers.<Layer>``.

Every layer follows Keras's own conventions: ``__init__`` validates its
arguments (``ValueError`` naming the argument and the received value), weights
are created in ``build``, ``call`` uses ``keras.ops`` only, ``get_config``
mirrors ``__init__``, and the class is registered with
``@keras.saving.register_keras_serializable(package="cnnkit")`` so models that
use it save and load as ``.keras`` files.

The layers live in topic modules, and this package re-exports them all:

==========  ======================================================================
module      layers
==========  ======================================================================
``blocks``  the backbone blocks: ConvBNAct, residual, bottleneck, depthwise-separable,
            inverted residual (MBConv), squeeze-excite, stochastic depth
``patch``   PatchEmbedding and PositionEmbedding (the Vision Transformer's stem)
``video``   Conv2Plus1D, the R(2+1)D block for clips
==========  ======================================================================

Every ``keras.layers.Layer`` subclass of cnnkit lives here (``tests/test_repo.py``
checks it). A composite layer passes ``dtype=self.dtype_policy`` to its sublayers,
as Keras's own do, so ``ConvBNAct(8, dtype="mixed_float16")`` computes in float16.
``BN_MOMENTUM`` and ``BN_EPSILON`` are the batch-norm settings of every cnnkit
layer and model.
"""

from cnnkit.layers.blocks import (
    BN_EPSILON,
    BN_MOMENTUM,
    Bottleneck,
    ConvBNAct,
    DepthwiseSeparableConv,
    InvertedResidual,
    ResidualBlock,
    SqueezeExcite,
    StochasticDepth,
)
from cnnkit.layers.patch import PatchEmbedding, PositionEmbedding
from cnnkit.layers.video import Conv2Plus1D

__all__: list[str] = [
    "BN_EPSILON",
    "BN_MOMENTUM",
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
