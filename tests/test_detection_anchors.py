"""cnnkit.detection.anchors: anchor counts per level, positions and shapes, matching with an ignore band."""

import numpy as np
import pytest

from cnnkit.detection import (
    BACKGROUND,
    IGNORE,
    AnchorGenerator,
    encode_targets,
    iou_matrix_numpy,
    match_anchors,
)
from cnnkit.detection import boxes as B


def test_anchor_counts_per_level():
    gen = AnchorGenerator(levels=(3, 4, 5), ratios=(0.5, 1.0, 2.0), scales=(1.0, 1.26, 1.59))
    # 64x64 image: 8x8, 4x4 and 2x2 cells, 9 anchors each.
    assert gen.counts((64, 64)) == {"P3": 576, "P4": 144, "P5": 36}
    assert {k: len(v) for k, v in gen((64, 64)).items()} == gen.counts((64, 64))
    assert gen.all((64, 64)).shape == (756, 4)
    # Sizes that do not divide evenly round up, like a stride-2 'same' convolution: 100 / 8 -> 13.
    assert gen.counts((100, 40))["P3"] == 13 * 5 * 9
    assert AnchorGenerator(levels=(2,), ratios=(1.0,), scales=(1.0,)).counts((32, 32)) == {"P2": 64}


def test_anchor_positions_sizes_and_order():
    gen = AnchorGenerator(levels=(3,), sizes=16, ratios=(0.5, 2.0), scales=(1.0, 2.0))
    anchors = gen((16, 24))["P3"]  # 2 rows x 3 columns x 4 anchors
    assert anchors.shape == (2 * 3 * 4, 4)
    center = B.convert_format(anchors, "xyxy", "center_xywh")
    center = np.asarray(center).reshape(2, 3, 4, 4)
    # Centres at (j + 0.5) * 8, (i + 0.5) * 8; rows (y) outer, columns (x) inner.
    np.testing.assert_allclose(center[1, 2, 0, :2], [20.0, 12.0])
    np.testing.assert_allclose(center[0, 1, 3, :2], [12.0, 4.0])
    # Ratio = width / height, area = (size * scale)^2; ratio outer, scale inner.
    w, h = center[0, 0, :, 2], center[0, 0, :, 3]
    np.testing.assert_allclose(w / h, [0.5, 0.5, 2.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(w * h, [256, 1024, 256, 1024], rtol=1e-5)


def test_default_sizes_follow_retinanet():
    gen = AnchorGenerator(levels=(3, 4))
    assert gen.sizes == (32.0, 64.0) and gen.anchors_per_location == 9


def test_repeats_put_identical_copies_on_each_cell():
    # MediaPipe's SSD anchors with fixed_anchor_size: one shape, several copies per cell, per level.
    gen = AnchorGenerator(levels=(3, 4), sizes=32, ratios=(1.0,), scales=(1.0,), repeats=(2, 3))
    assert gen.counts((32, 32)) == {"P3": 16 * 2, "P4": 4 * 3}
    assert gen.anchors_per_level == (2, 3)
    anchors = gen((32, 32))
    np.testing.assert_array_equal(anchors["P3"][0], anchors["P3"][1])
    np.testing.assert_array_equal(anchors["P3"][0], [-12, -12, 20, 20])  # centre (4, 4), 32 x 32
    np.testing.assert_array_equal(anchors["P4"][:3], [[-8, -8, 24, 24]] * 3)  # centre (8, 8)
    assert gen.get_config()["repeats"] == (2, 3)
    with pytest.raises(ValueError, match=r"differs between levels .*use anchors_per_level"):
        _ = gen.anchors_per_location
    assert AnchorGenerator(levels=(3,), ratios=(1.0, 2.0), scales=(1.0,), repeats=2).anchors_per_location == 4


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"repeats": 0}, r"repeats must be a positive integer; received 0"),
        ({"repeats": (1, 2)}, r"repeats must give one count per level \(3\)"),
        ({"levels": (4, 3)}, r"levels must be increasing integers"),
        ({"levels": ()}, r"levels must be increasing integers"),
        ({"sizes": (8, 16)}, r"one size per level \(3\)"),
        ({"ratios": (1.0, -2.0)}, r"ratios must be one or more positive numbers"),
        ({"scales": ()}, r"scales must be one or more positive numbers"),
    ],
)
def test_generator_rejects_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        AnchorGenerator(**kwargs)


