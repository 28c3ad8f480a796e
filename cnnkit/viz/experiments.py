"""Plots of repeated runs: every seed's value and the mean ± standard deviation."""

from __future__ import annotations

import math

import numpy as np

from cnnkit.experiments import by_name
from cnnkit.viz.core import new_axes

SEED_COLOR = "tab:blue"
MEAN_COLOR = "black"


def plot_repeats(results, metric: str | None = None, ax=None, title: str | None = None, figsize=None):
    """Draw one column per result: a dot per seed, and the mean with a ±1 std bar.

    Args:
        results: ``{name: Repeats}`` or a sequence of :class:`cnnkit.experiments.Repeats`
            (named by their labels), e.g. from ``experiments.repeat``.
        metric: the metric to draw (may be omitted when each result has only one).
        ax: an existing Axes, or ``None`` for a new figure.
        title: the axes title (default: ``"<metric>: mean ± std over seeds"``).
        figsize: size of a new figure (default: grows with the number of results).

    Returns:
        The Figure.

    Example:
        >>> fig = viz.plot_repeats({"flatten": flat, "GAP": gap}, "test_accuracy")   # doctest: +SKIP
    """
    named = by_name(results)
    summaries = {name: r.summary(metric) for name, r in named.items()}
    metric = next(iter(summaries.values())).metric
    fig, ax = new_axes(ax, figsize or (max(2.8, 1.0 + 1.1 * len(summaries)), 3.0))
    for i, s in enumerate(summaries.values()):
        offsets = np.linspace(-0.12, 0.12, s.n) if s.n > 1 else np.zeros(1)
        ax.scatter(i + offsets, s.values, s=18, color=SEED_COLOR, alpha=0.7, zorder=2,
                   label="one seed" if i == 0 else None)
        spread = s.std if math.isfinite(s.std) else 0.0
        ax.errorbar([i + 0.3], [s.mean], yerr=[spread], fmt="_", markersize=12, color=MEAN_COLOR,
                    capsize=4, zorder=3, label="mean ± std" if i == 0 else None)
    ax.set_xticks(range(len(summaries)), list(summaries), fontsize=8)
    ax.set_xlim(-0.5, len(summaries) - 0.2)
    ax.set_ylabel(metric, fontsize=9)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(title or f"{metric}: mean ± std over seeds", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    ax.grid(axis="y", alpha=0.3)
    return fig
