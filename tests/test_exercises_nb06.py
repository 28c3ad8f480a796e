"""The checks of notebook 06's exercises on the wrong answers a learner is likely to give.

The generic test in ``tests/test_exercises.py`` runs every check with its
registered correct and wrong examples; these add the other typical mistakes
(the wrong model, loss, stride or backbone, a number computed the wrong way)
and the facts the checks rely on: the test scenes are the notebook's, the
checkerboard score sees a transposed convolution and not a resize, and a model
below the mean-IoU bar is rejected. Models are tiny or untrained (weights set
by hand), so the tests stay fast; the unit tests run in quick mode, where the
bar is low, and the bar itself is tested by raising it.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from exercise_helpers import check, rejected

from cnnkit import data, exercises, segmentation
from cnnkit.exercises import TODO, nb06
from cnnkit.models import create_model


def test_every_exercise_of_06_is_registered_in_order_and_checked():
    assert [e.id for e in exercises.registered("06")] == [f"06.{k}" for k in range(1, 6)]
    assert all(e.kind == exercises.CHECK for e in exercises.registered("06"))


def test_the_checks_test_scenes_are_the_notebooks():
    x, y = nb06._test_scenes(6)
    notebook = data.load_scene_masks(num_train=20, num_val=5, num_test=6, image_size=64, seed=0)
    np.testing.assert_array_equal(x, notebook.x_test)
    np.testing.assert_array_equal(y, notebook.y_test)
    assert nb06.num_test() == 64 and nb06.min_miou(0.15) == 0.0  # the unit tests run in quick mode: no bar


def resize_model(seed=0):
    """A small resize-convolution model: on a blank image its interior is flat (no period-2 pattern)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    x = keras.layers.UpSampling2D(2, interpolation="bilinear")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    model = keras.Model(inputs, keras.layers.Conv2D(7, 1, name="logits")(x))
    kernel, _ = model.get_layer("logits").get_weights()
    model.get_layer("logits").set_weights([0.1 * kernel, np.eye(7, dtype=np.float32)[0] * 10.0])
    return model


def test_checkerboard_score_sees_transposed_convolutions_and_not_resizing():
    transposed = nb06._tiny_transposed(seed=1)
    assert nb06.checkerboard(transposed) > 0.3
    assert nb06.checkerboard(resize_model()) < 1e-3
    flat = nb06._pixel_model(np.zeros((3, 7)), np.eye(7)[0], "flat")
    assert nb06.checkerboard(flat) == 0.0  # a flat map: no pattern, no division by zero


def test_transposed_unet_mistakes_are_rejected():
    model = nb06._tiny_transposed(seed=1)
    score = nb06.checkerboard(model)
    assert check("06.1", {"model": model, "checkerboard": score}).startswith("✔ 06.1")
    rejected("06.1", {"model": resize_model(), "checkerboard": nb06.checkerboard(resize_model())}, "Conv2DTranspose")
    softmax = keras.ops.convert_to_numpy(keras.ops.softmax(model(np.full((1, 64, 64, 3), 0.5, "float32")), axis=-1))
    probabilities = softmax[0, 8:-8, 8:-8, 0]
    phases = [probabilities[i::2, j::2].mean() for i in (0, 1) for j in (0, 1)]
    rejected("06.1", {"model": model, "checkerboard": (max(phases) - min(phases)) / probabilities.std()},
             "computed again from your model")
    rejected("06.1", {"model": model, "checkerboard": "high"}, "single number")
    three_classes = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Conv2DTranspose(3, 3, padding="same")])
    rejected("06.1", {"model": three_classes, "checkerboard": score}, r"logits of shape \(64, 64, 7\)")
    rejected("06.1", {"model": "unet", "checkerboard": score}, "keras Model")
    rejected("06.1", model, "dict with the keys")
    assert check("06.1", {"model": TODO, "checkerboard": TODO}) == "06.1: not answered yet (still TODO: model, checkerboard)\n"
    assert check("06.1", {"model": model, "checkerboard": TODO}).startswith("06.1: not answered yet")


def test_an_untrained_model_fails_the_full_mode_bar(monkeypatch):
    monkeypatch.setattr(nb06, "min_miou", lambda full: 0.5)
    model = nb06._tiny_transposed(seed=1)  # labels everything background: mIoU 0.12
    message = rejected("06.1", {"model": model, "checkerboard": nb06.checkerboard(model)}, "at least 0.50")
    assert "Received 0.121" in message


@pytest.fixture(scope="module")
def loss_models():
    right = nb06._example_06_2(True)
    return right["model"], right["baseline"], right["lost_classes"]


