"""The checks of notebook 01's exercises on the wrong answers a learner is likely to give.

The generic test in ``tests/test_exercises.py`` runs every check with its
registered correct and wrong examples; these add the other typical mistakes,
and the facts the checks rely on (the band widths of exercise 01.3, measured).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from exercise_helpers import check, rejected

from cnnkit import exercises, ops
from cnnkit.exercises import TODO, nb01
from cnnkit.exercises.nb01 import SOBEL_X, SOBEL_Y


def test_every_exercise_of_01_is_registered_in_order():
    assert [e.id for e in exercises.registered("01")] == [f"01.{k}" for k in range(1, 8)]
    assert exercises.REGISTRY.get("01.5").kind == exercises.MODEL_ANSWER


def test_diagonal_kernel_accepts_both_diagonals_and_any_scale():
    kernel = np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], dtype=np.float32)
    for answer in (kernel, -kernel, kernel[:, ::-1], 0.5 * kernel, kernel.tolist()):
        assert check("01.1", answer).startswith("✔ 01.1")


def test_diagonal_kernel_rejects_flat_responses_straight_edges_and_wrong_shapes():
    rejected("01.1", SOBEL_X + 1, "summing to zero")  # responds on flat regions
    rejected("01.1", SOBEL_Y, "diagonal step edge")
    rejected("01.1", np.zeros((3, 3)), "kernel of zeros")
    rejected("01.1", np.ones((5, 5)), r"shape \(3, 3\)")
    rejected("01.1", "diagonal", "array of numbers")


def test_diagonal_response_ratio_of_sobel_x_is_below_the_bar():
    responses = nb01.edge_responses(SOBEL_X.astype(np.float64))
    assert responses["vertical"] > responses["45° diagonal"] > 0  # Sobel x prefers vertical edges


def test_dilation_sizes_follow_the_formula_and_reject_the_undilated_size():
    sizes = {f"dilation_{d}": ops.conv_output_size(128, 3, 1, "valid", d) for d in (2, 3)}
    assert check("01.2", sizes).startswith("✔ 01.2")
    message = rejected("01.2", {"dilation_2": 126, "dilation_3": 126}, "2 of 2 parts are wrong")
    assert str(sizes["dilation_2"]) not in message and str(sizes["dilation_3"]) not in message
    assert check("01.2", {"dilation_2": 124, "dilation_3": TODO}) == "01.2: not answered yet (still TODO: dilation_3)\n"


def _shift(img, dy, dx):
    out = np.zeros_like(img)
    h, w = img.shape[:2]
    out[dy:, dx:] = img[: h - dy, : w - dx]
    return out


@pytest.mark.parametrize("padding, widths", [("same", (2, 2)), ("valid", (4, 0))])
def test_band_widths_of_exercise_01_3_are_what_a_measurement_gives(padding, widths):
    rng = np.random.default_rng(3)
    image = rng.uniform(size=(1, 40, 40, 1)).astype(np.float32)
    kernel = rng.normal(size=(5, 5, 1, 1)).astype(np.float32)
    conv = lambda x: ops.conv2d_im2col(x, kernel, padding=padding)  # noqa: E731
    difference = np.abs(conv(_shift(image[0], 7, 4)[None]) - _shift(conv(image)[0], 7, 4)[None])[0, :, :, 0]
    rows = np.flatnonzero(difference[:, difference.shape[1] // 2] > 1e-5)
    half = difference.shape[0] // 2
    assert (int(np.sum(rows < half)), int(np.sum(rows >= half))) == widths
    if padding == "valid":
        assert check("01.3", {"shifted_in_side": widths[0], "opposite_side": widths[1]}).startswith("✔ 01.3")
    else:  # the same-padding widths are the typical wrong answer
        rejected("01.3", {"shifted_in_side": widths[0], "opposite_side": widths[1]}, "parts are wrong")


def test_circular_conv_rejects_a_flipped_kernel_and_an_error_inside_it():
    def convolves(image, kernel):  # flips the kernel: a true convolution
        r = kernel.shape[0] // 2
        return scipy.signal.convolve2d(np.pad(image, r, mode="wrap"), kernel, mode="valid")

    rejected("01.4", convolves, "hidden inputs")
    rejected("01.4", lambda image, kernel: image[10**6], "raised IndexError", received=False)
    assert check("01.4", lambda image, kernel: TODO) == "01.4: not answered yet\n"


def test_two_filters_reject_an_untrained_model_and_a_model_with_one_output():
    import keras

    untrained = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(2, 3, padding="same", use_bias=False)])
    rejected("01.6", {"model": untrained, "params": 18}, "relative errors")
    one = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(1, 3, padding="same", use_bias=False)])
    rejected("01.6", {"model": one, "params": 18}, "two output maps")
    rejected("01.6", {"model": "a model", "params": 18}, "keras Model")


def test_two_filters_accept_a_model_for_any_input_size():
    import keras

    model = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(2, 3, padding="same", use_bias=False)])
    model.layers[0].set_weights([np.stack([SOBEL_X, SOBEL_Y], axis=-1)[:, :, None, :]])
    assert check("01.6", {"model": model, "params": 18}).startswith("✔ 01.6")


def test_colour_filter_rejects_white_and_yellow_responders_and_accepts_a_trailing_axis():
    red_only = np.stack([np.ones((3, 3)), -np.ones((3, 3)), -np.ones((3, 3))], axis=-1) / 9
    assert check("01.7", red_only[..., None]).startswith("✔ 01.7")
    rejected("01.7", np.stack([np.ones((3, 3)), -np.ones((3, 3)), np.zeros((3, 3))], axis=-1), "magenta")
    rejected("01.7", -red_only, "positive response inside a red patch")
    rejected("01.7", red_only[:, :, :2], r"shape \(3, 3, 3\)")
