"""cnnkit.viz detection plots: they draw what they are given, where it belongs, and return the Figure."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnkit import viz
from cnnkit.detection import AnchorGenerator, evaluate


def _rects(ax):
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_draw_boxes_places_boxes_on_pixel_edges_with_labels():
    image = np.zeros((20, 30, 3), np.float32)
    fig = viz.draw_boxes(image, [[2, 3, 12, 8], [-1, -1, -1, -1]], classes=[1, -1], scores=[0.875, 0.1],
                         class_names=["a", "b"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    (rect,) = _rects(ax)  # the padding row is skipped
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (2, 3, 10, 5)
    assert [t.get_text() for t in ax.texts] == ["b 0.88"]
    # The image spans [0, W] x [0, H] in data coordinates, so boxes line up with pixels.
    assert tuple(ax.images[0].get_extent()) == (0, 30, 20, 0)


def test_draw_boxes_converts_formats_and_checks_inputs():
    fig = viz.draw_boxes((16, 16), [[8, 8, 4, 6]], box_format="center_xywh")
    (rect,) = _rects(fig.axes[0])
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (6, 5, 4, 6)
    with pytest.raises(ValueError, match=r"classes must have one entry per box of boxes \(1\); received 2"):
        viz.draw_boxes((16, 16), [[0, 0, 1, 1]], classes=[0, 1])
    with pytest.raises(ValueError, match=r"x2 >= x1"):
        viz.draw_boxes((16, 16), [[5, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        viz.draw_boxes((16, 16), [[0, 0, 1]])


def test_show_detections_draws_truth_dashed_and_filters_scores():
    image = np.ones((16, 16, 3), np.float32)
    truth = {"boxes": [[1, 1, 5, 5]], "classes": [0]}
    pred = {"boxes": [[1, 1, 5, 6], [8, 8, 12, 12]], "classes": [0, 1], "scores": [0.9, 0.2]}
    fig = viz.show_detections(image, pred, truth, class_names=["x", "y"], score_threshold=0.5)
    rects = _rects(fig.axes[0])
    assert len(rects) == 2  # one truth, one prediction above the threshold
    assert rects[0].get_linestyle() != rects[1].get_linestyle()


def test_grid_anchor_and_curve_plots():
    images = np.zeros((3, 16, 16, 3), np.float32)
    preds = [{"boxes": [[1, 1, 5, 5]], "classes": [0], "scores": [0.9]}] * 3
    fig = viz.show_detection_grid(images, preds, [{"boxes": [[1, 1, 5, 5]], "classes": [0]}] * 3, ncols=2)
    assert len([a for a in fig.axes if a.get_visible()]) == 3
    with pytest.raises(ValueError, match=r"predictions must have one entry per image \(3\); received 1"):
        viz.show_detection_grid(images, preds[:1])

    anchors = AnchorGenerator(levels=(2, 3), sizes=(8, 16), ratios=(0.5, 1.0, 2.0), scales=(1.0,))((32, 32))
    fig = viz.show_anchors((32, 32), anchors, highlight=[[0, 0, 4, 4]])
    ax = fig.axes[0]
    assert len(_rects(ax)) == 3 + 3 + 1  # one cell's anchors per level, plus the highlighted one
    assert len(ax.collections) == 2  # the centres of each level
    with pytest.raises(ValueError, match=r"anchors must be a dict"):
        viz.show_anchors((32, 32), np.zeros((4, 4)))

    gt = [{"boxes": [[0, 0, 10, 10], [20, 20, 30, 30]], "classes": [0, 1]}]
    metrics = evaluate([{"boxes": [[0, 0, 10, 10]], "classes": [0], "scores": [0.9]}], gt)
    fig = viz.plot_pr_curves(metrics)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), metrics.precision[0, :, 0])
    with pytest.raises(ValueError, match=r"iou_threshold must be one of"):
        viz.plot_pr_curves(metrics, iou_threshold=0.52)
    fig = viz.plot_ap_vs_iou(metrics, ax=plt.subplots()[1])
    assert len(fig.axes[0].get_lines()[0].get_xdata()) == 10


def test_draw_boxes_transparency_and_line_width():
    fig = viz.draw_boxes((16, 16), [[1, 1, 5, 5], [1, 1, 5, 6]], alpha=0.25, linewidth=0.8)
    rects = _rects(fig.axes[0])
    assert [r.get_alpha() for r in rects] == [0.25, 0.25]
    assert [r.get_linewidth() for r in rects] == [0.8, 0.8]
    assert _rects(viz.draw_boxes((16, 16), [[1, 1, 5, 5]]).axes[0])[0].get_alpha() == 1.0
    with pytest.raises(ValueError, match=r"alpha must be a number in \(0, 1\]; received 0"):
        viz.draw_boxes((16, 16), [[1, 1, 5, 5]], alpha=0)
    with pytest.raises(ValueError, match=r"linewidth must be a positive number; received -1"):
        viz.draw_boxes((16, 16), [[1, 1, 5, 5]], linewidth=-1)


def test_draw_keypoints_puts_dots_where_the_points_are():
    image = np.zeros((20, 30, 3), np.float32)
    points = np.array([[[2.0, 3.0], [10.0, 4.0]], [[20.0, 15.0], [25.0, 16.0]]])  # 2 objects x 2 points
    fig = viz.draw_boxes(image, [[1, 1, 12, 8], [18, 12, 28, 19]])
    same = viz.draw_keypoints(image, points, ax=fig.axes[0], names=["a", "b"])
    ax = fig.axes[0]
    assert same is fig and len(ax.images) == 1  # drawn over the boxes, the photo not drawn twice
    (dots,) = ax.collections
    np.testing.assert_allclose(dots.get_offsets(), points.reshape(-1, 2))
    assert [t.get_text() for t in ax.texts] == [" a", " b", " a", " b"]
    fig = viz.draw_keypoints(image, points[0], title="one object")  # (K, 2), a new figure
    assert len(fig.axes[0].collections[0].get_offsets()) == 2 and fig.axes[0].get_title() == "one object"
    with pytest.raises(ValueError, match=r"keypoints must have shape \(K, 2\) or \(N, K, 2\)"):
        viz.draw_keypoints(image, np.zeros((2, 3)))
    # A face detector that found nothing returns (0, 6, 2): the photo, no dots (notebook 05's LFW grid).
    fig = viz.draw_keypoints(image, np.zeros((0, 6, 2), np.float32))
    assert len(fig.axes[0].images) == 1 and len(fig.axes[0].collections[0].get_offsets()) == 0
    with pytest.raises(ValueError, match=r"keypoints must have shape"):
        viz.draw_keypoints(image, np.zeros((0, 0)))
    with pytest.raises(ValueError, match=r"names must have one entry per keypoint \(2\); received 1"):
        viz.draw_keypoints(image, points, names=["a"])
