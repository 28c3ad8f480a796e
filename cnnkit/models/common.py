"""What every backbone family shares: the input, the pyramid marks, the classification head, rounding.

A backbone is a functional ``keras.Model``. While it is built, a
:class:`PyramidMarker` follows the total stride; just before each downsampling
step it passes the current feature map through ``keras.layers.Identity(name="P{k}")``
(stride ``2**k``), and :meth:`PyramidMarker.finish` marks the last one. Those
names are what :func:`cnnkit.models.pyramid_outputs` finds, so detection and
segmentation heads plug into any family.
"""

from __future__ import annotations

import math

import keras

from cnnkit.data.core import check_positive_int


def image_input(input_shape, name: str = "image"):
    """``keras.Input`` for ``(height, width, channels)`` images; height and width may be ``None``."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    ok = shape is not None and len(shape) == 3 and all(
        (s is None and i < 2) or (isinstance(s, int) and not isinstance(s, bool) and s > 0)
        for i, s in enumerate(shape)
    )
    if not ok:
        raise ValueError(
            "input_shape must be (height, width, channels) with positive ints (height and width may be "
            f"None); received {input_shape!r}."
        )
    return keras.Input(shape, name=name)


def check_num_classes(num_classes) -> int:
    return check_positive_int(num_classes, "num_classes")


def check_multiplier(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number; received {value!r}.")
    return float(value)


def check_choice(value, choices, name: str):
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}; received {value!r}.")
    return value


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never losing more than 10%.

    The rule of the MobileNet and EfficientNet reference code (``_make_divisible``
    / ``round_filters``): hardware likes channel counts in multiples of 8.

    Example:
        >>> make_divisible(32 * 0.35)
        16
    """
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return int(new)


def scale_depth(repeats: int, depth_multiplier: float) -> int:
    """Blocks in a stage after depth scaling: ``ceil(repeats * depth_multiplier)`` (EfficientNet's rule)."""
    return int(math.ceil(repeats * depth_multiplier))


class PyramidMarker:
    """Follows the total stride while a backbone is built and marks the map at each stride as ``P{k}``.

    Call :meth:`before_downsampling` just before a layer that halves the size,
    and :meth:`finish` on the last feature map. Maps at stride 1 are not marked.
    """

    def __init__(self):
        self.stride = 1
        self.levels: list[str] = []

    def _mark(self, x):
        if self.stride < 2:
            return x
        name = f"P{int(math.log2(self.stride))}"
        if name in self.levels:  # already marked (two downsamplings in a row cannot happen here)
            return x
        self.levels.append(name)
        return keras.layers.Identity(name=name)(x)

    def before_downsampling(self, x, factor: int = 2):
        """Mark ``x`` (the last map at the current stride), then account for the downsampling."""
        if factor == 1:
            return x
        x = self._mark(x)
        self.stride *= factor
        return x

    def finish(self, x):
        """Mark the final feature map."""
        return self._mark(x)


def classification_head(x, num_classes: int, dropout: float = 0.0):
    """Global average pooling, optional dropout, and a dense layer giving ``num_classes`` logits."""
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a number in [0, 1); received {dropout!r}.")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    return keras.layers.Dense(num_classes, name="logits")(x)
