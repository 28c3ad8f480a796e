"""cnnkit.layers.video: the Conv2Plus1D layer, checked against Conv3D and the R(2+1)D paper."""


import keras
import numpy as np
import pytest

from cnnkit import video
from cnnkit.layers import Conv2Plus1D


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def trainable_count(layer_or_model) -> int:
    return int(sum(np.prod(w.shape) for w in layer_or_model.trainable_weights))


def built(layer, shape):
    layer.build((None, *shape))
    return layer


# ---------------------------------------------------------------- the R(2+1)D width rule and parameter counts


@pytest.mark.parametrize("n_in, n_out, kernel", [(64, 64, 3), (1, 16, 3), (16, 32, (5, 3, 3)), (32, 64, (3, 5, 5))])
def test_2plus1d_weights_match_the_3d_block_they_replace(n_in, n_out, kernel):
    layer = built(Conv2Plus1D(n_out, kernel, batch_norm=False, use_bias=False), (8, 16, 16, n_in))
    conv3d = built(keras.layers.Conv3D(n_out, kernel, use_bias=False), (8, 16, 16, n_in))
    ours, full = layer.count_params(), conv3d.count_params()
    assert full == video.conv3d_params(n_in, n_out, kernel, use_bias=False)
    t, kh, kw = (kernel,) * 3 if isinstance(kernel, int) else kernel
    # The rule rounds M down: the factorised block never has more weights, and at most one
    # "unit of M" fewer (kh*kw*N_in + t*N_out weights).
    assert full - (kh * kw * n_in + t * n_out) < ours <= full
    if (n_in, n_out, kernel) == (64, 64, 3):
        assert layer.intermediate_width == 144 and ours == full == 110_592  # exact at R(2+1)D-18's first stage


@pytest.mark.parametrize("batch_norm, use_bias", [(True, True), (True, False), (False, True), (False, False)])
def test_parameter_count_matches_the_formula(batch_norm, use_bias):
    layer = built(Conv2Plus1D(24, (3, 3, 3), batch_norm=batch_norm, use_bias=use_bias), (4, 8, 8, 10))
    assert layer.count_params() == video.conv2plus1d_params(10, 24, 3, use_bias=use_bias, batch_norm=batch_norm)
    m = video.intermediate_filters(10, 24, 3)
    expected_trainable = 9 * 10 * m + 3 * m * 24 + (24 if use_bias else 0) + (2 * m if batch_norm else (m if use_bias else 0))
    assert trainable_count(layer) == expected_trainable


# ---------------------------------------------------------------- Conv2Plus1D behaves like the Conv3D it factorises


@pytest.mark.parametrize("kernel, strides, padding", [
    (3, 1, "same"), (3, 2, "same"), ((3, 3, 3), (1, 2, 2), "valid"), ((5, 3, 3), (2, 1, 1), "same"), (3, 2, "valid"),
])
def test_output_shape_is_that_of_conv3d(kernel, strides, padding):
    x = rand(2, 9, 13, 12, 3)
    ours = Conv2Plus1D(6, kernel, strides=strides, padding=padding)
    reference = keras.layers.Conv3D(6, kernel, strides=strides, padding=padding)
    assert tuple(ours(x).shape) == tuple(reference(x).shape)
    assert ours.compute_output_shape(x.shape) == tuple(reference(x).shape)


def test_a_linear_2plus1d_block_is_a_conv3d_with_the_composed_kernel():
    # Without batch norm and activation, spatial (1,k,k) then temporal (t,1,1) is one Conv3D whose
    # kernel is K[t, h, w, i, o] = sum_m S[h, w, i, m] * T[t, m, o]: a rank-M factorisation.
    x = rand(2, 6, 10, 10, 3)
    layer = Conv2Plus1D(5, 3, padding="valid", batch_norm=False, intermediate_activation=None, use_bias=True)
    layer.build(x.shape)
    s_kernel, s_bias = layer.spatial.get_weights()
    t_kernel, t_bias = layer.temporal.get_weights()
    s_bias = rand(*s_bias.shape, seed=5)  # non-zero biases, to check they compose too
    layer.spatial.set_weights([s_kernel, s_bias])
    out = keras.ops.convert_to_numpy(layer(x))
    composed = np.einsum("hwim,tmo->thwio", s_kernel[0], t_kernel[:, 0, 0])
    bias = t_bias + np.einsum("m,tmo->o", s_bias, t_kernel[:, 0, 0])
    reference = keras.layers.Conv3D(5, 3, padding="valid")
    reference.build(x.shape)
    reference.set_weights([composed, bias])
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(reference(x)), atol=1e-4)


