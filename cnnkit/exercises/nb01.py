"""Exercises of notebook 01, Convolution (``notebooks/01_convolution.ipynb``); solutions in ``solutions/01_convolution_solutions.ipynb``.

Every check works by a property or on hidden inputs, so no message prints a
correct answer: a diagonal-edge kernel is run on edges of four orientations, a
circular convolution on hidden images, two learned filters on hidden noise, a
colour filter on plain colour patches. The format and the recipe are in
``cnnkit.exercises`` and CONTRIBUTING.md ("Exercises and solutions").
"""

from __future__ import annotations

import numpy as np
import scipy.signal

# From the private modules, not from the package, which imports this module (no import cycle).
from cnnkit import ops
from cnnkit.exercises._checkers import describe, expect_equal, expect_fields, expect_function
from cnnkit.exercises._core import exercise, lazy, model_answer

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
SOBEL_Y = SOBEL_X.T.copy()


# ---------------------------------------------------------------- 01.1 diagonal edges


def _kernel(answer, shape: tuple, what: str) -> np.ndarray:
    """The answer as a float array of ``shape`` (a trailing axis of 1 is dropped), or an AssertionError."""
    try:
        kernel = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"Expected {what} as an array of numbers of shape {shape}. "
                             f"Received {describe(answer)}.") from None
    if kernel.shape == (*shape, 1):
        kernel = kernel[..., 0]
    if kernel.shape != shape:
        raise AssertionError(f"Expected {what} as an array of shape {shape}. Received shape {kernel.shape}.")
    if not np.all(np.isfinite(kernel)):
        raise AssertionError(f"Expected {what} with finite weights. Received weights that include nan or inf.")
    return kernel


def step_edges(size: int = 15) -> dict[str, np.ndarray]:
    """Unit-contrast step edges through the centre of a ``size``×``size`` image, by orientation of the edge line."""
    i, j = np.mgrid[:size, :size] - size // 2
    return {"vertical": (j > 0), "horizontal": (i > 0),
            "45° diagonal": (i + j > 0), "135° diagonal": (j - i > 0)}


def edge_responses(kernel) -> dict[str, float]:
    """The strongest absolute response of a 3×3 kernel (as Conv2D computes it) to each step edge."""
    return {name: float(np.abs(scipy.signal.correlate2d(edge.astype(np.float64), kernel, mode="valid")).max())
            for name, edge in step_edges().items()}


DIAGONAL_RATIO = 1.2  # how much more strongly a diagonal-edge detector must answer a diagonal edge


@exercise("01.1", title="Diagonal edges", level=1, minutes=10,
          correct=np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], dtype=np.float32),
          wrong=SOBEL_X.copy(),
          hint="Sobel x compares the column left of the centre with the column right of it; compare "
               "the two sides of a diagonal instead, and keep the weights summing to zero.")
def _(answer):
    kernel = _kernel(answer, (3, 3), "the diagonal-edge kernel")
    scale = float(np.abs(kernel).max())
    if scale == 0:
        raise AssertionError("Expected a kernel that responds to edges. Received a kernel of zeros.")
    if abs(kernel.sum()) > 1e-6 * scale:
        raise AssertionError("Expected no response on flat regions (weights summing to zero). "
                             f"Received weights summing to {kernel.sum():.3g}, so a flat region of "
                             "brightness 1 gives that much response.")
    responses = edge_responses(kernel)
    diagonal = max(responses["45° diagonal"], responses["135° diagonal"])
    straight = max(responses["vertical"], responses["horizontal"])
    if diagonal <= DIAGONAL_RATIO * straight:
        raise AssertionError(
            f"Expected a response to a diagonal step edge more than {DIAGONAL_RATIO:g} times the response "
            "to a vertical or horizontal edge of the same contrast. Received "
            + ", ".join(f"{name} {value:.3g}" for name, value in responses.items()) + ".")
    return (f"diagonal edge response {diagonal:.3g}, vertical or horizontal at most {straight:.3g}, "
            "zero on flat regions")


# ---------------------------------------------------------------- 01.2 dilation

