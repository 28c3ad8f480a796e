"""The seed's SimpleCNN in Keras: same parameters as the PyTorch model, same logits given PyTorch's weights.

torch is not needed: the reference is a NumPy forward pass written the way PyTorch computes
(channels-first tensors, OIHW kernels, Linear as ``x @ W.T + b``, AdaptiveAvgPool2d's
floor/ceil bins), fed the same randomly drawn PyTorch-layout weights.
"""

import keras
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from cnnkit import analysis, ops
from cnnkit.models import create_model, list_models
from cnnkit.models.simple_cnn import load_torch_weights, torch_parameter_count

# ---------------------------------------------------------------- a PyTorch-style forward pass in NumPy (NCHW)


def conv2d_nchw(x, weight, bias):
    """Conv2d(kernel 3, stride 1, padding 1): x (N, C, H, W), weight (O, C, 3, 3)."""
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = sliding_window_view(xp, (3, 3), axis=(2, 3))  # (N, C, H, W, 3, 3)
    return np.einsum("nchwij,ocij->nohw", windows, weight) + bias[None, :, None, None]


def max_pool2_nchw(x):
    n, c, h, w = x.shape
    return x[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def adaptive_avg_pool_nchw(x, out):
    """PyTorch's AdaptiveAvgPool2d: bin i spans floor(i * n / out) .. ceil((i + 1) * n / out)."""
    n, c, h, w = x.shape
    result = np.empty((n, c, out, out))
    for i in range(out):
        top, bottom = int(np.floor(i * h / out)), int(np.ceil((i + 1) * h / out))
        for j in range(out):
            left, right = int(np.floor(j * w / out)), int(np.ceil((j + 1) * w / out))
            result[:, :, i, j] = x[:, :, top:bottom, left:right].mean(axis=(2, 3))
    return result


def torch_style_forward(x_nchw, sd):
    relu = lambda t: np.maximum(t, 0)  # noqa: E731
    x = max_pool2_nchw(relu(conv2d_nchw(x_nchw, sd["features.0.weight"], sd["features.0.bias"])))
    x = max_pool2_nchw(relu(conv2d_nchw(x, sd["features.3.weight"], sd["features.3.bias"])))
    x = relu(conv2d_nchw(x, sd["features.6.weight"], sd["features.6.bias"]))
    x = adaptive_avg_pool_nchw(x, 4).reshape(len(x), -1)  # nn.Flatten on (N, 128, 4, 4)
    x = relu(x @ sd["classifier.1.weight"].T + sd["classifier.1.bias"])  # Dropout is off in eval mode
    return x @ sd["classifier.4.weight"].T + sd["classifier.4.bias"]


def torch_state_dict(num_classes, in_channels, seed=0):
    """Random weights in PyTorch's layout and names (what torch_model.state_dict() holds)."""
    rng = np.random.default_rng(seed)
    shapes = {
        "features.0": ((32, in_channels, 3, 3), 32), "features.3": ((64, 32, 3, 3), 64),
        "features.6": ((128, 64, 3, 3), 128), "classifier.1": ((256, 2048), 256),
        "classifier.4": ((num_classes, 256), num_classes),
    }
    sd = {}
    for name, (weight, bias) in shapes.items():
        fan_in = int(np.prod(weight[1:]))
        sd[f"{name}.weight"] = rng.normal(scale=fan_in**-0.5, size=weight).astype("float32")
        sd[f"{name}.bias"] = rng.normal(scale=0.1, size=bias).astype("float32")
    return sd


# ---------------------------------------------------------------- tests


def test_registered_and_parameter_count_equals_the_pytorch_model():
    assert "simple_cnn" in list_models()
    model = create_model("simple_cnn")
    # PyTorch's formulas, layer by layer: Conv2d(3,32,3): 32*3*9+32 = 896; Conv2d(32,64,3): 18,496;
    # Conv2d(64,128,3): 73,856; Linear(2048,256): 524,544; Linear(256,10): 2,570.
    expected = {"conv1": 896, "conv2": 18_496, "conv3": 73_856, "fc1": 524_544, "logits": 2_570}
    assert {name: model.get_layer(name).count_params() for name in expected} == expected
    assert model.count_params() == sum(expected.values()) == 620_362
    assert list(torch_parameter_count().values()) == list(expected.values())
    assert sum(torch_parameter_count(num_classes=6, in_channels=1).values()) == create_model(
        "simple_cnn", num_classes=6, input_shape=(32, 32, 1)).count_params()


def test_layers_in_the_seed_order():
    model = create_model("simple_cnn")
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["Conv2D", "ReLU", "MaxPooling2D", "Conv2D", "ReLU", "MaxPooling2D", "Conv2D", "ReLU",
                     "AdaptiveAveragePooling2D", "Flatten", "Dense", "ReLU", "Dropout", "Dense"]
    assert model.get_layer("dropout").rate == 0.5 and model.output_shape == (None, 10)


@pytest.mark.parametrize("input_shape, num_classes", [((32, 32, 3), 10), ((28, 28, 1), 6), ((16, 20, 3), 4)])
def test_pytorch_weights_give_identical_logits(input_shape, num_classes):
    # 28 -> 14 -> 7 -> adaptive 7 -> 4 uses PyTorch's unequal, overlapping bins: the same in Keras.
    model = create_model("simple_cnn", num_classes=num_classes, input_shape=input_shape)
    sd = torch_state_dict(num_classes, input_shape[-1])
    load_torch_weights(model, sd)
    images = np.random.default_rng(1).random((3, *input_shape)).astype("float32")
    expected = torch_style_forward(images.transpose(0, 3, 1, 2).astype(np.float64), sd)  # NHWC -> NCHW
    logits = model.predict(images, verbose=0)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)
    assert np.abs(expected).max() > 0.1  # the comparison is not between near-zero numbers


