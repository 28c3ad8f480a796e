"""cnnkit.viz.training: training curves, the confusion matrix and predictions, on the right axes with the right content."""

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


def test_plot_histories_one_colour_per_model_one_line_per_seed_and_a_chance_line():
    short = {"accuracy": [0.3, 0.6], "val_accuracy": [0.2, 0.5]}
    fig = viz.plot_histories({"CNN": [HISTORY, short], "ViT": [short]}, chance=0.25)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 * 2 + 2 + 1  # train + validation per seed, and the chance line
    assert ax.lines[0].get_color() == ax.lines[3].get_color() != ax.lines[4].get_color()
    np.testing.assert_array_equal(ax.lines[3].get_ydata(), short["val_accuracy"])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["CNN, train", "CNN, validation", "ViT, train", "ViT, validation", "chance"]
    assert ax.lines[-1].get_ydata()[0] == 0.25
    with pytest.raises(ValueError, match="'top5' is not in the history of 'CNN'"):
        viz.plot_histories({"CNN": [HISTORY]}, metric="top5")
    with pytest.raises(ValueError, match="non-empty"):
        viz.plot_histories({})


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
        (lambda: viz.plot_history(HISTORY, metrics=["f1"]), r"metrics must be in the history .*; received \['f1'\]"),
        (lambda: viz.plot_confusion_matrix(np.zeros((2, 3))), r"square .* received shape \(2, 3\)"),
        (lambda: viz.plot_confusion_matrix(np.zeros((2, 2)), ["a"]), r"class_names must be a list of names \(strings\), 2 of them.*; received \["),
        (lambda: viz.show_predictions(np.zeros((2, 4, 4)), [0], [0, 1]), r"same length; received 2, 1 and 2"),
    ],
)
def test_bad_inputs(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
