"""cnnkit.data.make_scenes: deterministic scenes whose boxes, classes and masks agree with each other."""

import numpy as np
import pytest

from cnnkit import data
from cnnkit.data import scenes as S


@pytest.fixture(scope="module")
def scenes():
    return data.make_scenes(60, image_size=48, seed=3)


def test_shapes_types_and_padding(scenes):
    n, k = 60, 6
    assert scenes.images.shape == (n, 48, 48, 3) and scenes.images.dtype == np.float32
    assert 0.0 <= scenes.images.min() and scenes.images.max() <= 1.0
    assert scenes.boxes.shape == (n, k, 4) and scenes.boxes.dtype == np.float32
    assert scenes.classes.shape == (n, k) and scenes.classes.dtype == np.int32
    assert scenes.masks.shape == (n, k, 48, 48) and scenes.masks.dtype == bool
    pad = scenes.classes < 0
    assert np.all(scenes.boxes[pad] == -1) and not scenes.masks[pad].any()
    # Real objects come first in every row; images hold 1..6 objects, and all counts appear.
    assert np.all(np.diff(pad.astype(int), axis=1) >= 0)
    assert scenes.num_objects.min() >= 1 and scenes.num_objects.max() == 6
    assert set(np.unique(scenes.classes[~pad])) == set(range(len(data.SHAPE_NAMES)))


