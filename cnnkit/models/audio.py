"""Models for sounds: a CNN on log-mel spectrograms, and a 1D CNN on the raw waveform.

* :func:`spectrogram_cnn` (``task="classification"``): a plain 3-stage ``Conv2D``
  network for any ``(height, width, channels)`` grid: log-mel spectrograms
  ``(frames, mel bands, 1)`` in notebook 08, and small images in its patch-embedding
  comparison.
* :func:`audio_cnn1d` (``task="audio"``): ``Conv1D`` layers straight on the
  waveform ``(samples, channels)``; its first strided convolution has to learn
  the frequency filters that the STFT computes by design (:mod:`cnnkit.audio`).

Example:
    >>> from cnnkit.models import create_model
    >>> create_model("audio_cnn1d", num_classes=6, input_shape=(4000, 1)).output_shape
    (None, 6)
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit.layers.blocks import BN_EPSILON, BN_MOMENTUM
from cnnkit.models.registry import register_model


def _conv_bn_relu(conv, x, name):
    x = conv(x)
    # Momentum 0.9 (as in cnnkit.layers.blocks): with Keras's 0.99 the moving variance, which starts
    # at 1, needs thousands of steps to forget its start, and a short CPU training ends with
    # inference-mode statistics far from the real ones.
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _rescale(x, input_mean: float, input_std: float):
    input_mean, input_std = V.number(input_mean, "input_mean"), V.positive_float(input_std, "input_std")
    # Standardising inside the model keeps it self-contained for export (no separate preprocessing).
    return keras.layers.Rescaling(1.0 / input_std, offset=-input_mean / input_std, name="standardize")(x)


@register_model("spectrogram_cnn", task="classification")
def spectrogram_cnn(num_classes: int = 6, input_shape=(32, 40, 1), filters=(16, 32, 64),
                    input_mean: float = 0.0, input_std: float = 1.0):
    """A plain CNN for 2D grids: per stage a 3x3 conv, batch norm, ReLU and 2x2 max pooling; then global average pooling.

    Made for log-mel spectrograms ``(frames, mel bands, 1)``, but nothing in
    it is audio-specific: it is the same network for a small image.

    Args:
        num_classes: output scores (logits).
        input_shape: ``(height, width, channels)``; height and width may be ``None``.
        filters: channels of each stage (one stage per entry).
        input_mean, input_std: the model first computes ``(x - input_mean) / input_std``
            (e.g. the training set's mean and standard deviation of log-mel values).

    Input shape:
        ``(batch, height, width, channels)``.

    Output shape:
        ``(batch, num_classes)`` logits.

    Example:
        >>> spectrogram_cnn(num_classes=6, input_shape=(30, 40, 1)).output_shape
        (None, 6)
    """
    inputs = keras.Input(V.image_shape(input_shape), name="spectrogram")
    x = _rescale(inputs, input_mean, input_std)
    for i, width in enumerate(V.positive_ints(filters, "filters", what="one per stage")):
        name = f"stage{i + 1}"
        x = _conv_bn_relu(keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv"), x, name)
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"{name}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="average")(x)
    return keras.Model(inputs, keras.layers.Dense(V.num_classes(num_classes), name="logits")(x), name="spectrogram_cnn")


@register_model("audio_cnn1d", task="audio")
def audio_cnn1d(num_classes: int = 6, input_shape=(4000, 1), filters=(16, 32, 64, 64), first_kernel: int = 32,
                first_stride: int = 4, kernel_size: int = 9, pool_size: int = 4):
    """A 1D CNN on raw waveforms: a strided first convolution, then conv / batch norm / ReLU / pooling stages.

    The first convolution (``first_kernel`` samples, stride ``first_stride``)
    has to learn for itself what the STFT computes by design: filters tuned to
    frequencies. Later stages pool over time by ``pool_size`` each.

    Args:
        num_classes: output scores (logits).
        input_shape: ``(samples, channels)``.
        filters: channels of each stage (the first entry is the first convolution).
        first_kernel, first_stride: kernel size and stride of the first convolution.
        kernel_size: kernel size of the later convolutions.
        pool_size: max-pooling factor after each stage but the last.

    Input shape:
        ``(batch, samples, channels)`` waveforms.

    Output shape:
        ``(batch, num_classes)`` logits.

    Example:
        >>> audio_cnn1d(num_classes=6).output_shape
        (None, 6)
    """
    input_shape = V.shape(input_shape, "input_shape", ("samples", "channels"), unknown=("samples",))
    filters = V.positive_ints(filters, "filters", what="one per stage")
    first_kernel = V.positive_int(first_kernel, "first_kernel")
    first_stride = V.positive_int(first_stride, "first_stride")
    kernel_size = V.positive_int(kernel_size, "kernel_size")
    pool_size = V.positive_int(pool_size, "pool_size")
    inputs = keras.Input(input_shape, name="waveform")
    x = inputs
    for i, width in enumerate(filters):
        name = f"stage{i + 1}"
        kernel, stride = (first_kernel, first_stride) if i == 0 else (kernel_size, 1)
        conv = keras.layers.Conv1D(width, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")
        x = _conv_bn_relu(conv, x, name)
        if i < len(filters) - 1:
            x = keras.layers.MaxPooling1D(pool_size, padding="same", name=f"{name}_pool")(x)
    x = keras.layers.GlobalAveragePooling1D(name="average")(x)
    return keras.Model(inputs, keras.layers.Dense(V.num_classes(num_classes), name="logits")(x), name="audio_cnn1d")
