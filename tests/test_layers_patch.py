"""cnnkit.layers.patch: PatchEmbedding (a strided convolution) and PositionEmbedding."""

import keras
import numpy as np
import pytest

from cnnkit import ops
from cnnkit.layers import PatchEmbedding, PositionEmbedding


def patches_by_reshape(images: np.ndarray, p: int) -> np.ndarray:
    """Cut (N, H, W, C) images into (N, H/p * W/p, p*p*C) flattened patches, row-major: plain NumPy."""
    n, h, w, c = images.shape
    grid = images.reshape(n, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5)
    return grid.reshape(n, (h // p) * (w // p), p * p * c)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((2, 8, 12, 3), dtype=np.float32)


def test_patch_embedding_equals_patches_times_one_shared_dense(images):
    layer = PatchEmbedding(patch_size=4, embed_dim=5, bias_initializer="random_normal")
    tokens = keras.ops.convert_to_numpy(layer(images))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in layer.weights)
    dense = patches_by_reshape(images, 4) @ kernel.reshape(-1, 5) + bias  # every patch, the same matrix
    assert tokens.shape == (2, 6, 5)
    np.testing.assert_allclose(tokens, dense, atol=1e-5)
    # The same patches, cut by cnnkit's im2col with stride = kernel size.
    np.testing.assert_allclose(ops.im2col(images, 4, stride=4).reshape(2, 6, -1), patches_by_reshape(images, 4))


def test_patch_embedding_equals_keras_conv2d_with_the_same_weights(images):
    layer = PatchEmbedding(patch_size=2, embed_dim=4, flatten=False)
    grid = keras.ops.convert_to_numpy(layer(images))
    conv = keras.layers.Conv2D(4, 2, strides=2)
    conv.build(images.shape)
    conv.set_weights([keras.ops.convert_to_numpy(w) for w in layer.weights])
    assert grid.shape == (2, 4, 6, 4)
    np.testing.assert_allclose(grid, keras.ops.convert_to_numpy(conv(images)), atol=1e-5)


def test_patch_embedding_counts_and_shapes():
    layer = PatchEmbedding(patch_size=4, embed_dim=32, use_bias=False)
    out = layer(keras.ops.zeros((1, 32, 32, 3)))
    assert tuple(out.shape) == (1, 64, 32)
    assert layer.count_params() == 4 * 4 * 3 * 32
    assert layer.compute_output_shape((None, 32, 32, 3)) == (None, 64, 32)


def test_layers_save_and_load_inside_a_model(tmp_path, images):
    inputs = keras.Input(images.shape[1:])
    outputs = PositionEmbedding()(PatchEmbedding(4, 6)(inputs))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "patch.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(images)), keras.ops.convert_to_numpy(model(images)))
    assert loaded.layers[1].get_config()["patch_size"] == 4


def test_position_embedding_adds_one_learned_vector_per_position():
    layer = PositionEmbedding(initializer="random_normal")
    x = np.zeros((3, 5, 4), dtype=np.float32)
    out = keras.ops.convert_to_numpy(layer(x))
    positions = keras.ops.convert_to_numpy(layer.positions)
    assert positions.shape == (5, 4)
    np.testing.assert_allclose(out, np.broadcast_to(positions, (3, 5, 4)))
    assert np.ptp(positions, axis=0).min() > 0  # positions differ: a transformer can tell them apart


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: PatchEmbedding(0, 8), r"patch_size must be a positive integer; received 0"),
        (lambda: PatchEmbedding(4, 8, flatten="yes"), r"flatten must be True or False"),
        (lambda: PatchEmbedding(5, 8)(keras.ops.zeros((1, 32, 32, 3))), r"height \(32\) must be a multiple of patch_size \(5\)"),
        (lambda: PatchEmbedding(4, 8)(keras.ops.zeros((1, 32, 32))), r"expects images \(batch, height, width, channels\)"),
        (lambda: PositionEmbedding()(keras.Input((None, 8))), r"known sequence_length"),
    ],
)
def test_bad_arguments_say_what_was_received(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()
