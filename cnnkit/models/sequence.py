"""Small models for token sequences: the CNN / RNN / Transformer of the seed's comparison table.

All three take ``(batch, length)`` int token ids and output logits, are
registered with ``task="sequence"`` (``create_model("sequence_cnn", ...)``), and
start with the same ``Embedding`` so they differ only in how tokens talk to
each other:

* :func:`sequence_cnn`: ``Conv1D`` layers (optionally dilated), then the
  maximum over positions. Each output sees only its receptive field.
* :func:`sequence_rnn`: a GRU or LSTM reads the tokens one after another;
  its last state feeds the classifier. Step ``t`` needs step ``t - 1``.
* :func:`sequence_transformer`: learned position vectors, then transformer
  encoder blocks (every token attends to every other), then the mean.

The sound models (``spectrogram_cnn``, ``audio_cnn1d``) are in :mod:`cnnkit.models.audio`.

Example:
    >>> from cnnkit.models import create_model
    >>> create_model("sequence_cnn", num_classes=4, input_shape=(64,), vocab_size=10).output_shape
    (None, 4)
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit._deprecated import moved
from cnnkit.layers.patch import PositionEmbedding
from cnnkit.models.registry import register_model
from cnnkit.models.vit import transformer_block

RNN_CELLS = ("gru", "lstm")
POOLS = ("max", "mean")
PADDINGS = ("same", "valid")


def _token_input(input_shape, vocab_size: int, embed_dim: int, known_length: bool = False):
    input_shape = V.shape(input_shape, "input_shape", ("length",), unknown=() if known_length else ("length",))
    vocab_size = V.positive_int(vocab_size, "vocab_size")
    embed_dim = V.positive_int(embed_dim, "embed_dim")
    inputs = keras.Input(input_shape, dtype="int32", name="tokens")
    return inputs, keras.layers.Embedding(vocab_size, embed_dim, name="embedding")(inputs)


def _head(x, num_classes: int):
    return keras.layers.Dense(V.num_classes(num_classes), name="logits")(x)


@register_model("sequence_cnn", task="sequence")
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
    filters = V.positive_int(filters, "filters")
    kernel_size = V.positive_int(kernel_size, "kernel_size")
    depth = V.positive_int(depth, "depth")
    dilation_base = V.positive_int(dilation_base, "dilation_base")
    V.choice(pool, "pool", POOLS)
    V.choice(padding, "padding", PADDINGS)
    for i in range(depth):
        x = keras.layers.Conv1D(filters, kernel_size, padding=padding, dilation_rate=dilation_base**i,
                                activation="relu", name=f"conv{i + 1}")(x)
    pooling = keras.layers.GlobalMaxPooling1D if pool == "max" else keras.layers.GlobalAveragePooling1D
    x = pooling(name=f"{pool}_over_positions")(x)
    return keras.Model(inputs, _head(x, num_classes), name="sequence_cnn")


@register_model("sequence_rnn", task="sequence")
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
    units = V.positive_int(units, "units")
    V.choice(cell, "cell", RNN_CELLS)
    layer = keras.layers.GRU if cell == "gru" else keras.layers.LSTM
    x = layer(units, name=cell)(x)
    return keras.Model(inputs, _head(x, num_classes), name=f"sequence_{cell}")


@register_model("sequence_transformer", task="sequence")
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
    # A known length: the position embedding has one vector per position.
    inputs, x = _token_input(input_shape, vocab_size, embed_dim, known_length=True)
    x = PositionEmbedding(name="position_embedding")(x)
    for i in range(V.positive_int(depth, "depth")):
        x = transformer_block(x, num_heads, mlp_dim, dropout, name=f"block{i + 1}")
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = keras.layers.GlobalAveragePooling1D(name="token_mean")(x)
    return keras.Model(inputs, _head(x, num_classes), name="sequence_transformer")


# Moved: the sound models live in cnnkit.models.audio.
__getattr__ = moved(__name__, {"spectrogram_cnn": "cnnkit.models.audio", "audio_cnn1d": "cnnkit.models.audio"})
