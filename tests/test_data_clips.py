"""The moving-dot clips: deterministic, balanced, and labelled by motion that only frame ORDER reveals."""

import numpy as np
import pytest

from cnnkit import data
from cnnkit.data import clips as clip_data


def small(**kwargs):
    args = dict(num_samples=40, frames=6, image_size=16, num_dots=10, seed=1)
    args.update(kwargs)
    return data.make_motion_clips(**args)


def test_shapes_range_balance_and_determinism():
    x1, y1, names = small()
    x2, y2, _ = small()
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert x1.shape == (40, 6, 16, 16, 1) and x1.dtype == np.float32 and y1.dtype == np.int32
    assert 0.0 <= x1.min() and x1.max() <= 1.0 and x1.max() > 0.9  # dots of peak 1 are drawn
    assert names == ["right", "up", "left", "down"]
    assert np.bincount(y1).tolist() == [10] * 4
    x3, _, _ = small(seed=2)
    assert not np.allclose(x1, x3)


def test_render_dots_draws_a_gaussian_where_asked_and_wraps_around():
    image = data.render_dots([[[4.5, 10.5]]], image_size=16, dot_sigma=1.0)[0]
    assert np.unravel_index(image.argmax(), image.shape) == (4, 10)
    assert image[4, 10] == pytest.approx(1.0) and image[4, 11] == pytest.approx(np.exp(-0.5), rel=1e-5)
    # A dot on the left edge spills over to the right edge (the canvas is a torus).
    edge = data.render_dots([[[8.0, 0.0]]], image_size=16, dot_sigma=1.0)[0]
    np.testing.assert_allclose(edge[8, 0], edge[8, 15], rtol=1e-6)
    # The separable matrix product is the sum of one 2D Gaussian per dot.
    dots = [(13.2, 14.7), (17.0, 16.5)]  # overlapping, and far from the edges (no wrap-around)
    ys, xs = np.mgrid[0:32, 0:32] + 0.5
    reference = sum(np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / 2) for cy, cx in dots)
    ours = data.render_dots([dots], image_size=32, dot_sigma=1.0)[0]
    np.testing.assert_allclose(ours, np.clip(reference, 0, 1), atol=1e-6)


@pytest.mark.parametrize("num_directions", [2, 4])
def test_each_frame_is_the_previous_one_shifted_in_the_labelled_direction(num_directions):
    # At a whole-pixel speed, frame t+1 is exactly frame t rolled by the motion vector.
    x, y, _ = small(num_directions=num_directions, speed=2.0, num_samples=8)
    for clip, label in zip(x[..., 0], y):
        dy, dx = np.rint(2.0 * data.direction_vectors([label], num_directions)[0]).astype(int)
        for t in range(clip.shape[0] - 1):
            np.testing.assert_allclose(np.roll(clip[t], (dy, dx), axis=(0, 1)), clip[t + 1], atol=1e-5)


