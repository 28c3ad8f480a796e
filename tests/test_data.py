import io
import tarfile

import numpy as np
import pytest

from cnnkit import data
from cnnkit.data import online, shapes

# ---------------------------------------------------------------- shapes


def test_shapes_are_deterministic_balanced_and_in_range():
    x1, y1, names = data.make_shapes(num_samples=120, image_size=32, seed=3)
    x2, y2, _ = data.make_shapes(num_samples=120, image_size=32, seed=3)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert x1.shape == (120, 32, 32, 3) and x1.dtype == np.float32
    assert 0.0 <= x1.min() and x1.max() <= 1.0
    assert names == list(data.SHAPE_NAMES)
    assert np.bincount(y1).tolist() == [20] * 6


def test_shapes_differ_with_seed():
    x1, _, _ = data.make_shapes(num_samples=10, seed=0)
    x2, _, _ = data.make_shapes(num_samples=10, seed=1)
    assert not np.allclose(x1, x2)


def test_every_shape_covers_a_plausible_area():
    # Coverage of each shape of radius 10 relative to a circle of radius 10: catches a broken SDF.
    kinds = np.arange(len(data.SHAPE_NAMES))
    alpha = data.render_alpha(kinds, [[16, 16]] * len(kinds), [10] * len(kinds), [0.3] * len(kinds), (32, 32))
    areas = alpha.sum(axis=(1, 2))
    circle = np.pi * 10**2
    assert abs(areas[0] - circle) / circle < 0.03
    for name, area in zip(data.SHAPE_NAMES, areas):
        assert 0.2 * circle < area < 1.1 * circle, name
    # Shapes stay where they are put: the coverage is centred on (16, 16).
    ys, xs = np.nonzero(alpha[0] > 0.5)
    assert abs(ys.mean() + 0.5 - 16) < 0.5 and abs(xs.mean() + 0.5 - 16) < 0.5


def test_square_sdf_is_the_exact_distance():
    u, v = np.array([0.0, 8.0, 10.0]), np.array([0.0, 0.0, 0.0])
    np.testing.assert_allclose(shapes.shape_sdf("square", u, v, 10.0), [8.0, 0.0, -2.0])


def test_load_shapes_splits_are_disjoint_and_stratified():
    ds = data.load_shapes(num_samples=600, seed=0)
    assert len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == 600
    assert len(ds.x_test) == 90 and len(ds.x_val) == 90
    assert np.bincount(ds.y_test).tolist() == [15] * 6
    flat = [a.reshape(len(a), -1) for a in (ds.x_train, ds.x_val, ds.x_test)]
    seen = {row.tobytes() for row in flat[0]}
    assert not any(row.tobytes() in seen for part in flat[1:] for row in part)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"num_samples": -5}, r"num_samples must be a positive integer; received -5"),
        ({"num_samples": 2.5}, r"num_samples must be a positive integer; received 2.5"),
        ({"image_size": 4}, r"image_size must be an integer >= 8 \(pixels, to draw a shape\); received 4"),
        ({"classes": ["circle", "hexagon"]}, r"classes must be 2 or more distinct names .* 'hexagon'"),
        ({"noise": -0.1}, r"noise must be a non-negative number; received -0.1"),
        ({"val_fraction": 1.5}, r"val_fraction must be a number in \(0, 1\); received 1.5"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, r"must leave data for training"),
    ],
)
def test_load_shapes_rejects_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        data.load_shapes(**kwargs)


# ---------------------------------------------------------------- digits and the registry of loaders


def test_digits_native_and_resized():
    ds = data.load_dataset("digits")
    assert ds.input_shape == (8, 8, 1) and ds.num_classes == 10
    assert len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == 1797
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    big = data.load_digits(image_size=16)
    assert big.input_shape == (16, 16, 1)
    # The same seed gives the same split, whatever the image size.
    np.testing.assert_array_equal(ds.y_test, big.y_test)


def test_split_accessor():
    ds = data.load_digits()
    x, y = ds.split("val")
    assert x is ds.x_val and y is ds.y_val
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'val', 'test'\); received 'valid'"):
        ds.split("valid")
    assert "digits" in repr(ds) and "train=" in repr(ds)


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"Unknown dataset 'mnist'\. Available: ") as err:
        data.load_dataset("mnist")
    assert all(name in str(err.value) for name in ["cifar10", "digits", "fashion_mnist", "shapes"])
    assert str(err.value).endswith(", ".join(data.list_datasets()) + ".")


def test_bad_image_size_for_digits():
    with pytest.raises(ValueError, match=r"image_size must be a positive integer or 2 positive integers \(height, width\); received -8"):
        data.load_digits(image_size=-8)


# ---------------------------------------------------------------- photos


@pytest.mark.parametrize("name", data.list_images())
def test_every_photo_loads(name):
    image = data.load_image(name, size=32)
    assert image.shape == (32, 32, 3) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.02


def test_gray_photo_and_unknown_name():
    assert data.load_image("grace_hopper", gray=True).shape[-1] == 1
    with pytest.raises(ValueError, match=r"Unknown image 'lena'\. Available: .*grace_hopper"):
        data.load_image("lena")


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
    ds = data.load_fashion_mnist()
    assert ds.name == "shapes" and ds.input_shape == (28, 28, 3)
    assert "Temporary failure in name resolution" in capsys.readouterr().err


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
