"""The NumPy reference convolution against keras.layers.Conv2D, over a grid of settings."""

import itertools

import keras
import numpy as np
import pytest

from cnnkit import ops

GRID = [
    # kernel, stride, padding, dilation, (in_channels, out_channels), input (h, w)
    combo
    for combo in itertools.product(
        [1, 3, 5, (3, 2)], [1, 2, (2, 1)], ["valid", "same"], [1, 2], [(1, 1), (3, 4)], [(9, 9), (10, 7)]
    )
    # TensorFlow's Conv2D does not support stride > 1 together with dilation > 1.
    if not (combo[1] != 1 and combo[3] != 1)
    # With "valid" padding the dilated kernel must fit inside the input.
    and not (combo[2] == "valid" and ops.effective_kernel_size(max(np.atleast_1d(combo[0])), combo[3]) > min(combo[5]))
]


def keras_conv(x, kernel, bias, stride, padding, dilation):
    layer = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[:2], strides=stride, padding=padding, dilation_rate=dilation)
    layer.build(x.shape)
    layer.set_weights([kernel, bias])
    return keras.ops.convert_to_numpy(layer(x))


@pytest.mark.parametrize("kernel_size, stride, padding, dilation, channels, size", GRID)
def test_reference_convolutions_match_keras(kernel_size, stride, padding, dilation, channels, size):
    rng = np.random.default_rng(0)
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    c_in, c_out = channels
    x = rng.normal(size=(2, *size, c_in)).astype(np.float32)
    kernel = rng.normal(size=(kh, kw, c_in, c_out)).astype(np.float32)
    bias = rng.normal(size=c_out).astype(np.float32)
    expected = keras_conv(x, kernel, bias, stride, padding, dilation)

    loops = ops.conv2d_loops(x, kernel, bias, stride, padding, dilation)
    fast = ops.conv2d_im2col(x, kernel, bias, stride, padding, dilation)
    np.testing.assert_allclose(loops, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fast, expected, rtol=1e-4, atol=1e-4)

    s = (stride, stride) if isinstance(stride, int) else stride
    assert expected.shape[1:3] == (
        ops.conv_output_size(size[0], kh, s[0], padding, dilation),
        ops.conv_output_size(size[1], kw, s[1], padding, dilation),
    )


def test_single_image_without_batch_axis():
    x = np.arange(16, dtype=float).reshape(4, 4, 1)
    kernel = np.ones((2, 2, 1, 1))
    out = ops.conv2d_loops(x, kernel)
    assert out.shape == (3, 3, 1)
    assert out[0, 0, 0] == 0 + 1 + 4 + 5


def test_hand_computed_edge_filter():
    # A vertical step edge: a [-1, 1] filter fires only where the value changes.
    x = np.array([[0, 0, 1, 1]] * 3, dtype=float)[..., None]
    kernel = np.array([[-1.0, 1.0]])[..., None, None]
    out = ops.conv2d_loops(x, kernel)[..., 0]
    np.testing.assert_array_equal(out, [[0, 1, 0]] * 3)


@pytest.mark.parametrize(
    "n, k, s, padding, d, expected",
    [(32, 3, 1, "valid", 1, 30), (32, 3, 1, "same", 1, 32), (32, 3, 2, "valid", 1, 15), (32, 3, 2, "same", 1, 16),
     (7, 3, 1, "valid", 2, 3), (5, 5, 1, "valid", 1, 1), (1, 1, 1, "valid", 1, 1)],
)
def test_conv_output_size_by_hand(n, k, s, padding, d, expected):
    assert ops.conv_output_size(n, k, s, padding, d) == expected


def test_same_padding_puts_the_odd_pixel_after():
    # n=6, k=2, s=1: one pixel of padding in total, TensorFlow puts it at the end.
    assert ops.padding_amounts(6, 2, 1, "same") == (0, 1)
    assert ops.padding_amounts(6, 3, 1, "same") == (1, 1)