def estimated_direction(clip: np.ndarray) -> np.ndarray:
    """Motion (dy, dx) between consecutive frames from the pixels alone: peak of the circular cross-correlation."""
    spectrum = sum(np.conj(np.fft.fft2(a)) * np.fft.fft2(b) for a, b in zip(clip[:-1], clip[1:]))
    corr = np.real(np.fft.ifft2(spectrum))
    dy, dx = np.unravel_index(corr.argmax(), corr.shape)
    size = clip.shape[-1]
    return np.array([(dy + size // 2) % size - size // 2, (dx + size // 2) % size - size // 2])


def test_playing_a_clip_backwards_gives_the_same_frames_with_the_opposite_label():
    x, y, _ = small(num_samples=12, speed=(1.5, 2.5))
    x_rev, y_rev = data.reverse_clips(x, y)
    np.testing.assert_array_equal(y_rev, (y + 2) % 4)
    for clip, rev, label, label_rev in zip(x[..., 0], x_rev[..., 0], y, y_rev):
        # Same frames (so the same SET of frames) ...
        np.testing.assert_array_equal(np.sort(clip.reshape(len(clip), -1), axis=0),
                                      np.sort(rev.reshape(len(rev), -1), axis=0))
        assert label != label_rev
        # ... yet the motion read off the pixels points the other way, matching the new label.
        forward, backward = estimated_direction(clip), estimated_direction(rev)
        np.testing.assert_array_equal(backward, -forward)
        for est, lab in ((forward, label), (backward, label_rev)):
            unit = np.rint(data.direction_vectors([lab], 4)[0])  # e.g. (0, 1) for "right"
            np.testing.assert_array_equal(np.sign(est), unit)


def test_shuffling_frames_keeps_every_frame_but_changes_the_order():
    x, _, _ = small(num_samples=6, frames=8)
    shuffled = data.shuffle_frames(x, seed=3)
    np.testing.assert_array_equal(shuffled, data.shuffle_frames(x, seed=3))
    changed = 0
    for clip, mixed in zip(x, shuffled):
        flat, flat_mixed = clip.reshape(8, -1), mixed.reshape(8, -1)
        np.testing.assert_array_equal(np.sort(flat, axis=0), np.sort(flat_mixed, axis=0))
        changed += not np.array_equal(flat, flat_mixed)
    assert changed >= 5


def test_coherence_sets_the_fraction_of_dots_moving_with_the_label():
    rng = np.random.default_rng(0)
    labels = np.zeros(200, dtype=int)  # all "right"
    pos = clip_data.dot_trajectories(labels, rng, frames=2, image_size=64, num_dots=50, speed=1.0, coherence=0.3)
    step = (pos[:, 1] - pos[:, 0] + 32) % 64 - 32  # (N, dots, 2), wrap-around undone
    with_label = np.all(np.abs(step - [0.0, 1.0]) < 1e-9, axis=-1).mean()
    assert abs(with_label - 0.3) < 0.02
    np.testing.assert_allclose(np.hypot(step[..., 0], step[..., 1]), 1.0)  # noise dots keep the speed


def test_motion_window_makes_the_dots_stand_still_outside_it():
    x, _, _ = small(num_samples=4, frames=8, motion_window=(2, 5))
    moved = [not np.allclose(x[:, t], x[:, t - 1]) for t in range(1, 8)]
    assert moved == [False, False, True, True, False, False, False]  # frames 2, 3, 4 move


def test_load_motion_clips_is_a_stratified_dataset_and_registered():
    ds = data.load_dataset("motion_clips", num_samples=200, frames=6, image_size=16)
    assert ds.input_shape == (6, 16, 16, 1)
    assert len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == 200
    assert np.bincount(ds.y_test).tolist() == [len(ds.y_test) // 4] * 4
    assert ds.class_names == ["right", "up", "left", "down"]
    assert "motion_clips" in data.list_datasets()


def test_eight_directions_have_unit_vectors_and_opposites():
    vectors = data.direction_vectors(np.arange(8), 8)
    np.testing.assert_allclose(np.hypot(vectors[:, 0], vectors[:, 1]), 1.0)
    np.testing.assert_allclose(vectors[data.opposite_direction(np.arange(8), 8)], -vectors, atol=1e-12)
    np.testing.assert_allclose(vectors[2], [-1.0, 0.0], atol=1e-12)  # "up" is towards row 0


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"num_samples": 0}, r"num_samples must be a positive integer; received 0"),
        ({"frames": 1}, r"frames must be an integer >= 2 \(motion needs two frames\); received 1"),
        ({"image_size": 4}, r"image_size must be an integer >= 8 \(pixels\); received 4"),
        ({"num_directions": 3}, r"num_directions must be one of \(2, 4, 8\); received 3"),
        ({"speed": (2.0, 1.0)}, r"speed must be a \(low, high\) pair of numbers with 0 < low <= high; received \(2.0, 1.0\)"),
        ({"speed": -1}, r"speed must be .*received -1"),
        ({"coherence": 1.5}, r"coherence must be a number in \[0, 1\]; received 1.5"),
        ({"dot_sigma": 0}, r"dot_sigma must be a positive number; received 0"),
        ({"noise": -0.1}, r"noise must be a non-negative number; received -0.1"),
        ({"motion_window": (3, 4)}, r"motion_window must be a \(start, stop\) pair.* or None; received \(3, 4\)"),
        ({"motion_window": (0, 9)}, r"motion_window .*stop <= frames \(6\) or None; received \(0, 9\)"),
    ],
)
def test_bad_arguments_say_what_was_received(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        small(**kwargs)


def test_controls_reject_non_clips():
    with pytest.raises(ValueError, match=r"clips must have shape \(N, T, H, W, C\); received shape \(6, 16, 16\)"):
        data.shuffle_frames(np.zeros((6, 16, 16)))
    with pytest.raises(ValueError, match=r"labels must have one entry per clip \(2\); received 3"):
        data.reverse_clips(np.zeros((2, 4, 8, 8, 1)), [0, 1, 2])
    with pytest.raises(ValueError, match=r"positions must have shape \(\.\.\., num_dots, 2\)"):
        data.render_dots(np.zeros((3, 3)), image_size=8)
