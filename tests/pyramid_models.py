"""A tiny backbone shared by the detection and FPN model tests."""

import keras


def tiny_backbone(size=32, channels=8):
    """A few strided convolutions marking P2..P4 the way registered backbones do."""
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Identity(name="P2")(x)
    x = keras.layers.Conv2D(channels * 2, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Identity(name="P3")(x)
    x = keras.layers.Conv2D(channels * 2, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Identity(name="P4")(x)
    return keras.Model(inputs, x, name="tiny")
