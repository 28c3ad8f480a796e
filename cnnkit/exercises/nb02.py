"""Exercises of notebook 02, Pooling (``notebooks/02_pooling.ipynb``); solutions in ``solutions/02_pooling_solutions.ipynb``.

The pooling functions of 02.1 and 02.3 are run on hidden feature maps against
a reference; the variance lost in 02.2 is recomputed from the notebook's
photos (at the notebook's size, so quick mode agrees); the receptive fields of
02.4 and 02.5 are the values ``analysis.receptive_field`` computes (the tests
recompute them). The yes/no parts state facts the tests measure on other
photos and crops. The format and the recipe are in ``cnnkit.exercises`` and
CONTRIBUTING.md ("Exercises and solutions").
"""

from __future__ import annotations

import numpy as np

# From the private modules, not from the package, which imports this module (no import cycle).
from cnnkit import ops
from cnnkit.config import pick
from cnnkit.exercises._checkers import (
    describe,
    expect_close,
    expect_equal,
    expect_fields,
    expect_function,
)
from cnnkit.exercises._core import exercise, lazy, model_answer

PHOTOS = ("grace_hopper", "camera", "coffee", "chelsea")  # section 2's photos


def _yes_no(correct: bool, what: str):
    """A checker of a True/False answer (a measured fact; the tests measure it)."""

    def checker(answer):
        if not isinstance(answer, (bool, np.bool_)):
            raise AssertionError(f"Expected {what} as True or False. Received {describe(answer)}.")
        if bool(answer) != correct:
            raise AssertionError(f"Expected {what} to be what your measurement shows. Received {answer}.")
        return "correct"

    return checker


def _hidden_maps():
    rng = np.random.default_rng(202)  # not the notebook's data
    return [(rng.normal(size=(2, 13, 13, 4)).astype(np.float32),),
            (np.maximum(rng.normal(size=(1, 16, 16, 3)), 0).astype(np.float32),)]


# ---------------------------------------------------------------- 02.1 overlapping pooling


def overlapping_max_pool(maps):
    """Reference: AlexNet's 3×3 max pooling with stride 2 (valid padding)."""
    return ops.max_pool2d(np.asarray(maps), 3, 2, "valid")


exercise("02.1", title="Overlapping pooling", level=1, minutes=10,
         check=expect_fields({
             "pool": expect_function(overlapping_max_pool, lazy(_hidden_maps),
                                     what="your pooling (a layer or function of a batch of maps)"),
             "more_invariant": _yes_no(True, "whether it changes less than MaxPooling2D(2) under shifts of 1-4 px"),
         }),
         correct={"pool": overlapping_max_pool, "more_invariant": True},
         wrong={"pool": lambda maps: ops.max_pool2d(np.asarray(maps), 3, 3, "valid"), "more_invariant": False},
         hint="MaxPooling2D's strides default to its pool size: set strides=2 to make the 3×3 windows overlap. "
              "Compare the two change curves shift by shift.")


# ---------------------------------------------------------------- 02.2 mean and max


def blocks_of(image) -> np.ndarray:
    """All non-overlapping 2×2 blocks of a 2D image, one per row (as in section 2)."""
    h, w = image.shape
    return image.reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3).reshape(-1, 4).astype(np.float64)


def section2_blocks(size: int | None = None) -> np.ndarray:
    """The 2×2 blocks of section 2's four photos, at the notebook's size (256 px, 128 in quick mode)."""
    from cnnkit import data  # lazily: registering stays cheap

    size = pick(full=256, quick=128) if size is None else size
    return np.concatenate([blocks_of(data.load_image(name, size=size, gray=True)[..., 0]) for name in PHOTOS])


def lost_from(blocks: np.ndarray, summaries: list[np.ndarray]) -> float:
    """Fraction of the blocks' variance lost by the best affine reconstruction from the summaries."""
    design = np.hstack([*summaries, np.ones((len(blocks), 1))])
    fit, *_ = np.linalg.lstsq(design, blocks, rcond=None)
    return float(np.sum((blocks - design @ fit) ** 2) / np.sum((blocks - blocks.mean(axis=0)) ** 2))


def mean_and_max_lost() -> float:
    blocks = section2_blocks()
    return lost_from(blocks, [blocks.mean(axis=1, keepdims=True), blocks.max(axis=1, keepdims=True)])


