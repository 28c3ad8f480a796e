"""Plots of notebook 04: pyramid maps, gradient norms, cost vs accuracy."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnkit.viz.backbones import plot_gradient_norms, plot_tradeoff, show_pyramid


def test_show_pyramid_draws_each_level_over_the_image_extent():
    image = np.random.default_rng(0).random((32, 32, 3))
    maps = {"P2": np.ones((1, 8, 8, 4)), "P3": np.arange(16.0).reshape(4, 4, 1)}
    fig = show_pyramid(image, maps)
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 3
    assert axes[1].get_title() == "P2: 8x8x4\nstride 4" and axes[2].get_title() == "P3: 4x4x1\nstride 8"
    assert axes[2].images[0].get_extent() == [0, 32, 32, 0]
    np.testing.assert_allclose(axes[2].images[0].get_array(), np.arange(16.0).reshape(4, 4))  # rms of one channel


def test_show_pyramid_max_reduction_and_errors():
    fig = show_pyramid(np.zeros((8, 8, 3)), {"P1": np.stack([np.zeros((4, 4)), np.full((4, 4), -2.0)], -1)},
                       reduce="max")
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"reduce must be one of \('energy', 'max'\); received 'mean'"):
        show_pyramid(np.zeros((8, 8, 3)), {"P1": np.zeros((4, 4, 1))}, reduce="mean")
    with pytest.raises(ValueError, match=r"maps\['P1'\] must be \(H, W, C\).*received shape \(4, 4\)"):
        show_pyramid(np.zeros((8, 8, 3)), {"P1": np.zeros((4, 4))})
    with pytest.raises(ValueError, match=r"non-empty"):
        show_pyramid(np.zeros((8, 8, 3)), {})


def test_plot_gradient_norms_uses_a_log_axis_and_accepts_given_axes():
    fig, ax = plt.subplots()
    assert plot_gradient_norms({"plain": [1e-3, 1e-1], "residual": [0.5, 0.4, 0.3]}, ax=ax) is fig
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [1, 2, 3])
    with pytest.raises(ValueError, match=r"norms\['bad'\] must be a 1D sequence of positive numbers"):
        plot_gradient_norms({"bad": [0.0, 1.0]})


def test_plot_tradeoff_labels_every_point():
    rows = [{"model": "a", "macs": 1e6, "accuracy": 0.5}, {"model": "b", "macs": 1e7, "accuracy": 0.9}]
    fig = plot_tradeoff(rows)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["a", "b"] and ax.get_xscale() == "log"
    np.testing.assert_allclose(ax.collections[0].get_offsets(), [[1e6, 0.5], [1e7, 0.9]])
    with pytest.raises(ValueError, match=r"rows must all have the keys 'latency_ms'.*received row 0 without \['latency_ms'\]"):
        plot_tradeoff(rows, x="latency_ms")


def test_show_pyramid_titles_the_level_stride_not_the_rounded_size_ratio():
    # 48 px is not a multiple of 32: P5's map is ceil(48 / 32) = 2 rows, at stride 32 (not 48 / 2 = 24).
    fig = show_pyramid(np.zeros((48, 48, 3)), {"P5": np.ones((2, 2, 8)), "deep": np.ones((3, 3, 1))})
    assert fig.axes[1].get_title() == "P5: 2x2x8\nstride 32"
    assert fig.axes[2].get_title() == "deep: 3x3x1\nimage/map 16"  # a name that is no level: the ratio, said so


def test_plot_tradeoff_takes_readable_axis_labels():
    rows = [{"model": "a", "mmacs": 1.0, "accuracy": 0.5}, {"model": "b", "mmacs": 10.0, "accuracy": 0.9}]
    ax = plot_tradeoff(rows, x="mmacs", xlabel="MMACs per image", ylabel="test accuracy").axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("MMACs per image", "test accuracy")
    assert plot_tradeoff(rows, x="mmacs").axes[0].get_xlabel() == "mmacs"