def test_cross_entropy_answers_are_checked_against_the_models(loss_models):
    model, baseline, lost = loss_models
    assert lost == ["background"]  # the hand-set model paints red pixels 'circle': only background loses
    assert check("06.2", {"model": model, "baseline": baseline, "lost_classes": lost}).startswith("✔ 06.2")
    assert check("06.2", {"model": model, "baseline": baseline, "lost_classes": ("background",)}).startswith("✔")
    message = rejected("06.2", {"model": model, "baseline": baseline, "lost_classes": []}, "1 class whose IoU went down")
    assert "background" not in message.split("Hint:")[0]  # counts only, never the names
    rejected("06.2", {"model": model, "baseline": baseline, "lost_classes": ["background", "circle"]},
             "1 listed class did not lose IoU")
    rejected("06.2", {"model": model, "baseline": baseline, "lost_classes": "background"}, "list of class names")
    rejected("06.2", {"model": model, "baseline": baseline, "lost_classes": ["Background"]}, "list of class names")
    rejected("06.2", {"model": model, "baseline": model, "lost_classes": lost}, "same model twice")
    assert check("06.2", {"model": TODO, "baseline": baseline, "lost_classes": TODO}) == \
        "06.2: not answered yet (still TODO: model, lost_classes)\n"


def test_cross_entropy_model_must_be_compiled_with_it_alone(loss_models):
    model, baseline, lost = loss_models
    weights = model.get_layer("logits").get_weights()

    def compiled(loss):
        copy = nb06._pixel_model(weights[0][0, 0], weights[1], "copy")
        if loss is not None:
            copy.compile(optimizer="adam", loss=loss)
        return {"model": copy, "baseline": baseline, "lost_classes": lost}

    rejected("06.2", compiled(None), "never compiled")
    rejected("06.2", compiled(segmentation.CrossEntropyDice()), "compiled with CrossEntropyDice")
    rejected("06.2", compiled("sparse_categorical_crossentropy"), "expects probabilities")
    rejected("06.2", compiled(keras.losses.SparseCategoricalCrossentropy()), r"from_logits=False")
    assert check("06.2", compiled(keras.losses.SparseCategoricalCrossentropy(from_logits=True))).startswith("✔")
    other = nb06._tiny_transposed(seed=2)
    other.compile(optimizer="adam", loss=segmentation.pixel_cross_entropy())
    rejected("06.2", {"model": other, "baseline": baseline, "lost_classes": lost}, "architecture of the baseline")


@pytest.fixture(scope="module")
def fpn_models():
    return {key: nb06._example_fpn(backbone, levels) for key, backbone, levels in (
        ("resnet P1", "resnet_small", nb06.P1_LEVELS), ("resnet P2", "resnet_small", ("P2", "P3", "P4", "P5")),
        ("mobilenet P1", "mobilenet_small", nb06.P1_LEVELS), ("mobilenet P2", "mobilenet_small", ("P2", "P3", "P4", "P5")))}


def test_stride_and_backbone_of_the_pyramid_decoders(fpn_models):
    assert {k: nb06.logit_stride(m) for k, m in fpn_models.items()} == {
        "resnet P1": 2, "resnet P2": 4, "mobilenet P1": 2, "mobilenet P2": 4}
    assert nb06.logit_stride(create_model("unet_small", num_classes=7, input_shape=(64, 64, 3))) is None
    assert check("06.3", fpn_models["resnet P1"]).startswith("✔ 06.3")
    rejected("06.3", fpn_models["resnet P2"], "stride 2")
    rejected("06.3", fpn_models["mobilenet P1"], "backbone='resnet_small'")
    rejected("06.3", create_model("unet_small", num_classes=7, input_shape=(64, 64, 3)), "fpn_seg's head")
    assert check("06.4", fpn_models["mobilenet P2"]).startswith("✔ 06.4")
    rejected("06.4", fpn_models["mobilenet P1"], "stride 4")
    rejected("06.4", fpn_models["resnet P2"], "backbone='mobilenet_small'")
    assert check("06.3") == "06.3: not answered yet\n" and check("06.4", TODO) == "06.4: not answered yet\n"


def test_coin_iou_is_recomputed_and_compared_with_otsu():
    right = nb06._example_06_5(True)
    model, iou, beats = right["model"], right["coin_iou"], right["beats_otsu"]
    assert 0 < iou < 1 and nb06._circle_only_iou(model) < iou - 1e-3  # the 'ring' pixels count as coin too
    assert 0.5 < nb06.otsu_coin_iou() < 1
    assert check("06.5", right).startswith("✔ 06.5")
    rejected("06.5", {**right, "coin_iou": nb06._circle_only_iou(model)}, "any shape class")
    rejected("06.5", {**right, "beats_otsu": not beats}, "Otsu's threshold")
    rejected("06.5", {**right, "beats_otsu": "no"}, "True or False")
    rejected("06.5", {**right, "model": None}, "keras Model")
    assert check("06.5", {"model": model, "coin_iou": TODO, "beats_otsu": TODO}) == \
        "06.5: not answered yet (still TODO: coin_iou, beats_otsu)\n"