def test_strides_go_to_the_right_half():
    layer = Conv2Plus1D(4, 3, strides=(2, 3, 1))
    layer(rand(1, 8, 9, 9, 2))
    assert layer.spatial.strides == (1, 3, 1) and layer.temporal.strides == (2, 1, 1)
    assert layer.spatial.kernel_size == (1, 3, 3) and layer.temporal.kernel_size == (3, 1, 1)


def test_config_round_trip_and_keras_file(tmp_path):
    layer = Conv2Plus1D(8, (3, 5, 5), strides=(1, 2, 2), intermediate_filters=12, activation="relu",
                        batch_norm_momentum=0.9, name="c21")
    inputs = keras.Input((6, 16, 16, 3))
    model = keras.Model(inputs, layer(inputs))
    again = Conv2Plus1D.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    x = rand(2, 6, 16, 16, 3)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)))
    assert loaded.get_layer("c21").intermediate_width == 12 and loaded.get_layer("c21").norm.momentum == 0.9


@pytest.mark.parametrize("kwargs, pattern", [
    ({"filters": 0}, r"filters must be a positive integer; received 0"),
    ({"filters": 4, "kernel_size": (3, 3)}, r"kernel_size must be a positive integer or 3 positive integers \(time, height, width\); received \(3, 3\)"),
    ({"filters": 4, "strides": 0}, r"strides must be .*received 0"),
    ({"filters": 4, "padding": "causal"}, r"padding must be one of \('same', 'valid'\); received 'causal'"),
    ({"filters": 4, "intermediate_filters": -2}, r"intermediate_filters must be a positive integer or None; received -2"),
    ({"filters": 4, "batch_norm_momentum": 1.0}, r"batch_norm_momentum must be a number in \[0, 1\); received 1.0"),
])
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        Conv2Plus1D(**kwargs)


def test_rejects_non_video_input():
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, time, height, width, channels\).*\(None, 8, 8, 3\)"):
        Conv2Plus1D(4).build((None, 8, 8, 3))


# ---------------------------------------------------------------- torchvision's R3D-18 and R(2+1)D-18, rebuilt


def video_resnet18(conv: str, num_classes: int = 400):
    """torchvision.models.video r3d_18 / r2plus1d_18, layer for layer (BasicBlock, [2, 2, 2, 2])."""
    L = keras.layers

    def bn_relu(x, relu=True):
        x = L.BatchNormalization()(x)
        return L.ReLU()(x) if relu else x

    def conv_block(x, n_out, mid, stride):
        if conv == "3d":
            return L.Conv3D(n_out, 3, strides=stride, padding="same", use_bias=False)(x)
        # torchvision's quirk: both convs of a block use the width computed from the block's
        # (inplanes, planes), so it is passed explicitly.
        return Conv2Plus1D(n_out, 3, strides=stride, padding="same", intermediate_filters=mid, use_bias=False)(x)

    inputs = keras.Input((16, 112, 112, 3))
    if conv == "3d":
        x = L.Conv3D(64, (3, 7, 7), strides=(1, 2, 2), padding="same", use_bias=False)(inputs)
    else:  # R2Plus1dStem: 45 intermediate channels
        x = Conv2Plus1D(64, (3, 7, 7), strides=(1, 2, 2), intermediate_filters=45, use_bias=False)(inputs)
    x = bn_relu(x)
    n_in = 64
    for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for block in range(2):
            s = stride if block == 0 else 1
            mid = video.intermediate_filters(n_in, planes, 3)
            shortcut = x
            if s != 1 or n_in != planes:
                shortcut = bn_relu(L.Conv3D(planes, 1, strides=s, use_bias=False)(x), relu=False)
            y = bn_relu(conv_block(x, planes, mid, s))
            y = bn_relu(conv_block(y, planes, mid, 1), relu=False)
            x = L.ReLU()(L.Add()([y, shortcut]))
            n_in = planes
    x = L.GlobalAveragePooling3D()(x)
    return keras.Model(inputs, L.Dense(num_classes)(x))


@pytest.mark.parametrize("conv, expected", [("3d", 33_371_472), ("2plus1d", 31_505_325)])
def test_torchvision_video_resnets_have_the_published_parameter_counts(conv, expected):
    # torchvision.models.video R3D_18_Weights / R2Plus1D_18_Weights meta "num_params" (PyTorch counts
    # trainable parameters; batch norm's running statistics are buffers there).
    assert trainable_count(video_resnet18(conv)) == expected