def test_image_shape_is_checked():
    with pytest.raises(ValueError, match=r"image_shape must be"):
        AnchorGenerator().counts((64,))


def _reference_match(anchors, gt_boxes, gt_classes, pos, neg):
    """Loop version of matching without best-anchor forcing, for one image."""
    out = []
    for anchor in anchors:
        ious = [iou_matrix_numpy(anchor, g)[0, 0] if c >= 0 else -1 for g, c in zip(gt_boxes, gt_classes)]
        k = int(np.argmax(ious))
        out.append(gt_classes[k] if ious[k] >= pos else BACKGROUND if ious[k] < neg else IGNORE)
    return out


def test_matching_with_ignore_band_matches_a_loop_reference():
    rng = np.random.default_rng(0)
    anchors = AnchorGenerator(levels=(3, 4), ratios=(0.5, 1.0, 2.0), scales=(1.0, 1.5)).all((64, 64))
    gt = np.full((3, 5, 4), -1.0, np.float32)
    cls = np.full((3, 5), -1, np.int32)
    for b, n in enumerate([0, 2, 5]):
        xy = rng.uniform(0, 40, size=(n, 2))
        wh = rng.uniform(8, 30, size=(n, 2))
        gt[b, :n] = np.concatenate([xy, xy + wh], axis=1)
        cls[b, :n] = rng.integers(0, 4, size=n)
    matched, targets = match_anchors(anchors, gt, cls, positive_iou=0.5, negative_iou=0.4, match_best=False)
    targets = np.asarray(targets)
    assert targets.shape == (3, len(anchors)) and np.asarray(matched).shape == (3, len(anchors), 4)
    for b in range(3):
        assert targets[b].tolist() == _reference_match(anchors, gt[b], cls[b], 0.5, 0.4)
    assert np.all(targets[0] == BACKGROUND)  # an image without boxes is all background
    assert {BACKGROUND, IGNORE} <= set(targets[2].tolist()) and targets[2].max() >= 0


def test_every_box_gets_its_best_anchor_even_below_the_positive_threshold():
    anchors = AnchorGenerator(levels=(3,), sizes=32, ratios=(1.0,), scales=(1.0,)).all((64, 64))
    small = np.array([[[10.0, 10.0, 16.0, 16.0]]])  # IoU with any 32-px anchor is far below 0.5
    _, without = match_anchors(anchors, small, [[3]], match_best=False)
    matched, forced = match_anchors(anchors, small, [[3]], match_best=True)
    assert not np.any(np.asarray(without) == 3)
    forced = np.asarray(forced)[0]
    best = np.argmax(iou_matrix_numpy(anchors, small[0])[:, 0])
    assert forced[best] == 3 and np.sum(forced == 3) >= 1
    np.testing.assert_allclose(np.asarray(matched)[0, best], small[0, 0])


def test_encode_targets_decode_back_to_the_matched_boxes():
    anchors = AnchorGenerator(levels=(3, 4), ratios=(1.0,), scales=(1.0, 1.5)).all((64, 64))
    gt = np.array([[[4.0, 6.0, 30.0, 28.0], [40.0, 30.0, 60.0, 62.0], [-1, -1, -1, -1]]], np.float32)
    cls = np.array([[0, 2, -1]])
    box_t, cls_t = encode_targets(anchors, gt, cls)
    cls_t = np.asarray(cls_t)[0]
    decoded = np.asarray(B.decode(box_t, anchors))[0]
    for k in (0, 2):
        rows = decoded[cls_t == k]
        assert len(rows) >= 1
        np.testing.assert_allclose(rows, np.repeat(gt[0, [0, 1][k // 2]][None], len(rows), 0), rtol=1e-4, atol=1e-3)


def test_matching_rejects_bad_thresholds_and_shapes():
    anchors = AnchorGenerator(levels=(3,)).all((32, 32))
    with pytest.raises(ValueError, match=r"negative_iou <= positive_iou"):
        match_anchors(anchors, np.zeros((1, 1, 4)), [[0]], positive_iou=0.3, negative_iou=0.5)
    with pytest.raises(ValueError, match=r"gt_boxes and gt_classes must have shapes \(batch, max_boxes, 4\)"):
        match_anchors(anchors, np.zeros((1, 4)), [[0]])
    with pytest.raises(ValueError, match=r"x2 >= x1"):
        match_anchors(anchors, np.array([[[5.0, 0, 1, 1]]]), [[0]])
