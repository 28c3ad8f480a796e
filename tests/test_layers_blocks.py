"""The backbone blocks against NumPy references, parameter formulas, and their contracts."""

import keras
import numpy as np
import pytest

from cnnkit import ops as ref
from cnnkit.layers import (
    Bottleneck,
    ConvBNAct,
    DepthwiseSeparableConv,
    InvertedResidual,
    ResidualBlock,
    SqueezeExcite,
    StochasticDepth,
)
from cnnkit.layers.blocks import BN_EPSILON

RNG = np.random.default_rng(0)


def images(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def randomize_bn(bn, rng):
    """Give a BatchNormalization layer non-trivial statistics so the test sees them used."""
    c = bn.gamma.shape[0]
    bn.gamma.assign(rng.uniform(0.5, 1.5, c).astype(np.float32))
    bn.beta.assign(rng.normal(size=c).astype(np.float32))
    bn.moving_mean.assign(rng.normal(size=c).astype(np.float32))
    bn.moving_variance.assign(rng.uniform(0.5, 2.0, c).astype(np.float32))


def bn_reference(x, bn):
    """Inference-mode batch norm in NumPy: gamma * (x - mean) / sqrt(var + eps) + beta."""
    mean, var = numpy(bn.moving_mean), numpy(bn.moving_variance)
    return numpy(bn.gamma) * (x - mean) / np.sqrt(var + BN_EPSILON) + numpy(bn.beta)


def count(layer) -> int:
    return int(sum(np.prod(w.shape) for w in layer.weights))


def bn_params(channels) -> int:
    return 4 * channels  # gamma, beta (trained) + moving mean, moving variance


# ---------------------------------------------------------------- ConvBNAct


@pytest.mark.parametrize("strides", [1, 2])
def test_conv_bn_act_matches_numpy_conv_then_batch_norm_then_relu(strides):
    x = images((2, 9, 9, 3))
    layer = ConvBNAct(4, kernel_size=3, strides=strides)
    layer.build(x.shape)
    randomize_bn(layer.bn, RNG)
    expected = np.maximum(bn_reference(ref.conv2d_im2col(x, numpy(layer.conv.kernel), stride=strides, padding="same"), layer.bn), 0)
    np.testing.assert_allclose(numpy(layer(x, training=False)), expected, atol=1e-4)


def test_conv_bn_act_without_bn_has_a_bias_and_depthwise_keeps_channels():
    plain = ConvBNAct(8, 3, use_bn=False, activation=None)
    plain.build((None, 8, 8, 3))
    assert count(plain) == 3 * 3 * 3 * 8 + 8 and plain.bn is None
    depthwise = ConvBNAct(None, 5, strides=2, depthwise=True)
    assert tuple(depthwise(images((1, 10, 10, 6))).shape) == (1, 5, 5, 6)
    assert count(depthwise) == 5 * 5 * 6 + bn_params(6)


def test_odd_sizes_follow_the_same_padding_rule():
    layer = ResidualBlock(8, strides=2)
    assert tuple(layer(images((1, 7, 11, 4))).shape) == (1, 4, 6, 8)  # ceil(7/2), ceil(11/2)


# ---------------------------------------------------------------- residual blocks


def test_residual_block_parameter_count_matches_the_formula():
    block = ResidualBlock(32, strides=2)
    block.build((None, 16, 16, 16))
    branch = 3 * 3 * 16 * 32 + 3 * 3 * 32 * 32 + 2 * bn_params(32)
    projection = 16 * 32 + bn_params(32)
    assert count(block) == branch + projection
    same = ResidualBlock(16)
    same.build((None, 8, 8, 16))
    assert same.projection is None, "an identity shortcut needs no projection"


def test_residual_block_is_relu_of_input_plus_branch_and_plain_block_drops_the_input():
    x = images((2, 8, 8, 16), seed=1)
    block = ResidualBlock(16)
    out = numpy(block(x, training=False))
    branch = numpy(block.branch[1](block.branch[0](x, training=False), training=False))
    np.testing.assert_allclose(out, np.maximum(x + branch, 0), atol=1e-5)

    plain = ResidualBlock(16, residual=False)
    plain.build(x.shape)
    plain.set_weights(block.get_weights())
    np.testing.assert_allclose(numpy(plain(x, training=False)), np.maximum(branch, 0), atol=1e-5)


def test_zeroed_last_gamma_makes_a_residual_block_the_identity_on_positive_inputs():
    # With the branch's last batch-norm scale and shift at zero the branch outputs 0, so a block
    # with an identity shortcut passes relu(x) through: the "zero-init residual" start of training.
    x = np.abs(images((2, 6, 6, 8), seed=2))
    for block in (ResidualBlock(8), Bottleneck(2, expansion=4)):
        block.build(x.shape)
        last_bn = block.branch[-1].bn
        last_bn.gamma.assign(np.zeros(last_bn.gamma.shape, np.float32))
        np.testing.assert_allclose(numpy(block(x, training=False)), x, atol=1e-6)


def test_bottleneck_parameter_count_and_output_channels():
    block = Bottleneck(16, strides=2)
    out = block(images((1, 8, 8, 32)))
    assert tuple(out.shape) == (1, 4, 4, 64)
    expected = (32 * 16 + bn_params(16)) + (9 * 16 * 16 + bn_params(16)) + (16 * 64 + bn_params(64)) \
        + (32 * 64 + bn_params(64))
    assert count(block) == expected


# ---------------------------------------------------------------- MobileNet / EfficientNet blocks


def test_depthwise_separable_saves_parameters_as_the_formula_says():
    c_in, c_out, k = 32, 64, 3
    separable = DepthwiseSeparableConv(c_out, kernel_size=k)
    separable.build((None, 8, 8, c_in))
    assert count(separable) == k * k * c_in + bn_params(c_in) + c_in * c_out + bn_params(c_out)
    conv_weights = k * k * c_in * c_out
    separable_weights = k * k * c_in + c_in * c_out
    assert separable_weights / conv_weights == pytest.approx(1 / c_out + 1 / k**2)


def test_depthwise_separable_matches_numpy_per_channel_then_pointwise():
    x = images((1, 6, 6, 3), seed=3)
    layer = DepthwiseSeparableConv(4, activation=None, use_bn=False)
    out = numpy(layer(x))
    dw = numpy(layer.depthwise.conv.kernel)  # (3, 3, C, 1)
    depth = np.concatenate([ref.conv2d_im2col(x[..., c:c + 1], dw[:, :, c:c + 1, :], padding="same")
                            for c in range(3)], axis=-1) + numpy(layer.depthwise.conv.bias)
    pointwise = depth @ numpy(layer.pointwise.conv.kernel)[0, 0] + numpy(layer.pointwise.conv.bias)
    np.testing.assert_allclose(out, pointwise, atol=1e-4)


def test_squeeze_excite_matches_numpy_and_counts_its_parameters():
    x = images((2, 5, 5, 8), seed=4)
    se = SqueezeExcite(2)
    out = numpy(se(x))
    pooled = x.mean(axis=(1, 2))  # (batch, C)
    hidden = np.maximum(pooled @ numpy(se.reduce.kernel)[0, 0] + numpy(se.reduce.bias), 0)
    gates = 1 / (1 + np.exp(-(hidden @ numpy(se.expand.kernel)[0, 0] + numpy(se.expand.bias))))
    np.testing.assert_allclose(out, x * gates[:, None, None, :], atol=1e-5)
    assert count(se) == 2 * 8 * 2 + 2 + 8


def test_inverted_residual_uses_its_shortcut_only_when_shapes_match():
    keep = InvertedResidual(16, strides=1)
    keep.build((None, 8, 8, 16))
    assert keep.use_shortcut
    for block, shape in ((InvertedResidual(16, strides=2), (None, 8, 8, 16)), (InvertedResidual(24), (None, 8, 8, 16))):
        block.build(shape)
        assert not block.use_shortcut


def test_inverted_residual_parameter_count_and_linear_bottleneck():
    c_in, t, c_out = 16, 6, 24
    block = InvertedResidual(c_out, strides=2, expansion=t, kernel_size=5, activation="swish", se_ratio=0.25)
    out = numpy(block(images((2, 8, 8, c_in), seed=5), training=False))
    hidden, squeeze = c_in * t, int(c_in * 0.25)
    expected = (c_in * hidden + bn_params(hidden)) + (25 * hidden + bn_params(hidden)) \
        + (2 * hidden * squeeze + squeeze + hidden) + (hidden * c_out + bn_params(c_out))
    assert count(block) == expected
    assert out.min() < 0, "the projection is linear (no activation), so outputs can be negative"
    no_expand = InvertedResidual(8, expansion=1)
    no_expand.build((None, 4, 4, 8))
    assert no_expand.expand is None


# ---------------------------------------------------------------- stochastic depth


def test_stochastic_depth_is_identity_at_inference_and_keeps_the_mean_in_training():
    x = np.ones((4000, 2, 2, 3), np.float32)
    drop = StochasticDepth(0.25, seed=1)
    np.testing.assert_array_equal(numpy(drop(x, training=False)), x)
    out = numpy(drop(x, training=True))
    per_sample = out.reshape(len(x), -1)
    assert np.all((per_sample == 0).all(axis=1) | np.isclose(per_sample, 1 / 0.75).all(axis=1)), \
        "each sample is dropped whole or kept and scaled by 1/(1-rate)"
    dropped = (per_sample == 0).all(axis=1).mean()
    assert abs(dropped - 0.25) < 0.03  # binomial sd sqrt(.25*.75/4000) ~ 0.007
    assert abs(out.mean() - 1.0) < 0.05


# ---------------------------------------------------------------- contracts


LAYERS = [
    (ConvBNAct(8, 3, strides=2), (2, 8, 8, 3)),
    (ResidualBlock(8, strides=2, drop_path_rate=0.1), (2, 8, 8, 4)),
    (Bottleneck(4, strides=2), (2, 8, 8, 8)),
    (DepthwiseSeparableConv(8), (2, 8, 8, 4)),
    (SqueezeExcite(2, activation="swish"), (2, 8, 8, 8)),
    (InvertedResidual(8, expansion=4, se_ratio=0.25, drop_path_rate=0.2), (2, 8, 8, 8)),
    (StochasticDepth(0.3), (2, 8, 8, 8)),
]


@pytest.mark.parametrize("layer, shape", LAYERS, ids=lambda v: type(v).__name__ if not isinstance(v, tuple) else "")
def test_config_round_trip_and_keras_file(layer, shape, tmp_path):
    again = type(layer).from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    inputs = keras.Input(shape[1:])
    model = keras.Model(inputs, layer(inputs))
    assert model.output_shape == layer.compute_output_shape((None, *shape[1:]))
    x = images(shape, seed=6)
    path = tmp_path / "block.keras"
    model.save(path)
    np.testing.assert_array_equal(numpy(keras.models.load_model(path)(x, training=False)),
                                  numpy(model(x, training=False)))


@pytest.mark.parametrize("make, message", [
    (lambda: ConvBNAct(0), r"filters must be a positive integer; received 0"),
    (lambda: ConvBNAct(8, kernel_size=2.5), r"kernel_size must be a positive integer; received 2.5"),
    (lambda: ConvBNAct(8, activation="relu7"), r"activation must be the name of a Keras activation .* received 'relu7'"),
    (lambda: ConvBNAct(8, depthwise=True), r"filters must be None when depthwise=True"),
    (lambda: ConvBNAct(8, strides=2, dilation_rate=2), r"strides > 1 and dilation_rate > 1"),
    (lambda: ResidualBlock(8, residual="yes"), r"residual must be True or False; received 'yes'"),
    (lambda: ResidualBlock(8, drop_path_rate=1.0), r"drop_path_rate must be a number in \[0, 1\); received 1.0"),
    (lambda: Bottleneck(8, expansion=0), r"expansion must be a positive integer; received 0"),
    (lambda: InvertedResidual(8, se_ratio=-0.1), r"se_ratio must be a number in \[0, 1\]; received -0.1"),
    (lambda: SqueezeExcite(None), r"squeeze_channels must be a positive integer; received None"),
    (lambda: StochasticDepth(-0.1), r"rate must be a number in \[0, 1\); received -0.1"),
])
def test_bad_arguments_say_what_was_received(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_non_image_input_is_rejected_clearly():
    with pytest.raises(ValueError, match=r"expects images \(batch, height, width, channels\); received an input of shape \(2, 8, 3\)"):
        ConvBNAct(4).build((2, 8, 3))


def test_receptive_field_paths_list_the_convolutions_on_the_longest_path():
    assert ConvBNAct(8, 5, strides=2).receptive_field_path() == [(5, 2, 1)]
    assert ResidualBlock(8, strides=2).receptive_field_path() == [(3, 2, 1), (3, 1, 1)]
    assert Bottleneck(8, strides=2).receptive_field_path() == [(1, 1, 1), (3, 2, 1), (1, 1, 1)]
    assert DepthwiseSeparableConv(8, strides=2).receptive_field_path() == [(3, 2, 1), (1, 1, 1)]
    assert InvertedResidual(8, strides=2, kernel_size=5).receptive_field_path() == [(1, 1, 1), (5, 2, 1), (1, 1, 1)]


def test_freezing_a_block_freezes_its_batch_norm_statistics():
    # Keras runs a frozen BatchNormalization in inference mode even when training=True:
    # the moving statistics stay, which is what fine-tuning a pretrained backbone needs.
    x = images((4, 6, 6, 3), seed=7) + 3.0
    layer = ConvBNAct(4)
    layer.build(x.shape)
    layer.trainable = False
    layer(x, training=True)
    np.testing.assert_array_equal(numpy(layer.bn.moving_mean), np.zeros(4, np.float32))
    layer.trainable = True
    layer(x, training=True)
    assert np.abs(numpy(layer.bn.moving_mean)).max() > 0


# ---------------------------------------------------------------- batch-norm settings of pretrained networks


def test_bn_momentum_and_epsilon_reach_every_batch_norm_and_survive_the_config():
    """TensorFlow-trained networks (EfficientNet) need epsilon 1e-3 and momentum 0.99, not torchvision's defaults."""
    block = InvertedResidual(8, expansion=4, bn_momentum=0.99, bn_epsilon=1e-3)
    block.build((None, 8, 8, 8))
    norms = [layer.bn for layer in (block.expand, block.depthwise, block.project)]
    assert [(bn.momentum, bn.epsilon) for bn in norms] == [(0.99, 1e-3)] * 3
    again = InvertedResidual.from_config(block.get_config())
    assert (again.bn_momentum, again.bn_epsilon) == (0.99, 1e-3)
    conv = ConvBNAct(4, bn_epsilon=1e-3)
    conv.build((None, 5, 5, 2))
    assert conv.bn.epsilon == 1e-3 and conv.bn.momentum == 0.9  # the default momentum is unchanged
    assert ConvBNAct.from_config(conv.get_config()).bn_epsilon == 1e-3


def test_bn_epsilon_changes_the_output_as_the_formula_says():
    x = images((1, 6, 6, 3), seed=7)
    outputs = {}
    for eps in (1e-5, 1e-1):
        layer = ConvBNAct(4, 3, activation=None, bn_epsilon=eps)
        layer.build(x.shape)
        layer.conv.kernel.assign(np.ones((3, 3, 3, 4), np.float32) * 0.1)
        layer.bn.moving_variance.assign(np.full(4, 0.01, np.float32))  # small variance: eps matters
        outputs[eps] = numpy(layer(x, training=False))
    np.testing.assert_allclose(outputs[1e-1] * np.sqrt(0.01 + 1e-1), outputs[1e-5] * np.sqrt(0.01 + 1e-5), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make, message", [
    (lambda: ConvBNAct(8, bn_epsilon=0), r"bn_epsilon must be a positive number; received 0"),
    (lambda: ConvBNAct(8, bn_momentum=1.0), r"bn_momentum must be a number in \[0, 1\); received 1.0"),
    (lambda: InvertedResidual(8, bn_epsilon="1e-3"), r"bn_epsilon must be a positive number; received '1e-3'"),
])
def test_bad_batch_norm_settings_say_what_was_received(make, message):
    with pytest.raises(ValueError, match=message):
        make()
