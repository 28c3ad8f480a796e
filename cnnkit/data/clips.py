"""Moving-dot clips: a video data set whose label cannot be read from any single frame.

Each clip is a *random-dot kinematogram*, the stimulus neuroscientists use to
study motion perception precisely because a single frame carries no
information about motion: a few dozen soft dots at random positions, all
drifting in one of ``num_directions`` directions (wrapping around the image
edges, like a pattern on a torus). The label is the direction of motion.

Why no single frame, and no *set* of frames, can tell the label: every frame is
dots at uniformly random positions, whatever the direction. And playing a clip
backwards gives a clip that moves the opposite way, made of exactly the same
frames: :func:`reverse_clips` returns those clips with their (changed) labels,
and the tests check that the reversed frames are exactly the clip the generator
draws for the opposite direction. So any model that looks at the frames
without their order (a per-frame CNN whose outputs are averaged over time) is
at chance, while a model that convolves over time can read the motion.

Everything is vectorised NumPy: dots are drawn as Gaussians, separably, one
matrix product for all dots of all frames of all clips.
"""

from __future__ import annotations

import numpy as np

from cnnkit import _validate as V
from cnnkit.data.core import Dataset, stratified_split

# Names of the directions for the supported numbers of classes. Directions are
# counter-clockwise as seen on screen, starting at "right": class k moves at the
# angle 360 * k / num_directions degrees, and class k + num_directions / 2 is its opposite.
DIRECTION_NAMES = {
    2: ("right", "left"),
    4: ("right", "up", "left", "down"),
    8: ("right", "up-right", "up", "up-left", "left", "down-left", "down", "down-right"),
}


def direction_names(num_directions: int = 4) -> list[str]:
    """Class names for ``num_directions`` evenly spaced directions (2, 4 or 8).

    Example:
        >>> direction_names(4)
        ['right', 'up', 'left', 'down']
    """
    V.choice(num_directions, "num_directions", DIRECTION_NAMES)
    return list(DIRECTION_NAMES[num_directions])


def _label_array(labels) -> np.ndarray:
    """Labels as an array: ``None``, strings and dicts are refused (a wrong type)."""
    if labels is None or isinstance(labels, (str, bytes, dict)):
        V.fail("labels", "an array of direction ids", labels, wrong_type=True)
    labels = np.asarray(labels)
    if labels.ndim > 1:
        raise ValueError(f"labels must be one direction id per clip, shape (N,); received {V.describe(labels)}.")
    return labels


def _clip_batch(clips) -> np.ndarray:
    """Clips ``(N, T, H, W, C)`` of real finite numbers in cnnkit's [0, 1] convention (never 0-255); not copied."""
    raw = np.asarray(clips)
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_) or np.iscomplexobj(raw):
        V.fail("clips", "an array of clips (N, T, H, W, C) of real numbers", clips, wrong_type=True)
    return V.model_inputs(raw, "clips")


