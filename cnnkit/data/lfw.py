"""Faces and non-faces from Labeled Faces in the Wild: real photos that ship inside scikit-image.

scikit-image's ``data.lfw_subset()`` holds 200 grey 25 x 25 crops: 100 faces
picked at random from LFW (Huang et al.) and 100 patches of the same photos'
backgrounds. The file ``skimage/data/lfw_subset.npy`` is inside the
scikit-image wheel, so nothing is downloaded. Small enough to train on in
seconds, and a real "is there a face?" task for the face-detection notebook.
"""

from __future__ import annotations

import numpy as np

from cnnkit import _validate as V
from cnnkit.data.core import (
    Dataset,
    grey_to_channels,
    resize_images,
    stratified_split,
)

LFW_SOURCE = (
    "scikit-image data.lfw_subset(): 100 faces and 100 non-face background patches, 25x25 grey, from "
    "Labeled Faces in the Wild (Huang, Ramesh, Berg & Learned-Miller, 2007; no licence stated), "
    "shipped in the scikit-image wheel"
)
LFW_CLASSES = ["non_face", "face"]


def load_lfw_subset(
    image_size=None,
    channels: int = 1,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Dataset:
    """Load the LFW faces-vs-background subset as a :class:`Dataset` of float32 images in ``[0, 1]``.

    Args:
        image_size: ``None`` for the native 25x25, or an int / ``(h, w)`` to resize (bilinear).
        channels: 1 (grey) or 3 (grey repeated into RGB, for a network pretrained on colour photos).
        val_fraction, test_fraction: sizes of the validation and test splits (stratified).
        seed: fixes the shuffled split.

    Labels: 1 = face, 0 = non-face (``class_names == ["non_face", "face"]``), 100 of each.

    Example:
        >>> lfw = load_lfw_subset(image_size=32, channels=3)
        >>> lfw.input_shape, lfw.class_names
        ((32, 32, 3), ['non_face', 'face'])
    """
    import skimage.data

    size = V.image_size(image_size)
    channels = V.image_channels(channels)
    images = np.asarray(skimage.data.lfw_subset(), dtype=np.float32)  # (200, 25, 25), floats in [0, 1]
    if images.shape != (200, 25, 25):
        raise ValueError(f"scikit-image's lfw_subset should be (200, 25, 25); received {images.shape}.")
    if images.max() > 1.0:  # documented as uint8 by some scikit-image versions
        images = images / 255.0
    x = images[..., None]
    y = np.repeat(np.array([1, 0], dtype=np.int32), 100)  # the first 100 are faces, the next 100 are not
    if size is not None:
        x = np.clip(resize_images(x, size), 0.0, 1.0)
    x = grey_to_channels(x.astype(np.float32), channels)
    splits = stratified_split(x, y, val_fraction, test_fraction, seed)
    return Dataset("lfw_subset", *splits, class_names=list(LFW_CLASSES), source=LFW_SOURCE)
