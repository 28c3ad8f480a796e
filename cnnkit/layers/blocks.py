"""The building blocks of modern CNN backbones, as reusable Keras layers.

=========================  =====================================================  ==================
layer                      what it is                                             from
=========================  =====================================================  ==================
``ConvBNAct``              convolution -> batch norm -> activation: the atom      everywhere
``ResidualBlock``          two 3x3 convs plus a shortcut ("basic" block)          ResNet-18/34
``Bottleneck``             1x1 reduce -> 3x3 -> 1x1 expand, plus a shortcut       ResNet-50/101
``DepthwiseSeparableConv`` depthwise 3x3 (per channel) then pointwise 1x1         MobileNetV1
``InvertedResidual``       1x1 expand -> depthwise -> 1x1 linear project (MBConv) MobileNetV2, EfficientNet
``SqueezeExcite``          re-weight channels by a gate computed from the image   SENet, EfficientNet
``StochasticDepth``        drop a whole residual branch per sample while training EfficientNet, ResNets
=========================  =====================================================  ==================

Every layer follows Keras's own conventions: ``__init__`` validates its
arguments, sublayers are built in ``build``, ``call`` uses ``keras.ops`` only,
``get_config`` mirrors ``__init__`` and the class is registered, so models made
of these blocks save and load as ``.keras`` files. All images are
channels-last: ``(batch, height, width, channels)``.

Convolutions use ``padding="same"``, so a block with ``strides=s`` maps a
``(H, W)`` input to ``(ceil(H / s), ceil(W / s))`` for any input size.

Each block also lists the convolutions on its longest path from input to
output in :meth:`receptive_field_path` (kernel size, stride, dilation), which
is all a receptive-field calculator needs to see through the block.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from cnnkit import _validate as V

# Batch-norm settings of torchvision's and the original papers' models (Keras's defaults are
# momentum 0.99, epsilon 1e-3). Momentum 0.9 lets the moving statistics catch up within the few
# hundred steps a CPU course can afford.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


# ---------------------------------------------------------------- shapes


def _check_image_shape(input_shape, layer) -> None:
    if len(input_shape) != 4:
        raise ValueError(
            f"{type(layer).__name__} expects images (batch, height, width, channels); "
            f"received an input of shape {tuple(input_shape)}."
        )
    if input_shape[-1] is None:
        raise ValueError(f"{type(layer).__name__} needs a known number of input channels; received {tuple(input_shape)}.")


def _strided_size(size, strides: int):
    return None if size is None else math.ceil(size / strides)


def _build_chain(layers, input_shape):
    """Build layers that run one after another; return the final output shape."""
    shape = tuple(input_shape)
    for layer in layers:
        layer.build(shape)
        shape = tuple(layer.compute_output_shape(shape))
    return shape


# ---------------------------------------------------------------- the atom


@keras.saving.register_keras_serializable(package="cnnkit")
class ConvBNAct(keras.layers.Layer):
    """Convolution, then batch normalization, then an activation: the unit every backbone repeats.

    The convolution has no bias when batch norm follows (the norm's ``beta``
    does that job), as in ResNet, MobileNet and EfficientNet; with
    ``use_bn=False`` the convolution keeps its bias, as in VGG.

    Args:
        filters: output channels. Must be ``None`` when ``depthwise=True``
            (a depthwise convolution keeps the number of channels).
        kernel_size: side of the square kernel.
        strides: 1 keeps the size; 2 halves it (``ceil(H / 2)``).
        activation: a Keras activation name (``"relu"``, ``"relu6"``,
            ``"swish"``, ...) or ``None`` for no activation.
        depthwise: use a ``DepthwiseConv2D`` (one filter per input channel).
        use_bn: add batch normalization after the convolution.
        dilation_rate: spacing between kernel taps.
        bn_momentum: momentum of the batch norm's moving statistics (in ``[0, 1)``);
            the default 0.9 is torchvision's; TensorFlow-trained networks such as
            EfficientNet use 0.99.
        bn_epsilon: the batch norm's ``epsilon`` (> 0): 1e-5 as in torchvision; a
            pretrained network needs the value it was trained with (1e-3 in EfficientNet).

    Input shape:
        ``(batch, H, W, C_in)``.

    Output shape:
        ``(batch, ceil(H / strides), ceil(W / strides), filters)``
        (``C_in`` channels when ``depthwise=True``).

    Example:
        >>> layer = ConvBNAct(16, kernel_size=3, strides=2)
        >>> tuple(layer(keras.ops.zeros((2, 32, 32, 3))).shape)
        (2, 16, 16, 16)
    """

    def __init__(self, filters=None, kernel_size=3, strides=1, activation="relu", depthwise=False,
                 use_bn=True, dilation_rate=1, bn_momentum=BN_MOMENTUM, bn_epsilon=BN_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.depthwise = V.boolean(depthwise, "depthwise")
        if depthwise and filters is not None:
            raise ValueError(f"filters must be None when depthwise=True (the channels stay the same); received {filters!r}.")
        self.filters = None if depthwise else V.positive_int(filters, "filters")
        self.kernel_size = V.positive_int(kernel_size, "kernel_size")
        self.strides = V.positive_int(strides, "strides")
        self.dilation_rate = V.positive_int(dilation_rate, "dilation_rate")
        if self.strides > 1 and self.dilation_rate > 1:
            raise ValueError(f"strides > 1 and dilation_rate > 1 cannot be combined; received strides={strides}, dilation_rate={dilation_rate}.")
        self.activation = activation
        self._activation_fn = V.activation(activation)
        self.use_bn = V.boolean(use_bn, "use_bn")
        self.bn_momentum = V.rate(bn_momentum, "bn_momentum")
        self.bn_epsilon = V.positive_float(bn_epsilon, "bn_epsilon")

        conv_args = dict(kernel_size=self.kernel_size, strides=self.strides, padding="same",
                         dilation_rate=self.dilation_rate, use_bias=not self.use_bn, name="conv",
                         dtype=self.dtype_policy)
        if self.depthwise:
            self.conv = keras.layers.DepthwiseConv2D(depthwise_initializer="he_normal", **conv_args)
        else:
            self.conv = keras.layers.Conv2D(self.filters, kernel_initializer="he_normal", **conv_args)
        self.bn = (keras.layers.BatchNormalization(momentum=self.bn_momentum, epsilon=self.bn_epsilon, name="bn",
                                                   dtype=self.dtype_policy)
                   if self.use_bn else None)

    def build(self, input_shape):
        _check_image_shape(input_shape, self)
        _build_chain([self.conv] + ([self.bn] if self.bn is not None else []), input_shape)

    def call(self, inputs, training=None):
        x = self.conv(inputs)
        if self.bn is not None:
            x = self.bn(x, training=training)
        return self._activation_fn(x)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        out = channels if self.depthwise else self.filters
        return (batch, _strided_size(height, self.strides), _strided_size(width, self.strides), out)

    def receptive_field_path(self):
        """``[(kernel_size, stride, dilation)]`` of the convolution, for receptive-field calculators."""
        return [(self.kernel_size, self.strides, self.dilation_rate)]

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      activation=self.activation, depthwise=self.depthwise, use_bn=self.use_bn,
                      dilation_rate=self.dilation_rate, bn_momentum=self.bn_momentum, bn_epsilon=self.bn_epsilon)
        return config


# ---------------------------------------------------------------- stochastic depth


@keras.saving.register_keras_serializable(package="cnnkit")
class StochasticDepth(keras.layers.Layer):
    """Drop a residual branch for a random subset of the samples while training ("drop path").

    During training each sample's branch output is kept with probability
    ``1 - rate`` and scaled by ``1 / (1 - rate)`` (so its expected value is
    unchanged), or replaced by zeros; the block then passes the shortcut alone,
    which makes the network randomly shallower (Huang et al., 2016,
    "Deep Networks with Stochastic Depth"). At inference it is the identity.

    Args:
        rate: probability of dropping the branch, in ``[0, 1)``.
        seed: seed of the random generator.

    Input shape:
        any ``(batch, ...)``. Output shape: the same.

    Example:
        >>> drop = StochasticDepth(0.2)
        >>> tuple(drop(keras.ops.ones((4, 8, 8, 3)), training=True).shape)
        (4, 8, 8, 3)
    """

    def __init__(self, rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = V.rate(rate, "rate")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        keep = 1.0 - self.rate
        # One coin per sample, broadcast over every other axis.
        shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        coins = keras.random.uniform(shape, seed=self.seed_generator, dtype=inputs.dtype)
        mask = ops.floor(coins + keep)
        return inputs * mask / keep

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


# ---------------------------------------------------------------- ResNet blocks


class _ResidualBase(keras.layers.Layer):
    """What the basic and the bottleneck block share: a branch of ``ConvBNAct`` layers plus a shortcut."""

    def __init__(self, filters, strides, expansion, activation, residual, use_bn, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        self.filters = V.positive_int(filters, "filters")
        self.strides = V.positive_int(strides, "strides")
        self.expansion = V.positive_int(expansion, "expansion")
        self.activation = activation
        self._activation_fn = V.activation(activation)
        self.residual = V.boolean(residual, "residual")
        self.use_bn = V.boolean(use_bn, "use_bn")
        self.drop_path_rate = V.rate(drop_path_rate, "drop_path_rate")
        self.branch = self._make_branch()
        self.drop_path = (StochasticDepth(self.drop_path_rate, name="drop_path", dtype=self.dtype_policy)
                          if self.drop_path_rate else None)
        self.projection = None  # created in build when the shape changes

    @property
    def out_channels(self) -> int:
        return self.filters * self.expansion

    def _make_branch(self) -> list:
        raise NotImplementedError

    def build(self, input_shape):
        _check_image_shape(input_shape, self)
        out_shape = _build_chain(self.branch, input_shape)
        needs_projection = self.strides != 1 or input_shape[-1] != self.out_channels
        if self.residual and needs_projection:
            self.projection = ConvBNAct(self.out_channels, 1, self.strides, None, use_bn=self.use_bn,
                                        name="projection", dtype=self.dtype_policy)
            self.projection.build(input_shape)
        if self.drop_path is not None:
            self.drop_path.build(out_shape)

    def call(self, inputs, training=None):
        x = inputs
        for layer in self.branch:
            x = layer(x, training=training)
        if self.residual:
            if self.drop_path is not None:
                x = self.drop_path(x, training=training)
            shortcut = inputs if self.projection is None else self.projection(inputs, training=training)
            x = ops.add(shortcut, x)
        return self._activation_fn(x)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, _strided_size(height, self.strides), _strided_size(width, self.strides), self.out_channels)

    def receptive_field_path(self):
        """``[(kernel_size, stride, dilation)]`` along the branch, the longest path through the block."""
        return [step for layer in self.branch for step in layer.receptive_field_path()]

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, strides=self.strides, activation=self.activation,
                      residual=self.residual, use_bn=self.use_bn, drop_path_rate=self.drop_path_rate)
        return config


@keras.saving.register_keras_serializable(package="cnnkit")
class ResidualBlock(_ResidualBase):
    """The "basic" residual block of ResNet-18/34: ``relu(x + bn(conv(relu(bn(conv(x))))))``.

    Two 3x3 ``ConvBNAct`` layers (the first one strided) make the branch; the
    shortcut is the input itself, or a 1x1 strided convolution with batch norm
    ("projection") when the size or the number of channels changes (He et al.,
    2016, option B). The block only has to learn the *residual* ``F(x) = H(x) - x``,
    and the identity path carries gradients straight through, which is what
    lets very deep networks train.

    Args:
        filters: output channels.
        strides: stride of the first convolution and of the projection.
        activation: activation name (``"relu"`` in ResNet).
        residual: ``False`` removes the shortcut and gives the "plain" block
            He et al. compare against (same layers, no addition).
        use_bn: batch normalization after every convolution.
        drop_path_rate: :class:`StochasticDepth` rate applied to the branch.

    Input shape:
        ``(batch, H, W, C_in)``.

    Output shape:
        ``(batch, ceil(H / strides), ceil(W / strides), filters)``.

    Example:
        >>> block = ResidualBlock(32, strides=2)
        >>> tuple(block(keras.ops.zeros((2, 16, 16, 16))).shape)
        (2, 8, 8, 32)
    """

    def __init__(self, filters, strides=1, activation="relu", residual=True, use_bn=True,
                 drop_path_rate=0.0, **kwargs):
        super().__init__(filters, strides, 1, activation, residual, use_bn, drop_path_rate, **kwargs)

    def _make_branch(self):
        return [
            ConvBNAct(self.filters, 3, self.strides, self.activation, use_bn=self.use_bn, name="conv1",
                      dtype=self.dtype_policy),
            ConvBNAct(self.filters, 3, 1, None, use_bn=self.use_bn, name="conv2",
                      dtype=self.dtype_policy),
        ]


@keras.saving.register_keras_serializable(package="cnnkit")
class Bottleneck(_ResidualBase):
    """The bottleneck residual block of ResNet-50/101/152: 1x1 reduce, 3x3, 1x1 expand, plus a shortcut.

    The 1x1 convolutions shrink the channels to ``filters`` for the costly 3x3
    convolution and expand them back to ``filters * expansion``, so a deep
    network stays affordable. The stride sits on the 3x3 convolution
    (torchvision's "ResNet v1.5").

    Args:
        filters: channels of the bottleneck (the 3x3 convolution).
        strides: stride of the 3x3 convolution and of the projection.
        expansion: output channels are ``filters * expansion`` (4 in ResNet).
        activation, residual, use_bn, drop_path_rate: as in :class:`ResidualBlock`.

    Input shape:
        ``(batch, H, W, C_in)``.

    Output shape:
        ``(batch, ceil(H / strides), ceil(W / strides), filters * expansion)``.

    Example:
        >>> block = Bottleneck(16, strides=2)
        >>> tuple(block(keras.ops.zeros((2, 16, 16, 64))).shape)
        (2, 8, 8, 64)
    """

    def __init__(self, filters, strides=1, expansion=4, activation="relu", residual=True, use_bn=True,
                 drop_path_rate=0.0, **kwargs):
        super().__init__(filters, strides, expansion, activation, residual, use_bn, drop_path_rate, **kwargs)

    def _make_branch(self):
        return [
            ConvBNAct(self.filters, 1, 1, self.activation, use_bn=self.use_bn, name="reduce",
                      dtype=self.dtype_policy),
            ConvBNAct(self.filters, 3, self.strides, self.activation, use_bn=self.use_bn, name="conv",
                      dtype=self.dtype_policy),
            ConvBNAct(self.out_channels, 1, 1, None, use_bn=self.use_bn, name="expand",
                      dtype=self.dtype_policy),
        ]

    def get_config(self):
        config = super().get_config()
        config.update(expansion=self.expansion)
        return config


# ---------------------------------------------------------------- MobileNet / EfficientNet blocks


@keras.saving.register_keras_serializable(package="cnnkit")
class DepthwiseSeparableConv(keras.layers.Layer):
    """A depthwise convolution (one k x k filter per channel) followed by a 1x1 pointwise one.

    Together they replace a k x k convolution: the depthwise step filters
    space, the pointwise step mixes channels. Parameters (and multiply-adds per
    output position) drop from ``k*k*C_in*C_out`` to ``k*k*C_in + C_in*C_out``,
    a ratio of ``1/C_out + 1/k^2``: about 8-9x fewer for 3x3 kernels
    (Howard et al., 2017, MobileNetV1). Both steps have batch norm and an
    activation, as in MobileNetV1 (``keras.layers.SeparableConv2D`` is the
    same product without the norm and activation in between).

    Args:
        filters: output channels of the pointwise convolution.
        kernel_size: side of the depthwise kernel.
        strides: stride of the depthwise convolution.
        activation: activation after each step.
        use_bn: batch normalization after each step.

    Input shape:
        ``(batch, H, W, C_in)``.

    Output shape:
        ``(batch, ceil(H / strides), ceil(W / strides), filters)``.

    Example:
        >>> layer = DepthwiseSeparableConv(64, strides=2)
        >>> tuple(layer(keras.ops.zeros((2, 16, 16, 32))).shape)
        (2, 8, 8, 64)
    """

    def __init__(self, filters, kernel_size=3, strides=1, activation="relu", use_bn=True, **kwargs):
        super().__init__(**kwargs)
        self.filters = V.positive_int(filters, "filters")
        self.kernel_size = V.positive_int(kernel_size, "kernel_size")
        self.strides = V.positive_int(strides, "strides")
        self.activation = activation
        V.activation(activation)
        self.use_bn = V.boolean(use_bn, "use_bn")
        self.depthwise = ConvBNAct(None, self.kernel_size, self.strides, activation, depthwise=True,
                                   use_bn=use_bn, name="depthwise", dtype=self.dtype_policy)
        self.pointwise = ConvBNAct(self.filters, 1, 1, activation, use_bn=use_bn, name="pointwise",
                                   dtype=self.dtype_policy)

    def build(self, input_shape):
        _check_image_shape(input_shape, self)
        _build_chain([self.depthwise, self.pointwise], input_shape)

    def call(self, inputs, training=None):
        return self.pointwise(self.depthwise(inputs, training=training), training=training)

    def compute_output_shape(self, input_shape):
        return self.pointwise.compute_output_shape(self.depthwise.compute_output_shape(input_shape))

    def receptive_field_path(self):
        """``[(kernel_size, stride, dilation)]`` of the depthwise and pointwise steps."""
        return self.depthwise.receptive_field_path() + self.pointwise.receptive_field_path()

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      activation=self.activation, use_bn=self.use_bn)
        return config


@keras.saving.register_keras_serializable(package="cnnkit")
class SqueezeExcite(keras.layers.Layer):
    """Squeeze-and-excitation: scale each channel by a gate in (0, 1) computed from the whole image.

    *Squeeze*: global average pooling summarises each channel in one number.
    *Excite*: a tiny two-layer bottleneck (``C -> squeeze_channels -> C``, as
    1x1 convolutions with bias) and a sigmoid turn the summary into one gate
    per channel, and the input is multiplied by it (Hu et al., 2018). It costs
    ``2 * C * squeeze_channels + squeeze_channels + C`` parameters and lets
    the network emphasise the channels that matter for *this* image.

    Args:
        squeeze_channels: width of the bottleneck (e.g. a quarter of the
            block's input channels in EfficientNet).
        activation: activation inside the bottleneck (``"relu"`` in SENet,
            ``"swish"`` in EfficientNet).

    Input shape:
        ``(batch, H, W, C)``. Output shape: the same.

    Example:
        >>> se = SqueezeExcite(4)
        >>> tuple(se(keras.ops.ones((2, 8, 8, 16))).shape)
        (2, 8, 8, 16)
    """

    def __init__(self, squeeze_channels, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.squeeze_channels = V.positive_int(squeeze_channels, "squeeze_channels")
        self.activation = activation
        V.activation(activation)
        self.squeeze = keras.layers.GlobalAveragePooling2D(keepdims=True, name="squeeze", dtype=self.dtype_policy)
        self.reduce = keras.layers.Conv2D(self.squeeze_channels, 1, activation=activation, name="reduce",
                                          dtype=self.dtype_policy)
        self.expand = None  # needs the input's channel count: created in build

    def build(self, input_shape):
        _check_image_shape(input_shape, self)
        self.expand = keras.layers.Conv2D(input_shape[-1], 1, activation="sigmoid", name="expand",
                                          dtype=self.dtype_policy)
        _build_chain([self.squeeze, self.reduce, self.expand], input_shape)

    def gates(self, inputs):
        """The per-channel gates, ``(batch, 1, 1, C)`` in (0, 1)."""
        return self.expand(self.reduce(self.squeeze(inputs)))

    def call(self, inputs):
        return ops.multiply(inputs, self.gates(inputs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(squeeze_channels=self.squeeze_channels, activation=self.activation)
        return config


@keras.saving.register_keras_serializable(package="cnnkit")
class InvertedResidual(keras.layers.Layer):
    """MobileNetV2's inverted residual ("MBConv" in EfficientNet): expand, depthwise, project.

    A 1x1 convolution *expands* the channels ``expansion`` times, a depthwise
    k x k convolution filters space cheaply in that wide space, optional
    squeeze-excite re-weights the channels, and a 1x1 convolution *projects*
    back down with **no activation** (a "linear bottleneck": a ReLU in the
    narrow space would destroy information, Sandler et al., 2018). The shortcut
    joins the two *narrow* ends, the opposite of ResNet's bottleneck, hence
    "inverted"; it is used only when the block keeps the size and channels.

    Args:
        filters: output channels.
        strides: stride of the depthwise convolution.
        expansion: expansion factor ``t`` (1 skips the expand convolution).
        kernel_size: depthwise kernel (3 or 5 in EfficientNet).
        activation: ``"relu6"`` in MobileNetV2, ``"swish"`` in EfficientNet.
        se_ratio: if > 0, add :class:`SqueezeExcite` with
            ``max(1, int(C_in * se_ratio))`` channels (EfficientNet: 0.25 of
            the block's *input* channels).
        drop_path_rate: :class:`StochasticDepth` rate on the branch (only when
            the shortcut is used).
        bn_momentum, bn_epsilon: batch-norm settings of every :class:`ConvBNAct`
            in the block (EfficientNet: 0.99 and 1e-3).

    Input shape:
        ``(batch, H, W, C_in)``.

    Output shape:
        ``(batch, ceil(H / strides), ceil(W / strides), filters)``.

    Example:
        >>> block = InvertedResidual(24, strides=2, expansion=6)
        >>> tuple(block(keras.ops.zeros((2, 16, 16, 16))).shape)
        (2, 8, 8, 24)
    """

    def __init__(self, filters, strides=1, expansion=6, kernel_size=3, activation="relu6", se_ratio=0.0,
                 drop_path_rate=0.0, bn_momentum=BN_MOMENTUM, bn_epsilon=BN_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.filters = V.positive_int(filters, "filters")
        self.strides = V.positive_int(strides, "strides")
        self.expansion = V.positive_int(expansion, "expansion")
        self.kernel_size = V.positive_int(kernel_size, "kernel_size")
        self.activation = activation
        V.activation(activation)
        self.se_ratio = V.fraction(se_ratio, "se_ratio")
        self.drop_path_rate = V.rate(drop_path_rate, "drop_path_rate")
        self.bn_momentum = V.rate(bn_momentum, "bn_momentum")
        self.bn_epsilon = V.positive_float(bn_epsilon, "bn_epsilon")
        # Created in build: their sizes depend on the input channels.
        self.expand = self.se = self.drop_path = None
        self.depthwise = ConvBNAct(None, self.kernel_size, self.strides, activation, depthwise=True,
                                   name="depthwise", dtype=self.dtype_policy, **self._bn_args())
        self.project = ConvBNAct(self.filters, 1, 1, None, name="project", dtype=self.dtype_policy,
                                 **self._bn_args())
        self.use_shortcut = None

    def build(self, input_shape):
        _check_image_shape(input_shape, self)
        in_channels = input_shape[-1]
        if self.expansion != 1:
            self.expand = ConvBNAct(in_channels * self.expansion, 1, 1, self.activation, name="expand",
                                    dtype=self.dtype_policy, **self._bn_args())
        if self.se_ratio > 0:
            self.se = SqueezeExcite(max(1, int(in_channels * self.se_ratio)), self.activation, name="se",
                                    dtype=self.dtype_policy)
        self.use_shortcut = self.strides == 1 and in_channels == self.filters
        if self.use_shortcut and self.drop_path_rate > 0:
            self.drop_path = StochasticDepth(self.drop_path_rate, name="drop_path", dtype=self.dtype_policy)
        out_shape = _build_chain(self._branch_layers(), input_shape)
        if self.drop_path is not None:
            self.drop_path.build(out_shape)

    def _bn_args(self) -> dict:
        return dict(bn_momentum=self.bn_momentum, bn_epsilon=self.bn_epsilon)

    def _branch_layers(self):
        return [layer for layer in (self.expand, self.depthwise, self.se, self.project) if layer is not None]

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._branch_layers():
            x = layer(x) if isinstance(layer, SqueezeExcite) else layer(x, training=training)
        if self.use_shortcut:
            if self.drop_path is not None:
                x = self.drop_path(x, training=training)
            x = ops.add(inputs, x)
        return x

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, _strided_size(height, self.strides), _strided_size(width, self.strides), self.filters)

    def receptive_field_path(self):
        """``[(kernel_size, stride, dilation)]`` of the convolutions on the branch."""
        path = [(1, 1, 1)] if self.expansion != 1 else []
        return path + self.depthwise.receptive_field_path() + self.project.receptive_field_path()

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, strides=self.strides, expansion=self.expansion,
                      kernel_size=self.kernel_size, activation=self.activation, se_ratio=self.se_ratio,
                      drop_path_rate=self.drop_path_rate, bn_momentum=self.bn_momentum, bn_epsilon=self.bn_epsilon)
        return config


BLOCKS = (ConvBNAct, ResidualBlock, Bottleneck, DepthwiseSeparableConv, InvertedResidual, SqueezeExcite,
          StochasticDepth)
