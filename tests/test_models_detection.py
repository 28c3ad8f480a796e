"""cnnkit.models.detection: the one-stage Detector model and its registered builder."""

import keras
import numpy as np
import pytest
from pyramid_models import tiny_backbone

from cnnkit import create_model
from cnnkit.detection import iou_matrix_numpy
from cnnkit.models import Detector


def tiny_detector(**kwargs):
    defaults = dict(levels=("P2", "P3", "P4"), fpn_channels=16, head_depth=1, anchor_sizes=(8, 16, 32),
                    anchor_ratios=(1.0,), anchor_scales=(1.0, 1.5))
    return Detector(tiny_backbone(), num_classes=2, **{**defaults, **kwargs})


# ---------------------------------------------------------------- Detector


def test_outputs_match_the_anchors():
    det = tiny_detector()
    counts = det.anchor_generator.counts((32, 32))
    assert counts == {"P2": 128, "P3": 32, "P4": 8}
    assert det.anchors.shape == (168, 4)
    out = det(np.zeros((3, 32, 32, 3), np.float32))
    assert tuple(out["boxes"].shape) == (3, 168, 4) and tuple(out["classes"].shape) == (3, 168, 2)
    # The class output starts at the prior probability 0.01 everywhere.
    np.testing.assert_allclose(1 / (1 + np.exp(-keras.ops.convert_to_numpy(out["classes"]))), 0.01, atol=0.01)


def test_decode_predictions_picks_the_right_anchor_and_applies_nms():
    det = tiny_detector()
    num_anchors = len(det.anchors)
    offsets = np.zeros((1, num_anchors, 4), np.float32)
    logits = np.full((1, num_anchors, 2), -10.0, np.float32)
    a, b = 54, 55  # the two scales at cell (3, 3) of P2: same centre, IoU = 1 / 1.5**2 = 0.44
    logits[0, a, 1] = 3.0
    logits[0, b, 1] = 2.0
    dets = det.decode_predictions({"boxes": offsets, "classes": logits}, iou_threshold=0.4)
    assert dets[0]["classes"].tolist() == [1]  # the lower-scoring overlapping box is suppressed
    np.testing.assert_allclose(dets[0]["boxes"][0], det.anchors[a], atol=1e-4)
    np.testing.assert_allclose(det.anchors[a], [10, 10, 18, 18])  # centre (14, 14), side 8
    assert dets[0]["scores"][0] == pytest.approx(1 / (1 + np.exp(-3.0)), rel=1e-5)
    dets = det.decode_predictions({"boxes": offsets, "classes": logits}, iou_threshold=0.5)
    assert len(dets[0]["classes"]) == 2  # IoU 0.44 is below 0.5: both stay
    assert det.decode_predictions({"boxes": offsets, "classes": logits}, score_threshold=0.99)[0]["boxes"].shape == (0, 4)


def _toy_scene(n=8, size=32, seed=0):
    """Images with one bright square (class 0) or one dark disc (class 1) each."""
    rng = np.random.default_rng(seed)
    images = np.full((n, size, size, 3), 0.5, np.float32)
    boxes = np.full((n, 2, 4), -1.0, np.float32)
    classes = np.full((n, 2), -1, np.int32)
    yy, xx = np.mgrid[:size, :size] + 0.5
    for i in range(n):
        side = rng.uniform(8, 14)
        x1, y1 = rng.uniform(1, size - side - 1, size=2)
        k = i % 2
        if k == 0:
            inside = (xx >= x1) & (xx < x1 + side) & (yy >= y1) & (yy < y1 + side)
        else:
            inside = (xx - x1 - side / 2) ** 2 + (yy - y1 - side / 2) ** 2 < (side / 2) ** 2
        images[i][inside] = 1.0 if k == 0 else 0.0
        boxes[i, 0] = [x1, y1, x1 + side, y1 + side]
        classes[i, 0] = k
    return images, boxes, classes


def test_detector_learns_a_toy_scene():
    keras.utils.set_random_seed(0)
    images, boxes, classes = _toy_scene()
    det = tiny_detector()
    det.compile(optimizer=keras.optimizers.Adam(3e-3))
    reps = 16  # one epoch = 16 steps over the same 8 images: fewer epochs, less per-epoch overhead
    history = det.fit(np.tile(images, (reps, 1, 1, 1)), {"boxes": np.tile(boxes, (reps, 1, 1)),
                      "classes": np.tile(classes, (reps, 1))}, batch_size=8, epochs=8, verbose=0)
    loss = history.history["loss"]
    assert {"class_loss", "box_loss"} <= set(history.history)
    assert loss[-1] < 0.25 * loss[0]
    dets = det.predict(images, score_threshold=0.3)
    top_is_tight = []
    for d, b, c in zip(dets, boxes, classes):
        assert len(d["scores"]) >= 1
        best = int(np.argmax(d["scores"]))
        assert d["classes"][best] == c[0]
        assert iou_matrix_numpy(b[0], d["boxes"][d["classes"] == c[0]]).max() > 0.5
        top_is_tight.append(iou_matrix_numpy(d["boxes"][best], b[0])[0, 0] > 0.5)
    # Eight images and 128 steps: on one image a shifted duplicate may still outscore the
    # right box (it does on PyTorch, whose initial weights differ; losses and gradients
    # match TensorFlow's given the same weights).
    assert sum(top_is_tight) >= 7


