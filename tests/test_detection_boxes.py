"""cnnkit.detection.boxes: formats round trip, IoU against hand values, encoding round trip, clear errors."""

import itertools

import numpy as np
import pytest

from cnnkit.detection import boxes as B


def _np(x):
    return np.asarray(x)


def _random_xyxy(rng, n, size=64.0):
    xy = rng.uniform(0, size * 0.7, size=(n, 2))
    wh = rng.uniform(1, size * 0.3, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


def test_conversions_on_a_hand_example():
    box = np.array([[10.0, 20.0, 30.0, 60.0]])  # xyxy on a 100 (h) x 50 (w) image
    np.testing.assert_allclose(_np(B.convert_format(box, "xyxy", "xywh")), [[10, 20, 20, 40]])
    np.testing.assert_allclose(_np(B.convert_format(box, "xyxy", "center_xywh")), [[20, 40, 20, 40]])
    np.testing.assert_allclose(_np(B.convert_format(box, "xyxy", "rel_xyxy", image_shape=(100, 50))),
                               [[0.2, 0.2, 0.6, 0.6]], rtol=1e-6)
    np.testing.assert_allclose(_np(B.convert_format(box, "xyxy", "rel_center_xywh", image_shape=(100, 50, 3))),
                               [[0.4, 0.4, 0.4, 0.4]], rtol=1e-6)


@pytest.mark.parametrize("source, target", list(itertools.permutations(B.FORMATS, 2)))
def test_every_conversion_round_trips(source, target):
    rng = np.random.default_rng(0)
    xyxy = _random_xyxy(rng, 20).reshape(4, 5, 4)  # batch axes are kept
    shape = (64, 80)
    start = _np(B.convert_format(xyxy, "xyxy", source, image_shape=shape))
    there = B.convert_format(start, source, target, image_shape=shape)
    back = _np(B.convert_format(there, target, source, image_shape=shape))
    assert back.shape == (4, 5, 4)
    np.testing.assert_allclose(back, start, rtol=1e-5, atol=1e-5)


def test_iou_against_hand_values():
    a = [[0, 0, 2, 2]]
    b = [[1, 0, 3, 2],    # half overlaps: 2 / (4 + 4 - 2) = 1/3
         [0, 0, 2, 2],    # identical: 1
         [2, 0, 4, 2],    # touching edges: 0
         [0.5, 0.5, 1.5, 1.5],  # inside: 1 / 4
         [5, 5, 6, 6]]    # disjoint: 0
    np.testing.assert_allclose(_np(B.iou_matrix(a, b)), [[1 / 3, 1.0, 0.0, 0.25, 0.0]], rtol=1e-6)
    # The same pair in xywh gives the same IoU; empty boxes give 0, not NaN.
    np.testing.assert_allclose(_np(B.iou_matrix([[0, 0, 2, 2]], [[1, 0, 2, 2]], box_format="xywh")), [[1 / 3]], rtol=1e-6)
    assert _np(B.iou_matrix([[1, 1, 1, 1]], [[1, 1, 1, 1]]))[0, 0] == 0.0


def test_keras_iou_matches_numpy_reference_and_broadcasts_over_batches():
    rng = np.random.default_rng(1)
    a, b = _random_xyxy(rng, 7), _random_xyxy(rng, 9)
    np.testing.assert_allclose(_np(B.iou_matrix(a, b)), B.iou_matrix_numpy(a, b), rtol=1e-5, atol=1e-6)
    batch = np.stack([b, b[::-1]])  # (2, 9, 4)
    out = _np(B.iou_matrix(a, batch))
    assert out.shape == (2, 7, 9)
    np.testing.assert_allclose(out[1], B.iou_matrix_numpy(a, b[::-1]), rtol=1e-5, atol=1e-6)
    assert np.all(B.iou_matrix_numpy(a, b) >= 0) and np.all(B.iou_matrix_numpy(a, b) <= 1)


def test_area_and_clipping():
    np.testing.assert_allclose(_np(B.box_area([[0, 0, 4, 3], [1, 1, 1, 5]])), [12, 0])
    clipped = _np(B.clip_boxes([[-5.0, 10.0, 70.0, 20.0]], (64, 60)))
    np.testing.assert_allclose(clipped, [[0, 10, 60, 20]])
    np.testing.assert_allclose(_np(B.clip_boxes([[-0.5, 0.2, 1.5, 0.4]], None, box_format="rel_xyxy")),
                               [[0, 0.2, 1, 0.4]], rtol=1e-6)
    np.testing.assert_allclose(_np(B.clip_boxes([[60.0, 5.0, 10.0, 10.0]], (64, 64), box_format="xywh")),
                               [[60, 5, 4, 10]])


def test_encode_decode_round_trip_and_known_offsets():
    rng = np.random.default_rng(2)
    anchors = _random_xyxy(rng, 50)
    boxes = _random_xyxy(rng, 50)
    offsets = B.encode(boxes, anchors)
    np.testing.assert_allclose(_np(B.decode(offsets, anchors)), boxes, rtol=1e-4, atol=1e-3)
    # A box equal to its anchor encodes to zeros; one shifted right by half the anchor width and
    # twice as wide encodes to (0.5 / 0.1, 0, log 2 / 0.2, 0) with the default variances.
    anchor = np.array([[10.0, 10.0, 20.0, 30.0]])
    np.testing.assert_allclose(_np(B.encode(anchor, anchor)), [[0, 0, 0, 0]], atol=1e-6)
    shifted = np.array([[5.0 + 5.0, 10.0, 25.0 + 5.0, 30.0]])  # centre 20 (+5), width 20 (x2)
    np.testing.assert_allclose(_np(B.encode(shifted, anchor)), [[5.0, 0, np.log(2) / 0.2, 0]], rtol=1e-5)
    # Batched boxes against shared anchors, and other variances.
    batch = np.stack([boxes, boxes[::-1]])
    out = B.decode(B.encode(batch, anchors, variances=(1, 1, 1, 1)), anchors, variances=(1, 1, 1, 1))
    np.testing.assert_allclose(_np(out), batch, rtol=1e-4, atol=1e-3)


def test_linear_size_coding_is_mediapipes_and_round_trips():
    # MediaPipe (BlazeFace): centre = anchor centre + t / 128 * anchor size, size = t / 128 * anchor size.
    anchor = np.array([[0.0, 0.0, 128.0, 128.0]])  # centre (64, 64), 128 x 128
    v = (1 / 128,) * 4
    out = _np(B.decode(np.array([[10.0, -4.0, 50.0, 60.0]], np.float32), anchor, v, size_coding="linear"))
    np.testing.assert_allclose(out, [[74 - 25, 60 - 30, 74 + 25, 60 + 30]], atol=1e-4)
    rng = np.random.default_rng(3)
    anchors, boxes = _random_xyxy(rng, 40), _random_xyxy(rng, 40)
    offsets = B.encode(boxes, anchors, size_coding="linear")
    np.testing.assert_allclose(_np(B.decode(offsets, anchors, size_coding="linear")), boxes, rtol=1e-4, atol=1e-3)
    # Linear and log codings agree on centres and differ on sizes: w / wa vs log(w / wa).
    log = _np(B.encode(boxes, anchors, variances=(1, 1, 1, 1)))
    lin = _np(B.encode(boxes, anchors, variances=(1, 1, 1, 1), size_coding="linear"))
    np.testing.assert_allclose(lin[:, :2], log[:, :2], rtol=1e-5)
    np.testing.assert_allclose(np.log(lin[:, 2:]), log[:, 2:], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"size_coding must be one of \('log', 'linear'\); received 'exp'"):
        B.decode(offsets, anchors, size_coding="exp")


def test_decode_points_offsets_keypoints_from_anchor_centres():
    anchors = np.array([[0.0, 0.0, 128.0, 128.0], [8.0, 8.0, 24.0, 40.0]])  # centres (64, 64), (16, 24)
    offsets = np.array([[[10.0, -4.0], [0.0, 0.0]], [[1.0, 1.0], [-0.5, 0.25]]], np.float32)  # (A=2, K=2, 2)
    out = _np(B.decode_points(offsets, anchors, variances=(1.0, 1.0)))
    # x = xa + tx * wa, y = ya + ty * ha  (second anchor: 16 wide, 32 high)
    np.testing.assert_allclose(out, [[[64 + 1280, 64 - 512], [64, 64]], [[32, 56], [8, 32]]], atol=1e-4)
    np.testing.assert_allclose(_np(B.decode_points(offsets[:1], anchors[:1], (1 / 128, 1 / 128)))[0, 0], [74, 60])
    with pytest.raises(ValueError, match=r"offsets must have shape \(\.\.\., anchors, points, 2\)"):
        B.decode_points(np.zeros((2, 3)), anchors)
    with pytest.raises(ValueError, match=r"variances must be 2 positive numbers"):
        B.decode_points(offsets, anchors, variances=(1.0,))


def test_decode_clips_huge_log_scales_instead_of_overflowing():
    out = _np(B.decode(np.array([[0, 0, 1e4, 1e4]], np.float32), np.array([[0.0, 0.0, 10.0, 10.0]])))
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: B.convert_format([[10, 0, 5, 10]], "xyxy", "xywh"), r"x2 >= x1 and y2 >= y1; received 1 box.*\[10\.0, 0\.0, 5\.0, 10\.0\]"),
        (lambda: B.convert_format([[0, 0, -3, 10]], "xywh", "xyxy"), r"width >= 0 and height >= 0"),
        (lambda: B.convert_format([[0, 0, 1]], "xyxy", "xywh"), r"shape \(\.\.\., 4\).*received shape \(1, 3\)"),
        (lambda: B.convert_format([[0, 0, 1, 1]], "xyxy", "yxyx"), r"target must be one of .*'yxyx'"),
        (lambda: B.convert_format([[0, 0, 1, 1]], "xyxy", "rel_xyxy"), r"needs image_shape=\(height, width\)"),
        (lambda: B.iou_matrix([[0, 0, 1, 1]], [[0, 5, 1, 1]]), r"x2 >= x1 and y2 >= y1"),
        (lambda: B.iou_matrix([[0, 0, 1, 1]], [[np.nan, 0, 1, 1]]), r"finite"),
        (lambda: B.encode([[0, 0, 1, 1]], [[0, 0, 1, 1]], variances=(1, 1, 1)), r"variances must be 4 positive"),
        (lambda: B.encode([[0, 0, 1, 1]], [[0, 0, 1, 1]], box_format="rel_xyxy"), r"absolute box formats"),
    ],
)
def test_bad_boxes_raise_clear_errors(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_padding_rows_are_accepted():
    padded = np.array([[0, 0, 4, 4], [-1, -1, -1, -1]], np.float32)
    B.check_boxes(padded, "xywh")  # -1 rows are padding, not inverted boxes
    assert _np(B.convert_format(padded, "xyxy", "xywh")).shape == (2, 4)