def test_naive_weight_copy_is_wrong():
    # Copying the first dense layer's weights without reordering the flatten gives different logits:
    # this is the mistake the loader exists to prevent.
    model = create_model("simple_cnn")
    sd = torch_state_dict(10, 3)
    load_torch_weights(model, sd)
    images = np.random.default_rng(2).random((2, 32, 32, 3)).astype("float32")
    right = model.predict(images, verbose=0)
    model.get_layer("fc1").set_weights([sd["classifier.1.weight"].T, sd["classifier.1.bias"]])
    assert np.abs(model.predict(images, verbose=0) - right).max() > 1e-2


def test_adaptive_pool_bins_match_pytorch_for_the_sizes_we_use():
    layer = keras.layers.AdaptiveAveragePooling2D((4, 4))
    for n in (8, 7, 4, 5):  # 32x32 and 28x28 inputs give 8 and 7; 16 gives 4
        x = np.random.default_rng(n).random((1, n, n, 2)).astype("float32")
        expected = adaptive_avg_pool_nchw(x.transpose(0, 3, 1, 2), 4).transpose(0, 2, 3, 1)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, atol=1e-6)
        np.testing.assert_allclose(ops.adaptive_avg_pool2d(x, 4), expected, atol=1e-6)


def test_receptive_field_of_simple_cnn():
    # conv3 (1 + 2) -> pool (+1) -> conv3 at jump 2 (+4) -> pool (+2) -> conv3 at jump 4 (+8): 18 pixels;
    # the 8 -> 4 adaptive pool is a 2x2 window at jump 4: 18 + 4 = 22, jump 8.
    rf = analysis.receptive_field(create_model("simple_cnn"))
    assert rf["relu3"].size == (18, 18) and rf["relu3"].jump == (4, 4)
    assert rf.final.name == "adaptive_pool" and rf.size == (22, 22) and rf.jump == (8, 8)


def test_saves_and_loads(tmp_path):
    model = create_model("simple_cnn", num_classes=3, input_shape=(16, 16, 1))
    path = tmp_path / "simple.keras"
    model.save(path)
    again = keras.models.load_model(path)
    x = np.random.default_rng(0).random((2, 16, 16, 1)).astype("float32")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"num_classes": 0}, r"num_classes must be a positive integer; received 0"),
        ({"input_shape": (32, 32)}, r"input_shape must be \(height, width, channels\) .* received \(32, 32\)"),
        ({"input_shape": (2, 2, 1)}, r"at least 4 .* received \(2, 2, 1\)"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\); received 1.0"),
    ],
)
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        create_model("simple_cnn", **kwargs)


def test_loader_errors():
    model = create_model("simple_cnn")
    sd = torch_state_dict(10, 3)
    with pytest.raises(ValueError, match=r"state_dict lacks \['features.0.bias'\]"):
        load_torch_weights(model, {k: v for k, v in sd.items() if k != "features.0.bias"})
    with pytest.raises(ValueError, match=r"classifier.4.weight of shape \(6, 256\) does not fit .* 'logits'"):
        load_torch_weights(model, torch_state_dict(6, 3))


def test_a_pooled_size_that_would_need_gigabytes_is_refused():
    from cnnkit import create_model

    with pytest.raises(ValueError, match=r"pooled_size must be an integer in \[1, 32\] \(fc1 holds 128 \* pooled_size"
                                         r"\*\*2 \* 256 weights: 33\.6 million at 32, 328 million at 100\); received 100"):
        create_model("simple_cnn", pooled_size=100)