def opposite_direction(labels, num_directions: int = 4) -> np.ndarray:
    """The label of the opposite direction (what playing the clip backwards gives)."""
    direction_names(num_directions)  # validates
    labels = V.class_ids(_label_array(labels), num_directions, "labels", whole_floats=True)
    return ((labels + num_directions // 2) % num_directions).astype(np.int32)


def direction_vectors(labels, num_directions: int = 4) -> np.ndarray:
    """Unit motion vectors ``(N, 2)`` as ``(dy, dx)`` in pixels (y grows downwards, so "up" is ``dy < 0``)."""
    direction_names(num_directions)
    labels = V.class_ids(_label_array(labels), num_directions, "labels", whole_floats=True)
    angles = 2 * np.pi * labels.astype(np.float64) / num_directions
    return np.stack([-np.sin(angles), np.cos(angles)], axis=-1)


def render_dots(positions, image_size: int, dot_sigma: float = 0.8) -> np.ndarray:
    """Draw dots as Gaussians on a wrap-around (toroidal) square canvas.

    Args:
        positions: ``(..., num_dots, 2)`` dot centres as ``(y, x)`` in pixels
            (pixel ``i`` spans ``[i, i + 1)``); any values, they wrap around.
        image_size: side of the square canvas in pixels.
        dot_sigma: standard deviation of each dot in pixels.

    Returns:
        float32 images ``(..., image_size, image_size)`` in ``[0, 1]`` (dots of peak 1,
        overlaps clipped at 1).

    Example:
        >>> render_dots([[[4.5, 4.5]]], image_size=9).shape
        (1, 9, 9)
    """
    positions = V.finite_array(positions, "positions", np.float32)
    dot_sigma = V.positive_float(dot_sigma, "dot_sigma")
    if positions.ndim < 2 or positions.shape[-1] != 2:
        raise ValueError(f"positions must have shape (..., num_dots, 2); received shape {positions.shape}.")
    size = V.positive_int(image_size, "image_size")
    # float32 bytes: a few (..., num_dots, size) profiles per axis, then the images and their clipped copies.
    images = positions.size // max(2 * positions.shape[-2], 1)
    V.memory(4.0 * (8 * positions.size * size + 3 * images * size**2), "image_size", image_size, "the rendered dots")
    centres = np.arange(size, dtype=np.float32) + 0.5

    def profile(coord):  # (..., D) -> (..., D, size): a 1D Gaussian, using the shortest wrap-around distance
        d = centres - coord[..., None]
        d = (d + size / 2) % size - size / 2
        return np.exp(-0.5 * (d / dot_sigma) ** 2)

    gy, gx = profile(positions[..., 0]), profile(positions[..., 1])
    # A 2D Gaussian is the outer product of two 1D ones; summing over dots is then one matrix product.
    images = np.swapaxes(gy, -1, -2) @ gx
    return np.clip(images, 0.0, 1.0).astype(np.float32)


def dot_trajectories(
    labels,
    rng: np.random.Generator,
    frames: int = 8,
    image_size: int = 32,
    num_directions: int = 4,
    num_dots: int = 24,
    speed=(1.0, 2.0),
    coherence: float = 1.0,
    motion_window=None,
) -> np.ndarray:
    """Dot positions ``(N, frames, num_dots, 2)`` for clips moving in the directions ``labels``.

    Each clip draws its dots uniformly on the canvas and a speed uniformly in
    ``speed`` (pixels per frame). A fraction ``coherence`` of the dots moves in
    the clip's direction; the others each move in their own random direction
    at the same speed (noise dots, as in the classic kinematogram). With
    ``motion_window=(start, stop)`` the dots move only from frame ``start`` to
    frame ``stop - 1`` and stand still before and after.
    """
    labels = np.asarray(labels)
    n = len(labels)
    start = rng.uniform(0, image_size, size=(n, 1, num_dots, 2))
    low, high = speed if isinstance(speed, (tuple, list)) else (speed, speed)
    speeds = rng.uniform(low, high, size=(n, 1, 1, 1))
    velocity = np.broadcast_to(direction_vectors(labels, num_directions)[:, None, None, :], (n, 1, num_dots, 2)).copy()
    noisy = rng.random((n, 1, num_dots)) >= coherence
    random_angles = rng.uniform(0, 2 * np.pi, size=(n, 1, num_dots))
    random_vectors = np.stack([np.sin(random_angles), np.cos(random_angles)], axis=-1)
    velocity = np.where(noisy[..., None], random_vectors, velocity) * speeds
    start_frame, stop_frame = (0, frames) if motion_window is None else motion_window
    steps = np.clip(np.arange(frames) - start_frame, 0, stop_frame - 1 - start_frame)  # motion steps so far
    return (start + steps[None, :, None, None] * velocity) % image_size


def _check_clip_args(num_samples, frames, image_size, num_directions, num_dots, speed, coherence, dot_sigma, noise,
                     motion_window=None):
    V.positive_int(num_samples, "num_samples")
    V.integer(frames, "frames", minimum=2, reason="motion needs two frames")
    V.integer(image_size, "image_size", minimum=8, reason="pixels")
    direction_names(num_directions)
    V.positive_int(num_dots, "num_dots")
    V.memory_of(4.0 * 6 * num_samples * frames * image_size * image_size,
                {"num_samples": num_samples, "frames": frames, "image_size": image_size}, "the clips (and drawing them)")
    if V.is_number(speed):  # pixels per frame: one speed, or a (low, high) range to draw from
        pair = (V.positive_float(speed, "speed"),) * 2
    else:
        pair = V.number_range(speed, "speed", minimum=0, min_open=True)
    V.fraction(coherence, "coherence")
    V.positive_float(dot_sigma, "dot_sigma")
    V.non_negative_float(noise, "noise")
    if motion_window is not None:
        window = V.as_sequence(motion_window) or ()
        if len(window) != 2 or not all(V.is_int(w) for w in window) or not 0 <= window[0] < window[1] - 1 < frames:
            V.fail("motion_window", "a (start, stop) pair of frame indices with 0 <= start, stop - start >= 2 "
                   f"and stop <= frames ({frames})", motion_window, allow_none=True)
    return tuple(float(s) for s in pair)


def make_motion_clips(
    num_samples: int = 2000,
    frames: int = 8,
    image_size: int = 32,
    num_directions: int = 4,
    num_dots: int = 24,
    speed=(1.0, 2.0),
    coherence: float = 1.0,
    dot_sigma: float = 0.8,
    noise: float = 0.0,
    motion_window=None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Generate ``(clips, labels, class_names)``: moving-dot clips labelled by their direction of motion.

    Args:
        num_samples: number of clips; the classes are balanced.
        frames: frames per clip (at least 2).
        image_size: side of each square frame in pixels (at least 8).
        num_directions: number of classes, 2, 4 or 8 evenly spaced directions.
        num_dots: dots per clip.
        speed: pixels per frame, a number or a ``(low, high)`` range drawn per clip.
        coherence: fraction of dots that move in the labelled direction (the
            others move in random directions); 1.0 is the easiest task.
        dot_sigma: dot radius (Gaussian standard deviation) in pixels.
        noise: standard deviation of Gaussian pixel noise added to every frame.
        motion_window: ``None`` (the dots move in every frame) or ``(start, stop)``:
            the dots move only in frames ``start`` to ``stop - 1`` and stand
            still before and after (to see which frames a model relies on).
        seed: same seed, same clips.

    Returns:
        ``clips`` float32 ``(num_samples, frames, image_size, image_size, 1)`` in
        ``[0, 1]``; ``labels`` int32 ``(num_samples,)``; the class names.

    Example:
        >>> clips, labels, names = make_motion_clips(num_samples=8, frames=6, image_size=16)
        >>> clips.shape, names
        ((8, 6, 16, 16, 1), ['right', 'up', 'left', 'down'])
    """
    speed = _check_clip_args(num_samples, frames, image_size, num_directions, num_dots, speed, coherence,
                             dot_sigma, noise, motion_window)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(num_samples) % num_directions).astype(np.int32)
    positions = dot_trajectories(labels, rng, frames, image_size, num_directions, num_dots, speed, coherence,
                                 motion_window)
    clips = render_dots(positions, image_size, dot_sigma)
    if noise > 0:
        clips = np.clip(clips + rng.normal(0.0, noise, size=clips.shape), 0.0, 1.0)
    return clips[..., None].astype(np.float32), labels, direction_names(num_directions)


def reverse_clips(clips, labels, num_directions: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Play every clip backwards: the same frames in reverse order, and the opposite direction as label.

    This is the data set's built-in control: the reversed clips contain exactly
    the frames of the originals, yet every label changes. A model that ignores
    frame order must give both the same prediction, so it cannot beat chance.

    Args:
        clips: ``(N, T, H, W, C)``.
        labels: ``(N,)`` direction labels.

    Returns:
        ``(clips[:, ::-1], opposite labels)``.
    """
    clips = _clip_batch(clips)
    if clips.ndim != 5:
        raise ValueError(f"clips must have shape (N, T, H, W, C); received shape {clips.shape}.")
    labels = _label_array(labels)
    if len(labels) != len(clips):
        raise ValueError(f"labels must have one entry per clip ({len(clips)}); received {len(labels)}.")
    return clips[:, ::-1].copy(), opposite_direction(labels, num_directions)


def shuffle_frames(clips, seed: int = 0) -> np.ndarray:
    """Shuffle the frames of every clip in time (its own random order per clip).

    The shuffled clips keep every frame but lose the motion: their direction
    label is no longer defined, so a model that reads motion drops to chance on them.
    """
    clips = _clip_batch(clips)
    if clips.ndim != 5:
        raise ValueError(f"clips must have shape (N, T, H, W, C); received shape {clips.shape}.")
    rng = np.random.default_rng(V.seed(seed))
    order = np.argsort(rng.random(clips.shape[:2]), axis=1)  # one random permutation per clip
    return np.take_along_axis(clips, order[:, :, None, None, None], axis=1)


def load_motion_clips(
    num_samples: int = 2000,
    frames: int = 8,
    image_size: int = 32,
    num_directions: int = 4,
    num_dots: int = 24,
    speed=(1.0, 2.0),
    coherence: float = 1.0,
    dot_sigma: float = 0.8,
    noise: float = 0.0,
    motion_window=None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Dataset:
    """The moving-dot clips as a :class:`Dataset` of ``(N, T, H, W, 1)`` clips, split train / val / test.

    Arguments as in :func:`make_motion_clips`; the split is stratified and fixed by ``seed``.

    Example:
        >>> data = load_motion_clips(num_samples=200, frames=8, image_size=16)
        >>> data.input_shape, data.class_names
        ((8, 16, 16, 1), ['right', 'up', 'left', 'down'])
    """
    V.open_fraction(val_fraction, "val_fraction")
    V.open_fraction(test_fraction, "test_fraction")
    x, y, names = make_motion_clips(
        num_samples, frames, image_size, num_directions, num_dots, speed, coherence, dot_sigma, noise,
        motion_window=motion_window, seed=seed,
    )
    splits = stratified_split(x, y, val_fraction, test_fraction, seed)
    return Dataset(
        "motion_clips", *splits, class_names=names,
        source=(f"synthetic moving-dot clips generated by cnnkit (seed={seed}, {num_samples} clips, "
                f"{num_dots} dots, coherence {coherence:g})"),
        extras={"num_directions": num_directions, "speed": speed, "coherence": coherence},
    )
