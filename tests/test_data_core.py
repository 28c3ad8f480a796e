"""cnnkit.data.core: the Dataset container, resizing and the stratified splits (checked against scikit-learn)."""

import numpy as np
import pytest
from sklearn.model_selection import StratifiedShuffleSplit

from cnnkit import data
from cnnkit.data.core import resize_images, split_off, stratified_split


def test_split_accessor():
    ds = data.load_digits()
    x, y = ds.split("val")
    assert x is ds.x_val and y is ds.y_val
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'val', 'test'\); received 'valid'"):
        ds.split("valid")
    assert "digits" in repr(ds) and "train=" in repr(ds)


def labels_like_the_digits() -> np.ndarray:
    return data.load_digits().y_train  # unbalanced class sizes, as real data have


@pytest.mark.parametrize("fraction", [0.1, 0.15, 0.3])
def test_split_off_takes_the_share_of_each_class_that_scikit_learn_takes(fraction):
    y = labels_like_the_digits()
    x = np.arange(len(y))
    x_keep, y_keep, x_out, y_out = split_off(x, y, fraction, seed=0)
    assert sorted(np.concatenate([x_keep, x_out]).tolist()) == x.tolist(), "every sample in exactly one part"
    np.testing.assert_array_equal(y[x_keep], y_keep)
    np.testing.assert_array_equal(y[x_out], y_out)
    _, theirs = next(StratifiedShuffleSplit(1, test_size=fraction, random_state=0).split(x, y))
    for label in np.unique(y):
        ours, reference = int(np.sum(y_out == label)), int(np.sum(y[theirs] == label))
        assert abs(ours - reference) <= 1, f"class {label}: {ours} vs scikit-learn's {reference}"
        assert ours == round(np.sum(y == label) * fraction)


def test_split_off_is_shuffled_and_repeatable():
    y = np.repeat([0, 1], 50)
    x = np.arange(100)
    first, again = split_off(x, y, 0.2, seed=3), split_off(x, y, 0.2, seed=3)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[2], np.sort(first[2])), "the split-off part comes shuffled"
    assert not np.array_equal(split_off(x, y, 0.2, seed=4)[2], first[2])


def test_stratified_split_keeps_class_proportions_in_every_split():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    x = np.arange(100)
    x_tr, y_tr, x_val, y_val, x_te, y_te = stratified_split(x, y, 0.2, 0.2, seed=0)
    assert len(x_tr) + len(x_val) + len(x_te) == 100
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    assert np.bincount(y_val).tolist() == [12, 6, 2]
    assert not set(x_tr) & set(x_val) and not set(x_tr) & set(x_te) and not set(x_val) & set(x_te)


@pytest.mark.parametrize("call, pattern", [
    (lambda: split_off(np.zeros(4), np.zeros(4), 1.0, 0), r"fraction must be a number in \(0, 1\); received 1\.0"),
    (lambda: split_off(np.zeros(4), np.zeros(3), 0.5, 0), r"one label per sample; received 4 samples and 3 labels"),
    (lambda: split_off(np.zeros(4), np.zeros(4), 0.5, -1), r"seed must be a non-negative integer; received -1"),
    (lambda: stratified_split(np.zeros(4), np.zeros(4), 0.6, 0.5, 0), r"must leave data for training"),
])
def test_bad_arguments_say_what_was_received(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_resize_images_keeps_the_batch_and_range():
    images = np.random.default_rng(0).random((3, 8, 8, 1), dtype=np.float32)
    out = resize_images(images, (4, 6))
    assert out.shape == (3, 4, 6, 1) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1
    assert resize_images(images, (8, 8)) is images


def test_a_split_that_would_be_empty_is_refused_with_the_minimum():
    x, y = np.zeros((12, 2)), np.arange(12) % 6
    with pytest.raises(ValueError, match=r"12 samples leave the val and test splits empty \(val_fraction=0\.15, "
                                         r"test_fraction=0\.15, 6 classes\); use at least 19 samples"):
        stratified_split(x, y, 0.15, 0.15, seed=0)