exercise("01.2", title="Dilation", level=1, minutes=10,
         check=expect_fields({
             "dilation_2": expect_equal(lazy(lambda: ops.conv_output_size(128, 3, 1, "valid", 2)),
                                        what="the valid output size with dilation 2"),
             "dilation_3": expect_equal(lazy(lambda: ops.conv_output_size(128, 3, 1, "valid", 3)),
                                        what="the valid output size with dilation 3"),
         }),
         correct={"dilation_2": 124, "dilation_3": 122}, wrong={"dilation_2": 126, "dilation_3": 122},
         hint="A 3×3 kernel with dilation d spans k_eff = (k - 1)·d + 1 pixels; a valid convolution "
              "has n - k_eff + 1 positions.")


# ---------------------------------------------------------------- 01.3 padding and equivariance

exercise("01.3", title="Padding and equivariance", level=2, minutes=15,
         check=expect_fields({
             "shifted_in_side": expect_equal(4, what="the band width (pixels) on the side the zeros were shifted in"),
             "opposite_side": expect_equal(0, what="the band width (pixels) on the opposite side"),
         }),
         correct={"shifted_in_side": 4, "opposite_side": 0}, wrong={"shifted_in_side": 2, "opposite_side": 2},
         hint="Count the rows of |difference| that are not zero, from the top and from the bottom. "
              "With valid padding, which output pixels see a zero that the other order did not?")


# ---------------------------------------------------------------- 01.4 circular shifts


def circular_correlation(image, kernel):
    """Reference: 'same'-size cross-correlation of a 2D image with an odd kernel, padding by wrapping around."""
    image, kernel = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    return scipy.signal.correlate2d(np.pad(image, ((ry, ry), (rx, rx)), mode="wrap"), kernel, mode="valid")


def _hidden_images():
    rng = np.random.default_rng(101)  # not the notebook's data
    return [(rng.normal(size=(9, 11)).astype(np.float32), rng.normal(size=(3, 3)).astype(np.float32)),
            (rng.uniform(size=(12, 10)).astype(np.float32), rng.normal(size=(5, 5)).astype(np.float32))]


exercise("01.4", title="Circular shifts", level=2, minutes=20,
         check=expect_function(circular_correlation, lazy(_hidden_images), rtol=1e-4, atol=1e-4,
                               what="circular_conv(image, kernel) (a same-size output, padded by wrapping around)"),
         correct=circular_correlation,
         wrong=lambda image, kernel: scipy.signal.correlate2d(image, kernel, mode="same"),
         hint="np.pad(image, radius, mode='wrap') copies the opposite border into the padding; then a valid "
              "correlation (what Conv2D computes, no kernel flip) gives back the input's size.")


# ---------------------------------------------------------------- 01.5 learning from a photo

model_answer(
    "01.5",
    "More slowly: after the same number of steps the kernel is still far from Sobel x. On noise, "
    "every pixel is independent of its neighbours, so every change of the 9 weights (apart from the "
    "direction of the mean brightness) changes the output by about as much: the loss is a nearly "
    "round bowl. Neighbouring pixels of a photo are almost equal, so moving weight from one tap to "
    "its neighbour hardly changes the output: the loss is a long, flat valley. Its Hessian, the "
    "second-moment matrix of the 3×3 patches, has several tiny eigenvalues (far smaller than any "
    "of the noise's), gradient descent crawls along those flat directions, and they are exactly the "
    "fine differences between neighbouring taps that tell Sobel x from other kernels. Examples rich "
    "in every local pattern (noise, or many varied images) make a filter easy to identify.",
    title="Learning from a photo", level=2, minutes=20)


# ---------------------------------------------------------------- 01.6 learning two filters


def _hidden_noise(shape):
    rng = np.random.default_rng(202)
    return rng.uniform(size=(4, *shape)).astype(np.float32)


