"""Segmentation data: per-pixel class masks for the synthetic scenes, and one real photo with a derived mask.

**Scene masks.** The detection scenes (:func:`cnnkit.data.make_scenes`) are drawn,
so they carry the exact visible mask of every object. :func:`semantic_masks`
turns those instance masks into one class id per pixel: 0 for background and
``class_id + 1`` for an object, so the class names become
``["background", "circle", "square", ...]``. Where two objects meet, the one
painted later (on top) owns the pixel, as in the image. :func:`load_scene_masks`
returns train / validation / test scenes as a :class:`~cnnkit.data.Dataset`
whose labels ``y`` are these masks ``(N, H, W)``; the scenes themselves (with
boxes and instance masks) stay in ``dataset.extras["scenes"]``.

Note what a *semantic* mask forgets: two touching circles become one blob of
"circle" pixels. Telling them apart is *instance* segmentation (Mask R-CNN).

**A real photo.** :func:`load_coins_mask` gives scikit-image's ``coins`` photo
(24 Greek coins, 4 rows of 6) with a coin / background mask. The mask is
*derived*, not hand-annotated: the region-growing recipe of scikit-image's
gallery (watershed of the Sobel edge map from dark and bright seed pixels,
holes filled, specks removed). It is good enough to inspect and to compute
metrics on, and it is labelled as derived wherever it is shown.

Example:
    >>> from cnnkit import data
    >>> seg = data.load_scene_masks(num_train=100, num_val=20, num_test=20, image_size=64)
    >>> seg.x_train.shape, seg.y_train.shape, seg.class_names[:3]
    ((100, 64, 64, 3), (100, 64, 64), ['background', 'circle', 'square'])
"""

from __future__ import annotations

import numpy as np

from cnnkit import _validate as V
from cnnkit.data.core import Dataset
from cnnkit.data.scenes import Scenes, make_scenes
from cnnkit.data.shapes import SHAPE_NAMES

BACKGROUND = "background"
COINS_CLASSES = (BACKGROUND, "coin")
COINS_MASK_SOURCE = (
    "DERIVED mask (not hand-annotated): watershed of the Sobel edge map of scikit-image's 'coins' photo, "
    "seeded with pixels darker than 30 (background) and brighter than 150 (coin), holes filled, "
    "specks under 64 pixels removed (scikit-image gallery recipe). Photo: Greek coins from Pompeii, "
    "Brooklyn Museum (public domain), shipped with scikit-image."
)


def semantic_masks(scenes: Scenes) -> np.ndarray:
    """One class id per pixel, ``(N, H, W)`` int32: 0 = background, ``class_id + 1`` = an object.

    Built from the scenes' visible instance masks. Where masks overlap (they
    are the *visible* parts, so only at exact coverage ties), the object
    painted later (larger index on the object axis) wins, as in the image.

    Args:
        scenes: :class:`~cnnkit.data.scenes.Scenes` from :func:`~cnnkit.data.make_scenes`.

    Returns:
        ``(N, H, W)`` int32 masks with values in ``[0, scenes.num_classes]``.

    Example:
        >>> scenes = make_scenes(4, image_size=32, seed=0)
        >>> semantic_masks(scenes).shape
        (4, 32, 32)
    """
    V.instance(scenes, "scenes", Scenes, "a Scenes object from cnnkit.data.make_scenes")
    masks = scenes.masks  # (N, K, H, W) bool
    k = masks.shape[1]
    covered = masks.any(axis=1)
    last = k - 1 - np.argmax(masks[:, ::-1], axis=1)  # index of the last (top-most) object covering each pixel
    class_ids = np.take_along_axis(scenes.classes, last.reshape(len(masks), -1), axis=1).reshape(last.shape)
    return np.where(covered, class_ids + 1, 0).astype(np.int32)


def scene_class_names(scenes: Scenes) -> list[str]:
    """``["background", *scenes.class_names]``: the name of each id in :func:`semantic_masks`."""
    return [BACKGROUND, *scenes.class_names]


