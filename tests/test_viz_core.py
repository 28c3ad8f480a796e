import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnkit import viz


def test_show_image_new_figure_and_given_axes():
    fig = viz.show_image(np.full((8, 8, 3), 0.5), title="rgb")
    assert isinstance(fig, Figure) and fig.axes[0].get_title() == "rgb"
    own_fig, ax = plt.subplots()
    assert viz.show_image(np.full((8, 8, 1), 0.5), ax=ax) is own_fig
    assert ax.images[0].get_cmap().name == "gray"


def test_signed_image_is_centred_on_zero():
    fig = viz.show_image(np.array([[-1.0, 3.0]]), signed=True)
    image = fig.axes[0].images[0]
    assert image.get_clim() == (-3.0, 3.0)


def test_show_images_grid_titles_and_hidden_extras():
    fig = viz.show_images(np.zeros((5, 4, 4)), titles=list("abcde"), ncols=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 6 and len(visible) == 5
    assert [ax.get_title() for ax in visible] == list("abcde")


def test_show_images_into_given_axes():
    fig, axes = plt.subplots(1, 2)
    assert viz.show_images(np.zeros((2, 4, 4)), axes=axes) is fig
    with pytest.raises(ValueError, match=r"axes must hold at least 3 Axes for 3 panels; received 2"):
        viz.show_images(np.zeros((3, 4, 4)), axes=axes)


def test_show_kernel_writes_the_numbers():
    fig = viz.show_kernel(np.array([[1, 0, -1]] * 3))
    assert sorted(t.get_text() for t in fig.axes[0].texts) == sorted(["1", "0", "-1"] * 3)


def test_bar_chart_and_line_plot():
    fig = viz.bar_chart({"conv": 896, "dense": 3_145_856}, log=True, title="params")
    ax = fig.axes[0]
    assert len(ax.patches) == 2 and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.texts] == ["896", "3,145,856"]
    bins = viz.bar_chart({"0-30": 0.6, ">30": 0.9}, color="C0", xlabel="area (pixels)").axes[0]
    assert bins.get_xlabel() == "area (pixels)"
    assert bins.patches[0].get_facecolor() == bins.patches[1].get_facecolor()  # one quantity, one colour
    fig = viz.line_plot([1, 2, 3], {"a": [1, 2, 3], "b": [3, 2, 1]}, xlabel="x")
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_xlabel() == "x"
    outside = viz.line_plot([1, 2, 3], {"a": [1, 2, 3], "b": [3, 2, 1]}, legend="outside").axes[0].get_legend()
    same = viz.line_plot([1, 2], {"a": [1, 1], "b": [1, 1]}, distinct=True).axes[0].lines  # b lies on a
    assert same[0].get_marker() != same[1].get_marker() and same[0].get_linestyle() != same[1].get_linestyle()
    assert outside.get_bbox_to_anchor().x0 > viz.line_plot([1, 2, 3], {"a": [1, 2, 3], "b": [3, 2, 1]}).axes[0].bbox.x1 - 1
    ax = viz.line_plot([100, 1000], {"a": [0.5, 0.9]}, logx=True, chance=1 / 6).axes[0]
    assert ax.get_xscale() == "log" and ax.lines[-1].get_ydata()[0] == 1 / 6
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "chance"]


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: viz.show_image(np.zeros((2, 2, 2))), r"image must be an image of shape .* received an array of shape \(2, 2, 2\)"),
        (lambda: viz.show_images(np.zeros((2, 4, 4)), titles=["a"]), r"titles must be a list of names \(strings\), 2 of them or None; received \['a'\]"),
        (lambda: viz.show_kernel(np.zeros((3, 3, 1))), r"kernel must be a 2D kernel .* received an array of shape \(3, 3, 1\)"),
        (lambda: viz.bar_chart({}), r"non-empty"),
        (lambda: viz.line_plot([1, 2], {"a": [1]}), r"series\['a'\] must hold 2 numbers; received an array of shape \(1,\)"),
        (lambda: viz.line_plot([1], {"a": [1]}, legend="top"), r"legend must be one of .*received 'top'"),
    ],
)
def test_bad_inputs(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.parametrize("image, pattern", [
    (np.full((4, 4, 3), 200, np.uint8), r"image must be float images in \[0, 1\].*divide it by 255"),
    (np.linspace(0, 255, 48, dtype=np.float32).reshape(4, 4, 3), r"image must be images with values in \[0, 1\]; "
                                                                  r"received values from 0 to 255.*divide it by 255"),
    (np.full((4, 4), np.nan), r"image must contain finite numbers only"),
])
def test_show_image_refuses_0_255_colour_images_and_nan(image, pattern):
    with pytest.raises(ValueError, match=pattern):
        viz.show_image(image)
    plt.close("all")


def test_show_image_draws_grey_maps_and_masks_on_their_own_range():
    fig = viz.show_image(np.arange(16, dtype=np.int64).reshape(4, 4))  # a class-id mask, a summed feature map
    assert fig.axes[0].images[0].get_clim() == (0.0, 15.0)
    fig = viz.show_image(np.full((4, 4, 3), 1.05, np.float32))  # a small resize overshoot is clipped, not refused
    assert float(fig.axes[0].images[0].get_array().max()) == 1.0
    plt.close("all")


def test_grid_axes_refuses_more_panels_than_a_figure_can_hold():
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 1024\] \(panels of one figure: each is a "
                                         r"matplotlib Axes\); received 1000000\."):
        viz.grid_axes(10**6)
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 1024\]"):
        viz.grid_axes(0)
