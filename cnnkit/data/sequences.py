"""Two token-sequence tasks that the seed's CNN / RNN / Transformer table makes predictions about.

* **motifs** (a *local* pattern): random tokens with one short motif hidden
  at a random place; the label says which motif. All motifs are orderings of
  the same tokens, so counting tokens does not help: a model must see a few
  *neighbouring* tokens in order, exactly what a small convolution does.
* **far match** (a *long-range* dependency): the label says whether the
  first and the last token are equal; the tokens in between are filler. The two positions are
  ``length - 1`` apart, so a model must relate tokens that far apart: a CNN
  only can once its receptive field covers the whole sequence.

Tokens are int32 ids in ``[0, vocab_size)``, sequences ``(N, length)``.

Example:
    >>> from cnnkit import data
    >>> x, y, motifs = data.make_motif_task(num_samples=8, length=32)
    >>> x.shape, motifs.shape
    ((8, 32), (4, 4))
"""

from __future__ import annotations

import itertools

import numpy as np

from cnnkit import _validate as V
from cnnkit.data.core import Dataset, stratified_split


def motif_set(num_classes: int = 4, motif_length: int = 4, motif_seed: int = 0) -> np.ndarray:
    """The motifs: ``num_classes`` different orderings of the tokens ``1 .. motif_length``.

    They depend only on the arguments (not on the data's seed), so a training
    set and a test set made with different seeds share them.

    Returns:
        ``(num_classes, motif_length)`` int32.
    """
    motif_length = V.positive_int(motif_length, "motif_length")
    orders = list(itertools.islice(itertools.permutations(range(1, motif_length + 1)), 5040))
    num_classes = V.integer(num_classes, "num_classes", 2, len(orders),
                            reason=f"a task needs two classes; there are {len(orders)} orderings of {motif_length} tokens")
    chosen = np.random.default_rng(V.seed(motif_seed, "motif_seed")).choice(len(orders), size=num_classes, replace=False)
    return np.array([orders[i] for i in chosen], dtype=np.int32)


def _count_occurrences(tokens: np.ndarray, motifs: np.ndarray) -> np.ndarray:
    """(N,) total number of places where any motif occurs."""
    windows = np.lib.stride_tricks.sliding_window_view(tokens, motifs.shape[1], axis=1)  # (N, W, m)
    hits = (windows[:, :, None, :] == motifs[None, None]).all(axis=-1)  # (N, W, K)
    return hits.sum(axis=(1, 2))


def make_motif_task(num_samples: int = 2000, length: int = 64, vocab_size: int = 10, num_classes: int = 4,
                    motif_length: int = 4, positions=None, seed: int = 0, motif_seed: int = 0):
    """Random token sequences, each hiding exactly one motif; the label is which motif.

    Args:
        num_samples: number of sequences (classes balanced to within one).
        length: tokens per sequence.
        vocab_size: tokens are drawn from ``[0, vocab_size)``; at least ``motif_length + 1``.
        num_classes: how many motifs (see :func:`motif_set`).
        motif_length: tokens per motif.
        positions: ``(low, high)``: the motif starts at a position in
            ``[low, high]`` (default: anywhere). Train on one range and test on
            another to see which models generalise to new positions.
        seed: random seed of the sequences.
        motif_seed: random seed that picks the motifs.

    Returns:
        ``(tokens, labels, motifs)``: ``(N, length)`` int32, ``(N,)`` int32,
        ``(num_classes, motif_length)`` int32. Filler tokens are redrawn until
        no sequence contains a motif anywhere but where it was planted.

    Example:
        >>> x, y, motifs = make_motif_task(num_samples=4, length=16, positions=(0, 3))
        >>> x.shape
        (4, 16)
    """
    num_samples = V.positive_int(num_samples, "num_samples")
    length = V.positive_int(length, "length")
    vocab_size = V.positive_int(vocab_size, "vocab_size")
    seed = V.seed(seed)
    V.memory_of(8.0 * 4 * num_samples * length, {"num_samples": num_samples, "length": length}, "the token sequences")
    motifs = motif_set(num_classes, motif_length, motif_seed)
    if vocab_size <= motif_length:
        raise ValueError(f"vocab_size must be larger than motif_length ({motif_length}); received {vocab_size}.")
    last_start = length - motif_length
    if last_start < 0:
        raise ValueError(f"length must be at least motif_length ({motif_length}); received {length}.")
    pair = (0, last_start) if positions is None else V.as_sequence(positions) or ()
    if len(pair) != 2 or not all(V.is_int(p) for p in pair) or not 0 <= pair[0] <= pair[1] <= last_start:
        V.fail("positions", f"a (low, high) pair of ints with 0 <= low <= high <= length - motif_length ({last_start})",
               positions, allow_none=True)
    low, high = int(pair[0]), int(pair[1])

    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(num_samples) % len(motifs)).astype(np.int32)
    starts = rng.integers(low, high + 1, size=num_samples)
    offsets = starts[:, None] + np.arange(motif_length)[None, :]
    rows = np.arange(num_samples)[:, None]
    tokens = np.empty((num_samples, length), dtype=np.int32)
    redo = np.arange(num_samples)
    for _ in range(100):  # each round redraws only the few sequences with an accidental extra motif
        tokens[redo] = rng.integers(0, vocab_size, size=(len(redo), length))
        tokens[rows[redo], offsets[redo]] = motifs[labels[redo]]
        redo = redo[_count_occurrences(tokens[redo], motifs) != 1]
        if len(redo) == 0:
            return tokens, labels, motifs
    raise ValueError(  # only reachable with a tiny vocabulary, where motifs appear by chance everywhere
        f"Could not draw sequences with a single motif: vocab_size={vocab_size} is too small for "
        f"length={length} and motif_length={motif_length}."
    )


