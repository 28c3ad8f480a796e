"""Small models for sequences and sounds: the CNN / RNN / Transformer of the seed's table, and two audio CNNs.

Token models (input: ``(batch, length)`` int token ids, output: logits), all
starting with the same ``Embedding`` so they differ only in how tokens talk
to each other:

* :func:`sequence_cnn`: ``Conv1D`` layers (optionally dilated), then the
  maximum over positions. Each output sees only its receptive field.
* :func:`sequence_rnn`: a GRU or LSTM reads the tokens one after another;
  its last state feeds the classifier. Step ``t`` needs step ``t - 1``.
* :func:`sequence_transformer`: learned position vectors, then transformer
  encoder blocks (every token attends to every other), then the mean.

Sound models (input: float, output: logits):

* :func:`audio_cnn1d`: ``Conv1D`` layers straight on the raw waveform.
* :func:`spectrogram_cnn` (registered): a plain 3-stage ``Conv2D`` network
  for any ``(height, width, channels)`` grid: log-mel spectrograms here, and
  small images in the patch-embedding comparison.

The token models and ``audio_cnn1d`` are plain builders, not registered: the
registry's generic tests feed float images ``(H, W, C)``, and these take token
ids or 1D signals.

Example:
    >>> model = sequence_cnn(num_classes=4, input_shape=(64,), vocab_size=10)
    >>> model.output_shape
    (None, 4)
"""

from __future__ import annotations

import keras

from cnnkit.data.core import check_positive_int
from cnnkit.layers.blocks import BN_EPSILON, BN_MOMENTUM
from cnnkit.layers.patch import PositionEmbedding
from cnnkit.models.registry import register_model
from cnnkit.models.vit import transformer_block

RNN_CELLS = ("gru", "lstm")
POOLS = ("max", "mean")


def _token_input(input_shape, vocab_size: int, embed_dim: int):
    input_shape = tuple(input_shape)
    if len(input_shape) != 1 or not (input_shape[0] is None or isinstance(input_shape[0], int) and input_shape[0] > 0):
        raise ValueError(f"input_shape must be (length,) for token sequences; received {input_shape!r}.")
    vocab_size = check_positive_int(vocab_size, "vocab_size")
    embed_dim = check_positive_int(embed_dim, "embed_dim")
    inputs = keras.Input(input_shape, dtype="int32", name="tokens")
    return inputs, keras.layers.Embedding(vocab_size, embed_dim, name="embedding")(inputs)


def _head(x, num_classes: int):
    return keras.layers.Dense(check_positive_int(num_classes, "num_classes"), name="logits")(x)


def sequence_cnn(num_classes: int = 2, input_shape=(64,), vocab_size: int = 10, embed_dim: int = 32,
                 filters: int = 64, kernel_size: int = 3, depth: int = 2, dilation_base: int = 1,
                 pool: str = "max", padding: str = "same"):
    """Embedding, ``depth`` ``Conv1D`` + ReLU layers, a pooling over positions, and a dense head.

    Layer ``i`` (from 0) has dilation ``dilation_base ** i``: with
    ``dilation_base=2`` the receptive field doubles with every layer (as in
    WaveNet) instead of growing by ``kernel_size - 1``.

    To relate two tokens, *one* output unit must see both: its receptive field
    must cover them. With ``pool="max"`` a network can sometimes cheat on
    comparison tasks (the max over positions acts like a set of the tokens
    seen), so the long-range experiments use ``pool="mean"`` with
    ``padding="valid"``: every output unit then sees a full receptive field
    and no zero padding.

    Args:
        num_classes: output scores (logits).
        input_shape: ``(length,)``; the length may be ``None``.
        vocab_size: number of distinct token ids.
        embed_dim: size of the token embedding.
        filters: channels of every convolution.
        kernel_size: kernel size of every convolution.
        depth: number of convolutions.
        dilation_base: 1 for plain convolutions, 2 to double the dilation at each layer.
        pool: ``"max"`` (does the pattern occur anywhere?) or ``"mean"`` over positions.
        padding: ``"same"`` (one output per token) or ``"valid"`` (only positions
            whose receptive field lies inside the sequence).

    Input shape:
        ``(batch, length)`` int token ids.

    Output shape:
        ``(batch, num_classes)`` logits.

    Example:
        >>> sequence_cnn(num_classes=2, depth=6, kernel_size=2, dilation_base=2).output_shape
        (None, 2)
    """
    inputs, x = _token_input(input_shape, vocab_size, embed_dim)
    filters = check_positive_int(filters, "filters")
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    depth = check_positive_int(depth, "depth")
    dilation_base = check_positive_int(dilation_base, "dilation_base")
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}; received {pool!r}.")
    if padding not in ("same", "valid"):
        raise ValueError(f"padding must be 'same' or 'valid'; received {padding!r}.")
    for i in range(depth):
        x = keras.layers.Conv1D(filters, kernel_size, padding=padding, dilation_rate=dilation_base**i,
                                activation="relu", name=f"conv{i + 1}")(x)
    pooling = keras.layers.GlobalMaxPooling1D if pool == "max" else keras.layers.GlobalAveragePooling1D
    x = pooling(name=f"{pool}_over_positions")(x)
    return keras.Model(inputs, _head(x, num_classes), name="sequence_cnn")


