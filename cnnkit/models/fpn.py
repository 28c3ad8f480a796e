"""Feature Pyramid Network (Lin et al., 2017): strong features at every scale from a backbone's pyramid.

A backbone's early maps (``P2``, ``P3``) are high-resolution but semantically
weak; its late maps (``P5``) are strong but coarse. An FPN gives every level
both: a 1x1 *lateral* convolution brings each level to the same number of
channels, a *top-down* path upsamples the coarser result and adds it in, and
a 3x3 convolution smooths each sum. Detection heads (one-stage, like
RetinaNet, or two-stage, like Faster / Mask R-CNN) and segmentation decoders
read the result.

``fpn(...)`` is a function on symbolic tensors, not a registered model: call
it on :func:`cnnkit.models.pyramid_outputs` of any backbone.

Example:
    >>> from cnnkit.models import create_model, pyramid_outputs
    >>> backbone = create_model("resnet_small", include_top=False, input_shape=(64, 64, 3))
    >>> feats = fpn(pyramid_outputs(backbone), channels=32, levels=("P3", "P4", "P5"))
    >>> {k: tuple(v.shape[1:]) for k, v in feats.items()}
    {'P3': (8, 8, 32), 'P4': (4, 4, 32), 'P5': (2, 2, 32)}
"""

from __future__ import annotations

import keras

from cnnkit import _validate as V
from cnnkit.models.registry import pyramid_levels


def fpn(pyramid: dict, channels: int = 64, levels=None, name: str = "fpn") -> dict:
    """Top-down feature pyramid: ``{"P3": (B, H3, W3, channels), ...}`` from backbone levels.

    Args:
        pyramid: ``{"P2": tensor, "P3": tensor, ...}`` symbolic feature maps, e.g.
            ``cnnkit.models.pyramid_outputs(backbone)``; level ``P{k}`` has stride ``2**k``.
        channels: channels of every output level.
        levels: which levels to use and return (consecutive), e.g. ``("P3", "P4", "P5")``;
            default: all of ``pyramid``.
        name: prefix of the layer names (two FPNs in one model need different names).

    Returns:
        A dict with the same keys as ``levels``, each ``(batch, H_k, W_k, channels)``.

    Raises:
        ValueError: for unknown or non-consecutive levels, or a bad ``channels``.
    """
    channels = V.positive_int(channels, "channels")
    if not isinstance(pyramid, dict) or not pyramid:
        V.fail("pyramid", "a non-empty dict like {'P3': tensor, ...}", pyramid, wrong_type=not isinstance(pyramid, dict))
    available = pyramid_levels(list(pyramid), "pyramid")
    levels = pyramid_levels(available if levels is None else levels)
    missing = [lv for lv in levels if lv not in pyramid]
    if missing:
        raise ValueError(f"levels {missing!r} are not in the pyramid; available: {list(available)}.")
    levels = pyramid_levels(levels, consecutive=True)

    laterals = {lv: keras.layers.Conv2D(channels, 1, name=f"{name}_lateral_{lv}")(pyramid[lv]) for lv in levels}
    merged = {levels[-1]: laterals[levels[-1]]}
    for finer, coarser in zip(levels[-2::-1], levels[:0:-1]):  # top-down: P5 -> P4 -> P3 ...
        up = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up_{coarser}")(merged[coarser])
        up = _crop_to(up, laterals[finer], f"{name}_crop_{coarser}")
        merged[finer] = keras.layers.Add(name=f"{name}_merge_{finer}")([laterals[finer], up])
    return {lv: keras.layers.Conv2D(channels, 3, padding="same", name=f"{name}_output_{lv}")(merged[lv])
            for lv in levels}


def _crop_to(x, like, name: str):
    """Crop ``x`` (an upsampled map) to the spatial size of ``like`` (odd sizes round up when downsampling)."""
    (h, w), (th, tw) = x.shape[1:3], like.shape[1:3]
    if None in (h, w, th, tw) or (h, w) == (th, tw):
        return x
    if h < th or w < tw:
        raise ValueError(f"Cannot align pyramid levels: upsampled size {(h, w)} is smaller than {(th, tw)}.")
    return keras.layers.Cropping2D(((0, h - th), (0, w - tw)), name=name)(x)