def make_far_match_task(num_samples: int = 2000, length: int = 64, vocab_size: int = 4, filler_tokens: int = 2,
                        seed: int = 0):
    """Token sequences whose label is 1 when the first and the last token are equal, else 0.

    The first token is drawn from the ``vocab_size`` *content* tokens; the last
    one is set equal to it (label 1) or to a different content token (label
    0), half of each. The tokens in between are filler drawn from
    ``filler_tokens`` other ids and carry no information. (With
    ``filler_tokens=0`` the filler is drawn from the content tokens too, which
    makes the task much harder for a CNN: the two tokens must be told apart
    from look-alikes at every step of the way.)

    Args:
        num_samples: number of sequences.
        length: tokens per sequence (the dependency spans ``length - 1`` steps); at least 2.
        vocab_size: number of content tokens, ids ``[0, vocab_size)``; at least 2.
        filler_tokens: number of filler ids, ``[vocab_size, vocab_size + filler_tokens)``.
        seed: random seed.

    Returns:
        ``(tokens, labels)``: ``(N, length)`` int32 ids in ``[0, vocab_size + filler_tokens)``
        and ``(N,)`` int32.

    Example:
        >>> x, y = make_far_match_task(num_samples=4, length=8)
        >>> bool(((x[:, 0] == x[:, -1]) == (y == 1)).all())
        True
    """
    num_samples = V.positive_int(num_samples, "num_samples")
    length = V.integer(length, "length", minimum=2, reason="a first and a last token")
    vocab_size = V.integer(vocab_size, "vocab_size", minimum=2, reason="two tokens to tell apart")
    filler_tokens = V.non_negative_int(filler_tokens, "filler_tokens")
    V.memory_of(8.0 * 4 * num_samples * length, {"num_samples": num_samples, "length": length}, "the token sequences")
    rng = np.random.default_rng(V.seed(seed))
    labels = rng.permutation(np.arange(num_samples) % 2).astype(np.int32)
    if filler_tokens:
        tokens = rng.integers(vocab_size, vocab_size + filler_tokens, size=(num_samples, length)).astype(np.int32)
    else:
        tokens = rng.integers(0, vocab_size, size=(num_samples, length)).astype(np.int32)
    tokens[:, 0] = rng.integers(0, vocab_size, size=num_samples)
    shift = rng.integers(1, vocab_size, size=num_samples)  # a non-zero shift makes a different token
    tokens[:, -1] = np.where(labels == 1, tokens[:, 0], (tokens[:, 0] + shift) % vocab_size)
    return tokens, labels


def _sequence_dataset(name, tokens, labels, class_names, val_fraction, test_fraction, seed, source, extras):
    splits = stratified_split(tokens, labels, val_fraction, test_fraction, seed)
    return Dataset(name, *splits, class_names=class_names, source=source, extras=extras)


def load_motif_task(num_samples: int = 2000, length: int = 64, vocab_size: int = 10, num_classes: int = 4,
                    motif_length: int = 4, positions=None, val_fraction: float = 0.15,
                    test_fraction: float = 0.15, seed: int = 0) -> Dataset:
    """:func:`make_motif_task` as a :class:`Dataset` (token sequences instead of images).

    ``extras`` holds ``motifs`` and ``vocab_size``.

    Example:
        >>> ds = load_motif_task(num_samples=200, length=32)
        >>> ds.input_shape, ds.num_classes
        ((32,), 4)
    """
    tokens, labels, motifs = make_motif_task(num_samples, length, vocab_size, num_classes, motif_length, positions, seed)
    names = ["-".join(map(str, m)) for m in motifs]
    return _sequence_dataset(
        "motifs", tokens, labels, names, val_fraction, test_fraction, seed,
        f"synthetic motif sequences generated by cnnkit (seed={seed}, {num_samples} x {length} tokens)",
        {"motifs": motifs, "vocab_size": vocab_size},
    )


def load_far_match_task(num_samples: int = 2000, length: int = 64, vocab_size: int = 4, filler_tokens: int = 2,
                        val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0) -> Dataset:
    """:func:`make_far_match_task` as a :class:`Dataset`.

    ``extras["vocab_size"]`` is the number of distinct ids (content + filler):
    what a model's ``Embedding`` needs.

    Example:
        >>> ds = load_far_match_task(num_samples=200, length=32)
        >>> ds.class_names
        ['different', 'same']
    """
    tokens, labels = make_far_match_task(num_samples, length, vocab_size, filler_tokens, seed)
    return _sequence_dataset(
        "far_match", tokens, labels, ["different", "same"], val_fraction, test_fraction, seed,
        f"synthetic first-equals-last sequences generated by cnnkit (seed={seed}, {num_samples} x {length} tokens)",
        {"vocab_size": vocab_size + filler_tokens},
    )
