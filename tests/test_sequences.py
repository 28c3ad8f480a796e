"""The sequence tasks hold what they promise; the sequence and audio models build, save, load and learn."""

import keras
import numpy as np
import pytest

from cnnkit import data
from cnnkit.models import sequence

# ---------------------------------------------------------------- motif task


def motif_positions(tokens, motifs):
    """(sequence, start, motif) of every motif occurrence, by brute force."""
    m = motifs.shape[1]
    return [(i, s, k) for i in range(len(tokens)) for s in range(tokens.shape[1] - m + 1)
            for k in range(len(motifs)) if (tokens[i, s : s + m] == motifs[k]).all()]


def test_motif_task_hides_exactly_one_motif_the_label_names():
    x, y, motifs = data.make_motif_task(num_samples=200, length=24, seed=3)
    assert x.shape == (200, 24) and x.dtype == np.int32 and x.min() >= 0 and x.max() < 10
    found = motif_positions(x, motifs)
    assert sorted(i for i, _, _ in found) == list(range(200))  # exactly one occurrence per sequence
    assert all(k == y[i] for i, _, k in found)
    assert np.bincount(y).tolist() == [50] * 4


def test_motifs_are_orderings_of_the_same_tokens_and_do_not_depend_on_the_seed():
    _, _, a = data.make_motif_task(num_samples=10, seed=0)
    _, _, b = data.make_motif_task(num_samples=10, seed=1)
    np.testing.assert_array_equal(a, b)
    assert len({tuple(m) for m in a}) == 4
    assert all(sorted(m) == [1, 2, 3, 4] for m in a.tolist())  # counting tokens cannot tell them apart


def test_motif_positions_can_be_restricted():
    x, _, motifs = data.make_motif_task(num_samples=100, length=32, positions=(20, 28), seed=0)
    starts = [s for _, s, _ in motif_positions(x, motifs)]
    assert min(starts) >= 20 and max(starts) <= 28


def test_motif_task_is_deterministic():
    a = data.make_motif_task(num_samples=50, seed=7)
    b = data.make_motif_task(num_samples=50, seed=7)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------- far-match task


def test_far_match_label_is_first_equals_last_and_balanced():
    x, y = data.make_far_match_task(num_samples=400, length=50, vocab_size=4, filler_tokens=3, seed=0)
    assert x.shape == (400, 50)
    np.testing.assert_array_equal(y, (x[:, 0] == x[:, -1]).astype(np.int32))
    assert np.bincount(y).tolist() == [200, 200]
    assert x[:, [0, -1]].max() < 4 and x[:, 1:-1].min() >= 4 and x.max() < 7  # content ids, then filler ids
    # The filler carries no information: it is uniform over the filler ids in both classes.
    for label in (0, 1):
        counts = np.bincount(x[y == label, 1:-1].ravel() - 4, minlength=3) / x[y == label, 1:-1].size
        np.testing.assert_allclose(counts, 1 / 3, atol=0.02)


def test_far_match_without_filler_ids_draws_the_middle_from_the_content_tokens():
    x, y = data.make_far_match_task(num_samples=400, length=20, vocab_size=4, filler_tokens=0, seed=0)
    np.testing.assert_array_equal(y, (x[:, 0] == x[:, -1]).astype(np.int32))
    assert x.max() < 4 and np.bincount(x[:, 1:-1].ravel()).min() > 0.2 * x[:, 1:-1].size


def test_loaders_split_and_describe_the_tasks():
    motifs = data.load_dataset("motifs", num_samples=200, length=32)
    far = data.load_dataset("far_match", num_samples=200, length=16)
    assert motifs.input_shape == (32,) and motifs.num_classes == 4 and motifs.extras["vocab_size"] == 10
    assert far.class_names == ["different", "same"] and far.input_shape == (16,) and far.extras["vocab_size"] == 6
    assert len(far.x_train) + len(far.x_val) + len(far.x_test) == 200


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: data.make_motif_task(length=3), r"length must be at least motif_length \(4\); received 3"),
        (lambda: data.make_motif_task(vocab_size=4), r"vocab_size must be larger than motif_length"),
        (lambda: data.make_motif_task(length=16, positions=(5, 20)), r"positions must be a \(low, high\) pair"),
        (lambda: data.make_motif_task(num_classes=30, motif_length=3), r"num_classes must be an integer in \[2, 6\] \(a task needs two classes; there are 6 orderings of 3 tokens\)"),
        (lambda: data.make_far_match_task(length=1), r"length must be an integer >= 2 \(a first and a last token\); received 1"),
        (lambda: data.make_far_match_task(num_samples=-1), r"num_samples must be a positive integer; received -1"),
        (lambda: data.make_far_match_task(filler_tokens=-2), r"filler_tokens must be a non-negative integer; received -2"),
    ],
)
def test_bad_task_arguments_say_what_was_received(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# ---------------------------------------------------------------- models


TOKEN_MODELS = {
    "cnn": lambda: sequence.sequence_cnn(num_classes=3, input_shape=(16,), vocab_size=6, filters=8, embed_dim=8),
    "gru": lambda: sequence.sequence_rnn(num_classes=3, input_shape=(16,), vocab_size=6, units=8, embed_dim=8),
    "lstm": lambda: sequence.sequence_rnn(num_classes=3, input_shape=(16,), vocab_size=6, units=8, embed_dim=8, cell="lstm"),
    "transformer": lambda: sequence.sequence_transformer(num_classes=3, input_shape=(16,), vocab_size=6,
                                                         embed_dim=8, num_heads=2, mlp_dim=16, depth=1),
    "audio_cnn1d": lambda: sequence.audio_cnn1d(num_classes=3, input_shape=(256, 1), filters=(4, 8)),
}


def model_batch(name, n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 256, 1)).astype(np.float32) if name == "audio_cnn1d" else rng.integers(0, 6, (n, 16))
    return x, rng.integers(0, 3, n)


