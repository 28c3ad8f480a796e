"""cnnkit.analysis feature maps and Grad-CAM against NumPy and the class activation map."""

import keras
import numpy as np
import pytest

from cnnkit import analysis, ops

L = keras.layers


def test_feature_maps_match_the_numpy_convolution():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10, 10, 2)), L.Conv2D(3, 3, padding="same", name="conv"), L.ReLU()])
    images = np.random.default_rng(0).random((2, 10, 10, 2)).astype("float32")
    kernel, bias = model.get_layer("conv").get_weights()
    maps = analysis.feature_maps(model, images, "conv")
    np.testing.assert_allclose(maps, ops.conv2d_loops(images, kernel, bias, padding="same"), atol=1e-5)
    assert analysis.feature_maps(model, images[0], "conv").shape == (10, 10, 3)
    with pytest.raises(ValueError, match=r"received 'conv9'"):
        analysis.feature_maps(model, images, "conv9")
    with pytest.raises(ValueError, match=r"received an array of shape \(10, 10\)"):
        analysis.feature_maps(model, images[0, ..., 0], "conv")


def test_grad_cam_equals_the_class_activation_map():
    # With global average pooling and one dense layer, Grad-CAM's channel weights are the dense
    # weights / (h * w), so the map is Zhou et al.'s CAM: relu(sum_k w[k, c] * A_k), scaled to [0, 1].
    keras.utils.set_random_seed(1)
    inputs = keras.Input((12, 12, 3))
    features = L.Conv2D(5, 3, padding="same", activation="relu", name="features")(inputs)
    model = keras.Model(inputs, L.Dense(4, name="head")(L.GlobalAveragePooling2D()(features)))
    images = np.random.default_rng(1).random((3, 12, 12, 3)).astype("float32")
    weights, _ = model.get_layer("head").get_weights()
    maps = analysis.feature_maps(model, images, "features")
    for class_index in (None, 2):
        heat, classes = analysis.grad_cam(model, images, class_index=class_index)
        expected_classes = model.predict(images, verbose=0).argmax(1) if class_index is None else [2, 2, 2]
        np.testing.assert_array_equal(classes, expected_classes)
        cam = np.maximum(np.einsum("nhwk,kn->nhw", maps, weights[:, classes]), 0)
        peak = cam.reshape(3, -1).max(axis=1)[:, None, None]
        cam = np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)  # an all-negative map stays 0
        np.testing.assert_allclose(heat, cam, atol=1e-5)
    single, cls = analysis.grad_cam(model, images[0], layer="features")
    assert single.shape == (12, 12) and isinstance(cls, int)
    with pytest.raises(ValueError, match=r"class_index must be an integer in \[0, 3\] or None; received"):
        analysis.grad_cam(model, images, class_index=4)


def test_grad_cam_with_a_shortcut_around_the_layer():
    # The score is Dense(GAP(features + shortcut)): the addition passes the gradient on unchanged, so the
    # channel weights are still the dense weights / (h * w) and the map is the CAM of the features. (On
    # JAX this used to need every path to the output through the layer.)
    keras.utils.set_random_seed(2)
    inputs = keras.Input((10, 10, 3))
    features = L.Conv2D(4, 3, padding="same", activation="relu", name="features")(inputs)
    shortcut = L.Conv2D(4, 1, name="shortcut")(inputs)
    pooled = L.GlobalAveragePooling2D()(L.Add()([features, shortcut]))
    model = keras.Model(inputs, L.Dense(3, name="head")(pooled))
    images = np.random.default_rng(2).random((2, 10, 10, 3)).astype("float32")
    weights, _ = model.get_layer("head").get_weights()
    heat, classes = analysis.grad_cam(model, images, layer="features", class_index=1)
    maps = analysis.feature_maps(model, images, "features")
    cam = np.maximum(np.einsum("nhwk,k->nhw", maps, weights[:, 1]), 0)
    peak = cam.reshape(2, -1).max(axis=1)[:, None, None]
    np.testing.assert_allclose(heat, np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0), atol=1e-5)
    np.testing.assert_array_equal(classes, [1, 1])


def test_grad_cam_refuses_a_layer_the_score_does_not_depend_on():
    inputs = keras.Input((8, 8, 1))
    scores = L.Dense(2)(L.GlobalAveragePooling2D()(L.Conv2D(2, 3, name="used")(inputs)))
    side = L.Conv2D(2, 3, name="side")(inputs)
    model = keras.Model(inputs, [scores, side])
    with pytest.raises(ValueError, match=r"does not depend on layer 'side'"):
        analysis.grad_cam(model, np.zeros((8, 8, 1), "float32"), layer="side")


@pytest.mark.parametrize("images, pattern", [
    (np.full((2, 12, 12, 3), 200, np.uint8), r"images must be float images in \[0, 1\].*divide it by 255"),
    (np.full((12, 12, 3), 200.0, np.float32), r"images must be images with values in \[0, 1\].*divide it by 255"),
    (np.full((12, 12, 3), np.nan, np.float32), r"images must contain finite numbers only"),
])
def test_grad_cam_and_feature_maps_refuse_0_255_and_nan_images(images, pattern):
    inputs = keras.Input((12, 12, 3))
    features = keras.layers.Conv2D(2, 3, name="features")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(features)))
    with pytest.raises(ValueError, match=pattern):
        analysis.grad_cam(model, images)
    with pytest.raises(ValueError, match=pattern):
        analysis.feature_maps(model, images, "features")