def mean_only_lost() -> float:
    blocks = section2_blocks()
    return lost_from(blocks, [blocks.mean(axis=1, keepdims=True)])


exercise("02.2", title="What max pooling keeps", level=2, minutes=15,
         check=expect_fields({
             "lost": expect_close(lazy(mean_and_max_lost), rtol=1e-4,
                                  what="the fraction of the variance lost from the mean and the max"),
             "beats_two_filters": _yes_no(False, "whether mean and max lose less than two learned filters"),
         }),
         correct=lazy(lambda: {"lost": mean_and_max_lost(), "beats_two_filters": False}),
         wrong=lazy(lambda: {"lost": mean_only_lost(), "beats_two_filters": True}),
         hint="Fit the 4 pixels of each block by least squares from the columns [mean, max, 1] (np.linalg.lstsq), "
              "and give the loss as a fraction of the variance, like section 2's lost().")


# ---------------------------------------------------------------- 02.3 blur, then subsample


def blur_then_subsample(maps):
    """Reference: a 3×3 average with stride 1 and 'same' padding, then every second pixel."""
    return ops.avg_pool2d(np.asarray(maps), 3, 1, "same")[:, ::2, ::2, :]


exercise("02.3", title="Blur before you subsample", level=2, minutes=15,
         check=expect_fields({
             "blur_subsample": expect_function(blur_then_subsample, lazy(_hidden_maps), rtol=1e-5, atol=1e-5,
                                               what="your blur-then-subsample function"),
             "less_change_than_stride": _yes_no(True, "whether it changes less than 'stride 2' under shifts"),
         }),
         correct={"blur_subsample": blur_then_subsample, "less_change_than_stride": True},
         wrong={"blur_subsample": lambda maps: np.asarray(maps)[:, ::2, ::2, :], "less_change_than_stride": False},
         hint="AveragePooling2D(3, strides=1, padding='same') keeps the map's size; then slice [:, ::2, ::2, :]. "
              "Compare its change curve with the 'stride 2 (no pooling)' one.")


# ---------------------------------------------------------------- 02.4 receptive field by hand

def _expect_field(size: int, jump: int, start: int, of: str = ""):
    """The check of a receptive field answered as ``{"size": ..., "jump": ..., "start": ...}``."""
    return expect_fields({
        "size": expect_equal(size, what=f"the receptive field size{of}"),
        "jump": expect_equal(jump, what=f"the jump{of}"),
        "start": expect_equal(start, what=f"the start{of}"),
    })


exercise("02.4", title="Receptive field by hand", level=2, minutes=15,
         check=_expect_field(25, 4, -8),
         correct={"size": 25, "jump": 4, "start": -8}, wrong={"size": 17, "jump": 4, "start": -4},
         hint="Each layer adds (k_eff - 1) × jump to the field, with k_eff = d(k - 1) + 1 (dilation counts), "
              "and multiplies the jump by its stride; 'same' padding of p pixels moves the start by -p × jump.")


# ---------------------------------------------------------------- 02.5 ResNet-50

exercise("02.5", title="ResNet-50", level=2, minutes=15,
         check=_expect_field(483, 32, -241, of=" of conv5_block3_out"),
         correct={"size": 483, "jump": 32, "start": -241}, wrong={"size": 483, "jump": 32, "start": -239},
         hint="Read the row of conv5_block3_out in analysis.receptive_field(model), for Keras's ResNet50 "
              "(not a published table: the start depends on how each layer pads).")


# ---------------------------------------------------------------- 02.6 effective field with ReLU

model_answer(
    "02.6",
    "Yes. With random weights and ReLU, the gradient of the central unit with respect to the input "
    "(each pixel's influence) depends on the input and has both signs, so average its magnitude over "
    "many inputs. That average still peaks at the centre and falls off fast towards the border of the "
    "field: its spread grows roughly like √L (about ×1.5 per doubling of the depth), somewhat wider "
    "than the equal-weight linear stack's √(2L/3), while the field itself grows like 1 + 2L. Each ReLU "
    "cuts the paths through the units it switches off, but with several channels per layer almost "
    "every pixel of the field keeps some path, and counting paths still favours the centre. Luo et al. "
    "(2016) find the same Gaussian-like effective field in ReLU networks at initialisation.",
    title="Effective field with ReLU", level=3, minutes=30)
