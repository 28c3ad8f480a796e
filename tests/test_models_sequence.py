"""cnnkit.models.sequence: the token CNN, RNN and Transformer."""

import keras
import numpy as np
import pytest

from cnnkit.models import sequence

TOKEN_MODELS = {
    "cnn": lambda: sequence.sequence_cnn(num_classes=3, input_shape=(16,), vocab_size=6, filters=8, embed_dim=8),
    "gru": lambda: sequence.sequence_rnn(num_classes=3, input_shape=(16,), vocab_size=6, units=8, embed_dim=8),
    "lstm": lambda: sequence.sequence_rnn(num_classes=3, input_shape=(16,), vocab_size=6, units=8, embed_dim=8, cell="lstm"),
    "transformer": lambda: sequence.sequence_transformer(num_classes=3, input_shape=(16,), vocab_size=6,
                                                         embed_dim=8, num_heads=2, mlp_dim=16, depth=1),
}


def model_batch(name, n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 6, (n, 16)), rng.integers(0, 3, n)


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


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: sequence.sequence_rnn(cell="transformer"), r"cell must be one of \('gru', 'lstm'\); received 'transformer'"),
        (lambda: sequence.sequence_cnn(input_shape=(16, 1)), r"input_shape must be \(length\) with positive integers \(length may be None\); received \(16, 1\)"),
        (lambda: sequence.sequence_cnn(pool="min"), r"pool must be one of"),
        (lambda: sequence.sequence_cnn(padding="causal"), r"padding must be one of \('same', 'valid'\); received 'causal'"),
        (lambda: sequence.sequence_transformer(input_shape=(None,)), r"input_shape must be \(length\) with positive integers; received \(None,\)"),
    ],
)
def test_bad_model_arguments_say_what_was_received(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_the_token_models_are_registered_as_sequence_models():
    from cnnkit.models import create_model, list_models

    assert list_models(task="sequence") == ["sequence_cnn", "sequence_rnn", "sequence_transformer"]
    model = create_model("sequence_cnn", num_classes=3, input_shape=(16,), vocab_size=6)
    assert model.input.dtype == "int32" and model.output_shape == (None, 3)
