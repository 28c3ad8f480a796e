"""cnnkit.viz.video: filmstrips, space-time slices, GIFs, temporal filters and saliency plots."""

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnkit import data, viz


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


# ---------------------------------------------------------------- plots and animation


def test_filmstrip_one_row_per_clip():
    clips = rand(3, 6, 8, 8, 1).clip(0, 1)
    fig = viz.show_filmstrip(clips, row_titles=["a", "b", "c"], frame_step=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert isinstance(fig, Figure) and len(visible) == 9
    assert [ax.get_title() for ax in visible[:3]] == ["t=0", "t=2", "t=4"]
    assert [visible[i].get_ylabel() for i in (0, 3, 6)] == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"Expected a clip \(T, H, W, C\) or a batch of clips"):
        viz.show_filmstrip(np.zeros((8, 8)))


def test_space_time_slice_turns_motion_into_a_slanted_line():
    clip, label, _ = data.make_motion_clips(num_samples=1, frames=6, image_size=16, num_dots=1, speed=2.0,
                                            num_directions=2, seed=0)  # one dot, right or left
    xt = viz.space_time_slice(clip[0], axis="x")
    assert xt.shape == (6, 16)
    step = (np.diff(xt.argmax(axis=1)) + 8) % 16 - 8  # the dot's x position frame to frame
    assert np.all(step == (2 if label[0] == 0 else -2))
    assert isinstance(viz.show_space_time(clip[0], axis="y"), Figure)


def test_gif_has_one_image_per_frame_and_clips_side_by_side():
    from PIL import Image

    clips = np.zeros((2, 5, 8, 8, 1), np.float32)
    for t in range(5):
        clips[:, t, 2, t] = 1.0  # a dot moving right (identical frames would be merged by the GIF writer)
    gif = viz.clip_to_gif(clips, fps=5, scale=2, gap=2)
    image = Image.open(io.BytesIO(gif))
    assert gif[:6] == b"GIF89a" and image.n_frames == 5
    assert image.size == ((8 + 2 + 8) * 2, 8 * 2)
    assert image.info["duration"] == 200 and len(gif) < 5_000
    html = viz.animate_clips(clips, labels=["right", "<left>"]).data
    assert html.startswith("<img src='data:image/gif;base64,") and "right | &lt;left&gt;" in html


def test_temporal_filters_and_saliency_plots():
    fig = viz.show_temporal_filters(rand(3, 3, 3, 2, 10), max_filters=4)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 12 and [ax.get_title() for ax in visible[:4]] == [f"filter {f}" for f in range(4)]
    assert [visible[i].get_ylabel() for i in (0, 4, 8)] == ["t=0", "t=1", "t=2"]
    with pytest.raises(ValueError, match=r"Expected a Conv3D kernel"):
        viz.show_temporal_filters(rand(3, 3, 2, 10))
    kernel = rand(3, 3, 3, 1, 10)
    fig = viz.show_temporal_filters(kernel, filters=[7, 2], titles=["right", "up"])
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 6 and [ax.get_title() for ax in visible[:2]] == ["right", "up"]
    np.testing.assert_array_equal(visible[0].images[0].get_array(), kernel[0, :, :, 0, 7])  # the chosen filter
    with pytest.raises(ValueError, match=r"filters must be"):
        viz.show_temporal_filters(kernel, filters=[10])
    with pytest.raises(ValueError, match=r"titles must have one entry per shown filter \(2\); received 1"):
        viz.show_temporal_filters(kernel, filters=[1, 2], titles=["a"])
    fig = viz.plot_temporal_saliency(np.abs(rand(5, 8)), window=(2, 5), title="s")
    assert isinstance(fig, Figure) and len(fig.axes[0].patches) >= 8
