"""The :class:`Dataset` container, resizing and the stratified splits every loader shares.

Argument checks live in :mod:`cnnkit._validate`, like everywhere in cnnkit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnnkit import _validate as V

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
        V.choice(name, "split", SPLITS)
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(self.split(s)[0])}" for s in SPLITS)
        return (
            f"Dataset({self.name!r}: {sizes}; image shape {self.input_shape}; "
            f"{self.num_classes} classes {self.class_names})"
        )


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


def _samples(value, name: str) -> np.ndarray:
    """An array with a sample axis (not ``None``, a string or a number)."""
    if value is None or isinstance(value, (str, bytes, dict)) or V.is_number(value):
        V.fail(name, "an array with one entry per sample", value, wrong_type=True)
    array = np.asarray(value)
    if array.ndim == 0:
        V.fail(name, "an array with one entry per sample", value, wrong_type=True)
    return array


def split_off(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Move ``fraction`` of each class into a second part; return ``x_keep, y_keep, x_out, y_out``.

    Both parts are shuffled. Splitting each class separately (stratifying)
    keeps the class proportions equal in both parts, which matters for small
    data sets like the digits.

    Why not scikit-learn's ``StratifiedShuffleSplit``: it splits by the same
    rule (per-class shares, tested in ``tests/test_data_core.py`` to agree with
    it within one sample per class), but draws other indices and rounds the
    total differently (269 vs 270 test digits), and every dataset of the course,
    and with it every number the notebooks quote, rests on these exact splits.
    """
    fraction = V.open_fraction(fraction, "fraction")
    seed = V.non_negative_int(seed, "seed")
    x, y = _samples(x, "x"), _samples(y, "y")
    V.class_ids(y, None, "y", whole_floats=True)  # checked; the labels keep their dtype
    if y.ndim != 1:
        raise ValueError(f"y must be one class id per sample, shape (N,); received {V.describe(y)}.")
    if len(x) != len(y):
        raise ValueError(f"x and y must have one label per sample; received {len(x)} samples and {len(y)} labels.")
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
    val_fraction = V.open_fraction(val_fraction, "val_fraction")
    test_fraction = V.open_fraction(test_fraction, "test_fraction")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must leave data for training (sum < 1); "
            f"received {val_fraction} + {test_fraction}."
        )
    x_rest, y_rest, x_test, y_test = split_off(x, y, test_fraction, seed)
    x_train, y_train, x_val, y_val = split_off(x_rest, y_rest, val_fraction / (1 - test_fraction), seed + 1)
    empty = [name for name, part in (("train", y_train), ("val", y_val), ("test", y_test)) if len(part) == 0]
    if empty:
        num_classes = len(np.unique(y))
        raise ValueError(f"{len(y)} samples leave the {' and '.join(empty)} split{'s' if len(empty) > 1 else ''} "
                         f"empty (val_fraction={val_fraction:g}, test_fraction={test_fraction:g}, {num_classes} "
                         f"classes); use at least {minimum_samples(num_classes, val_fraction, test_fraction)} samples.")
    return x_train, y_train, x_val, y_val, x_test, y_test


def _split_counts(count: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """Train, val and test samples :func:`stratified_split` takes from a class of ``count`` samples."""
    test = round(count * test_fraction)
    val = round((count - test) * (val_fraction / (1 - test_fraction)))
    return count - test - val, val, test


def minimum_samples(num_classes: int, val_fraction: float, test_fraction: float) -> int:
    """The fewest balanced samples (``i % num_classes`` labels) for which every split is non-empty.

    It mirrors :func:`split_off`'s per-class rounding: the largest class needs
    at least one train, one val and one test sample after rounding.

    Example:
        >>> minimum_samples(6, 0.15, 0.15)
        19
    """
    num_classes = V.num_classes(num_classes)
    count = 1
    while min(_split_counts(count, val_fraction, test_fraction)) < 1:
        count += 1
    return (count - 1) * num_classes + 1  # the first class gets the extra sample