def test_same_seed_same_scenes_and_other_seed_differs():
    a = data.make_scenes(8, image_size=32, seed=1)
    b = data.make_scenes(8, image_size=32, seed=1)
    c = data.make_scenes(8, image_size=32, seed=2)
    for field in ("images", "boxes", "classes", "masks"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.allclose(a.images, c.images)


def test_boxes_contain_their_masks_and_fit_them_tightly(scenes):
    real = scenes.classes >= 0
    gaps = []
    for i, k in zip(*np.nonzero(real)):
        ys, xs = np.nonzero(scenes.masks[i, k])
        assert len(ys) > 0, "every labelled object has visible pixels"
        x1, y1, x2, y2 = scenes.boxes[i, k]
        # Pixel centres of the mask lie inside the box ...
        assert x1 <= xs.min() + 0.5 and xs.max() + 0.5 <= x2 and y1 <= ys.min() + 0.5 and ys.max() + 0.5 <= y2
        # ... and the box reaches beyond the mask's pixels only by the soft edge (longer at sharp tips).
        gaps += [xs.min() - x1, x2 - xs.max() - 1, ys.min() - y1, y2 - ys.max() - 1]
    gaps = np.array(gaps)
    assert gaps.max() < 3.0 and 0.0 < gaps.mean() < 0.6, (gaps.max(), gaps.mean())


def test_sub_pixel_box_of_an_axis_aligned_square():
    # A square of half side 0.8 * 10 = 8 px centred at (x=20.3, y=15.6): edges at 12.3, 28.3 and 7.6, 23.6.
    alpha = data.render_alpha([1], [[15.6, 20.3]], [10.0], [0.0], (40, 40))
    boxes, present = S._boxes_from_coverage(alpha)
    assert present.tolist() == [True]
    np.testing.assert_allclose(boxes[0], [12.3, 7.6, 28.3, 23.6], atol=1e-4)


def test_masks_are_visible_parts_and_do_not_overlap(scenes):
    # Each pixel belongs to at most one object's visible mask (coverage >= 0.5 of what is left on top).
    assert scenes.masks.sum(axis=1).max() <= 1


def test_sizes_overlaps_and_small_objects():
    s = data.make_scenes(300, image_size=64, radius_range=(0.06, 0.25), seed=0)
    real = s.classes >= 0
    w = s.boxes[..., 2] - s.boxes[..., 0]
    h = s.boxes[..., 3] - s.boxes[..., 1]
    side = np.sqrt(w * h)[real]
    assert side.min() < 9 and side.max() > 28  # small and large objects
    # Some boxes overlap (overlaps are allowed), but no object is mostly hidden.
    from cnnkit.detection import iou_matrix_numpy

    overlapping = sum(np.any(np.triu(iou_matrix_numpy(b[c >= 0], b[c >= 0]), 1) > 0) for b, c in zip(s.boxes, s.classes))
    assert overlapping > 20
    no_overlap = data.make_scenes(100, image_size=64, max_overlap=0.0, seed=0)
    for b, c in zip(no_overlap.boxes, no_overlap.classes):
        inter = np.triu(iou_matrix_numpy(b[c >= 0], b[c >= 0]), 1)
        assert inter.max(initial=0.0) < 0.05  # the placement squares are disjoint; drawn boxes barely touch


def test_class_subset_and_targets():
    s = data.make_scenes(20, image_size=32, classes=("ring", "star"), max_objects=3, seed=0)
    assert s.class_names == ["ring", "star"] and s.num_classes == 2 and s.max_objects == 3
    targets = s.targets()
    assert len(targets) == 20 and all(set(t["classes"].tolist()) <= {0, 1} for t in targets)
    assert [len(t["classes"]) for t in targets] == s.num_objects.tolist()
    sub = s[:5]
    assert len(sub) == 5 and sub.class_names == s.class_names
    assert "20 images" in repr(s)


def test_pad_targets_round_trip():
    targets = [{"boxes": np.array([[0, 0, 4, 4], [1, 1, 2, 2]]), "classes": np.array([2, 0])},
               {"boxes": np.zeros((0, 4)), "classes": np.array([], int)}]
    boxes, classes = data.pad_targets(targets, max_boxes=3)
    assert boxes.shape == (2, 3, 4) and classes.tolist() == [[2, 0, -1], [-1, -1, -1]]
    assert np.all(boxes[1] == -1)
    with pytest.raises(ValueError, match=r"max_boxes must be at least the largest box count of an image \(2\); received 1"):
        data.pad_targets(targets, max_boxes=1)


def test_dataset_batches_are_padded_to_a_fixed_size():
    s = data.make_scenes(10, image_size=32, max_objects=4, seed=0)
    batches = list(s.as_dataset(batch_size=4))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    images, targets = batches[0]
    assert tuple(targets["boxes"].shape) == (4, 4, 4) and tuple(targets["classes"].shape) == (4, 4)
    np.testing.assert_array_equal(targets["classes"].numpy(), s.classes[:4])
    shuffled = np.concatenate([t["classes"].numpy() for _, t in s.as_dataset(batch_size=4, shuffle=True, seed=1)])
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, s.classes))


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"num_images": 0}, r"num_images must be a positive integer; received 0"),
        ({"image_size": 8}, r"image_size must be an integer >= 16 \(pixels, to hold several shapes\); received 8"),
        ({"classes": ("circle", "hexagon")}, r"classes must be one or more distinct names .*'hexagon'"),
        ({"min_objects": 4, "max_objects": 2}, r"min_objects must be <= max_objects; received min_objects=4, max_objects=2"),
        ({"radius_range": (0.3, 0.1)}, r"radius_range must be a \(low, high\) pair of numbers with 0.01 <= low <= high <= 0.5; received \(0.3, 0.1\)"),
        ({"radius_range": (0.01, 0.1), "image_size": 64}, r"at least 1 pixel; received 0.01 \* 64"),
        ({"max_overlap": 1.5}, r"max_overlap must be a number in \[0, 1\]; received 1.5"),
        ({"noise": -1}, r"noise must be a non-negative number"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        data.make_scenes(**{"num_images": 4, **kwargs})


def test_augmented_batches_move_boxes_with_the_pixels():
    s = data.make_scenes(16, image_size=32, max_objects=3, seed=4)
    views = 0
    for images, targets in s.as_dataset(batch_size=16, augment=True, seed=3):
        images, boxes, classes = images.numpy(), targets["boxes"].numpy(), targets["classes"].numpy()
        np.testing.assert_array_equal(classes, s.classes)  # no shuffling: same order, same labels
        assert np.all(boxes[classes < 0] == -1)  # padding untouched
        for i in range(16):
            # The transformed image is one of the 8 dihedral views of the original ...
            candidates = [np.flip(v, axis) if axis is not None else v for v in (s.images[i], s.images[i].transpose(1, 0, 2))
                          for axis in (None, 0, 1, (0, 1))]
            match = [np.allclose(images[i], c) for c in candidates]
            assert sum(match) >= 1
            views += not match[0]
            # ... and every box keeps its size and stays inside the image.
            for b, c, b0 in zip(boxes[i], classes[i], s.boxes[i]):
                if c >= 0:
                    area, area0 = (b[2] - b[0]) * (b[3] - b[1]), (b0[2] - b0[0]) * (b0[3] - b0[1])
                    assert area == pytest.approx(area0, rel=1e-5) and b.min() >= 0 and b.max() <= 32
    assert views > 8  # most images were transformed


def test_augmented_boxes_follow_a_known_flip():
    # One image, one object: find the view by comparing pixels, then check the box moved the same way.
    s = data.make_scenes(1, image_size=32, max_objects=1, min_objects=1, seed=0)
    image, box = s.images[0], s.boxes[0, 0]
    for seed in range(6):
        out_image, target = next(iter(s.as_dataset(batch_size=1, augment=True, seed=seed)))
        out, out_box = out_image.numpy()[0], target["boxes"].numpy()[0, 0]
        x1, y1, x2, y2 = box
        expected = {
            "none": (image, box), "lr": (image[:, ::-1], [32 - x2, y1, 32 - x1, y2]),
            "ud": (image[::-1], [x1, 32 - y2, x2, 32 - y1]), "both": (image[::-1, ::-1], [32 - x2, 32 - y2, 32 - x1, 32 - y1]),
        }
        expected.update({f"t{k}": (v[0].transpose(1, 0, 2), [v[1][1], v[1][0], v[1][3], v[1][2]]) for k, v in list(expected.items())})
        hits = [k for k, (img, _) in expected.items() if np.allclose(out, img)]
        assert hits
        np.testing.assert_allclose(out_box, expected[hits[0]][1], atol=1e-5)