def sequence_rnn(num_classes: int = 2, input_shape=(64,), vocab_size: int = 10, embed_dim: int = 32,
                 units: int = 64, cell: str = "gru"):
    """Embedding, one recurrent layer (GRU or LSTM) whose last state feeds a dense head.

    Args:
        num_classes: output scores (logits).
        input_shape: ``(length,)``; the length may be ``None``.
        vocab_size: number of distinct token ids.
        embed_dim: size of the token embedding.
        units: size of the recurrent state.
        cell: ``"gru"`` or ``"lstm"``.

    Input shape:
        ``(batch, length)`` int token ids.

    Output shape:
        ``(batch, num_classes)`` logits.

    Example:
        >>> sequence_rnn(num_classes=4, cell="lstm").output_shape
        (None, 4)
    """
    inputs, x = _token_input(input_shape, vocab_size, embed_dim)
    units = check_positive_int(units, "units")
    if cell not in RNN_CELLS:
        raise ValueError(f"cell must be one of {RNN_CELLS}; received {cell!r}.")
    layer = keras.layers.GRU if cell == "gru" else keras.layers.LSTM
    x = layer(units, name=cell)(x)
    return keras.Model(inputs, _head(x, num_classes), name=f"sequence_{cell}")


def sequence_transformer(num_classes: int = 2, input_shape=(64,), vocab_size: int = 10, embed_dim: int = 32,
                         depth: int = 2, num_heads: int = 4, mlp_dim: int = 64, dropout: float = 0.0):
    """Embedding plus learned positions, ``depth`` transformer encoder blocks, the mean over tokens, a dense head.

    Args:
        num_classes: output scores (logits).
        input_shape: ``(length,)``, a known length (one position vector per position).
        vocab_size: number of distinct token ids.
        embed_dim: size of every token (must be a multiple of ``num_heads``).
        depth: number of encoder blocks.
        num_heads: attention heads per block.
        mlp_dim: hidden units of each block's MLP.
        dropout: dropout rate inside the blocks.

    Input shape:
        ``(batch, length)`` int token ids.

    Output shape:
        ``(batch, num_classes)`` logits.

    Example:
        >>> sequence_transformer(num_classes=2, input_shape=(32,)).output_shape
        (None, 2)
    """
    if tuple(input_shape)[:1] == (None,):
        raise ValueError(f"sequence_transformer needs a known length (one position vector each); received {input_shape!r}.")
    inputs, x = _token_input(input_shape, vocab_size, embed_dim)
    x = PositionEmbedding(name="position_embedding")(x)
    for i in range(check_positive_int(depth, "depth")):
        x = transformer_block(x, num_heads, mlp_dim, dropout, name=f"block{i + 1}")
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = keras.layers.GlobalAveragePooling1D(name="token_mean")(x)
    return keras.Model(inputs, _head(x, num_classes), name="sequence_transformer")


# ---------------------------------------------------------------- sound


def _conv_bn_relu(conv, x, name):
    x = conv(x)
    # Momentum 0.9 (as in cnnkit.layers.blocks): with Keras's 0.99 the moving variance, which starts
    # at 1, needs thousands of steps to forget its start, and a short CPU training ends with
    # inference-mode statistics far from the real ones.
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _check_filters(filters) -> tuple[int, ...]:
    filters = tuple(filters) if isinstance(filters, (tuple, list)) else None
    if not filters or not all(isinstance(f, int) and not isinstance(f, bool) and f > 0 for f in filters):
        raise ValueError(f"filters must be a non-empty sequence of positive ints; received {filters!r}.")
    return filters


def _rescale(x, input_mean: float, input_std: float):
    if not isinstance(input_std, (int, float)) or input_std <= 0:
        raise ValueError(f"input_std must be a positive number; received {input_std!r}.")
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
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels); received {input_shape!r}.")
    inputs = keras.Input(input_shape, name="spectrogram")
    x = _rescale(inputs, input_mean, input_std)
    for i, width in enumerate(_check_filters(filters)):
        name = f"stage{i + 1}"
        x = _conv_bn_relu(keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv"), x, name)
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"{name}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="average")(x)
    return keras.Model(inputs, _head(x, num_classes), name="spectrogram_cnn")


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
    input_shape = tuple(input_shape)
    if len(input_shape) != 2:
        raise ValueError(f"input_shape must be (samples, channels); received {input_shape!r}.")
    filters = _check_filters(filters)
    first_kernel = check_positive_int(first_kernel, "first_kernel")
    first_stride = check_positive_int(first_stride, "first_stride")
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    pool_size = check_positive_int(pool_size, "pool_size")
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
    return keras.Model(inputs, _head(x, num_classes), name="audio_cnn1d")
