"""cnnkit.data.digits: scikit-learn's 8x8 digits as a Dataset."""


import numpy as np
import pytest

from cnnkit import data

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


def test_bad_image_size_for_digits():
    with pytest.raises(ValueError, match=r"image_size must be a positive integer or 2 positive integers \(height, width\); received -8"):
        data.load_digits(image_size=-8)
