"""Small models shared by the cnnkit.analysis tests (all-ones kernels: linear, non-negative)."""

import keras

L = keras.layers
ONES = {"kernel_initializer": "ones", "bias_initializer": "zeros"}


def chain_2d():
    return keras.Sequential([
        keras.Input((41, 36, 1)),
        L.Conv2D(2, 3, padding="same", **ONES),
        L.Conv2D(2, 5, strides=2, padding="valid", **ONES),
        L.AveragePooling2D(3, strides=2, padding="same"),
        L.Conv2D(2, 3, dilation_rate=2, padding="same", **ONES),
        L.Conv2D(2, (3, 1), padding="same", **ONES),
    ])


def padding_and_cropping():
    return keras.Sequential([
        keras.Input((20, 21, 1)),
        L.ZeroPadding2D(((2, 1), (0, 3))),
        L.Conv2D(1, 3, strides=2, **ONES),
        L.Cropping2D(((1, 0), (2, 1))),
        L.Conv2D(1, 2, **ONES),
    ])


def chain_1d():
    return keras.Sequential([
        keras.Input((50, 1)),
        L.Conv1D(2, 4, padding="causal", dilation_rate=2, **ONES),
        L.Conv1D(2, 3, strides=2, padding="same", **ONES),
        L.AveragePooling1D(2),
        L.Conv1D(1, 3, **ONES),
    ])


def chain_3d():
    return keras.Sequential([
        keras.Input((12, 16, 15, 1)),
        L.Conv3D(2, 3, strides=(1, 2, 2), padding="same", **ONES),
        L.AveragePooling3D(2),
        L.Conv3D(1, (3, 1, 1), padding="same", **ONES),
    ])


def branches():
    inputs = keras.Input((33, 33, 1))
    a = L.Conv2D(2, 3, padding="same", **ONES)(inputs)
    b = L.Conv2D(2, 5, padding="same", **ONES)(inputs)
    b = L.Conv2D(2, 3, padding="same", **ONES)(b)
    x = L.Add()([a, b])
    # An Inception-style reduction: a strided conv beside a strided pool, concatenated.
    c = L.Conv2D(2, 3, strides=2, **ONES)(x)
    d = L.AveragePooling2D(3, strides=2)(x)
    return keras.Model(inputs, L.Concatenate()([c, d]))


def nested():
    inner = keras.Sequential([keras.Input((16, 16, 2)), L.Conv2D(2, 3, **ONES), L.AveragePooling2D(2)], name="inner")
    inputs = keras.Input((34, 34, 1))
    x = L.Conv2D(2, 3, strides=2, **ONES)(inputs)
    return keras.Model(inputs, L.Conv2D(1, 3, padding="same", **ONES)(inner(x)))


class ResidualPair(keras.layers.Layer):
    """A custom layer (unknown to the analysis): two convolutions plus a strided shortcut."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv_a = L.Conv2D(2, 3, strides=2, padding="same", **ONES)
        self.conv_b = L.Conv2D(2, 3, padding="same", **ONES)
        self.shortcut = L.Conv2D(2, 1, strides=2, **ONES)

    def build(self, input_shape):
        self.conv_a.build(input_shape)
        self.conv_b.build(self.conv_a.compute_output_shape(input_shape))
        self.shortcut.build(input_shape)

    def call(self, inputs):
        return keras.ops.add(self.conv_b(self.conv_a(inputs)), self.shortcut(inputs))


def custom_layer():
    inputs = keras.Input((24, 24, 1))
    return keras.Model(inputs, ResidualPair(name="pair")(L.Conv2D(2, 3, padding="same", **ONES)(inputs)))


def time_distributed():
    inputs = keras.Input((6, 16, 16, 1))
    x = L.TimeDistributed(L.Conv2D(2, 3, strides=2, padding="same", **ONES))(inputs)
    return keras.Model(inputs, L.Conv3D(1, (3, 3, 3), **ONES)(x))


def depthwise_separable():
    return keras.Sequential([
        keras.Input((20, 20, 2)),
        L.DepthwiseConv2D(3, strides=2, padding="same", depthwise_initializer="ones"),
        L.SeparableConv2D(2, 5, padding="same", depthwise_initializer="ones", pointwise_initializer="ones"),
    ])


def shifted_branches():
    """x[t + 1] + x[t] (two croppings merged), then a conv: branches not centred alike (frame differences)."""
    x = keras.Input((9, 12, 12, 1))
    later = L.Cropping3D(((1, 0), (0, 2), (0, 0)))(x)
    earlier = L.Cropping3D(((0, 1), (2, 0), (0, 0)))(x)
    y = L.Add()([later, earlier])
    y = L.Conv3D(1, (2, 3, 3), **ONES)(y)
    return keras.Model(x, y)


def permuted():
    """Height and width swapped by Permute between two convolutions of different shapes."""
    return keras.Sequential([
        keras.Input((14, 11, 1)),
        L.Conv2D(1, (5, 1), **ONES),
        L.Permute((2, 1, 3)),
        L.Conv2D(1, (3, 1), strides=(2, 1), **ONES),
    ])
