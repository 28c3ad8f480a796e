"""cnnkit.viz.experiments: every seed and the mean +- std of repeated runs."""


import numpy as np
from matplotlib.figure import Figure

from cnnkit import viz
from cnnkit.experiments import Repeats


def fake(label, values, metric="test_accuracy"):
    """A Repeats with given per-seed values (no training)."""
    return Repeats(label, range(len(values)), [{metric: v} for v in values])


def test_plot_repeats_draws_every_seed_and_the_spread():
    results = {"flatten": fake("f", [0.970, 0.974, 0.978]), "GAP": fake("g", [0.983, 0.985, 0.987, 0.99])}
    fig = viz.plot_repeats(results, "test_accuracy")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    points = [c for c in ax.collections if c.get_offsets().shape[1] == 2 and len(c.get_offsets()) > 2]
    assert sorted(len(c.get_offsets()) for c in points) == [3, 4]
    np.testing.assert_allclose(sorted(points[0].get_offsets()[:, 1]), [0.970, 0.974, 0.978])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["flatten", "GAP"]
    assert ax.get_ylabel() == "test_accuracy"
    means = [bar.lines[0].get_ydata()[0] for bar in ax.containers]  # one error bar per result
    np.testing.assert_allclose(means, [0.974, np.mean([0.983, 0.985, 0.987, 0.99])])
    low, high = ax.containers[0].lines[2][0].get_segments()[0][:, 1]  # the bar spans mean ± std
    np.testing.assert_allclose([low, high], [0.974 - 0.004, 0.974 + 0.004])


def test_plot_repeats_uses_the_given_axes_and_one_seed():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert viz.plot_repeats([fake("only", [0.5])], ax=ax) is fig
