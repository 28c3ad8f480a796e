"""cnnkit.viz.inspect: filters, feature maps, Grad-CAM overlays, receptive fields and patches."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnkit import viz

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
    with pytest.raises(ValueError, match=r"received an array of shape \(3, 3\)"):
        viz.show_filters(np.zeros((3, 3)))


def test_show_feature_maps_one_panel_per_channel():
    maps = np.random.default_rng(0).random((6, 6, 5))
    fig = viz.show_feature_maps(maps, max_maps=4, title="conv1")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4 and [ax.get_title() for ax in visible] == ["0", "1", "2", "3"]
    with pytest.raises(ValueError, match=r"one feature map \(h, w, channels\); received an array of shape \(1, 6, 6, 5\)"):
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
    assert fig.axes[0].get_xlim() == (-0.5, 31.5)


def test_draw_receptive_fields_margin_shows_a_field_leaving_the_image():
    import keras

    from cnnkit import analysis

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 5, padding="same", name="c1"),
                              keras.layers.Conv2D(1, 5, padding="same", name="c2")])
    fig = viz.draw_receptive_fields(np.zeros((8, 8, 1)), analysis.receptive_field(model)["c2"], margin=3)
    ax = fig.axes[0]
    assert ax.get_xlim() == (-3.5, 10.5) and ax.get_ylim() == (10.5, -3.5)
    field = ax.patches[0]  # centre unit 4 sees pixels 0..8: 9 pixels, one beyond the 8-pixel image
    assert (field.get_x(), field.get_width()) == (-0.5, 9)
    with pytest.raises(ValueError, match=r"margin must be"):
        viz.draw_receptive_fields(np.zeros((8, 8, 1)), analysis.receptive_field(model)["c2"], margin=-1)


def test_show_patches_draws_the_grid_and_the_tokens():
    image = np.random.default_rng(0).random((16, 16, 3))
    fig = viz.show_patches(image, patch_size=4, max_patches=16)
    left, right = fig.axes[:2]
    assert len(left.lines) == 3 + 3  # the inner grid lines
    assert right.images[0].get_array().shape[:2] == (4, 16 * 5)  # 16 patches with a 1-pixel gap each
    with pytest.raises(ValueError, match=r"patch_size must divide the image's height and width .*; received 5"):
        viz.show_patches(image, patch_size=5)
    with pytest.raises(ValueError, match=r"image must be float images in \[0, 1\].*divide it by 255 first"):
        viz.show_patches((image * 255).astype(np.uint8), patch_size=4)
    assert viz.show_patches(image[..., 0], patch_size=8).axes[1].images[0].get_array().shape[:2] == (8, 4 * 9)
