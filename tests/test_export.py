"""Every export recipe round-trips: the converted model predicts what the Keras model predicts."""

import keras
import numpy as np
import pytest

from cnnkit import create_model, export

INPUT_SHAPE = (12, 12, 1)


@pytest.fixture(scope="module")
def model_and_data():
    """A small conv net fitted for a few steps on two separable classes (bright vs dark centre)."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((256, *INPUT_SHAPE), dtype=np.float32)
    y = rng.integers(0, 2, 256)
    x[y == 1, 4:8, 4:8] += 1.0
    inputs = keras.Input(INPUT_SHAPE)
    h = keras.layers.Conv2D(32, 3, use_bias=False)(inputs)
    h = keras.layers.BatchNormalization(momentum=0.8)(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Conv2D(64, 3, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    assert (keras_outputs(model, x).argmax(-1) == y).mean() > 0.95  # it learned: decisions are meaningful
    return model, x, y


def keras_outputs(model, x):
    return np.asarray(model.predict(x, verbose=0))


def test_keras_file_round_trip(model_and_data, tmp_path):
    model, x, _ = model_and_data
    path = export.save_keras(model, tmp_path / "m.keras")
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(keras_outputs(loaded, x[:16]), keras_outputs(model, x[:16]))


def test_keras_save_is_atomic_a_failed_save_keeps_the_old_file(model_and_data, tmp_path, monkeypatch):
    model, x, _ = model_and_data
    path = export.save_keras(model, tmp_path / "m.keras")
    good = path.read_bytes()

    def save_onto_a_full_disk(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as file:  # half a file, then the disk is full
            file.write(good[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", save_onto_a_full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        export.save_keras(model, path)
    assert path.read_bytes() == good  # the good model is still there, whole
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]  # and the half-written file is gone


@pytest.mark.backends("tensorflow", "jax", reason="Keras exports a SavedModel from TensorFlow or JAX (jax2tf)")
def test_saved_model_round_trip(model_and_data, tmp_path):
    model, x, _ = model_and_data
    path = export.export_saved_model(model, tmp_path / "saved")
    runner = export.load_saved_model(path)
    np.testing.assert_allclose(runner.predict(x[:40], batch_size=16), keras_outputs(model, x[:40]), atol=1e-5)
    assert export.file_size(path) > 4 * model.count_params()  # a folder: its files are summed


@pytest.mark.backends("tensorflow", reason="the course converts to LiteRT with TensorFlow's converter")
@pytest.mark.parametrize("quantization, atol", [("none", 1e-5), ("float16", 2e-2), ("dynamic", 0.1)])
def test_litert_float_and_weight_quantized_round_trip(model_and_data, tmp_path, quantization, atol):
    model, x, _ = model_and_data
    path = export.export_litert(model, tmp_path / f"m_{quantization}.tflite", quantization)
    lite = export.LiteRTModel(path)
    out = lite.predict(x[:50], batch_size=16)
    expected = keras_outputs(model, x[:50])
    scale = np.ptp(expected)
    np.testing.assert_allclose(out, expected, atol=atol * scale)
    assert lite.input_dtype == np.float32


@pytest.mark.backends("tensorflow", reason="the course converts to LiteRT with TensorFlow's converter")
@pytest.mark.parametrize("int8_io", [False, True])
def test_litert_int8_is_small_close_and_really_int8(model_and_data, tmp_path, int8_io):
    model, x, y = model_and_data
    float_path = export.export_litert(model, tmp_path / "m.tflite")
    path = export.export_litert(model, tmp_path / "m_int8.tflite", "int8", representative_data=x[:100],
                                int8_io=int8_io)
    lite = export.LiteRTModel(path)
    out, expected = lite.predict(x), keras_outputs(model, x)
    # int8 rounding: outputs stay close to the float ones (relative to their range), decisions agree.
    # (The largest errors sit at extreme outputs, beyond the range seen during calibration.)
    error = np.abs(out - expected) / np.ptp(expected)
    assert error.mean() < 0.02 and error.max() < 0.1, (error.mean(), error.max())
    assert (out.argmax(-1) == expected.argmax(-1)).mean() > 0.97
    assert (out.argmax(-1) == y).mean() > 0.9
    assert export.file_size(float_path) / export.file_size(path) > 2.5  # 8 bits instead of 32 per weight
    dtypes = lite.tensor_dtypes()
    assert dtypes.get("int8", 0) > dtypes.get("float32", 0)  # the computation runs in int8
    assert lite.input_dtype == (np.int8 if int8_io else np.float32)


@pytest.mark.backends("tensorflow", reason="the course exports ONNX with tf2onnx, from the TensorFlow backend")
def test_onnx_round_trip(model_and_data, tmp_path):
    model, x, _ = model_and_data
    path = export.export_onnx(model, tmp_path / "m.onnx")
    onnx_model = export.OnnxModel(path)
    np.testing.assert_allclose(onnx_model.predict(x[:40], batch_size=16), keras_outputs(model, x[:40]), atol=1e-5)


def test_measure_latency_warms_up_then_times_every_repeat():
    calls = []
    latency = export.measure_latency(lambda b: calls.append(len(b)), np.ones((1, 3)), warmup=3, repeats=7)
    assert len(calls) == 10 and len(latency.times_ms) == 7
    low, high = latency.spread_ms
    assert 0 <= low <= latency.median_ms <= high
    assert "median" in str(latency)


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda m, p: export.export_litert(m, p / "m.tfl"), r"path must be a path ending in .tflite"),
        (lambda m, p: export.export_litert(m, p / "m.tflite", "int4"), r"quantization must be one of .*received 'int4'"),
        (lambda m, p: export.export_litert(m, p / "m.tflite", "int8"), r"needs representative_data"),
        (lambda m, p: export.save_keras(m, p / "m.h5"), r"path must be a path ending in .keras"),
        (lambda m, p: export.export_onnx(m, p / "m.pb"), r"path must end with '.onnx'"),
        (lambda m, p: export.LiteRTModel(p / "missing.tflite"), r"path must be an existing .tflite file"),
        (lambda m, p: export.load_saved_model(p), r"Expected a SavedModel folder"),
        (lambda m, p: export.file_size(p / "nothing"), r"does not exist"),
        (lambda m, p: export.measure_latency(print, None, repeats=0), r"repeats must be a positive integer; received 0"),
    ],
)
def test_bad_arguments_say_what_was_received(model_and_data, tmp_path, call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call(model_and_data[0], tmp_path)


@pytest.mark.backends("tensorflow", reason="the course converts to LiteRT with TensorFlow's converter")
def test_litert_model_rejects_a_wrong_input_shape(model_and_data, tmp_path):
    model, x, _ = model_and_data
    lite = export.LiteRTModel(export.export_litert(model, tmp_path / "m.tflite"))
    with pytest.raises(ValueError, match=r"expects a batch of shape \(-1, 12, 12, 1\).*received an array of shape \(2, 10, 10, 1\)"):
        lite.predict(np.zeros((2, 10, 10, 1)))


# ---------------------------------------------------------------- load_keras: a clear error for every bad file


def tiny_cnnkit_model():
    return create_model("simple_cnn", num_classes=3, input_shape=(8, 8, 1))


def test_load_keras_round_trips_a_cnnkit_model(tmp_path):
    model = tiny_cnnkit_model()
    path = export.save_keras(model, tmp_path / "m.keras")
    x = np.random.default_rng(0).random((2, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(export.load_keras(path).predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_load_keras_tells_a_missing_file_from_a_corrupt_one(tmp_path):
    with pytest.raises(ValueError, match=r"path must be an existing \.keras file; received '.*nothing\.keras', "
                                         r"which does not exist"):
        export.load_keras(tmp_path / "nothing.keras")
    for content in (b"", b"PK half a zip", b"not a zip at all"):
        corrupt = tmp_path / "corrupt.keras"
        corrupt.write_bytes(content)
        with pytest.raises(ValueError, match=r"is not a readable \.keras file") as error:
            export.load_keras(corrupt)
        assert "not found" not in str(error.value).lower()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(export.save_keras(tiny_cnnkit_model(), tmp_path / "good.keras").read_bytes()[:-200])
    with pytest.raises(ValueError, match=r"is not a readable \.keras file"):
        export.load_keras(truncated)


def test_load_keras_names_a_class_nobody_registered(tmp_path):
    @keras.saving.register_keras_serializable(package="elsewhere")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    inputs = keras.Input((3,))
    path = export.save_keras(keras.Model(inputs, Doubler()(inputs)), tmp_path / "m.keras")
    keras.saving.get_custom_objects().pop("elsewhere>Doubler")  # as in a fresh process that never defined it
    with pytest.raises(ValueError, match=r"uses the class 'Doubler', which is not registered.*import the module"):
        export.load_keras(path)


# ---------------------------------------------------------------- int8 by hand


def test_int8_code_symmetric_per_channel_matches_keras_abs_max_quantize():
    w = np.random.default_rng(0).normal(size=(3, 3, 2, 4)) * np.array([1.0, 0.1, 0.01, 2.0])
    code = export.int8_code(w, axis=-1)
    q_keras, scale_keras = keras.quantizers.abs_max_quantize(w.astype(np.float32), axis=(0, 1, 2), to_numpy=True)
    np.testing.assert_array_equal(code.quantize(w), keras.ops.convert_to_numpy(q_keras))
    np.testing.assert_allclose(code.scale, 1.0 / keras.ops.convert_to_numpy(scale_keras), rtol=1e-5)
    assert code.scale.shape == (1, 1, 1, 4) and not code.zero_point.any()


def test_int8_round_trip_error_is_at_most_half_a_step_and_per_channel_beats_per_tensor():
    w = np.random.default_rng(1).normal(size=(5, 5, 3, 8)) * np.geomspace(0.01, 1.0, 8)
    per_tensor, per_channel = export.int8_code(w), export.int8_code(w, axis=-1)
    for code in (per_tensor, per_channel):
        assert np.all(np.abs(code.round_trip(w) - w) <= code.scale / 2 + 1e-7)
    error_tensor = np.abs(per_tensor.round_trip(w) - w).max(axis=(0, 1, 2))
    error_channel = np.abs(per_channel.round_trip(w) - w).max(axis=(0, 1, 2))
    assert np.all(error_channel <= error_tensor + 1e-9)
    assert error_channel[0] < error_tensor[0] / 10  # the smallest channel gains the most


def test_int8_code_asymmetric_codes_zero_exactly_and_uses_all_256_integers():
    x = np.random.default_rng(2).uniform(0.5, 6.0, size=1000)  # all positive, as after a ReLU
    code = export.int8_code(x, symmetric=False)
    assert code.dequantize(code.quantize(0.0)) == 0.0
    q = code.quantize(np.concatenate([[0.0], x]))
    assert q.min() == -128 and q.max() == 127
    np.testing.assert_allclose(code.round_trip(x), x, atol=float(code.scale) / 2 + 1e-6)


def test_int8_code_refuses_bad_input():
    with pytest.raises(ValueError, match="received"):
        export.int8_code(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="axis"):
        export.int8_code(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="at least one value"):
        export.int8_code(np.zeros((0,)))
