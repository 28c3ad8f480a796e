"""cnnkit.data.online: CIFAR-10 and Fashion-MNIST, with their offline fallback."""

import io
import tarfile

import numpy as np
import pytest

from cnnkit import data
from cnnkit.data import online

# ---------------------------------------------------------------- online loaders fall back offline


def test_cifar10_falls_back_to_shapes_with_one_message(capsys):
    ds = data.load_cifar10()
    err = capsys.readouterr().err
    assert ds.name == "shapes" and ds.input_shape == (32, 32, 3)
    assert err.count("[cnnkit]") == 1 and "CIFAR-10 is not available" in err and "CNNKIT_OFFLINE=1" in err
    assert ds.source.startswith("fallback for CIFAR-10")


def test_fashion_mnist_fallback_when_the_download_fails(monkeypatch, capsys):
    monkeypatch.setenv("CNNKIT_OFFLINE", "0")

    def no_network(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    import keras

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    monkeypatch.setattr(online.config, "reachable", lambda url: True)  # the server answers; the download fails
    ds = data.load_fashion_mnist()
    assert ds.name == "shapes" and ds.input_shape == (28, 28, 3)
    assert "Temporary failure in name resolution" in capsys.readouterr().err


def test_no_connection_falls_back_before_keras_prints_anything(monkeypatch, capsys):
    # Offline, Keras's get_file would print "Downloading data from ..." before failing: that line
    # must not reach a learner's notebook, so the loader asks config.reachable first.
    monkeypatch.setenv("CNNKIT_OFFLINE", "0")
    import keras

    requests, asked = [], []
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: requests.append(args))
    monkeypatch.setattr(online.config, "reachable", lambda url: asked.append(url) or False)
    ds = data.load_cifar10()
    out, err = capsys.readouterr()
    assert ds.name == "shapes" and requests == [] and asked == [online.CIFAR10_URL]
    assert out == "" and "no connection to www.cs.toronto.edu" in err and err.count("[cnnkit]") == 1


def test_cifar10_binary_reader(tmp_path):
    # Two tiny fake batches in the real binary layout: label byte, then CHW pixels.
    rng = np.random.default_rng(0)

    def batch(n):
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        pixels = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        raw = np.concatenate([labels[:, None], pixels.reshape(n, -1)], axis=1)
        return labels, pixels, raw.tobytes()

    train_labels, train_pixels, train_raw = batch(3)
    test_labels, test_pixels, test_raw = batch(2)
    path = tmp_path / "cifar.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in [("cifar-10-batches-bin/data_batch_1.bin", train_raw),
                           ("cifar-10-batches-bin/test_batch.bin", test_raw)]:
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    x_train, y_train, x_test, y_test = online._read_cifar10_binary(str(path))
    np.testing.assert_array_equal(y_train, train_labels)
    np.testing.assert_array_equal(y_test, test_labels)
    # Channel c of pixel (i, j) in HWC must equal the CHW byte.
    assert x_train[1, 5, 7, 2] == pytest.approx(train_pixels[1, 2, 5, 7] / 255.0)
    assert x_test.shape == (2, 32, 32, 3)
