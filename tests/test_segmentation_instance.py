"""cnnkit.segmentation's instance part: RoIAlign crops, pasting masks back, per-object IoU, the component baseline."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from cnnkit import segmentation as seg

# ---------------------------------------------------------------- crop_boxes


def test_crop_of_a_2x2_map_by_hand():
    image = np.array([[0.0, 1.0], [2.0, 3.0]])[None]
    np.testing.assert_allclose(seg.crop_boxes(image, [[[0, 0, 2, 2]]], size=2)[0, 0], image[0])
    assert seg.crop_boxes(image, [[[0, 0, 2, 2]]], size=1)[0, 0, 0, 0] == pytest.approx(1.5)
    # box (0, 0, 1, 2), 2x2 bins: centres at y = 0.5, 1.5 (rows 0 and 1) and x = 0.25, 0.75: a quarter
    # pixel left of column 0's centre (the edge value, 0) and a quarter pixel right of it (0.75 * 0 + 0.25 * 1)
    np.testing.assert_allclose(seg.crop_boxes(image, [[[0, 0, 1, 2]]], size=2)[0, 0], [[0.0, 0.25], [2.0, 2.25]])
    # box (0.5, 0.5, 1.5, 1.5), one bin: its centre (1, 1) lies between all four pixel centres
    assert seg.crop_boxes(image, [[[0.5, 0.5, 1.5, 1.5]]], size=1)[0, 0, 0, 0] == pytest.approx(1.5)


def test_crop_of_a_linear_ramp_is_exact_on_an_integer_box():
    """Bilinear interpolation reproduces a linear function: every bin centre gets its exact value."""
    rows, cols = np.mgrid[0:32, 0:40].astype(np.float64)
    ramp = np.stack([3 * cols + 2 * rows, -cols + 5.0], axis=-1)[None]  # value at pixel centre (i+0.5, j+0.5)
    x1, y1, x2, y2 = 8, 4, 24, 20
    crops = seg.crop_boxes(ramp, [[[x1, y1, x2, y2]]], size=7)
    centres = (np.arange(7) + 0.5) / 7
    cx, cy = x1 + centres * (x2 - x1) - 0.5, y1 + centres * (y2 - y1) - 0.5  # in pixel-index coordinates
    expected = np.stack([3 * cx[None, :] + 2 * cy[:, None], -cx[None, :] + 5.0 + 0 * cy[:, None]], axis=-1)
    assert crops.shape == (1, 1, 7, 7, 2) and crops.dtype == np.float32
    np.testing.assert_allclose(crops[0, 0], expected, atol=1e-4)


def test_crop_matches_scipy_map_coordinates_on_random_boxes():
    rng = np.random.default_rng(0)
    images = rng.random((3, 20, 24, 2))
    corner = rng.uniform(-4, 18, size=(3, 5, 2))  # some boxes partly outside the image
    boxes = np.concatenate([corner, corner + rng.uniform(0.5, 10, size=(3, 5, 2))], axis=-1)
    crops = seg.crop_boxes(images, boxes, size=9)
    bins = (np.arange(9) + 0.5) / 9
    for n in range(3):
        for k in range(5):
            x1, y1, x2, y2 = boxes[n, k]
            ys, xs = np.meshgrid(y1 + bins * (y2 - y1) - 0.5, x1 + bins * (x2 - x1) - 0.5, indexing="ij")
            for c in range(2):
                ref = ndimage.map_coordinates(images[n, ..., c], [ys, xs], order=1, mode="nearest")
                np.testing.assert_allclose(crops[n, k, ..., c], ref, atol=1e-5)


def test_crop_with_image_index_and_single_channel_maps():
    rng = np.random.default_rng(1)
    images = rng.random((4, 16, 16, 3))
    boxes = np.array([[1, 2, 9, 12], [3, 3, 15, 8], [0, 0, 16, 16]], float)
    index = np.array([2, 0, 2])
    crops = seg.crop_boxes(images, boxes, size=5, image_index=index)
    assert crops.shape == (3, 5, 5, 3)
    for m in range(3):
        np.testing.assert_allclose(crops[m], seg.crop_boxes(images[index[m]][None], boxes[m][None, None], 5)[0, 0])
    masks = seg.crop_boxes(images[..., 0], boxes, size=5, image_index=index)  # (N, H, W) in, no channel axis out
    np.testing.assert_allclose(masks, crops[..., 0])


def test_crop_rejects_bad_input():
    image = np.zeros((1, 8, 8, 1))
    with pytest.raises(ValueError, match="x2 >= x1"):
        seg.crop_boxes(image, [[[4, 0, 2, 3]]])
    with pytest.raises(ValueError, match=r"\(N, K, 4\)"):
        seg.crop_boxes(image, [[0, 0, 2, 3]])
    with pytest.raises(ValueError, match="last axis of 4"):
        seg.crop_boxes(image, [[[0, 0, 2]]])
    with pytest.raises(ValueError, match="finite"):
        seg.crop_boxes(image, [[[0, 0, np.nan, 3]]])
    with pytest.raises(ValueError, match="image_index must number images"):
        seg.crop_boxes(image, [[0, 0, 2, 3]], image_index=[1])
    with pytest.raises(ValueError, match="image_index"):
        seg.crop_boxes(image, [[0, 0, 2, 3]], image_index=[0, 0])
    with pytest.raises(ValueError, match="size"):
        seg.crop_boxes(image, [[[0, 0, 2, 3]]], size=0)
    with pytest.raises(ValueError, match="images"):
        seg.crop_boxes(np.zeros((8, 8)), [[[0, 0, 2, 3]]])


# ---------------------------------------------------------------- paste_masks


@pytest.mark.parametrize("box", [(2, 3, 12, 9), (0, 0, 16, 16), (5, 1, 6, 15), (7, 7, 11, 8)])
def test_crop_then_paste_of_a_box_filling_mask_gives_it_back(box):
    x1, y1, x2, y2 = box
    mask = np.zeros((16, 16), bool)
    mask[y1:y2, x1:x2] = True
    window = seg.crop_boxes(mask[None].astype(np.float32), [[box]], size=28)[0, 0]
    np.testing.assert_array_equal(seg.paste_masks(window, np.array(box, float), (16, 16)), mask)


def test_crop_then_paste_keeps_a_disk_nearly_unchanged():
    rows, cols = np.mgrid[0:48, 0:48] + 0.5
    disk = (rows - 20) ** 2 + (cols - 26) ** 2 <= 12**2
    box = np.array([14.0, 8.0, 38.0, 32.0])
    window = seg.crop_boxes(disk[None].astype(np.float32), box[None, None], size=28)[0, 0]
    pasted = seg.paste_masks(window, box, (48, 48))
    assert seg.instance_ious(disk, pasted) > 0.97


def test_paste_clips_a_box_partly_outside_the_image_and_keeps_the_leading_axes():
    probs = np.ones((2, 3, 4, 4))
    boxes = np.zeros((2, 3, 4))
    boxes[0, 0] = [-3, -2, 2, 3]   # sticks out at the top left
    boxes[1, 2] = [6, 5, 12, 20]   # out at the bottom right
    boxes[0, 1] = [20, 20, 30, 30]  # wholly outside: an empty mask
    pasted = seg.paste_masks(probs, boxes, (8, 8, 3))
    assert pasted.shape == (2, 3, 8, 8) and pasted.dtype == bool
    expected = np.zeros((8, 8), bool)
    expected[:3, :2] = True
    np.testing.assert_array_equal(pasted[0, 0], expected)
    expected = np.zeros((8, 8), bool)
    expected[5:, 6:] = True
    np.testing.assert_array_equal(pasted[1, 2], expected)
    assert not pasted[0, 1].any() and not pasted[0, 2].any()  # the all-zero box covers no pixel centre


def test_paste_without_threshold_gives_the_interpolated_probabilities():
    probs = np.array([[0.0, 1.0], [0.0, 1.0]])  # left half 0, right half 1 in a 2x2 window
    pasted = seg.paste_masks(probs, [0, 0, 4, 2], (2, 4), threshold=None)
    # pixel centres x = 0.5 .. 3.5 read the window at (x / 4) * 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 (edges clamp)
    np.testing.assert_allclose(pasted, [[0.0, 0.25, 0.75, 1.0]] * 2)
    assert pasted.dtype == np.float32
    np.testing.assert_array_equal(seg.paste_masks(probs, [0, 0, 4, 2], (2, 4), threshold=0.7), [[0, 0, 1, 1]] * 2)


def test_paste_rejects_bad_input():
    with pytest.raises(ValueError, match="square"):
        seg.paste_masks(np.ones((2, 3, 4)), np.zeros((2, 4)), (8, 8))
    with pytest.raises(ValueError, match="leading axes"):
        seg.paste_masks(np.ones((2, 4, 4)), np.zeros((3, 4)), (8, 8))
    with pytest.raises(ValueError, match="image_shape"):
        seg.paste_masks(np.ones((4, 4)), [0, 0, 2, 2], 8)
    with pytest.raises(ValueError, match="threshold"):
        seg.paste_masks(np.ones((4, 4)), [0, 0, 2, 2], (8, 8), threshold="half")
    with pytest.raises(ValueError, match="finite"):
        seg.paste_masks(np.full((4, 4), np.nan), [0, 0, 2, 2], (8, 8))


# ---------------------------------------------------------------- instance_ious and component_masks


def test_instance_ious_by_hand_and_nan_for_empty_slots():
    true = np.zeros((3, 2, 4), bool)
    pred = np.zeros((3, 2, 4), bool)
    true[0, 0, :2], pred[0, 0, :] = True, True      # 2 / 4
    true[1, :, :], pred[1, 0, :] = True, True       # 4 / 8
    pred[2, 1, 0] = True                            # a prediction for nothing: 0
    np.testing.assert_allclose(seg.instance_ious(true, pred), [0.5, 0.5, 0.0])
    assert np.isnan(seg.instance_ious(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)))[0])
    with pytest.raises(ValueError, match="same shape"):
        seg.instance_ious(true, pred[:2])
    with pytest.raises(ValueError, match="booleans"):
        seg.instance_ious(true * 2, pred)


def test_component_masks_merges_touching_objects_of_one_class_only():
    semantic = np.zeros((1, 6, 8), int)
    masks = np.zeros((1, 4, 6, 8), bool)
    masks[0, 0, 1:4, 0:3] = True   # class 0
    masks[0, 1, 1:4, 3:5] = True   # class 0, touching object 0
    masks[0, 2, 1:4, 5:8] = True   # class 2, touching object 1 but of another class
    classes = np.array([[0, 0, 2, -1]])
    for k in range(3):
        semantic[masks[:, k]] = classes[0, k] + 1
    regions = seg.component_masks(semantic, masks, classes)
    merged = masks[0, 0] | masks[0, 1]
    np.testing.assert_array_equal(regions[0, 0], merged)
    np.testing.assert_array_equal(regions[0, 1], merged)
    np.testing.assert_array_equal(regions[0, 2], masks[0, 2])
    assert not regions[0, 3].any()  # padding slot
    np.testing.assert_allclose(seg.instance_ious(masks, regions)[0, :3], [9 / 15, 6 / 15, 1.0])


def test_component_masks_picks_the_region_covering_most_of_the_object():
    semantic = np.array([[1, 1, 0, 1, 0]])
    masks = np.array([[[1, 0, 0, 1, 0]], [[0, 0, 0, 0, 0]]], bool)  # an object split in two, one pixel each side
    masks[0, 0, 1] = True  # now 2 pixels on the left region, 1 on the right
    regions = seg.component_masks(semantic, masks, [0, 0])
    np.testing.assert_array_equal(regions[0, 0], [1, 1, 0, 0, 0])
    assert not regions[1].any()  # an object with no pixels of its class gets nothing
    with pytest.raises(ValueError, match="agree"):
        seg.component_masks(semantic, masks, [0, 0, 0])
