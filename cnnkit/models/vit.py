"""A tiny Vision Transformer: patch embedding (a strided convolution) + transformer encoder blocks.

The layout of ViT (Dosovitskiy et al., 2021, "An Image is Worth 16x16 Words"),
shrunk to train on small images on a CPU:

1. :class:`~cnnkit.layers.PatchEmbedding` cuts the image into ``p x p``
   patches and projects each to a token: a ``Conv2D`` with kernel = stride = ``p``.
   This is the one place a ViT uses a convolution.
2. :class:`~cnnkit.layers.PositionEmbedding` adds a learned vector per patch
   position (attention alone does not know where a token came from).
3. ``depth`` pre-norm encoder blocks: ``x + Attention(LayerNorm(x))`` then
   ``x + MLP(LayerNorm(x))``: every token can look at every other token from
   the first layer on: a global receptive field, but no built-in notion of
   "nearby", which a CNN gets for free.
4. A final LayerNorm, the mean over tokens (instead of a class token: simpler
   and as accurate at this size) and a dense layer with one score per class.

Example:
    >>> from cnnkit.models import create_model
    >>> model = create_model("tiny_vit", num_classes=6, input_shape=(32, 32, 3))
    >>> model.output_shape
    (None, 6)
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit.layers.patch import PatchEmbedding, PositionEmbedding
from cnnkit.models.registry import register_model


def transformer_block(x, num_heads: int, mlp_dim: int, dropout: float = 0.0, name: str = "block"):
    """One pre-norm transformer encoder block on ``(batch, tokens, dim)``; returns the same shape.

    ``x + MultiHeadAttention(LayerNorm(x))``, then ``x + MLP(LayerNorm(x))``
    with a GELU MLP of ``mlp_dim`` hidden units, as in ViT. Shared by
    :func:`tiny_vit` and the sequence transformer of :mod:`cnnkit.models.sequence`.

    Example:
        >>> tokens = keras.Input((16, 32))
        >>> transformer_block(tokens, num_heads=4, mlp_dim=64).shape
        (None, 16, 32)
    """
    dim = x.shape[-1]
    num_heads = V.positive_int(num_heads, "num_heads")
    mlp_dim = V.positive_int(mlp_dim, "mlp_dim")
    if dim % num_heads:
        raise ValueError(f"The token size ({dim}) must be a multiple of num_heads; received num_heads={num_heads}.")
    dropout = V.rate(dropout, "dropout")
    h = keras.layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm1")(x)
    h = keras.layers.MultiHeadAttention(num_heads, key_dim=dim // num_heads, dropout=dropout,
                                        name=f"{name}_attention")(h, h)
    x = keras.layers.Add(name=f"{name}_add1")([x, h])
    h = keras.layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm2")(x)
    h = keras.layers.Dense(mlp_dim, activation="gelu", name=f"{name}_mlp1")(h)
    h = keras.layers.Dropout(dropout, name=f"{name}_dropout")(h)
    h = keras.layers.Dense(dim, name=f"{name}_mlp2")(h)
    return keras.layers.Add(name=f"{name}_add2")([x, h])


@register_model("tiny_vit", task="classification")
def tiny_vit(num_classes: int = 10, input_shape=(32, 32, 3), patch_size: int = 4, embed_dim: int = 48,
             depth: int = 3, num_heads: int = 3, mlp_ratio: float = 2.0, dropout: float = 0.0):
    """A small Vision Transformer for small images.

    Args:
        num_classes: number of output scores (logits, no softmax).
        input_shape: ``(height, width, channels)``; height and width must be
            multiples of ``patch_size``.
        patch_size: side of the square patches (the stride of the patch-embedding convolution).
        embed_dim: size of every token.
        depth: number of transformer encoder blocks.
        num_heads: attention heads per block (must divide ``embed_dim``).
        mlp_ratio: hidden units of each block's MLP, as a multiple of ``embed_dim``.
        dropout: dropout rate inside the blocks.

    Input shape:
        ``(batch, height, width, channels)`` images.

    Output shape:
        ``(batch, num_classes)`` logits.

    Example:
        >>> tiny_vit(num_classes=6).count_params()
        62694
    """
    num_classes = V.num_classes(num_classes)
    depth = V.positive_int(depth, "depth")
    mlp_ratio = V.positive_float(mlp_ratio, "mlp_ratio")
    # A fixed size: the position embedding has one vector per patch.
    input_shape = V.image_shape(input_shape, unknown_size=False)
    inputs = keras.Input(input_shape, name="image")
    x = PatchEmbedding(patch_size, embed_dim, name="patch_embedding")(inputs)
    x = PositionEmbedding(name="position_embedding")(x)
    for i in range(depth):
        x = transformer_block(x, num_heads, max(1, round(embed_dim * mlp_ratio)), dropout, name=f"block{i + 1}")
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = keras.layers.GlobalAveragePooling1D(name="token_mean")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="tiny_vit")
