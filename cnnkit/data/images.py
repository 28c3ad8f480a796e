"""Real photographs that ship inside installed packages, for filter and feature-map demos.

No download needed: matplotlib, scikit-image and scikit-learn carry these
files in their wheels. Sources and licences are listed in :data:`IMAGE_SOURCES` and in
``data/README.md``.
"""

from __future__ import annotations

import numpy as np

from cnnkit import _validate as V
from cnnkit.data.core import resize_images

IMAGE_SOURCES = {
    "grace_hopper": "Rear Admiral Grace Hopper, US Navy photo (public domain); shipped with matplotlib",
    "astronaut": "Eileen Collins, NASA photo (public domain); shipped with scikit-image",
    "coffee": "A cup of coffee, by Rachel Michetti (CC0); shipped with scikit-image",
    "chelsea": "Chelsea the cat, by Stefan van der Walt (CC0); shipped with scikit-image",
    "camera": "The cameraman, grey (CC0 per scikit-image); shipped with scikit-image",
    "coins": "Greek coins from Pompeii, Brooklyn Museum (public domain); shipped with scikit-image",
    "rocket": "SpaceX Falcon 9 launch (public domain); shipped with scikit-image",
    "china": "A Chinese temple tower by a lake, by danielbuechele on Flickr (CC BY 2.0); shipped with scikit-learn",
    "flower": "An orange dahlia, by vultilion on Flickr (CC BY 2.0); shipped with scikit-learn",
}
_SKLEARN_IMAGES = {"china": "china.jpg", "flower": "flower.jpg"}


def list_images() -> list[str]:
    """Names accepted by :func:`load_image`."""
    return sorted(IMAGE_SOURCES)


def _read(name: str) -> np.ndarray:
    if name == "grace_hopper":
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
            return matplotlib.image.imread(f, format="jpg")
    if name in _SKLEARN_IMAGES:
        from sklearn.datasets import load_sample_image

        return load_sample_image(_SKLEARN_IMAGES[name])
    import skimage.data

    return getattr(skimage.data, name)()


def load_image(name: str = "grace_hopper", size=None, gray: bool = False) -> np.ndarray:
    """Load a shipped photo as float32 ``(H, W, C)`` in ``[0, 1]`` (C = 3, or 1 if ``gray``).

    Args:
        name: one of :func:`list_images`.
        size: ``None`` for the original size, or an int / ``(h, w)`` to resize.
        gray: convert to one luminance channel (ITU-R BT.601 weights).

    Example:
        >>> load_image("chelsea", size=64, gray=True).shape
        (64, 64, 1)
    """
    gray = V.boolean(gray, "gray")
    if not isinstance(name, str) or name not in IMAGE_SOURCES:
        raise (ValueError if isinstance(name, str) else V.ArgumentTypeError)(f"name must be one of the shipped images ({', '.join(list_images())}); received {name!r}.")
    target = V.image_size(size, "size")
    if target is not None:  # resizing works in float64 and returns float32: 12 bytes per value, 3 channels
        V.memory(target[0] * target[1] * 3 * 12, "size", size, "the resized image")
    image = np.asarray(_read(name))
    image = image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    image = image[..., :3]  # drop an alpha channel if present
    if gray:
        image = (image @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    if target is not None:
        image = resize_images(image[None], target)[0]
    return np.clip(image, 0.0, 1.0).astype(np.float32)