@pytest.mark.parametrize("name", TOKEN_MODELS)
def test_model_saves_loads_and_learns_a_fixed_batch(name, tmp_path):
    keras.utils.set_random_seed(0)
    model = TOKEN_MODELS[name]()
    x, y = model_batch(name)
    assert model.output_shape == (None, 3)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x[:4])), keras.ops.convert_to_numpy(model(x[:4])), atol=1e-6)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    losses = [float(np.ravel(model.train_on_batch(x, y))[0]) for _ in range(8)]
    assert losses[-1] < losses[0], losses


def influence(model_up_to_conv, length, position, vocab=6):
    """Which output positions of a conv stack change when the token at ``position`` changes."""
    x = np.zeros((1, length), dtype=np.int32)
    y = x.copy()
    y[0, position] = vocab - 1
    a, b = (keras.ops.convert_to_numpy(model_up_to_conv(t)) for t in (x, y))
    return np.flatnonzero(np.abs(a - b).max(axis=-1)[0] > 0)


@pytest.mark.parametrize("kernel_size, depth, dilation_base, receptive_field", [(3, 2, 1, 5), (2, 4, 2, 16), (3, 3, 2, 15)])
def test_sequence_cnn_sees_exactly_its_receptive_field(kernel_size, depth, dilation_base, receptive_field):
    # Receptive field of stacked stride-1 convolutions: 1 + sum((k - 1) * dilation) over the layers.
    keras.utils.set_random_seed(1)
    model = sequence.sequence_cnn(num_classes=2, input_shape=(40,), vocab_size=6, embed_dim=4, filters=4,
                                  kernel_size=kernel_size, depth=depth, dilation_base=dilation_base)
    for layer in model.layers:  # positive weights: no change can cancel out through the ReLUs
        if isinstance(layer, keras.layers.Conv1D):
            layer.set_weights([np.abs(w) + 0.1 for w in layer.get_weights()])
    convs = keras.Model(model.input, model.get_layer(f"conv{depth}").output)
    reached = influence(convs, 40, 20)
    assert len(reached) == receptive_field, reached


def test_valid_padding_keeps_only_positions_with_a_full_receptive_field():
    model = sequence.sequence_cnn(num_classes=2, input_shape=(32,), vocab_size=6, kernel_size=2, depth=5,
                                  dilation_base=2, padding="valid", pool="mean")
    assert model.get_layer("conv5").output.shape[1] == 32 - 31  # one position, seeing all 32 tokens


def test_spectrogram_cnn_standardizes_its_input():
    model = sequence.spectrogram_cnn(num_classes=2, input_shape=(8, 8, 1), input_mean=-5.0, input_std=2.0)
    standardize = keras.Model(model.input, model.get_layer("standardize").output)
    out = keras.ops.convert_to_numpy(standardize(np.full((1, 8, 8, 1), -1.0, np.float32)))
    np.testing.assert_allclose(out, 2.0)


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: sequence.sequence_rnn(cell="transformer"), r"cell must be one of \('gru', 'lstm'\); received 'transformer'"),
        (lambda: sequence.sequence_cnn(input_shape=(16, 1)), r"input_shape must be \(length\) with positive integers \(length may be None\); received \(16, 1\)"),
        (lambda: sequence.sequence_cnn(pool="min"), r"pool must be one of"),
        (lambda: sequence.sequence_cnn(padding="causal"), r"padding must be one of \('same', 'valid'\); received 'causal'"),
        (lambda: sequence.sequence_transformer(input_shape=(None,)), r"input_shape must be \(length\) with positive integers; received \(None,\)"),
        (lambda: sequence.spectrogram_cnn(filters=()), r"filters must be a non-empty sequence"),
        (lambda: sequence.audio_cnn1d(input_shape=(100, 10, 1)), r"input_shape must be \(samples, channels\)"),
        (lambda: sequence.spectrogram_cnn(input_std=0), r"input_std must be a positive number"),
    ],
)
def test_bad_model_arguments_say_what_was_received(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
