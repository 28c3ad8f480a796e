"""What every backbone family shares: the input, the pyramid marks, the classification head, rounding.

A backbone is a functional ``keras.Model``. While it is built, a
:class:`PyramidMarker` follows the total stride; just before each downsampling
step it passes the current feature map through ``keras.layers.Identity(name="P{k}")``
(stride ``2**k``), and :meth:`PyramidMarker.finish` marks the last one. Those
names are what :func:`cnnkit.models.pyramid_outputs` finds, so detection and
segmentation heads plug into any family.

Argument checks come from :mod:`cnnkit._validate` (``V.num_classes``,
``V.positive_float`` for multipliers, ``V.choice`` for layouts), as everywhere.
"""

from __future__ import annotations

import math

import keras

from cnnkit import _validate as V
from cnnkit.models.registry import create_model, list_models, pyramid_level_name


def image_input(input_shape, name: str = "image"):
    """``keras.Input`` for ``(height, width, channels)`` images; height and width may be ``None``."""
    return keras.Input(V.image_shape(input_shape), name=name)


def build_backbone(backbone, input_shape, backbone_kwargs=None, name: str = "backbone"):
    """A registered backbone by name, built with ``include_top=False`` (its pyramid levels marked).

    Shared by the models that put a head on any backbone (``fpn_seg``, ``detector``).

    Args:
        backbone: the name of a registered backbone (``list_models(backbone=True)``).
        input_shape: ``(height, width, channels)`` of the images.
        backbone_kwargs: extra arguments for the backbone's builder, or ``None``.
        name: the argument's name in error messages.
    """
    backbones = list_models(backbone=True)
    if not isinstance(backbone, str) or backbone not in backbones:
        V.fail(name, f"the name of a registered backbone, one of {backbones}", backbone)
    if backbone_kwargs is not None:
        V.instance(backbone_kwargs, "backbone_kwargs", dict, "a dict of builder arguments or None")
    return create_model(backbone, include_top=False, input_shape=input_shape, **(backbone_kwargs or {}))


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
        name = pyramid_level_name(int(math.log2(self.stride)))
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
    dropout = V.rate(dropout, "dropout")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    return keras.layers.Dense(num_classes, name="logits")(x)