def test_im2col_rows_are_patches():
    x = np.arange(9, dtype=float).reshape(1, 3, 3, 1)
    cols = ops.im2col(x, 2)
    assert cols.shape == (1, 2, 2, 4)
    np.testing.assert_array_equal(cols[0, 0, 0], [0, 1, 3, 4])
    np.testing.assert_array_equal(cols[0, 1, 1], [4, 5, 7, 8])


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: ops.conv_output_size(0, 3), r"n must be a positive integer; received 0"),
        (lambda: ops.conv_output_size(8, 3, stride=-1), r"stride must be a positive integer; received -1"),
        (lambda: ops.conv_output_size(8, 3, padding="full"), r"padding must be one of \('valid', 'same'\); received 'full'"),
        (lambda: ops.conv_output_size(3, 5), r"received kernel span 5 and input size 3"),
        (lambda: ops.conv2d_loops(np.zeros((4, 4)), np.zeros((3, 3, 1, 1))), r"received an array of shape \(4, 4\)"),
        (lambda: ops.conv2d_loops(np.zeros((4, 4, 2)), np.zeros((3, 3, 1, 1))), r"in_channels = 2 \(the channels of x\).*received an array of shape \(3, 3, 1, 1\)"),
        (lambda: ops.conv2d_im2col(np.zeros((4, 4, 1)), np.zeros((3, 3, 1))), r"kernel must have shape .* received shape \(3, 3, 1\)"),
        (lambda: ops.conv2d_loops(np.zeros((4, 4, 1)), np.zeros((3, 3, 1, 1)), stride=0), r"stride must be a positive int"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# ---------------------------------------------------------------- pooling references vs Keras

POOL_GRID = [
    combo
    for combo in itertools.product([2, 3, (2, 3)], [None, 1, 2, (2, 1)], ["valid", "same"], [(6, 6), (7, 5)])
    if not (combo[2] == "valid" and max(np.atleast_1d(combo[0])) > min(combo[3]))
]


def check_pooling(reference, layer, pool_size, stride, padding, size):
    x = np.random.default_rng(1).normal(size=(2, *size, 3)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(layer(pool_size, strides=stride, padding=padding)(x))
    np.testing.assert_allclose(reference(x, pool_size, stride, padding), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pool_size, stride, padding, size", POOL_GRID)
def test_reference_max_pooling_matches_keras(pool_size, stride, padding, size):
    check_pooling(ops.max_pool2d, keras.layers.MaxPooling2D, pool_size, stride, padding, size)


TORCH_SAME_AVERAGE = pytest.mark.backends(
    "tensorflow", "jax", reason="Keras's torch backend averages AveragePooling2D(padding='same') windows that "
    "overhang the border differently (9 of these 24 cases); the reference follows TensorFlow and JAX")


@pytest.mark.parametrize("pool_size, stride, padding, size",
                         [pytest.param(*c, marks=TORCH_SAME_AVERAGE) if c[2] == "same" else c for c in POOL_GRID])
def test_reference_average_pooling_matches_keras(pool_size, stride, padding, size):
    check_pooling(ops.avg_pool2d, keras.layers.AveragePooling2D, pool_size, stride, padding, size)


@pytest.mark.parametrize("size, out", [((8, 8), (4, 4)), ((7, 9), (4, 4)), ((6, 5), (4, 3)), ((3, 3), (4, 4))])
def test_adaptive_average_pooling_matches_keras(size, out):
    x = np.random.default_rng(2).normal(size=(2, *size, 3)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(keras.layers.AdaptiveAveragePooling2D(out)(x))
    np.testing.assert_allclose(ops.adaptive_avg_pool2d(x, out), expected, rtol=1e-5, atol=1e-6)


def test_adaptive_bins_follow_pytorch():
    # PyTorch's AdaptiveAvgPool: start = floor(i * n / out), end = ceil((i + 1) * n / out).
    assert ops.adaptive_bins(8, 4) == [(0, 2), (2, 4), (4, 6), (6, 8)]  # divisible: plain 2x2 pooling
    assert ops.adaptive_bins(7, 4) == [(0, 2), (1, 4), (3, 6), (5, 7)]  # overlapping bins of 2 or 3
    with pytest.raises(ValueError, match=r"out must be a positive integer; received 0"):
        ops.adaptive_bins(7, 0)


def test_pooling_by_hand():
    x = np.array([[1, 2, 0, 0], [3, 4, 0, 8], [0, 0, -1, -2], [0, 1, -3, -4]], dtype=float)[..., None]
    np.testing.assert_array_equal(ops.max_pool2d(x)[..., 0], [[4, 8], [1, -1]])
    np.testing.assert_array_equal(ops.avg_pool2d(x)[..., 0], [[2.5, 2], [0.25, -2.5]])
    # "same" with a 3x3 window on 4x4: the corner window holds 4 real pixels, averaged over 4, not 9.
    assert ops.avg_pool2d(x, 3, 2, "same")[0, 0, 0] == pytest.approx((1 + 2 + 0 + 3 + 4 + 0 + 0 + 0 - 1) / 9)
    assert ops.avg_pool2d(x, 3, 2, "same")[1, 1, 0] == pytest.approx((-1 - 2 - 3 - 4) / 4)
