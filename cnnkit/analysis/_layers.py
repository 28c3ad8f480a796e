"""Which Keras layers are which, for the receptive-field and MAC tables (public Keras classes only)."""

from __future__ import annotations

import keras

L = keras.layers

CONVS = (L.Conv1D, L.Conv2D, L.Conv3D)
DEPTHWISE = (L.DepthwiseConv1D, L.DepthwiseConv2D)
SEPARABLE = (L.SeparableConv1D, L.SeparableConv2D)
TRANSPOSED = (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)
POOLS = (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D, L.AveragePooling1D, L.AveragePooling2D,
         L.AveragePooling3D)
ADAPTIVE_POOLS = (L.AdaptiveAveragePooling1D, L.AdaptiveAveragePooling2D, L.AdaptiveAveragePooling3D,
                  L.AdaptiveMaxPooling1D, L.AdaptiveMaxPooling2D, L.AdaptiveMaxPooling3D)
GLOBAL_POOLS = (L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D,
                L.GlobalMaxPooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling3D)
ZERO_PADDINGS = (L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D)
CROPPINGS = (L.Cropping1D, L.Cropping2D, L.Cropping3D)
UPSAMPLINGS = (L.UpSampling1D, L.UpSampling2D, L.UpSampling3D)
# Layers that work pixel by pixel (or are the identity at inference): they pass the field through.
TRANSPARENT = (
    L.InputLayer, L.BatchNormalization, L.LayerNormalization, L.GroupNormalization, L.UnitNormalization,
    L.Activation, L.ReLU, L.LeakyReLU, L.PReLU, L.ELU, L.Softmax, L.Dropout, L.SpatialDropout1D,
    L.SpatialDropout2D, L.SpatialDropout3D, L.GaussianNoise, L.GaussianDropout, L.AlphaDropout,
    L.ActivityRegularization, L.Identity, L.Rescaling, L.Normalization, L.Masking, L.Dense,
    L.RandomFlip, L.RandomTranslation, L.RandomRotation, L.RandomZoom, L.RandomContrast,
    L.RandomBrightness,
)
# Layers with weights but no multiply-accumulates worth counting (normalization, lookups).
NO_MACS = (L.BatchNormalization, L.LayerNormalization, L.GroupNormalization, L.UnitNormalization,
           L.Normalization, L.PReLU, L.Embedding)
# Layers that merge several inputs of the same spatial size.
MERGES = (L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum, L.Concatenate)


def n_tuple(value, rank: int) -> tuple:
    """A layer attribute as one value per axis: ``3`` -> ``(3, 3)``; a tuple or list is kept."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank


def window(layer):
    """``(kernel, strides, dilation, padding, rank)`` of a sliding-window layer, or ``None``."""
    if isinstance(layer, CONVS + DEPTHWISE + SEPARABLE):
        rank = len(layer.kernel_size)
        return (tuple(layer.kernel_size), n_tuple(layer.strides, rank), n_tuple(layer.dilation_rate, rank),
                layer.padding, rank)
    if isinstance(layer, POOLS):
        rank = len(layer.pool_size)
        return tuple(layer.pool_size), n_tuple(layer.strides, rank), (1,) * rank, layer.padding, rank
    return None