def _left_half_model():
    """Logits (s, 0) with s = 10 x (mean of the left half of the image): only the left half is evidence."""
    inputs = keras.Input((8, 8, 1))
    left = keras.layers.Lambda(lambda t: keras.ops.mean(t[:, :, :4, 0], axis=(1, 2), keepdims=False))(inputs)
    score = keras.layers.Lambda(lambda s: keras.ops.stack([10.0 * s, keras.ops.zeros_like(s)], axis=-1))(left)
    return keras.Model(inputs, score)


def test_occlusion_map_is_the_probability_drop_where_the_evidence_is():
    model = _left_half_model()
    image = np.ones((8, 8, 1), dtype=np.float32)
    drops, cls = analysis.occlusion_map(model, image, patch=4, stride=4)
    assert cls == 0 and drops.shape == (2, 2)
    p = lambda s: 1.0 / (1.0 + np.exp(-s))  # noqa: E731  softmax of (s, 0), class 0
    np.testing.assert_allclose(drops[:, 0], p(10.0) - p(10.0 * 0.5), rtol=1e-5)  # each left patch covers half the left half
    np.testing.assert_allclose(drops[:, 1], 0.0, atol=1e-6)  # the right half is ignored by the model
    batch, classes = analysis.occlusion_map(model, np.stack([image, image]), patch=4, class_index=1)
    assert batch.shape == (2, 3, 3) and list(classes) == [1, 1]  # default stride patch // 2
    assert (batch[:, :, -1] <= 1e-6).all() and (batch[:, :, 0] < 0).all()  # covering evidence for 0 helps class 1


def test_occlusion_map_refuses_a_patch_larger_than_the_image():
    with pytest.raises(ValueError, match="patch"):
        analysis.occlusion_map(_left_half_model(), np.ones((8, 8, 1), np.float32), patch=9)


def test_class_probabilities_is_the_softmax_of_the_logits_and_passes_probabilities_through():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, kernel_initializer="glorot_uniform")])
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32) * 30  # large logits: exp must not overflow
    logits = keras.ops.convert_to_numpy(model(x))
    probs = analysis.inspect.class_probabilities(model, x, batch_size=2)
    np.testing.assert_allclose(probs, keras.ops.convert_to_numpy(keras.ops.softmax(logits)), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(analysis.inspect.class_probabilities(model, x, from_logits=False), logits, rtol=1e-6)


def test_visualize_filters_drives_a_linear_channel_to_the_corners_of_the_input_range():
    # For a 1x1 convolution, channel c's mean activation is sum_k w[k, c] * mean(x_k) + b: gradient
    # ascent (clipped to [0, 1]) must end with input channel k at 1 where w[k, c] > 0 and at 0 where < 0.
    model = keras.Sequential([keras.Input((6, 6, 3)), L.Conv2D(2, 1, name="mix")])
    model.get_layer("mix").set_weights([np.array([[[[1.0, -2.0], [-0.5, 1.0], [2.0, 0.5]]]], "float32"),
                                        np.zeros(2, "float32")])
    patterns = analysis.visualize_filters(model, "mix", [0, 1], steps=60, step_size=0.1, border=0.0)
    assert patterns.shape == (2, 6, 6, 3) and patterns.dtype == np.float32
    np.testing.assert_array_equal(patterns[0], np.broadcast_to([1.0, 0.0, 1.0], (6, 6, 3)))
    np.testing.assert_array_equal(patterns[1], np.broadcast_to([0.0, 1.0, 1.0], (6, 6, 3)))


def test_visualize_filters_excites_each_channel_more_than_the_starting_noise():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((16, 16, 3)), L.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
                              L.Conv2D(5, 3, padding="same", name="c2")])  # linear: no channel is dead
    channels = [4, 0, 2]
    patterns = analysis.visualize_filters(model, "c2", channels, steps=20, seed=1)
    noise = np.clip(0.5 + 0.05 * np.random.default_rng(1).standard_normal((3, 16, 16, 3)), 0, 1)
    after = analysis.feature_maps(model, patterns, "c2")[:, 1:-1, 1:-1].mean(axis=(1, 2))
    before = analysis.feature_maps(model, noise, "c2")[:, 1:-1, 1:-1].mean(axis=(1, 2))
    for i, c in enumerate(channels):
        assert after[i, c] > before[i, c], (c, after[i, c], before[i, c])
    assert 0.0 <= patterns.min() and patterns.max() <= 1.0


def test_visualize_filters_refuses_bad_channels_layers_and_input_shapes():
    model = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(3, 3, name="conv"), L.Flatten(name="flat")])
    with pytest.raises(ValueError, match=r"in \[0, 2\].*received \[3\]"):
        analysis.visualize_filters(model, "conv", [3])
    with pytest.raises(ValueError, match=r"non-empty.*received \[\]"):
        analysis.visualize_filters(model, "conv", [])
    with pytest.raises(ValueError, match=r"2D feature map.*'flat'"):
        analysis.visualize_filters(model, "flat", [0])
    with pytest.raises(ValueError, match=r"steps must be a positive integer"):
        analysis.visualize_filters(model, "conv", [0], steps=0)
    open_model = keras.Sequential([keras.Input((None, None, 1)), L.Conv2D(3, 3, name="conv")])
    with pytest.raises(ValueError, match=r"fully defined input shape"):
        analysis.visualize_filters(open_model, "conv", [0])
