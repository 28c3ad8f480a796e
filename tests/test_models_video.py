"""cnnkit.models.video: the six video classifiers and how they use time."""


import keras
import numpy as np
import pytest

from cnnkit import analysis, data
from cnnkit.models import create_model, list_models, model_tags

VIDEO_MODELS = ["per_frame_cnn", "c3d_small", "r2plus1d_small", "cnn_gru", "early_fusion_cnn", "frame_difference_cnn"]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def trainable_count(layer_or_model) -> int:
    return int(sum(np.prod(w.shape) for w in layer_or_model.trainable_weights))


# ---------------------------------------------------------------- the registered video models


def test_video_models_are_registered_with_the_clip_shape():
    for name in VIDEO_MODELS:
        assert name in list_models() and model_tags(name)["task"] == "video"
        assert create_model(name).input_shape == (None, 8, 32, 32, 1)


def test_per_frame_layers_are_2d_convolutions_on_each_frame():
    model = create_model("per_frame_cnn", input_shape=(4, 16, 16, 1), widths=(6,))
    conv3d = model.get_layer("conv1")
    conv2d = keras.layers.Conv2D(6, 3, padding="same", use_bias=False)
    conv2d.build((None, 16, 16, 1))
    conv2d.set_weights([conv3d.get_weights()[0][0]])
    clip = rand(2, 4, 16, 16, 1)
    out3d = keras.ops.convert_to_numpy(conv3d(clip))
    for t in range(4):
        np.testing.assert_allclose(out3d[:, t], keras.ops.convert_to_numpy(conv2d(clip[:, t])), atol=1e-5)


def test_only_the_per_frame_model_ignores_frame_order():
    clip = rand(3, 8, 32, 32, 1, seed=4)
    reordered = data.shuffle_frames(clip, seed=1)
    for name in VIDEO_MODELS:
        keras.utils.set_random_seed(0)
        model = create_model(name)
        a = keras.ops.convert_to_numpy(model(clip, training=False))
        b = keras.ops.convert_to_numpy(model(reordered, training=False))
        if name == "per_frame_cnn":
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        else:
            assert np.abs(a - b).max() > 1e-3, f"{name} should depend on frame order"


def test_temporal_receptive_fields():
    # Time is the first axis of the receptive field of a Conv3D model.
    assert analysis.receptive_field(create_model("per_frame_cnn")).size[0] == 1
    c3d = analysis.receptive_field(create_model("c3d_small"))
    r21 = analysis.receptive_field(create_model("r2plus1d_small"))
    assert c3d["conv1"].size == (3, 3, 3) and r21["conv1"].size == (3, 3, 3)
    assert c3d.size == r21.size and c3d.size[0] > 8  # the last layer sees the whole 8-frame clip


def test_2plus1d_model_has_about_the_parameters_of_c3d():
    c3d, r21 = create_model("c3d_small"), create_model("r2plus1d_small")
    assert abs(trainable_count(r21) - trainable_count(c3d)) / trainable_count(c3d) < 0.01
    assert create_model("per_frame_cnn").count_params() < c3d.count_params() / 2


@pytest.mark.parametrize("builder, kwargs, pattern", [
    ("c3d_small", {"input_shape": (32, 32, 1)}, r"input_shape must be \(time, height, width, channels\)"),
    ("c3d_small", {"temporal_kernel": 0}, r"temporal_kernel must be a positive integer; received 0"),
    ("per_frame_cnn", {"widths": ()}, r"widths must be a non-empty sequence of positive integers; received \(\)"),
    ("r2plus1d_small", {"input_shape": (8, 2, 2, 1)}, r"too small for 3 stages"),
    ("cnn_gru", {"units": 0}, r"units must be a positive integer; received 0"),
    ("early_fusion_cnn", {"input_shape": (32, 32, 1)}, r"input_shape must be \(time, height, width, channels\)"),
    ("frame_difference_cnn", {"input_shape": (1, 32, 32, 1)}, r"at least 2 frames"),
])
def test_builders_validate(builder, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        create_model(builder, **kwargs)


# ---------------------------------------------------------------- where time is mixed: once, at the input


def test_early_fusion_and_frame_difference_parameters_by_hand():
    # 3x3 convolutions without bias, batch norm (4 numbers per channel), a dense classifier.
    def count(first_in):
        convs = 3 * 3 * (first_in * 16 + 16 * 32 + 32 * 64)
        return convs + 4 * (16 + 32 + 64) + (64 * 4 + 4)

    assert create_model("early_fusion_cnn").count_params() == count(first_in=8 * 1) == 24_900  # 8 frames stacked
    assert create_model("frame_difference_cnn").count_params() == count(first_in=1) == 23_892
    assert create_model("frame_difference_cnn").count_params() == create_model("per_frame_cnn").count_params()


def test_early_fusion_is_a_2d_cnn_on_frames_stacked_as_channels():
    model = create_model("early_fusion_cnn", input_shape=(5, 12, 12, 2), widths=(6,))
    kernel = model.get_layer("conv1").get_weights()[0]  # (T, 3, 3, C, 6)
    conv2d = keras.layers.Conv2D(6, 3, padding="same", use_bias=False)
    conv2d.build((None, 12, 12, 10))
    # stacked channel t * C + c is frame t, channel c
    conv2d.set_weights([kernel.transpose(1, 2, 0, 3, 4).reshape(3, 3, 10, 6)])
    clip = rand(2, 5, 12, 12, 2, seed=3)
    stacked = clip.transpose(0, 2, 3, 1, 4).reshape(2, 12, 12, 10)
    fused = keras.ops.convert_to_numpy(model.get_layer("conv1")(clip))
    assert fused.shape == (2, 1, 12, 12, 6)
    np.testing.assert_allclose(fused[:, 0], keras.ops.convert_to_numpy(conv2d(stacked)), atol=1e-4)


def test_frame_difference_model_is_the_per_frame_model_on_differences():
    keras.utils.set_random_seed(0)
    diff_model = create_model("frame_difference_cnn")
    per_frame = create_model("per_frame_cnn", input_shape=(7, 32, 32, 1))
    per_frame.set_weights(diff_model.get_weights())
    clip = rand(2, 8, 32, 32, 1, seed=5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(diff_model(clip, training=False)),
                               keras.ops.convert_to_numpy(per_frame(clip[:, 1:] - clip[:, :-1], training=False)),
                               rtol=1e-4, atol=1e-5)
    # A constant clip has no differences: every clip that stands still gets the same output.
    still = np.repeat(rand(2, 1, 32, 32, 1, seed=6), 8, axis=1)
    out = keras.ops.convert_to_numpy(diff_model(still, training=False))
    np.testing.assert_allclose(out[0], out[1], atol=1e-5)


def test_temporal_fields_of_the_fusion_models():
    assert analysis.receptive_field(create_model("early_fusion_cnn")).size[0] == 8  # the whole clip, at once
    rf = analysis.receptive_field(create_model("frame_difference_cnn"))
    assert rf["frame_difference"].size == (2, 1, 1) and rf.size[0] == 2 and not rf.warnings
