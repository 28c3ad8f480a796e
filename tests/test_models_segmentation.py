"""cnnkit.models.segmentation: unet_small, fpn_seg and mask_head."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnkit.models import create_model, model_tags

# ---------------------------------------------------------------- models


def test_models_are_registered_as_segmentation():
    for name in ("unet_small", "fpn_seg", "mask_head"):
        assert model_tags(name)["task"] == "segmentation"


def test_unet_upsampling_options_have_the_same_parameters_and_skips_add_concatenations():
    shape = (32, 32, 3)
    transpose = create_model("unet_small", num_classes=4, input_shape=shape, upsampling="transpose")
    resize = create_model("unet_small", num_classes=4, input_shape=shape, upsampling="resize")
    noskip = create_model("unet_small", num_classes=4, input_shape=shape, skip_connections=False)
    assert transpose.count_params() == resize.count_params()
    assert noskip.count_params() < transpose.count_params()
    concats = lambda m: sum(isinstance(layer, keras.layers.Concatenate) for layer in m.layers)  # noqa: E731
    assert concats(transpose) == 3 and concats(noskip) == 0
    assert any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in transpose.layers)
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in resize.layers)
    assert transpose.output_shape == (None, 32, 32, 4)


def test_unet_parameter_count_by_the_layer_formula():
    """widths (4, 8): enc conv 3x3 3->4, 4->4; bottleneck 4->8, 8->8; up 3x3 8->4; dec 8->4, 4->4; 1x1 4->2."""
    model = create_model("unet_small", num_classes=2, input_shape=(8, 8, 3), widths=(4, 8))
    conv_bn = lambda c_in, c_out: 9 * c_in * c_out + 4 * c_out  # no bias; BN gamma, beta, mean, variance  # noqa: E731
    expected = (conv_bn(3, 4) + conv_bn(4, 4) + conv_bn(4, 8) + conv_bn(8, 8) + conv_bn(8, 4)
                + conv_bn(8, 4) + conv_bn(4, 4) + (4 * 2 + 2))
    assert model.count_params() == expected


def test_unet_rejects_bad_arguments():
    with pytest.raises(ValueError, match="upsampling"):
        create_model("unet_small", upsampling="deconv")
    with pytest.raises(ValueError, match="multiple of 8"):
        create_model("unet_small", input_shape=(36, 32, 3))
    with pytest.raises(ValueError, match="widths"):
        create_model("unet_small", widths=(16,))
    with pytest.raises(ValueError, match="skip_connections"):
        create_model("unet_small", skip_connections="yes")


@pytest.mark.parametrize("backbone", ["resnet_small", "mobilenet_small"])
def test_fpn_seg_on_registered_backbones(backbone):
    model = create_model("fpn_seg", num_classes=5, input_shape=(64, 32, 3), backbone=backbone)
    out = model(np.zeros((2, 64, 32, 3), np.float32))
    assert tuple(out.shape) == (2, 64, 32, 5)
    assert any(layer.name == "fpn_output_P2" for layer in model.layers)  # the FPN of cnnkit.models.fpn


def test_fpn_seg_can_use_the_stride_2_level_and_rejects_bad_backbones():
    fine = create_model("fpn_seg", num_classes=3, input_shape=(32, 32, 3), levels=("P1", "P2", "P3", "P4", "P5"))
    assert fine.get_layer("logits").size == (2, 2)  # logits at stride 2, resized by 2
    with pytest.raises(ValueError, match="registered backbone"):
        create_model("fpn_seg", backbone="lenet5")
    with pytest.raises(ValueError, match="registered model|registered backbone"):
        create_model("fpn_seg", backbone="no_such_net")
    with pytest.raises(ValueError, match="multiple of 32"):
        create_model("fpn_seg", input_shape=(48, 64, 3))


def test_transposed_conv_of_a_constant_is_a_checkerboard_and_resize_conv_is_flat():
    """The reason the notebook compares the two: kernel 3, stride 2, all-ones weights, constant input."""
    x = np.ones((1, 8, 8, 1), np.float32)
    transpose = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False, kernel_initializer="ones")
    y = keras.ops.convert_to_numpy(transpose(x))[0, 2:-2, 2:-2, 0]  # interior, away from the borders
    assert set(np.unique(y)) == {1.0, 2.0, 4.0}  # each output pixel gets 1, 2 or 4 kernel taps
    resize = keras.Sequential([keras.layers.UpSampling2D(2, interpolation="bilinear"),
                               keras.layers.Conv2D(1, 3, padding="same", use_bias=False, kernel_initializer="ones")])
    z = keras.ops.convert_to_numpy(resize(x))[0, 2:-2, 2:-2, 0]
    np.testing.assert_allclose(z, 9.0)


# ---------------------------------------------------------------- mask head


def test_mask_head_parameter_count_by_the_layer_formula():
    """Stride-2 3x3 conv 3->w, depth 3x3 convs w->w, 3x3 transposed conv w->w (all with BN), 1x1 conv w->classes."""
    model = create_model("mask_head", width=8, depth=3)
    conv_bn = lambda c_in, c_out: 9 * c_in * c_out + 4 * c_out  # noqa: E731
    assert model.count_params() == conv_bn(3, 8) + 3 * conv_bn(8, 8) + conv_bn(8, 8) + (8 * 2 + 2)
    assert model.output_shape == (None, 28, 28, 2)
    assert create_model("mask_head").count_params() < 60_000  # "small": tens of thousands


def test_mask_head_works_at_half_resolution_inside_and_takes_other_window_sizes():
    model = create_model("mask_head", input_shape=(None, None, 3), depth=2)
    assert tuple(model.get_layer("conv2").output.shape) == (None, None, None, 32)
    assert tuple(model(np.zeros((1, 14, 20, 3), np.float32)).shape) == (1, 14, 20, 2)


def test_mask_head_learns_to_keep_the_object_that_fills_the_window():
    """Windows with a bright square filling the box and a same-colour neighbour poking in at the edge."""
    rng = np.random.default_rng(0)
    n = 256
    windows = np.zeros((n, 16, 16, 3), np.float32)
    targets = np.zeros((n, 16, 16), np.int32)
    windows[:, 2:14, 2:14] = 1.0
    targets[:, 2:14, 2:14] = 1
    side = rng.integers(0, 2, n)
    for i in range(n):  # a neighbour of the same colour in the left or right margin: not the box's object
        if side[i]:
            windows[i, 4:12, 14:16] = 1.0
        else:
            windows[i, 4:12, 0:2] = 1.0
    keras.utils.set_random_seed(0)
    model = create_model("mask_head", input_shape=(16, 16, 3), width=16, depth=2)
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(windows, targets, epochs=15, batch_size=32, verbose=0)
    predicted = keras.ops.convert_to_numpy(model(windows[:16])).argmax(-1)
    assert np.mean(predicted == targets[:16]) > 0.95
    assert np.mean(predicted[:, 4:12][windows[:16, 4:12, ..., 0] * (1 - targets[:16, 4:12]) > 0]) < 0.2  # neighbour


def test_mask_head_rejects_bad_arguments():
    with pytest.raises(ValueError, match="multiple of 2"):
        create_model("mask_head", input_shape=(27, 28, 3))
    with pytest.raises(ValueError, match="depth"):
        create_model("mask_head", depth=0)
    with pytest.raises(ValueError, match="width"):
        create_model("mask_head", width=2.5)
