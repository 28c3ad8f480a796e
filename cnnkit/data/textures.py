"""Texture patches cut from three real photos that ship inside scikit-image: brick, grass and gravel.

Each photo is 512 x 512 grey (CC0). Cutting it into non-overlapping square
patches gives a real classification task that a CNN solves with what it is
built for, local patterns repeated anywhere in the image: the three textures
have about the same brightness and contrast (patch means 96-146 out of 255 in
all three), so it is the pattern, not the grey level, that tells them apart.
Nothing is downloaded; the photos are files in the scikit-image wheel.
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

TEXTURE_NAMES = ("brick", "grass", "gravel")
TEXTURES_SOURCE = (
    "scikit-image data.brick() (CC0Textures Bricks25), data.grass() (linolafett on DeviantArt) and "
    "data.gravel() (CC0Textures Gravel04), 512x512 grey, all CC0; shipped in the scikit-image wheel"
)


def texture_patches(name: str, patch_size: int) -> np.ndarray:
    """Non-overlapping ``(patch_size, patch_size)`` patches of one texture photo: ``(N, p, p)`` float32 in ``[0, 1]``.

    Patches run row by row; a remainder narrower than ``patch_size`` at the
    right and bottom edges is left out.
    """
    import skimage.data

    V.choice(name, "name", TEXTURE_NAMES)
    patch_size = V.positive_int(patch_size, "patch_size")
    photo = np.asarray(getattr(skimage.data, name)(), dtype=np.float32) / 255.0
    if patch_size > min(photo.shape[:2]):
        V.fail("patch_size", f"at most the photo's side ({min(photo.shape[:2])} pixels)", patch_size)
    rows, cols = photo.shape[0] // patch_size, photo.shape[1] // patch_size
    grid = photo[: rows * patch_size, : cols * patch_size].reshape(rows, patch_size, cols, patch_size)
    return grid.transpose(0, 2, 1, 3).reshape(rows * cols, patch_size, patch_size)


def load_textures(
    patch_size: int = 32,
    image_size=None,
    channels: int = 1,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Dataset:
    """Brick, grass and gravel patches as a :class:`Dataset` of float32 images in ``[0, 1]``.

    Args:
        patch_size: side of the square patches cut from each 512 x 512 photo, between 8 and 256;
            32 gives 16 x 16 = 256 patches per texture (768 in all).
        image_size: ``None`` keeps ``patch_size``; an int / ``(h, w)`` resizes the patches.
        channels: 1 (grey) or 3 (grey repeated into RGB).
        val_fraction, test_fraction: sizes of the validation and test splits (stratified).
        seed: fixes the shuffled split.

    Patches do not overlap, so no pixel is in two splits; neighbouring patches
    of one photo still look alike, as frames of one video do.

    Example:
        >>> tex = load_textures(patch_size=32)
        >>> tex.input_shape, tex.class_names, len(tex.x_train) + len(tex.x_val) + len(tex.x_test)
        ((32, 32, 1), ['brick', 'grass', 'gravel'], 768)
    """
    patch_size = V.integer(patch_size, "patch_size", 8, 256, reason="pixels")
    size = V.image_size(image_size)
    channels = V.image_channels(channels)
    patches = [texture_patches(name, patch_size) for name in TEXTURE_NAMES]
    x = np.concatenate(patches)[..., None]
    y = np.repeat(np.arange(len(TEXTURE_NAMES), dtype=np.int32), [len(p) for p in patches])
    if size is not None:
        x = np.clip(resize_images(x, size), 0.0, 1.0)
    x = grey_to_channels(x.astype(np.float32), channels)
    splits = stratified_split(x, y, val_fraction, test_fraction, seed)
    return Dataset("textures", *splits, class_names=list(TEXTURE_NAMES),
                   source=f"{TEXTURES_SOURCE} ({patch_size}x{patch_size} patches)")
