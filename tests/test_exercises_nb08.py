"""The checks of notebook 08's exercises on the wrong answers a learner is likely to give.

The generic test in ``tests/test_exercises.py`` runs every check with its
registered correct and wrong examples; these add the other typical mistakes and
recompute the facts the checks hold: the STFT's frame count and bin spacing
(08.1) with ``cnnkit.audio``, tiny_vit's token and parameter counts (08.3) by
building it, the dilated fields (08.6) with ``analysis.receptive_field``, and a
``keras.ops`` log-mel (08.2) and Keras's own int8 quantizer (08.7) accepted on
every backend.
"""

from __future__ import annotations

import keras
import numpy as np
from exercise_helpers import check, rejected

from cnnkit import analysis, audio, exercises
from cnnkit.exercises import TODO, nb08
from cnnkit.models import create_model, sequence


def test_every_exercise_of_08_is_registered_in_order():
    assert [e.id for e in exercises.registered("08")] == [f"08.{k}" for k in range(1, 8)]
    kinds = [e.kind for e in exercises.registered("08")]
    assert kinds == [exercises.CHECK] * 3 + [exercises.MODEL_ANSWER] * 2 + [exercises.CHECK] * 2


def test_longer_frames_match_cnnkit_audio():
    spectrum = audio.stft(np.zeros((1, nb08.CLIP_SAMPLES)), frame_length=512, frame_step=128)
    assert spectrum.shape[1:] == (28, 257)
    assert check("08.1", {"frames": spectrum.shape[1], "hz_per_bin": nb08.SAMPLE_RATE / 512}).startswith("✔ 08.1")
    rejected("08.1", {"frames": 28, "hz_per_bin": nb08.SAMPLE_RATE / 257}, "spacing")
    assert check("08.1", {"frames": TODO, "hz_per_bin": 15.625}).startswith("08.1: not answered yet")


def log_mel_keras(waves):
    """The solution's log-mel: keras.ops.stft, magnitudes, section 1's mel bands, the natural log."""
    real, imag = keras.ops.stft(keras.ops.convert_to_tensor(waves, "float32"), 256, 128, 256, window="hann",
                                center=False)
    bands = keras.ops.convert_to_tensor(audio.mel_filterbank(40, 129, 8000, 20.0), "float32")
    mel = keras.ops.matmul(keras.ops.sqrt(real**2 + imag**2), bands)
    return keras.ops.convert_to_numpy(keras.ops.log(mel + 1e-6))


def test_a_keras_ops_log_mel_passes_and_the_usual_slips_fail():
    assert check("08.2", log_mel_keras).startswith("✔ 08.2")
    power = lambda waves: 2 * log_mel_keras(waves)  # noqa: E731  (power instead of magnitude)
    rejected("08.2", power, "differ from the correct ones")
    keras_bands = lambda waves: log_mel_keras(waves)[..., ::-1]  # noqa: E731  (bands upside down)
    rejected("08.2", keras_bands, "differ from the correct ones")
    assert check("08.2", lambda waves: TODO) == "08.2: not answered yet\n"


def test_patch_counts_are_what_tiny_vit_builds():
    for p in (2, 8):
        model = create_model("tiny_vit", num_classes=6, input_shape=(32, 32, 3), patch_size=p)
        assert model.get_layer("position_embedding").output.shape[1] == nb08.PATCH_COUNTS[f"tokens_p{p}"]
        assert model.count_params() == nb08.PATCH_COUNTS[f"params_p{p}"]
    patch_4 = create_model("tiny_vit", num_classes=6, input_shape=(32, 32, 3)).count_params()  # the notebook's
    message = rejected("08.3", {**nb08.PATCH_COUNTS, "params_p2": patch_4, "params_p8": patch_4}, "2 of 4 parts are wrong")
    for key in ("params_p2", "params_p8"):  # the answers are not revealed
        assert str(nb08.PATCH_COUNTS[key]) not in message.replace(",", "")


def field_of(kernel_size, depth, length=128):
    model = sequence.sequence_cnn(2, (length,), 6, kernel_size=kernel_size, depth=depth, dilation_base=2,
                                  pool="mean", padding="valid")
    return analysis.receptive_field(keras.Model(model.get_layer("embedding").output, model.output)).size[0]


def test_dilated_fields_are_what_receptive_field_computes():
    assert field_of(2, 7) == 128 and field_of(2, 6) == 64
    assert field_of(3, 6) == 127
    assert check("08.6", {"depth": 7, "field_kernel3_depth6": 127}).startswith("✔ 08.6")
    rejected("08.6", {"depth": 7, "field_kernel3_depth6": 3 ** 6}, "1 of 2 parts is wrong")


def test_per_channel_int8_from_keras_abs_max_quantize_passes_and_floats_fail():
    def with_keras(kernel):
        q, scale = keras.quantizers.abs_max_quantize(np.asarray(kernel, "float32"), axis=(0, 1, 2), to_numpy=True)
        return keras.ops.convert_to_numpy(q), 1.0 / keras.ops.convert_to_numpy(scale).reshape(-1)

    assert check("08.7", with_keras).startswith("✔ 08.7")
    rejected("08.7", lambda kernel: (np.asarray(kernel) / (np.abs(kernel).max() / 127), np.ones(kernel.shape[-1])),
             "differ from the correct ones")
