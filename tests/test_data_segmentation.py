"""Segmentation data: scene masks consistent with the scenes' instances and boxes; the derived coins mask."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from cnnkit import data
from cnnkit.data.scenes import make_scenes
from cnnkit.data.segmentation import (
    COINS_CLASSES,
    COINS_MASK_SOURCE,
    load_coins_mask,
    load_scene_masks,
    scene_class_names,
    semantic_masks,
)


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(60, image_size=48, seed=3)


def test_semantic_masks_label_every_visible_object_pixel_with_its_class(scenes):
    masks = semantic_masks(scenes)
    assert masks.shape == (60, 48, 48) and masks.dtype == np.int32
    covered = scenes.masks.any(axis=1)
    assert np.all(masks[~covered] == 0), "a pixel outside every object must be background"
    n, k = scenes.classes.shape
    for i in range(n):  # a test may loop: it checks the vectorised code against the obvious one
        expected = np.zeros(masks.shape[1:], np.int32)
        for j in range(k):  # painter's order: later objects on top
            if scenes.classes[i, j] >= 0:
                expected[scenes.masks[i, j]] = scenes.classes[i, j] + 1
        np.testing.assert_array_equal(masks[i], expected)


def test_semantic_masks_are_consistent_with_the_boxes(scenes):
    """Every pixel of an object lies inside that object's box, and each box is tight around its mask.

    Boxes come from the soft (anti-aliased) coverage and masks from coverage >= 0.5, so a box may
    reach a little past its mask at thin tips or where another object hides part of the shape.
    """
    ys, xs = np.mgrid[0:48, 0:48] + 0.5  # pixel centres
    masks = semantic_masks(scenes)
    checked, slack = 0, []
    for i in range(len(scenes)):
        for j in np.flatnonzero(scenes.classes[i] >= 0):
            x1, y1, x2, y2 = scenes.boxes[i, j]
            pixels = scenes.masks[i, j]
            assert pixels.any()
            assert np.all(masks[i][pixels] == scenes.classes[i, j] + 1)
            inside = (xs >= x1) & (xs <= x2) & (ys >= y1) & (ys <= y2)
            assert np.all(inside[pixels]), f"image {i} object {j}: mask pixels outside the box"
            rows, cols = np.flatnonzero(pixels.any(1)), np.flatnonzero(pixels.any(0))
            slack += [cols[0] - x1, x2 - (cols[-1] + 1), rows[0] - y1, y2 - (rows[-1] + 1)]
            checked += 1
    slack = np.array(slack)
    assert slack.min() >= -0.5  # a box never cuts more than half a mask pixel
    assert np.percentile(slack, 95) <= 1.0 and slack.max() <= 5.0  # and is tight around the mask
    assert checked == int(scenes.num_objects.sum())
    # and no foreground pixel lies outside every box of its class
    for i in range(len(scenes)):
        for c in np.unique(masks[i][masks[i] > 0]):
            boxes = scenes.boxes[i][scenes.classes[i] == c - 1]
            inside = np.zeros((48, 48), bool)
            for x1, y1, x2, y2 in boxes:
                inside |= (xs >= x1) & (xs <= x2) & (ys >= y1) & (ys <= y2)
            assert np.all(inside[masks[i] == c])


def test_class_names_start_with_background(scenes):
    assert scene_class_names(scenes) == ["background", *scenes.class_names]


def test_load_scene_masks_splits_are_new_drawings_and_reproducible():
    ds = load_scene_masks(num_train=40, num_val=10, num_test=12, image_size=40, classes=("circle", "square"), seed=5)
    assert ds.name == "scene_masks"
    assert ds.x_train.shape == (40, 40, 40, 3) and ds.y_test.shape == (12, 40, 40)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert ds.class_names == ["background", "circle", "square"] and ds.num_classes == 3
    assert set(np.unique(ds.y_train)) <= {0, 1, 2}
    assert not np.allclose(ds.x_train[:10], ds.x_test[:10])  # different seeds per split
    np.testing.assert_array_equal(ds.y_val, semantic_masks(ds.extras["scenes"]["val"]))
    again = data.load_dataset("scene_masks", num_train=40, num_val=10, num_test=12, image_size=40,
                              classes=("circle", "square"), seed=5)
    np.testing.assert_array_equal(again.y_train, ds.y_train)
    np.testing.assert_array_equal(again.x_test, ds.x_test)


def test_background_dominates_the_pixels():
    """Why the course reports IoU: most pixels are background."""
    ds = load_scene_masks(num_train=50, num_val=5, num_test=5, image_size=64)
    assert 0.7 < np.mean(ds.y_train == 0) < 0.95


def test_load_scene_masks_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_test"):
        load_scene_masks(num_train=10, num_val=5, num_test=0)
    with pytest.raises(ValueError, match="seed"):
        load_scene_masks(num_train=10, num_val=5, num_test=5, num_images=3)
    with pytest.raises(ValueError, match="Scenes"):
        semantic_masks(np.zeros((2, 4, 8, 8), bool))


def test_coins_mask_outlines_the_24_coins():
    image, mask = load_coins_mask()
    assert image.shape == (303, 384, 3) and mask.shape == (303, 384)
    assert set(np.unique(mask)) == {0, 1} and mask.dtype == np.int32
    _, count = ndimage.label(mask)
    assert count == 24, "the photo shows 24 coins (4 rows of 6)"
    assert 0.25 < mask.mean() < 0.45
    # coins are brighter than the background they lie on
    assert image[..., 0][mask == 1].mean() > image[..., 0][mask == 0].mean() + 0.2
    assert COINS_CLASSES == ("background", "coin") and "DERIVED" in COINS_MASK_SOURCE


def test_coins_mask_resizes_with_the_image():
    small_image, small_mask = load_coins_mask(size=(64, 80))
    assert small_image.shape == (64, 80, 3) and small_mask.shape == (64, 80)
    _, full = load_coins_mask()
    assert abs(small_mask.mean() - full.mean()) < 0.02
    with pytest.raises(ValueError, match=r"size must be a positive integer or 2 positive integers \(height, width\); received \(0, 10\)"):
        load_coins_mask(size=(0, 10))