def test_keras_file_round_trip(tmp_path):
    det = tiny_detector(class_names=["square", "disc"], box_loss="giou", score_threshold=0.2, head_norm="group")
    det.compile(optimizer="adam")
    images, boxes, classes = _toy_scene(4)
    det.fit(images, {"boxes": boxes, "classes": classes}, epochs=1, verbose=0)
    path = tmp_path / "detector.keras"
    det.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, Detector)
    assert loaded.class_names == ["square", "disc"] and loaded.box_loss == "giou" and loaded.score_threshold == 0.2
    assert loaded.head_norm == "group" and loaded.get_layer("class_head_norm1") is not None
    np.testing.assert_array_equal(loaded.anchors, det.anchors)
    raw, raw_loaded = keras.Model.predict(det, images, verbose=0), keras.Model.predict(loaded, images, verbose=0)
    np.testing.assert_allclose(raw_loaded["boxes"], raw["boxes"], atol=1e-6)
    np.testing.assert_allclose(raw_loaded["classes"], raw["classes"], atol=1e-6)
    a, b = det.predict(images, score_threshold=0.0), loaded.predict(images, score_threshold=0.0)
    assert [len(x["scores"]) for x in a] == [len(x["scores"]) for x in b]


def test_builds_on_resnet_small():
    backbone = create_model("resnet_small", include_top=False, input_shape=(64, 64, 3))
    det = Detector(backbone, num_classes=6, levels=("P3", "P4", "P5"))
    assert det.anchors.shape == ((64 + 16 + 4) * 9, 4)
    out = det(np.zeros((1, 64, 64, 3), np.float32))
    assert tuple(out["classes"].shape) == (1, 756, 6)


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: Detector(tiny_backbone(), num_classes=0), r"num_classes must be a positive integer"),
        (lambda: Detector(tiny_backbone(), 2, levels=("P3", "P5")), r"levels \['P5'\] are not marked"),
        (lambda: Detector(tiny_backbone(), 2, box_loss="l1"), r"box_loss must be one of"),
        (lambda: Detector(tiny_backbone(), 2, head_norm="batch"), r"head_norm must be one of"),
        (lambda: Detector(tiny_backbone(), 2, positive_iou=0.3, negative_iou=0.5), r"negative_iou <= positive_iou"),
        (lambda: Detector(tiny_backbone(), 2, class_names=["a"]), r"class_names must have num_classes=2"),
        (lambda: Detector(create_model("resnet_small", include_top=False, input_shape=(None, None, 3)), 2),
         r"fixed input_shape"),
        (lambda: Detector(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)]), 2),
         r"model must mark pyramid levels"),
        (lambda: Detector("resnet_small", 2), r"backbone must be a keras.Model"),
    ],
)
def test_bad_arguments_raise_clear_errors(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_targets_must_be_a_dict():
    det = tiny_detector()
    det.compile(optimizer="adam")
    images, boxes, _ = _toy_scene(2)
    with pytest.raises(ValueError, match=r"y must be a dict \{'boxes'"):
        det.fit(images, boxes, epochs=1, verbose=0)


def test_the_detector_is_a_registered_model_on_any_backbone():
    from cnnkit.models import list_models, model_tags

    assert list_models(task="detection") == ["detector"] and model_tags("detector")["task"] == "detection"
    model = create_model("detector", num_classes=1, input_shape=(64, 64, 3), backbone="mobilenet_small",
                         fpn_channels=16, head_depth=1)
    assert isinstance(model, Detector) and model.num_classes == 1  # one class (faces, say) is a valid detector
    out = model(np.zeros((1, 64, 64, 3), np.float32))
    assert tuple(out["classes"].shape) == (1, len(model.anchors), 1)
    with pytest.raises(ValueError, match=r"input_shape must be \(height, width, channels\) with positive integers; "
                                         r"received \(None, None, 3\)"):
        create_model("detector", input_shape=(None, None, 3))


# ---------------------------------------------------------------- bad data refused before training


@pytest.mark.parametrize("change, pattern", [
    (lambda x, b, c: ((x * 255).astype(np.uint8), b, c), r"x must be float images in \[0, 1\].*divide it by 255"),
    (lambda x, b, c: (np.where(np.arange(32)[None, None, :, None] == 0, np.nan, x), b, c),
     r"x must contain finite numbers only"),
    (lambda x, b, c: (x, np.where(np.arange(4) == 2, np.nan, b), c), r"y\['boxes'\] must contain finite numbers only"),
    (lambda x, b, c: (x, b[..., [2, 1, 0, 3]], c), r"y\['boxes'\] must be 'xyxy' boxes with x2 >= x1"),
    (lambda x, b, c: (x, b, np.where(c >= 0, 2, c)), r"y\['classes'\] must be class ids in \[0, 1\] or -1"),
    (lambda x, b, c: (x, b, c[:, :1]), r"one box per class id"),
])
def test_fit_refuses_bad_images_and_targets_before_training(change, pattern):
    images, boxes, classes = _toy_scene(n=4)
    x, b, c = change(images, boxes, classes)
    det = tiny_detector()
    det.compile(optimizer="adam")
    before = [w.copy() for w in det.get_weights()]
    with pytest.raises(ValueError, match=pattern):
        det.fit(x, {"boxes": b, "classes": c}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=pattern.replace("x must", "validation_data\\[0\\] must").replace(
            r"y\[", r"validation_data\[1\]\[")):
        det.fit(images, {"boxes": boxes, "classes": classes}, validation_data=(x, {"boxes": b, "classes": c}),
                epochs=1, verbose=0)
    assert all(np.array_equal(u, v) for u, v in zip(before, det.get_weights()))


def test_predict_refuses_0_255_images():
    images, _, _ = _toy_scene(n=2)
    with pytest.raises(ValueError, match=r"x must be float images in \[0, 1\].*divide it by 255"):
        tiny_detector().predict((images * 255).astype(np.uint8))