def load_scene_masks(num_train: int = 2000, num_val: int = 300, num_test: int = 500, image_size: int = 64,
                     classes=SHAPE_NAMES, seed: int = 0, **scene_kwargs) -> Dataset:
    """Synthetic scenes with per-pixel class masks, split into train / validation / test.

    Each split is generated with its own seed (``seed``, ``seed + 1``, ``seed + 2``),
    so the test scenes are new drawings, never seen in training.

    Args:
        num_train, num_val, num_test: images per split.
        image_size: side of the square images in pixels (>= 16).
        classes: the shape names to draw, in class order (id 0 is background).
        seed: same seed, same data.
        **scene_kwargs: passed to :func:`~cnnkit.data.make_scenes` (``max_objects``,
            ``radius_range``, ``max_overlap``, ``noise``, ...).

    Returns:
        A :class:`~cnnkit.data.Dataset` named ``"scene_masks"``: images ``(N, H, W, 3)``
        float32 in ``[0, 1]``, masks ``y`` ``(N, H, W)`` int32, ``class_names``
        starting with ``"background"``, and ``extras["scenes"]`` = ``{"train": Scenes, ...}``
        with the boxes and instance masks.

    Example:
        >>> seg = load_scene_masks(num_train=50, num_val=10, num_test=10, image_size=32)
        >>> seg.num_classes
        7
    """
    sizes = {split: V.positive_int(n, f"num_{split}")
             for split, n in (("train", num_train), ("val", num_val), ("test", num_test))}
    side = V.integer(image_size, "image_size", minimum=16, reason="pixels, to hold several shapes")
    V.memory_of(sum(sizes.values()) * side * side * 60.0, {"num_train": num_train, "num_val": num_val,
                                                           "num_test": num_test, "image_size": image_size},
                "the scenes, masks and their drawing")
    if "num_images" in scene_kwargs or "seed" in scene_kwargs:
        raise ValueError("Pass num_train / num_val / num_test and seed directly, not num_images or a scene seed.")
    scenes = {split: make_scenes(n, image_size=image_size, classes=classes, seed=seed + i, **scene_kwargs)
              for i, (split, n) in enumerate(sizes.items())}
    masks = {split: semantic_masks(s) for split, s in scenes.items()}
    return Dataset(
        name="scene_masks",
        x_train=scenes["train"].images, y_train=masks["train"],
        x_val=scenes["val"].images, y_val=masks["val"],
        x_test=scenes["test"].images, y_test=masks["test"],
        class_names=scene_class_names(scenes["train"]),
        source=f"per-pixel masks of {scenes['train'].source}; val/test with seeds {seed + 1}/{seed + 2}",
        extras={"scenes": scenes},
    )


def load_coins_mask(size=None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-image's ``coins`` photo and a DERIVED coin / background mask.

    The mask comes from the region-growing recipe of scikit-image's gallery,
    not from a human annotator (see :data:`COINS_MASK_SOURCE`): it outlines
    all 24 coins well, but its edges are only as good as the Sobel map.

    Args:
        size: ``None`` for the original 303 x 384 pixels, or an int / ``(h, w)``
            to resize (the mask is resized by nearest neighbour).

    Returns:
        ``(image, mask)``: image ``(H, W, 3)`` float32 in ``[0, 1]`` (grey, repeated
        on 3 channels), mask ``(H, W)`` int32 with 0 = background, 1 = coin
        (names in :data:`COINS_CLASSES`).

    Example:
        >>> image, mask = load_coins_mask()
        >>> image.shape, mask.shape, int(mask.max())
        ((303, 384, 3), (303, 384), 1)
    """
    from scipy import ndimage
    from skimage import filters, segmentation

    from cnnkit.data.images import load_image

    target = V.image_size(size, "size")
    image = load_image("coins")
    grey = np.round(image[..., 0] * 255.0)  # the photo is grey: the three channels are equal
    markers = np.zeros(grey.shape, np.int32)
    markers[grey < 30] = 1  # surely background
    markers[grey > 150] = 2  # surely coin
    regions = segmentation.watershed(filters.sobel(grey / 255.0), markers)
    coins = ndimage.binary_fill_holes(regions == 2)
    labels, _ = ndimage.label(coins)
    area = np.bincount(labels.ravel())
    mask = ((area[labels] >= 64) & coins).astype(np.int32)  # drop specks of fewer than 64 pixels
    if target is not None:
        image = load_image("coins", size=target)
        rows = (np.arange(target[0]) + 0.5) * mask.shape[0] / target[0]
        cols = (np.arange(target[1]) + 0.5) * mask.shape[1] / target[1]
        mask = mask[rows.astype(int)[:, None], cols.astype(int)[None, :]]
    return image, mask
