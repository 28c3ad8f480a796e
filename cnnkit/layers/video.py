"""Layers for video clips ``(batch, time, height, width, channels)``: the (2+1)D convolution.

:class:`Conv2Plus1D` is the R(2+1)D block (Tran et al., 2018, "A Closer Look at
Spatiotemporal Convolutions for Action Recognition"): a spatial ``(1, k, k)``
convolution, batch norm and a nonlinearity, then a temporal ``(t, 1, 1)``
convolution, with the intermediate width chosen by the paper's rule
(:func:`cnnkit.video.intermediate_filters`) so the block has about the
parameters of the full 3D convolution it replaces. The formulas (parameters,
multiply-accumulates) and weight inflation live in :mod:`cnnkit.video`.
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit.layers.blocks import BN_EPSILON, BN_MOMENTUM
from cnnkit.ops import conv_output_size
from cnnkit.video import intermediate_filters

PADDINGS = ("same", "valid")


@keras.saving.register_keras_serializable(package="cnnkit")
class Conv2Plus1D(keras.layers.Layer):
    """A (2+1)D convolution: spatial ``(1, k_h, k_w)``, batch norm and ReLU, then temporal ``(t, 1, 1)``.

    Factorising a ``(t, k_h, k_w)`` Conv3D into a 2D spatial and a 1D temporal
    convolution (R(2+1)D, Tran et al., 2018) keeps about the same number of
    parameters (the intermediate width follows :func:`intermediate_filters`)
    but adds a nonlinearity between space and time, and in the paper trains
    easier and generalises better than the full 3D convolution.

    Args:
        filters: output channels ``N_out``.
        kernel_size: int or ``(t, k_h, k_w)``; the full 3D kernel being factorised.
        strides: int or ``(s_t, s_h, s_w)``: the spatial strides go to the
            spatial convolution, the temporal stride to the temporal one.
        padding: ``"same"`` or ``"valid"``.
        intermediate_filters: width ``M`` between the two convolutions; ``None``
            (default) applies the paper's parameter-matching rule.
        batch_norm: batch normalisation between the two convolutions (as in the
            paper). The spatial convolution then has no bias (batch norm's beta replaces it).
        batch_norm_momentum: momentum of batch norm's moving statistics (default
            :data:`cnnkit.layers.BN_MOMENTUM`, 0.9, as in every cnnkit block: Keras's 0.99
            follows the data too slowly for the short trainings of a CPU course).
        intermediate_activation: activation between the two convolutions (default ``"relu"``).
        activation: activation applied to the output (default none, like ``Conv3D``).
        use_bias: bias of the temporal convolution (and of the spatial one when ``batch_norm=False``).
        kernel_initializer: initializer of both kernels.

    Input shape:
        ``(batch, time, height, width, channels)``.

    Output shape:
        ``(batch, time', height', width', filters)``, the same as
        ``Conv3D(filters, kernel_size, strides, padding)`` would give.

    Example:
        >>> layer = Conv2Plus1D(64, kernel_size=3)
        >>> tuple(layer(keras.ops.zeros((2, 8, 16, 16, 64))).shape)
        (2, 8, 16, 16, 64)
        >>> layer.intermediate_width
        144
    """

    def __init__(
        self,
        filters: int,
        kernel_size=3,
        strides=1,
        padding: str = "same",
        intermediate_filters: int | None = None,
        batch_norm: bool = True,
        batch_norm_momentum: float = BN_MOMENTUM,
        intermediate_activation="relu",
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = V.positive_int(filters, "filters")
        self.kernel_size = V.triple(kernel_size, "kernel_size")
        self.strides = V.triple(strides, "strides")
        self.padding = V.choice(padding, "padding", PADDINGS, case_sensitive=False)
        self.intermediate_filters = V.positive_int(intermediate_filters, "intermediate_filters", allow_none=True)
        self.batch_norm = V.boolean(batch_norm, "batch_norm")
        self.batch_norm_momentum = V.rate(batch_norm_momentum, "batch_norm_momentum")
        self.intermediate_activation = keras.activations.get(intermediate_activation)
        self.activation = keras.activations.get(activation)
        self.use_bias = V.boolean(use_bias, "use_bias")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.intermediate_width = intermediate_filters  # set in build() when chosen by the rule
        self.spatial = self.norm = self.temporal = None

    def build(self, input_shape):
        if len(input_shape) != 5 or input_shape[-1] is None:
            raise ValueError(
                "Conv2Plus1D expects inputs of shape (batch, time, height, width, channels) with a known "
                f"number of channels; received {tuple(input_shape)}."
            )
        t, kh, kw = self.kernel_size
        st, sh, sw = self.strides
        in_channels = int(input_shape[-1])
        if self.intermediate_width is None:
            self.intermediate_width = intermediate_filters(in_channels, self.filters, self.kernel_size)
        self.spatial = keras.layers.Conv3D(
            self.intermediate_width, (1, kh, kw), strides=(1, sh, sw), padding=self.padding,
            use_bias=self.use_bias and not self.batch_norm, kernel_initializer=self.kernel_initializer,
            name="spatial", dtype=self.dtype_policy,
        )
        self.spatial.build(input_shape)
        shape = self.spatial.compute_output_shape(input_shape)
        if self.batch_norm:
            self.norm = keras.layers.BatchNormalization(momentum=self.batch_norm_momentum, epsilon=BN_EPSILON,
                                                        name="norm", dtype=self.dtype_policy)
            self.norm.build(shape)
        self.temporal = keras.layers.Conv3D(
            self.filters, (t, 1, 1), strides=(st, 1, 1), padding=self.padding, use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer, name="temporal", dtype=self.dtype_policy,
        )
        self.temporal.build(shape)
        self.built = True

    def call(self, inputs, training=None):
        x = self.spatial(inputs)
        if self.norm is not None:
            x = self.norm(x, training=training)
        x = self.intermediate_activation(x)
        return self.activation(self.temporal(x))

    def compute_output_shape(self, input_shape):
        sizes = [
            None if n is None else conv_output_size(int(n), k, s, self.padding)
            for n, k, s in zip(input_shape[1:4], self.kernel_size, self.strides)
        ]
        return (input_shape[0], *sizes, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            intermediate_filters=self.intermediate_filters,
            batch_norm=self.batch_norm,
            batch_norm_momentum=self.batch_norm_momentum,
            intermediate_activation=keras.activations.serialize(self.intermediate_activation),
            activation=keras.activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