def _two_filter_model(answer) -> str:
    import keras

    if not isinstance(answer, keras.Model):
        raise AssertionError(f"Expected the trained model as a keras Model. Received {describe(answer)}.")
    if not answer.built:
        raise AssertionError("Expected the trained model built (start it with keras.Input). "
                             "Received a model that has no weights yet.")
    shape = tuple(answer.input_shape[1:])
    if len(shape) != 3 or shape[-1] != 1:
        raise AssertionError(f"Expected a model taking grey images (H, W, 1). Received input shape {shape}.")
    shape = tuple(32 if s is None else int(s) for s in shape)
    x = _hidden_noise(shape)
    out = np.asarray(keras.ops.convert_to_numpy(answer(x)), dtype=np.float64)
    if out.shape != (*x.shape[:3], 2):
        raise AssertionError(f"Expected two output maps of the input's size, {(*x.shape[1:3], 2)}. "
                             f"Received an output of shape {out.shape[1:]}.")
    wanted = [ops.conv2d_im2col(x, k[:, :, None, None], padding="same")[..., 0] for k in (SOBEL_X, SOBEL_Y)]
    errors = [float(np.abs(out[..., c] - w).max() / np.abs(w).max()) for c, w in enumerate(wanted)]
    if max(errors) > 0.01:
        raise AssertionError("Expected channel 0 to compute Sobel x and channel 1 Sobel y on 4 hidden noise "
                             "images, to 1% of the largest response. Received relative errors of "
                             f"{errors[0]:.3g} (channel 0) and {errors[1]:.3g} (channel 1).")
    return "channel 0 is Sobel x and channel 1 Sobel y on hidden noise"


def _two_filters(kernels):
    """A model with the two filters set by hand (the tests' example answers)."""
    import keras

    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(2, 3, padding="same", use_bias=False)])
    model.layers[0].set_weights([np.stack(kernels, axis=-1)[:, :, None, :]])
    return model


exercise("01.6", title="Learning two filters", level=2, minutes=15,
         check=expect_fields({"model": _two_filter_model,
                              "params": expect_equal(3 * 3 * 1 * 2, what="the number of parameters")}),
         correct=lazy(lambda: {"model": _two_filters([SOBEL_X, SOBEL_Y]), "params": 18}),
         wrong=lazy(lambda: {"model": _two_filters([SOBEL_Y, SOBEL_X]), "params": 20}),
         hint="Train on targets with two channels, np.stack([response_x, response_y], axis=-1); "
              "count 3 × 3 weights per input channel and per filter (no bias).")


# ---------------------------------------------------------------- 01.7 colour

COLOURS = {"red": (1, 0, 0), "green": (0, 1, 0), "blue": (0, 0, 1), "yellow": (1, 1, 0),
           "magenta": (1, 0, 1), "cyan": (0, 1, 1), "white": (1, 1, 1), "grey": (0.5, 0.5, 0.5),
           "black": (0, 0, 0)}


def colour_responses(kernel) -> dict[str, float]:
    """The response of a 3×3×3 kernel inside a plain patch of each colour (RGB in [0, 1])."""
    return {name: float(np.einsum("ijc,c->", kernel, np.asarray(rgb, dtype=np.float64)))
            for name, rgb in COLOURS.items()}


@exercise("01.7", title="Colour", level=2, minutes=15,
          correct=np.stack([np.full((3, 3), 1.0), np.full((3, 3), -1.0), np.full((3, 3), -1.0)], axis=-1) / 9,
          wrong=np.stack([np.full((3, 3), 1.0), np.zeros((3, 3)), np.zeros((3, 3))], axis=-1) / 9,
          hint="A filter that only adds up the red slice also fires on white, yellow and magenta: "
               "what should the green and blue slices do?")
def _(answer):
    kernel = _kernel(answer, (3, 3, 3), "the colour filter (k_h, k_w, channels)")
    responses = colour_responses(kernel)
    red = responses.pop("red")
    if red <= 0:
        raise AssertionError(f"Expected a positive response inside a red patch. Received {red:.3g}.")
    too_strong = {name: value for name, value in responses.items() if value > 0.5 * red}
    if too_strong:
        raise AssertionError(
            "Expected a response to every other colour at most half the response to red. Received "
            f"red {red:.3g}, and " + ", ".join(f"{name} {value:.3g}" for name, value in too_strong.items()) + ".")
    return f"red patches give {red:.3g}; every other colour at most half of that"
