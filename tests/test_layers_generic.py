"""Every layer exported by cnnkit.layers, through the checks Keras runs on its own layers.

Modelled on ``keras.src.testing.TestCase.run_layer_test``: for each layer the
config round trip (``get_config`` / ``from_config`` / Keras serialization),
``build`` alone, a symbolic call (shape from ``compute_output_shape``), an
eager call, a training step through ``model.fit``, mixed precision (a layer
built with ``dtype="mixed_float16"`` computes and returns float16 and keeps
float32 weights, like Keras's composite layers that pass
``dtype=self.dtype_policy`` to their sublayers) and ``.keras`` saving.

A new layer in ``cnnkit.layers`` fails ``test_every_exported_layer_has_a_case``
until it gets a line in ``CASES``.
"""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest

from cnnkit import layers

# layer class name -> (constructor arguments, input shape with the batch axis)
CASES = {
    "ConvBNAct": (dict(filters=8, kernel_size=3, strides=2), (2, 8, 8, 3)),
    "ResidualBlock": (dict(filters=8, strides=2), (2, 8, 8, 4)),
    "Bottleneck": (dict(filters=4, strides=1, drop_path_rate=0.1), (2, 8, 8, 16)),
    "DepthwiseSeparableConv": (dict(filters=8, strides=2), (2, 8, 8, 4)),
    "InvertedResidual": (dict(filters=4, expansion=2, se_ratio=0.25, drop_path_rate=0.1), (2, 8, 8, 4)),
    "SqueezeExcite": (dict(squeeze_channels=2), (2, 8, 8, 8)),
    "StochasticDepth": (dict(rate=0.2, seed=1), (2, 4, 4, 3)),
    "PatchEmbedding": (dict(patch_size=4, embed_dim=8), (2, 8, 8, 3)),
    "PositionEmbedding": (dict(), (2, 5, 8)),
    "Conv2Plus1D": (dict(filters=4, kernel_size=3, strides=(1, 2, 2)), (2, 4, 8, 8, 2)),
}
NAMES = sorted(CASES)


def exported_layers() -> dict:
    return {name: obj for name, obj in vars(layers).items()
            if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer) and name in layers.__all__}


def make(name: str, **extra):
    kwargs, shape = CASES[name]
    return getattr(layers, name)(**kwargs, **extra), shape


def sample(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def test_every_exported_layer_has_a_case():
    assert set(exported_layers()) == set(CASES), "add the new layer to CASES (arguments and an input shape)"


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    layer, _ = make(name)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is type(layer) and revived.get_config() == config


@pytest.mark.parametrize("name", NAMES)
def test_build_symbolic_and_eager_calls_agree(name):
    eager, shape = make(name)
    out = eager(sample(shape))
    expected = tuple(out.shape)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"

    built, _ = make(name)
    built.build(shape)
    assert built.built
    assert len(built.trainable_weights) == len(eager.trainable_weights)
    assert len(built.non_trainable_weights) == len(eager.non_trainable_weights)

    symbolic, _ = make(name)
    tensor = symbolic(keras.KerasTensor((None, *shape[1:]), dtype="float32"))
    assert tuple(tensor.shape) == (None, *expected[1:])
    assert tuple(symbolic.compute_output_shape((None, *shape[1:]))) == (None, *expected[1:])
    assert len(symbolic.weights) == len(eager.weights)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")  # StochasticDepth has none
def test_a_training_step_updates_the_weights(name):
    layer, shape = make(name)
    inputs = keras.Input(shape[1:])
    model = keras.Model(inputs, layer(inputs))
    x = sample(shape)
    y = np.zeros(model.output_shape[1:], dtype=np.float32)[None].repeat(shape[0], axis=0)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=lambda y_true, y_pred: keras.ops.sum(y_pred))
    before = [keras.ops.convert_to_numpy(w) for w in layer.trainable_weights]
    model.fit(x, y, batch_size=shape[0], epochs=1, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for w in layer.trainable_weights]
    assert np.all(np.isfinite(np.concatenate([a.ravel() for a in after] or [np.zeros(1)])))
    if before:
        assert any(not np.array_equal(b, a) for b, a in zip(before, after)), f"{name}: no weight changed"


@pytest.mark.parametrize("name", NAMES)
def test_mixed_precision_computes_in_float16_with_float32_weights(name):
    layer, shape = make(name, dtype="mixed_float16")
    assert layer.compute_dtype == "float16" and layer.variable_dtype == "float32"
    out = layer(sample(shape))
    spec = layer.compute_output_spec(keras.KerasTensor(shape, dtype="float16"))
    assert keras.backend.standardize_dtype(out.dtype) == "float16", f"{name} returned {out.dtype}"
    assert spec.dtype == "float16" and tuple(spec.shape) == tuple(out.shape)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(out).astype(np.float32)))
    floats = [w for w in layer.weights if keras.backend.is_float_dtype(w.dtype)]
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in floats)


def test_composite_layers_hand_their_policy_to_their_sublayers():
    block = layers.ResidualBlock(8, strides=2, dtype="mixed_float16")
    block.build((None, 8, 8, 4))
    inner = [block.branch[0].conv, block.branch[0].bn, block.projection.conv]
    assert all(sub.dtype_policy.name == "mixed_float16" for sub in inner)


@pytest.mark.parametrize("name", NAMES)
def test_keras_file_round_trip_gives_identical_outputs(name, tmp_path):
    layer, shape = make(name)
    inputs = keras.Input(shape[1:])
    model = keras.Model(inputs, layer(inputs))
    x = sample(shape, seed=1)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)))
    assert type(loaded.layers[-1]) is type(layer)
