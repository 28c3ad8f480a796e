"""cnnkit.models.video: the four video classifiers and how they use time."""


import keras
import numpy as np
import pytest

from cnnkit import analysis, data
from cnnkit.models import create_model, list_models, model_tags

VIDEO_MODELS = ["per_frame_cnn", "c3d_small", "r2plus1d_small", "cnn_gru"]


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
])
def test_builders_validate(builder, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        create_model(builder, **kwargs)
