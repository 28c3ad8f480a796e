"""cnnkit.data.shapes: the synthetic coloured shapes and their loader."""


import numpy as np
import pytest

from cnnkit import data
from cnnkit.data import shapes

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


def test_too_few_samples_for_non_empty_splits_are_refused_with_the_minimum():
    with pytest.raises(ValueError, match=r"num_samples must be an integer >= 19 \(the smallest number that leaves "
                                         r"every class some train, val and test images with val_fraction=0\.15 and "
                                         r"test_fraction=0\.15\); received 12\."):
        data.load_shapes(num_samples=12)
    ds = data.load_shapes(num_samples=19, image_size=8)
    assert min(len(ds.x_train), len(ds.x_val), len(ds.x_test)) >= 1  # the minimum stated is enough


def test_nan_noise_and_sizes_that_would_need_gigabytes_are_refused_up_front():
    with pytest.raises(ValueError, match=r"noise must be a non-negative number; received nan"):
        data.load_shapes(noise=float("nan"))
    with pytest.raises(ValueError, match=r"num_samples and image_size must be small enough for the images \(and drawing "
                                         r"them\) to fit in 4 GB; received num_samples=1000000000, image_size=32, "
                                         r"which would need about"):
        data.load_shapes(num_samples=10**9)  # refused at once: nothing is drawn
