"""scikit-learn's handwritten digits: real data that ships with an installed package.

1,797 grey images of 8x8 pixels, 10 classes, from the UCI "Optical Recognition
of Handwritten Digits" data set (CC BY 4.0). Small enough to train a CNN on a
laptop CPU in seconds, real enough that the errors look like a human's.
"""

from __future__ import annotations

import numpy as np

from cnnkit import _validate as V
from cnnkit.data.core import Dataset, resize_images, stratified_split

DIGITS_SOURCE = (
    "scikit-learn load_digits(): UCI Optical Recognition of Handwritten Digits "
    "(Alpaydin & Kaynak, 1998), CC BY 4.0"
)


def load_digits(
    image_size=None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Dataset:
    """Load the digits as a :class:`Dataset` of ``(N, H, W, 1)`` float32 images in ``[0, 1]``.

    Args:
        image_size: ``None`` for the native 8x8, or an int / ``(h, w)`` to resize
            (bilinear), e.g. 32 to feed a model built for 32x32 inputs.
        val_fraction, test_fraction: sizes of the validation and test splits.
        seed: fixes the shuffled, class-stratified split.

    Example:
        >>> data = load_digits(image_size=16)
        >>> data.x_train.shape[1:]
        (16, 16, 1)
    """
    from sklearn.datasets import load_digits as sklearn_digits

    size = V.image_size(image_size, "image_size")
    bunch = sklearn_digits()
    x = (bunch.images / 16.0).astype(np.float32)[..., None]  # pixel values are 0..16
    y = bunch.target.astype(np.int32)
    if size is not None:
        x = np.clip(resize_images(x, size), 0.0, 1.0)
    splits = stratified_split(x, y, val_fraction, test_fraction, seed)
    return Dataset("digits", *splits, class_names=[str(d) for d in range(10)], source=DIGITS_SOURCE)
