"""cnnkit.viz.segmentation: mask colours, overlays and segmentation figures."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.viz import segmentation as segviz

# ---------------------------------------------------------------- NumPy references


# ---------------------------------------------------------------- plots


def test_colours_and_overlays():
    colors = segviz.class_colors(7)
    assert colors.shape == (7, 3) and np.all(colors[0] == 0) and len({tuple(c) for c in colors}) == 7
    image = np.full((2, 2, 3), 0.5, np.float32)
    out = segviz.overlay_mask(image, np.array([[0, 1], [2, 0]]), 3, alpha=1.0)
    np.testing.assert_allclose(out[0, 0], 0.5)  # background untouched
    np.testing.assert_allclose(out[0, 1], colors[1])
    np.testing.assert_allclose(segviz.colorize_mask(np.array([[2]]), 3)[0, 0], colors[2])
    with pytest.raises(ValueError, match=r"ids in \[0, 2\]"):
        segviz.overlay_mask(image, np.array([[0, 3], [0, 0]]), 3)
    with pytest.raises(ValueError, match="mask must have the image's height and width"):
        segviz.overlay_mask(image, np.zeros((3, 3), int), 3)


def test_segmentation_figures():
    rng = np.random.default_rng(0)
    images = rng.random((3, 8, 8, 3), dtype=np.float32)
    masks = rng.integers(0, 3, size=(3, 8, 8))
    fig = segviz.show_segmentation(images, masks, masks[::-1], class_names=["bg", "a", "b"], titles=["1", "2", "3"])
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3 * 4
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["bg", "a", "b"]
    assert len(segviz.show_segmentation(images, masks, num_classes=3).axes) == 3 * 2
    fig = segviz.show_mask(images[0], masks[0], class_names=["bg", "a", "b"])
    assert fig.axes[0].get_legend() is not None
    fig = segviz.plot_class_iou({"with": [0.9, 0.8, np.nan], "without": [0.9, 0.5, 0.4]}, ["bg", "a", "b"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["with: mean IoU 0.850", "without: mean IoU 0.600"]
    with pytest.raises(ValueError, match="same length"):
        segviz.plot_class_iou({"a": [0.1, 0.2], "b": [0.1]})
    with pytest.raises(ValueError, match="predictions"):
        segviz.show_segmentation(images, masks, masks[:2])


def test_segmentation_panels_tint_a_grey_image_and_mark_errors_in_black():
    images = np.zeros((1, 4, 4, 3), np.float32)
    images[..., 0] = 1.0                                 # a pure red image: its colour must not mix into the tints
    masks = np.zeros((1, 4, 4), int)
    masks[0, :2] = 1
    predictions = masks.copy()
    predictions[0, 3, 3] = 1                             # one wrong pixel
    fig = segviz.show_segmentation(images, masks, predictions, num_classes=2, alpha=1.0)
    truth, errors = (fig.axes[k].get_images()[0].get_array() for k in (1, 3))
    np.testing.assert_allclose(truth[0, 0], segviz.class_colors(2)[1])           # class colour, unblended
    np.testing.assert_allclose(truth[3, 0], [1 / 3] * 3, atol=1e-6)              # background: the grey image
    np.testing.assert_allclose(errors[3, 3], [0, 0, 0])                          # the wrong pixel, black
    assert errors[0, 0].min() > 0.7                                              # right pixels: light
