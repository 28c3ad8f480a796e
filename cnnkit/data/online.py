"""Optional online datasets with an offline fallback.

CIFAR-10 and Fashion-MNIST are the classic next steps after the offline sets.
These loaders try to download them (once; Keras caches files under
``~/.keras/datasets``) and verify the file's hash. Without internet, or with
``CNNKIT_OFFLINE=1``, they fall back to the offline ``shapes`` set and print
one message saying so. Nothing is unpickled: CIFAR-10 is read from its binary
distribution with NumPy, Fashion-MNIST from its IDX files.
"""

from __future__ import annotations

import gzip
import sys
import tarfile

import numpy as np

from cnnkit import _validate as V
from cnnkit import config
from cnnkit.data.core import Dataset, split_off
from cnnkit.data.shapes import load_shapes

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
# SHA-256 of the 170,052,171-byte archive (its MD5, c32a1d4ab5d03f1284b67883e8d87530, is the one
# published on the CIFAR-10 page).
CIFAR10_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

FASHION_URL = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
FASHION_FILES = {  # MD5 hashes of the original files (as used by torchvision and the Fashion-MNIST repo)
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class OfflineError(RuntimeError):
    """Raised inside the loaders when a download is not possible or not allowed."""


def _download(fname: str, origin: str, file_hash: str) -> str:
    if config.offline_mode():
        raise OfflineError(f"{config.OFFLINE_ENV}=1 is set")
    if not config.reachable(origin):
        raise OfflineError(f"no connection to {origin.split('/')[2]}")
    import keras

    try:
        return keras.utils.get_file(fname, origin=origin, file_hash=file_hash, cache_subdir="datasets")
    except Exception as err:  # no network, DNS failure, hash mismatch, ...
        raise OfflineError(f"{type(err).__name__}: {err}".splitlines()[0][:200]) from err


def _fallback(wanted: str, reason: str, image_size: int, seed: int, val_fraction: float) -> Dataset:
    """Use the offline shapes set instead, and say so once, clearly."""
    data = load_shapes(num_samples=6000, image_size=image_size, seed=seed, val_fraction=val_fraction, test_fraction=0.15)
    message = (
        f"[cnnkit] {wanted} is not available ({reason}). Using the offline 'shapes' dataset instead: "
        f"{data.num_classes} classes, {data.input_shape} images. Connect to the internet "
        f"(and unset {config.OFFLINE_ENV}) to use {wanted}."
    )
    print(message, file=sys.stderr)
    data.source = f"fallback for {wanted}: {data.source}"
    return data


def _read_cifar10_binary(path: str) -> tuple[np.ndarray, ...]:
    """Parse the CIFAR-10 binary tarball: each record is 1 label byte + 3072 pixel bytes (CHW)."""
    record = 1 + 32 * 32 * 3
    train, test = [], None
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.name.endswith(".bin") or "batch" not in member.name:
                continue
            raw = np.frombuffer(tar.extractfile(member).read(), dtype=np.uint8).reshape(-1, record)
            if "test_batch" in member.name:
                test = raw
            else:
                train.append(raw)
    train = np.concatenate(train)

    def unpack(raw):
        images = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # CHW -> HWC
        return (images.astype(np.float32) / 255.0), raw[:, 0].astype(np.int32)

    return (*unpack(train), *unpack(test))


def load_cifar10(val_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """CIFAR-10 (50,000 + 10,000 colour images, 32x32, 10 classes), or shapes when offline.

    The official test set is kept as the test split; ``val_fraction`` of the
    training set becomes the validation split.
    """
    V.open_fraction(val_fraction, "val_fraction")
    try:
        path = _download("cifar-10-binary.tar.gz", CIFAR10_URL, CIFAR10_SHA256)
    except OfflineError as err:
        return _fallback("CIFAR-10", str(err), image_size=32, seed=seed, val_fraction=val_fraction)
    x_train, y_train, x_test, y_test = _read_cifar10_binary(path)
    return _with_val_split("cifar10", x_train, y_train, x_test, y_test, CIFAR10_CLASSES, val_fraction, seed,
                           source=f"CIFAR-10 (Krizhevsky, 2009), {CIFAR10_URL}")


def _read_idx(path: str, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load_fashion_mnist(val_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """Fashion-MNIST (60,000 + 10,000 grey 28x28 images, 10 classes), or shapes when offline."""
    V.open_fraction(val_fraction, "val_fraction")
    try:
        paths = {name: _download(f"fashion-mnist-{name}", FASHION_URL + name, h) for name, h in FASHION_FILES.items()}
    except OfflineError as err:
        return _fallback("Fashion-MNIST", str(err), image_size=28, seed=seed, val_fraction=val_fraction)

    def images(name):
        return (_read_idx(paths[name], 16).reshape(-1, 28, 28, 1).astype(np.float32) / 255.0)

    def labels(name):
        return _read_idx(paths[name], 8).astype(np.int32)

    return _with_val_split(
        "fashion_mnist",
        images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
        images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"),
        FASHION_CLASSES, val_fraction, seed, source="Fashion-MNIST (Xiao et al., 2017), MIT licence",
    )


def _with_val_split(name, x_train, y_train, x_test, y_test, classes, val_fraction, seed, source) -> Dataset:
    # The official test set stays the test split; the validation split comes out of training.
    x_tr, y_tr, x_val, y_val = split_off(x_train, y_train, val_fraction, seed)
    return Dataset(name, x_tr, y_tr, x_val, y_val, x_test, y_test, class_names=classes, source=source)
