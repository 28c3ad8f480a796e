"""Synthetic coloured shapes: an offline image-classification set that is generated, not downloaded.

Every shape is drawn from a *signed distance function* (positive inside the
shape, negative outside, in pixels), so one vectorised NumPy expression draws
thousands of anti-aliased shapes at any size, rotation and position. The same
renderer is reused for the detection and segmentation scenes, where the
coverage masks double as ground-truth masks and boxes.
"""

from __future__ import annotations

import numpy as np

from cnnkit import _validate as V
from cnnkit.data.core import Dataset, minimum_samples, stratified_split

SHAPE_NAMES = ("circle", "square", "triangle", "cross", "ring", "star")


def shape_sdf(kind: str, u: np.ndarray, v: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Signed distance (pixels, positive inside) of one kind of shape.

    ``u, v`` are pixel offsets from the shape's centre in the shape's own
    (rotated) frame; ``radius`` is the shape's outer radius and broadcasts
    against them. The values are exact distances for the circle, square and
    ring, and close approximations for the others, which is all anti-aliasing needs.
    """
    dist = np.hypot(u, v)
    if kind == "circle":
        return radius - dist
    if kind == "square":  # half side 0.8 r: about the area of the circle of radius r
        return 0.8 * radius - np.maximum(np.abs(u), np.abs(v))
    if kind == "triangle":  # equilateral, circumradius r: three half-planes at distance r / 2
        normals = np.deg2rad([90.0, 210.0, 330.0])
        reach = np.max([u * np.cos(a) + v * np.sin(a) for a in normals], axis=0)
        return 0.5 * radius - reach
    if kind == "cross":  # two bars of half-length r and half-width 0.3 r
        width = 0.3 * radius
        bar_h = np.minimum(radius - np.abs(u), width - np.abs(v))
        bar_v = np.minimum(width - np.abs(u), radius - np.abs(v))
        return np.maximum(bar_h, bar_v)
    if kind == "ring":  # between 0.55 r and r
        return np.minimum(radius - dist, dist - 0.55 * radius)
    if kind == "star":  # five points: the boundary radius swings between 0.45 r and r
        angle = np.arctan2(v, u)
        boundary = radius * (0.725 + 0.275 * np.cos(5 * angle))
        return boundary - dist
    raise ValueError(f"kind must be one of {SHAPE_NAMES}; received {kind!r}.")


def render_alpha(kinds, centers, radii, angles, image_size: tuple[int, int]) -> np.ndarray:
    """Coverage masks (N, H, W) in ``[0, 1]`` for N shapes, one per mask.

    Args:
        kinds: (N,) indices into :data:`SHAPE_NAMES`.
        centers: (N, 2) shape centres as ``(y, x)`` in pixels (pixel ``i`` spans ``[i, i+1)``).
        radii: (N,) outer radius in pixels.
        angles: (N,) rotation in radians.
        image_size: ``(height, width)``.
    """
    kinds = np.asarray(kinds)
    centers = np.asarray(centers, dtype=np.float32).reshape(-1, 2)
    radii = np.asarray(radii, dtype=np.float32).reshape(-1, 1, 1)
    angles = np.asarray(angles, dtype=np.float32).reshape(-1, 1, 1)
    height, width = image_size
    ys = np.arange(height, dtype=np.float32)[None, :, None] + 0.5
    xs = np.arange(width, dtype=np.float32)[None, None, :] + 0.5
    dy, dx = ys - centers[:, 0, None, None], xs - centers[:, 1, None, None]
    # Rotate the pixel grid into each shape's frame (rotating the grid by -angle rotates the shape by +angle).
    cos, sin = np.cos(angles), np.sin(angles)
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos

    sdf = np.empty((len(kinds), height, width), dtype=np.float32)
    for k, kind in enumerate(SHAPE_NAMES):
        sel = kinds == k
        if sel.any():
            sdf[sel] = shape_sdf(kind, u[sel], v[sel], radii[sel])
    return np.clip(sdf + 0.5, 0.0, 1.0)  # a one-pixel soft edge: cheap anti-aliasing


def random_colors(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Foreground and background colours with guaranteed contrast (dark on light or light on dark)."""
    dark = rng.uniform(0.0, 0.4, size=(n, 3))
    light = rng.uniform(0.6, 1.0, size=(n, 3))
    light_shape = rng.random(n) < 0.5
    fg = np.where(light_shape[:, None], light, dark)
    bg = np.where(light_shape[:, None], dark, light)
    return fg.astype(np.float32), bg.astype(np.float32)


def textured_background(rng: np.random.Generator, colors: np.ndarray, image_size, noise: float) -> np.ndarray:
    """Backgrounds (N, H, W, 3): a colour, a gentle linear gradient, and Gaussian noise."""
    n = len(colors)
    height, width = image_size
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)[None, :, None]
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, None, :]
    direction = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    strength = rng.uniform(-0.2, 0.2, size=(n, 1, 1))
    gradient = strength * (np.cos(direction) * xs + np.sin(direction) * ys)
    images = colors[:, None, None, :] + gradient[..., None]
    images = images + rng.normal(0.0, noise, size=(n, height, width, 3))
    return images.astype(np.float32)


