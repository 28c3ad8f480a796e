"""The :class:`Dataset` container, splitting, and the argument checks every loader shares."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """Images and integer labels with a fixed train / validation / test split.

    Images are float32 in ``[0, 1]``, channels-last ``(N, H, W, C)``; labels are
    int32 class ids indexing ``class_names``. ``source`` says where the data
    came from (and, for an online loader that fell back, what was used instead).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str = ""
    extras: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one image, e.g. ``(32, 32, 3)``: what ``keras.Input(shape=...)`` wants."""
        return tuple(self.x_train.shape[1:])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(x, y)`` of the ``"train"``, ``"val"`` or ``"test"`` split."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}; received {name!r}.")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(self.split(s)[0])}" for s in SPLITS)
        return (
            f"Dataset({self.name!r}: {sizes}; image shape {self.input_shape}; "
            f"{self.num_classes} classes {self.class_names})"
        )


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; received {value!r}.")
    return int(value)


def check_fraction(value, name: str) -> float:
    if not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1; received {value!r}.")
    return float(value)


def check_image_size(image_size) -> tuple[int, int] | None:
    """``None`` keeps the native size; an int means square; a pair means (height, width)."""
    if image_size is None:
        return None
    pair = (image_size, image_size) if np.isscalar(image_size) else tuple(image_size)
    if len(pair) != 2:
        raise ValueError(f"image_size must be an int or a (height, width) pair; received {image_size!r}.")
    return check_positive_int(pair[0], "image_size"), check_positive_int(pair[1], "image_size")


def check_channels(channels) -> int:
    """1 (grey, as the data comes) or 3 (the grey channel repeated, for networks that take RGB)."""
    if isinstance(channels, bool) or channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (grey repeated as RGB); received {channels!r}.")
    return int(channels)


def grey_to_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """A ``(N, H, W, 1)`` grey batch as ``channels`` channels (3: the same grey in R, G and B)."""
    return images if channels == 1 else np.repeat(images, channels, axis=-1)


def resize_images(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a (N, H, W, C) batch with bilinear interpolation (anti-aliased when shrinking)."""
    if tuple(images.shape[1:3]) == tuple(size):
        return images
    from skimage.transform import resize

    out = resize(images, (images.shape[0], *size, images.shape[3]), order=1, anti_aliasing=True, preserve_range=True)
    return out.astype(np.float32)


def split_off(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Move ``fraction`` of each class into a second part; return ``x_keep, y_keep, x_out, y_out``.

    Both parts are shuffled. Splitting each class separately (stratifying)
    keeps the class proportions equal in both parts, which matters for small
    data sets like the digits.
    """
    check_fraction(fraction, "fraction")
    rng = np.random.default_rng(seed)
    keep, out = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_out = round(len(idx) * fraction)
        out.append(idx[:n_out])
        keep.append(idx[n_out:])
    keep, out = rng.permutation(np.concatenate(keep)), rng.permutation(np.concatenate(out))
    return x[keep], y[keep], x[out], y[out]


def stratified_split(
    x: np.ndarray,
    y: np.ndarray,
    val_fraction: float,
    test_fraction: float,
    seed: int,
) -> tuple[np.ndarray, ...]:
    """Shuffle and split into train / val / test, keeping class proportions in each split.

    Returns ``x_train, y_train, x_val, y_val, x_test, y_test``. The split only
    depends on ``seed``, so every run and every notebook sees the same one.
    """
    val_fraction = check_fraction(val_fraction, "val_fraction")
    test_fraction = check_fraction(test_fraction, "test_fraction")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must leave data for training (sum < 1); "
            f"received {val_fraction} + {test_fraction}."
        )
    x_rest, y_rest, x_test, y_test = split_off(x, y, test_fraction, seed)
    x_train, y_train, x_val, y_val = split_off(x_rest, y_rest, val_fraction / (1 - test_fraction), seed + 1)
    return x_train, y_train, x_val, y_val, x_test, y_test
