"""cnnkit.models.audio: the spectrogram CNN and the waveform CNN."""

import keras
import numpy as np
import pytest

from cnnkit.models import create_model, list_models, model_tags


def test_spectrogram_cnn_standardizes_its_input():
    model = create_model("spectrogram_cnn", num_classes=2, input_shape=(8, 8, 1), input_mean=-5.0, input_std=2.0)
    standardize = keras.Model(model.input, model.get_layer("standardize").output)
    out = keras.ops.convert_to_numpy(standardize(np.full((1, 8, 8, 1), -1.0, np.float32)))
    np.testing.assert_allclose(out, 2.0)


def test_audio_cnn1d_is_registered_and_its_first_convolution_is_strided():
    assert list_models(task="audio") == ["audio_cnn1d"] and model_tags("spectrogram_cnn")["task"] == "classification"
    model = create_model("audio_cnn1d", num_classes=3, input_shape=(256, 1), filters=(4, 8), first_kernel=16,
                         first_stride=4, pool_size=4)
    first = model.get_layer("stage1_conv")
    assert first.kernel_size == (16,) and first.strides == (4,)
    assert model.get_layer("stage2_conv").output.shape[1] == 256 // 4 // 4  # stride 4, then one pooling by 4
    assert model.output_shape == (None, 3)


def test_audio_cnn1d_learns_a_fixed_batch(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 256, 1)).astype(np.float32), rng.integers(0, 3, 16)
    model = create_model("audio_cnn1d", num_classes=3, input_shape=(256, 1), filters=(4, 8))
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    losses = [float(np.ravel(model.train_on_batch(x, y))[0]) for _ in range(8)]
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("name, kwargs, pattern", [
    ("spectrogram_cnn", dict(filters=()), r"filters must be a non-empty sequence of positive integers \(one per stage\)"),
    ("spectrogram_cnn", dict(input_std=0), r"input_std must be a positive number; received 0"),
    ("spectrogram_cnn", dict(input_shape=(32, 40)), r"input_shape must be \(height, width, channels\)"),
    ("audio_cnn1d", dict(input_shape=(100, 10, 1)), r"input_shape must be \(samples, channels\) with positive integers"),
    ("audio_cnn1d", dict(first_stride=0), r"first_stride must be a positive integer; received 0"),
])
def test_bad_arguments_say_what_was_received(name, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        create_model(name, **kwargs)
