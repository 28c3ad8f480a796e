"""Patch embedding: how a Vision Transformer turns an image into tokens, with a convolution.

A ViT cuts the image into non-overlapping ``p x p`` patches and maps every
patch, flattened, through the *same* dense layer to a ``D``-dimensional token.
That is exactly a ``Conv2D`` with ``D`` filters, kernel size ``p`` and stride
``p``: each output position sees one patch, and the filters are shared across
positions. :class:`PatchEmbedding` is that convolution;
:class:`PositionEmbedding` adds the learned position vectors that tell the
transformer where each token came from (attention itself ignores order).
"""

from __future__ import annotations

import keras
from keras import ops

from cnnkit import _validate as V


@keras.saving.register_keras_serializable(package="cnnkit")
class PatchEmbedding(keras.layers.Layer):
    """Split an image into ``p x p`` patches and project each to an ``embed_dim`` vector.

    Computed as a convolution with kernel size = stride = ``patch_size``,
    which is the same as "cut into patches, flatten each, apply one shared
    ``Dense``" (the tests and notebook 08 check this number for number).

    Args:
        patch_size: side of the square patches, in pixels; must divide the
            image height and width.
        embed_dim: size of each patch's vector (the convolution's filters).
        flatten: if True (default) return a sequence of tokens
            ``(batch, num_patches, embed_dim)``, patches in row-major order;
            if False keep the grid ``(batch, H / p, W / p, embed_dim)``.
        use_bias: add a learned bias to every token.
        kernel_initializer, bias_initializer: Keras initializers.

    Input shape:
        ``(batch, height, width, channels)``.

    Output shape:
        ``(batch, (height / p) * (width / p), embed_dim)``, or
        ``(batch, height / p, width / p, embed_dim)`` with ``flatten=False``.

    Example:
        >>> layer = PatchEmbedding(patch_size=4, embed_dim=32)
        >>> tuple(layer(keras.ops.zeros((2, 32, 32, 3))).shape)
        (2, 64, 32)
    """

    def __init__(self, patch_size, embed_dim, flatten=True, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.patch_size = V.positive_int(patch_size, "patch_size")
        self.embed_dim = V.positive_int(embed_dim, "embed_dim")
        self.flatten = V.boolean(flatten, "flatten")
        self.use_bias = V.boolean(use_bias, "use_bias")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"PatchEmbedding expects images (batch, height, width, channels); received input shape {input_shape}."
            )
        height, width, channels = input_shape[1:]
        for name, size in (("height", height), ("width", width)):
            if size is not None and size % self.patch_size:
                raise ValueError(
                    f"The image {name} ({size}) must be a multiple of patch_size ({self.patch_size}); "
                    f"received input shape {input_shape}."
                )
        if channels is None:
            raise ValueError(f"The number of channels must be known; received input shape {input_shape}.")
        self.kernel = self.add_weight(
            name="kernel", shape=(self.patch_size, self.patch_size, channels, self.embed_dim),
            initializer=self.kernel_initializer,
        )
        self.bias = (self.add_weight(name="bias", shape=(self.embed_dim,), initializer=self.bias_initializer)
                     if self.use_bias else None)

    def call(self, images):
        tokens = ops.conv(images, self.kernel, strides=self.patch_size, padding="valid")
        if self.use_bias:
            tokens = tokens + self.bias
        if self.flatten:
            grid = ops.shape(tokens)
            tokens = ops.reshape(tokens, (grid[0], grid[1] * grid[2], self.embed_dim))
        return tokens

    def compute_output_shape(self, input_shape):
        batch, height, width = input_shape[:3]
        rows = None if height is None else height // self.patch_size
        cols = None if width is None else width // self.patch_size
        if self.flatten:
            return (batch, None if rows is None or cols is None else rows * cols, self.embed_dim)
        return (batch, rows, cols, self.embed_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            patch_size=self.patch_size,
            embed_dim=self.embed_dim,
            flatten=self.flatten,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="cnnkit")
class PositionEmbedding(keras.layers.Layer):
    """Add a learned vector to each position of a token sequence.

    Attention treats its inputs as a *set*: shuffle the tokens and each output
    is shuffled the same way. Adding a different learned vector at every
    position is how a transformer learns where a token sits. (A CNN needs no
    such thing: its kernels see neighbours in order by construction.)

    Args:
        initializer: Keras initializer of the position vectors (default a
            small random normal, as in ViT).

    Input shape:
        ``(batch, sequence_length, dim)`` with a known ``sequence_length``.

    Output shape:
        The same as the input.

    Example:
        >>> layer = PositionEmbedding()
        >>> tuple(layer(keras.ops.zeros((2, 10, 8))).shape)
        (2, 10, 8)
    """

    def __init__(self, initializer="random_normal", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[1] is None or input_shape[2] is None:
            raise ValueError(
                "PositionEmbedding expects (batch, sequence_length, dim) with known sequence_length and dim; "
                f"received input shape {input_shape}."
            )
        self.positions = self.add_weight(name="positions", shape=tuple(input_shape[1:]), initializer=self.initializer)

    def call(self, tokens):
        return tokens + ops.cast(self.positions, tokens.dtype)[None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(initializer=keras.initializers.serialize(self.initializer))
        return config