def make_shapes(
    num_samples: int = 3000,
    image_size: int = 32,
    classes=SHAPE_NAMES,
    noise: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Generate ``(images, labels, class_names)``: one shape per image, classes balanced.

    Colour, size (radius 12-38% of half the image), position, rotation,
    background gradient and noise all vary, so a model must learn the shape
    itself. Same ``seed``, same images.
    """
    n = V.positive_int(num_samples, "num_samples")
    size = V.integer(image_size, "image_size", minimum=8, reason="pixels, to draw a shape")
    class_names = V.distinct_choices(classes, "classes", SHAPE_NAMES, min_count=2)
    noise = V.non_negative_float(noise, "noise")
    seed = V.seed(seed)
    V.memory_of(5 * n * size * size * 3 * 4, {"num_samples": n, "image_size": size}, "the images (and drawing them)")

    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(class_names)).astype(np.int32)
    kinds = np.array([SHAPE_NAMES.index(c) for c in class_names])[labels]
    radii = rng.uniform(0.24, 0.76, size=n) * size / 2
    centers = rng.uniform(radii[:, None], size - radii[:, None], size=(n, 2))
    angles = rng.uniform(0, 2 * np.pi, size=n)
    alpha = render_alpha(kinds, centers, radii, angles, (size, size))[..., None]

    fg, bg = random_colors(rng, n)
    images = textured_background(rng, bg, (size, size), noise)
    images = images * (1 - alpha) + fg[:, None, None, :] * alpha
    return np.clip(images, 0.0, 1.0).astype(np.float32), labels, class_names


def load_shapes(
    num_samples: int = 3000,
    image_size: int = 32,
    classes=SHAPE_NAMES,
    noise: float = 0.05,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Dataset:
    """The shapes set as a :class:`Dataset` (RGB, float32 in ``[0, 1]``), split train / val / test.

    Example:
        >>> data = load_shapes(num_samples=600, image_size=32)
        >>> data.input_shape, data.num_classes
        ((32, 32, 3), 6)
    """
    val_fraction = V.open_fraction(val_fraction, "val_fraction")
    test_fraction = V.open_fraction(test_fraction, "test_fraction")
    num_samples = V.positive_int(num_samples, "num_samples")
    size = V.integer(image_size, "image_size", minimum=8, reason="pixels, to draw a shape")
    num_classes = len(V.distinct_choices(classes, "classes", SHAPE_NAMES, min_count=2))
    if val_fraction + test_fraction < 1:  # (else stratified_split says so)
        V.integer(num_samples, "num_samples", minimum=minimum_samples(num_classes, val_fraction, test_fraction),
                  reason=f"the smallest number that leaves every class some train, val and test images with "
                         f"val_fraction={val_fraction:g} and test_fraction={test_fraction:g}")
    # Drawing holds about five arrays the size of the float32 images (measured with tracemalloc: 5.0x).
    V.memory_of(5 * num_samples * size * size * 3 * 4, {"num_samples": num_samples, "image_size": size},
                "the images (and drawing them)")
    x, y, names = make_shapes(num_samples, image_size, classes, noise, seed)
    splits = stratified_split(x, y, val_fraction, test_fraction, seed)
    return Dataset(
        "shapes", *splits, class_names=names,
        source=f"synthetic shapes generated by cnnkit (seed={seed}, {num_samples} images)",
    )
