"""cnnkit.viz training and inspection plots: figures produced, on the right axes, with the right content."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnkit import viz

HISTORY = {"loss": [1.0, 0.6, 0.5], "val_loss": [1.1, 0.7, 0.8], "accuracy": [0.5, 0.8, 0.9],
           "val_accuracy": [0.4, 0.7, 0.75]}


def test_plot_history_one_panel_per_metric_train_and_validation():
    fig = viz.plot_history(HISTORY)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    loss_ax = fig.axes[0]
    assert [line.get_label() for line in loss_ax.lines] == ["train", "validation"]
    np.testing.assert_array_equal(loss_ax.lines[1].get_ydata(), HISTORY["val_loss"])
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [1, 2, 3])  # epochs counted from 1


def test_plot_history_marks_the_best_epoch_and_uses_given_axes():
    class Fake:
        history = HISTORY
        best_epoch = 2

    fig, axes = plt.subplots(1, 2)
    assert viz.plot_history(Fake(), axes=axes) is fig
    assert "best epoch 2" in [line.get_label() for line in axes[0].lines]
    fig = viz.plot_history(HISTORY, metrics=["accuracy"])
    assert len(fig.axes) == 1


def test_plot_confusion_matrix_counts_and_fractions():
    cm = np.array([[5, 1], [0, 4]])
    fig = viz.plot_confusion_matrix(cm, ["cat", "dog"])
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["1", "4", "5"]  # zeros off the diagonal are left blank
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    fig = viz.plot_confusion_matrix(cm, normalize=True)
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["0.17", "0.83", "1.00"]
    _, own = plt.subplots()
    assert viz.plot_confusion_matrix(cm, ax=own) is own.figure


def test_show_predictions_colours_wrong_titles():
    images = np.zeros((3, 8, 8, 1))
    fig = viz.show_predictions(images, [0, 1, 2], [0, 2, 2], class_names=["a", "b", "c"])
    titles = [ax.title for ax in fig.axes if ax.get_visible()]
    assert [t.get_text() for t in titles] == ["a", "c (true b)", "c"]
    assert [t.get_color() for t in titles] == ["tab:green", "tab:red", "tab:green"]


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: viz.plot_history({}), r"history must be .* received dict"),
        (lambda: viz.plot_history(HISTORY, metrics=["f1"]), r"metrics \['f1'\] are not in the history"),
        (lambda: viz.plot_confusion_matrix(np.zeros((2, 3))), r"square .* received shape \(2, 3\)"),
        (lambda: viz.plot_confusion_matrix(np.zeros((2, 2)), ["a"]), r"class_names must have 2 entries; received 1"),
        (lambda: viz.show_predictions(np.zeros((2, 4, 4)), [0], [0, 1]), r"same length; received 2, 1 and 2"),
    ],
)
def test_bad_inputs(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# ---------------------------------------------------------------- filters, feature maps, Grad-CAM, receptive fields


def test_show_filters_colour_and_grey():
    import keras

    rgb = np.random.default_rng(0).normal(size=(3, 3, 3, 10))
    fig = viz.show_filters(rgb, max_filters=6, ncols=3)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 6
    image = shown[0].images[0].get_array()
    assert image.shape == (3, 3, 3) and image.min() == 0 and image.max() == 1  # each filter stretched to [0, 1]
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 5, name="first")])
    fig = viz.show_filters(model)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 4 and "first" in fig._suptitle.get_text()
    assert fig.axes[0].images[0].get_clim()[0] == -fig.axes[0].images[0].get_clim()[1]  # signed, centred on 0
    with pytest.raises(ValueError, match=r"received shape \(3, 3\)"):
        viz.show_filters(np.zeros((3, 3)))


def test_show_feature_maps_one_panel_per_channel():
    maps = np.random.default_rng(0).random((6, 6, 5))
    fig = viz.show_feature_maps(maps, max_maps=4, title="conv1")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4 and [ax.get_title() for ax in visible] == ["0", "1", "2", "3"]
    with pytest.raises(ValueError, match=r"one feature map \(h, w, channels\); received shape \(1, 6, 6, 5\)"):
        viz.show_feature_maps(maps[None])


def test_show_grad_cam_overlays_the_map_on_the_image():
    image = np.zeros((16, 16, 3))
    fig = viz.show_grad_cam(image, np.eye(4), title="cat")
    ax = fig.axes[0]
    assert len(ax.images) == 2 and ax.get_title() == "cat"
    assert ax.images[1].get_extent() == [-0.5, 15.5, 15.5, -0.5]  # the 4x4 map covers the whole image
    _, own = plt.subplots()
    assert viz.show_grad_cam(image, np.eye(4), ax=own) is own.figure
    with pytest.raises(ValueError, match=r"2D heat map"):
        viz.show_grad_cam(image, np.zeros((1, 4, 4)))


def test_draw_receptive_fields_places_the_rectangles():
    import keras

    from cnnkit import analysis

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(2, 3, padding="same", name="c1"),
                              keras.layers.MaxPooling2D(2, name="p1"), keras.layers.Conv2D(2, 3, padding="same", name="c2")])
    rf = analysis.receptive_field(model)
    fig = viz.draw_receptive_fields(np.zeros((32, 32, 3)), [rf["c1"], rf["c2"]])
    patches = fig.axes[0].patches
    # c1's centre unit 16 sees pixels 15..17. c2's centre unit 8 sees pooled units 7..9, i.e. c1 units
    # 14..19, i.e. pixels 13..20: 8 pixels from 13 (rectangles start half a pixel before).
    assert [(p.get_x(), p.get_y(), p.get_width()) for p in patches] == [(14.5, 14.5, 3), (12.5, 12.5, 8)]
    assert [p.get_label() for p in patches] == ["c1: 3x3", "c2: 8x8"]
