"""Synthetic scenes for detection and segmentation: several shapes per image, with boxes and masks.

Each image holds 1 to ``max_objects`` shapes of several classes (the shapes of
:mod:`cnnkit.data.shapes`) on a textured, noisy background, at sizes from
small (a few pixels across) to a third of the image, and they may overlap.
Because the scene is *drawn*, the ground truth is exact:

* **masks** ``(N, K, H, W)`` bool: the *visible* pixels of each object: those
  it covers at least half of, where the objects painted later (on top) cover
  less than half. Masks of different objects never share a pixel;
* **boxes** ``(N, K, 4)`` float32 ``"xyxy"`` pixels: the extent of each
  visible part (with its anti-aliased edge), to a fraction of a pixel. A shape's soft edge
  has coverage ``alpha = sdf + 0.5``, so a left edge lying at ``e`` inside
  pixel column ``i`` shows coverage ``i + 1 - e`` there, and ``e`` is read back
  from the coverage (likewise for the other three sides). The centre of
  every mask pixel lies inside its box;
* **classes** ``(N, K)`` int32 ids into ``class_names``.

Images have different numbers of objects, so the object axis ``K`` is padded:
padding rows have class -1, box ``[-1, -1, -1, -1]`` and an empty mask (the
keras-hub / KerasCV convention). ``scenes.targets()`` gives the unpadded
per-image dicts that :func:`cnnkit.detection.evaluate` takes.

Generation is vectorised NumPy over all images at once (in chunks to bound
memory): roughly a thousand 64x64 images per second on one CPU core.

Example:
    >>> from cnnkit import data
    >>> train = data.make_scenes(200, image_size=64, seed=0)
    >>> train.images.shape, train.boxes.shape, train.masks.shape
    ((200, 64, 64, 3), (200, 6, 4), (200, 6, 64, 64))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnnkit import _validate as V
from cnnkit._optional import require
from cnnkit.data.shapes import SHAPE_NAMES, random_colors, render_alpha, textured_background

PAD_CLASS = -1
PAD_BOX = -1.0
_CHUNK = 256  # images rendered at a time: bounds the memory of the (objects, H, W) coverage arrays


@dataclass
class Scenes:
    """Images with padded per-object boxes, class ids and visible instance masks.

    Attributes:
        images: ``(N, H, W, 3)`` float32 in ``[0, 1]``.
        boxes: ``(N, K, 4)`` float32 ``"xyxy"`` pixels; padding rows are -1.
        classes: ``(N, K)`` int32 class ids; -1 on padding rows.
        masks: ``(N, K, H, W)`` bool visible pixels of each object; all False on padding.
        class_names: the name of each class id.
        source: how the scenes were made (generator, seed, sizes).
    """

    images: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray
    masks: np.ndarray
    class_names: list[str]
    source: str = ""
    extras: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(H, W, 3)``: what ``keras.Input(shape=...)`` wants."""
        return tuple(self.images.shape[1:])

    @property
    def max_objects(self) -> int:
        """``K``, the padded length of the object axis."""
        return self.boxes.shape[1]

    @property
    def num_objects(self) -> np.ndarray:
        """``(N,)`` number of real (unpadded) objects in each image."""
        return np.sum(self.classes >= 0, axis=1)

    def __getitem__(self, index) -> Scenes:
        """A subset (``scenes[:100]``, ``scenes[[3, 7]]``) as a new :class:`Scenes` sharing the class names."""
        index = [index] if isinstance(index, (int, np.integer)) else index
        return Scenes(self.images[index], self.boxes[index], self.classes[index], self.masks[index],
                      list(self.class_names), self.source)

    def targets(self) -> list[dict]:
        """Per-image ground truth without padding: ``[{"boxes": (n, 4), "classes": (n,)}, ...]``."""
        return [{"boxes": b[c >= 0], "classes": c[c >= 0]} for b, c in zip(self.boxes, self.classes)]

    def as_dataset(self, batch_size: int = 32, shuffle: bool = False, seed: int = 0, drop_remainder: bool = False,
                   augment: bool = False):
        """A ``tf.data.Dataset`` of ``(images, {"boxes": (B, K, 4), "classes": (B, K)})`` batches.

        Every batch has the same padded ``K``, so a detector's training step
        sees fixed shapes. Shuffling reshuffles every epoch, reproducibly from ``seed``.

        Args:
            batch_size: images per batch.
            shuffle: reshuffle the images every epoch.
            seed: seed of the shuffling and of the augmentation.
            drop_remainder: drop the last, smaller batch.
            augment: flip each image left-right and up-down at random, and (square
                images only) swap its axes: 8 views of every scene, boxes moved to
                match, padding rows left at -1. The shapes are symmetric, so every
                view keeps its labels.
        """
        tf = require("tensorflow", "tensorflow", "Scenes.as_dataset (a tf.data pipeline)")
        batch_size = V.positive_int(batch_size, "batch_size")
        ds = tf.data.Dataset.from_tensor_slices((self.images, {"boxes": self.boxes, "classes": self.classes}))
        if shuffle:
            ds = ds.shuffle(len(self), seed=seed, reshuffle_each_iteration=True)
        if augment:
            height, width = self.images.shape[1:3]
            coins = tf.data.Dataset.random(seed=seed).map(lambda r: tf.random.stateless_uniform([3], [r, seed]) < 0.5)
            ds = tf.data.Dataset.zip(ds, coins).map(
                lambda example, flips: _dihedral(example[0], example[1], flips, height, width),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

    def __repr__(self) -> str:
        counts = np.bincount(self.classes[self.classes >= 0], minlength=self.num_classes)
        return (f"Scenes({len(self)} images of {self.image_shape}, {int(self.num_objects.sum())} objects "
                f"(1 image holds {self.num_objects.min()}..{self.num_objects.max()}), classes "
                f"{dict(zip(self.class_names, counts.tolist()))})")


def pad_targets(targets, max_boxes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pad per-image ``{"boxes", "classes"}`` dicts into ``(N, K, 4)`` boxes and ``(N, K)`` classes.

    Padding rows are ``[-1, -1, -1, -1]`` with class -1. ``max_boxes`` defaults
    to the largest number of boxes in one image; an image with more raises.

    Example:
        >>> boxes, classes = pad_targets([{"boxes": [[0, 0, 4, 4]], "classes": [2]},
        ...                               {"boxes": np.zeros((0, 4)), "classes": []}])
        >>> boxes.shape, classes.tolist()
        ((2, 1, 4), [[2], [-1]])
    """
    if isinstance(targets, (dict, str, bytes)) or V.as_sequence(targets) is None:
        V.fail("targets", "a list of {'boxes': (N, 4), 'classes': (N,)} dicts, one per image", targets,
               wrong_type=True)
    targets = list(targets)
    for i, t in enumerate(targets):
        if not isinstance(t, dict) or "boxes" not in t or "classes" not in t:
            V.fail(f"targets[{i}]", "a dict with 'boxes' (N, 4) and 'classes' (N,)", t, wrong_type=not isinstance(t, dict))
        boxes = V.finite_array(t["boxes"], f"targets[{i}]['boxes']", np.float32)
        classes = V.integer_array(t["classes"], f"targets[{i}]['classes']", "class ids")
        boxes = boxes.reshape(0, 4) if boxes.size == 0 else boxes
        if boxes.ndim != 2 or boxes.shape[1] != 4 or classes.shape != (len(boxes),):
            raise ValueError(f"targets[{i}] must hold 'boxes' (N, 4) and 'classes' (N,) for the same N; received "
                             f"boxes of shape {boxes.shape} and classes of shape {classes.shape}.")
        if len(boxes) and np.any((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])):
            raise ValueError(f"targets[{i}]['boxes'] must be 'xyxy' boxes with x2 >= x1 and y2 >= y1; received "
                             f"inverted boxes such as {boxes[(boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])][0].tolist()}.")
    counts = [len(t["classes"]) for t in targets]
    k = max(counts, default=0) if max_boxes is None else V.positive_int(max_boxes, "max_boxes")
    if counts and max(counts) > k:
        raise ValueError(f"max_boxes must be at least the largest box count of an image ({max(counts)}); "
                         f"received {k}.")
    boxes = np.full((len(targets), k, 4), PAD_BOX, dtype=np.float32)
    classes = np.full((len(targets), k), PAD_CLASS, dtype=np.int32)
    for i, t in enumerate(targets):  # one row per image: not a per-object loop
        n = counts[i]
        if n:
            boxes[i, :n] = np.asarray(t["boxes"], dtype=np.float32).reshape(n, 4)
            classes[i, :n] = np.asarray(t["classes"]).reshape(n)
    return boxes, classes


def _dihedral(image, target, flips, height: int, width: int):
    """Flip left-right (``flips[0]``), up-down (``flips[1]``), swap axes (``flips[2]``, square images): TF ops."""
    import tensorflow as tf

    boxes, classes = target["boxes"], target["classes"]
    x1, y1, x2, y2 = tf.unstack(boxes, axis=-1)
    image = tf.where(flips[0], tf.reverse(image, [1]), image)
    x1, x2 = tf.where(flips[0], width - x2, x1), tf.where(flips[0], width - x1, x2)
    image = tf.where(flips[1], tf.reverse(image, [0]), image)
    y1, y2 = tf.where(flips[1], height - y2, y1), tf.where(flips[1], height - y1, y2)
    if height == width:
        image = tf.where(flips[2], tf.transpose(image, [1, 0, 2]), image)
        x1, y1, x2, y2 = (tf.where(flips[2], y1, x1), tf.where(flips[2], x1, y1),
                          tf.where(flips[2], y2, x2), tf.where(flips[2], x2, y2))
    moved = tf.stack([x1, y1, x2, y2], axis=-1)
    boxes = tf.where(classes[:, None] >= 0, moved, boxes)  # padding rows stay -1
    return image, {"boxes": boxes, "classes": classes}


# ---------------------------------------------------------------- generation


def _box_overlap(centers: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """(N, K, K): area of the square around object i (side 2r) covered by object j's square, as a fraction."""
    lo, hi = centers - radii[..., None], centers + radii[..., None]  # (N, K, 2)
    inter = np.clip(np.minimum(hi[:, :, None], hi[:, None]) - np.maximum(lo[:, :, None], lo[:, None]), 0, None)
    return inter.prod(-1) / (4 * radii[:, :, None] ** 2)


def _place_objects(rng, valid, radii, size, max_overlap, rounds=30):
    """Centres (N, K, 2) as (y, x); objects that find no place with little enough overlap are dropped.

    Object ``j`` may cover at most ``max_overlap`` of the square around any
    earlier (larger) object ``i``; conflicting objects are moved, all at once,
    for a few rounds.
    """
    centers = rng.uniform(radii[..., None], size - radii[..., None], size=radii.shape + (2,))
    later = np.triu(np.ones(radii.shape[1:] * 2, dtype=bool), k=1)  # later[i, j]: j is painted after i
    pair = valid[:, :, None] & valid[:, None, :] & later

    def conflicts():  # (N, K): object j covers too much of some earlier object
        return np.any((_box_overlap(centers, radii) > max_overlap) & pair, axis=1)

    for _ in range(rounds):
        conflict = conflicts()
        if not conflict.any():
            break
        moved = rng.uniform(radii[..., None], size - radii[..., None], size=radii.shape + (2,))
        centers = np.where(conflict[..., None], moved, centers)
    return centers, valid & ~conflicts()


def _object_colors(rng, light_background: np.ndarray, k: int) -> np.ndarray:
    """(N, K, 3) colours contrasting with the background, with distinct hues within an image."""
    from matplotlib.colors import hsv_to_rgb

    n = len(light_background)
    hue = (rng.random((n, 1)) + rng.permuted(np.tile(np.arange(k), (n, 1)), axis=1) / k) % 1.0
    saturation = rng.uniform(0.45, 0.9, size=(n, k))
    low, high = np.where(light_background, 0.15, 0.75), np.where(light_background, 0.45, 1.0)
    value = rng.uniform(low[:, None], high[:, None], size=(n, k))
    return hsv_to_rgb(np.stack([hue, saturation, value], axis=-1)).astype(np.float32)


def _boxes_from_coverage(visible: np.ndarray, eps: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel ``"xyxy"`` extents of soft masks (M, H, W) -> (M, 4), and which masks are non-empty."""
    out = np.zeros((len(visible), 4), np.float32)
    present = visible.max(axis=(1, 2)) > eps
    for axis, (lo, hi) in ((1, (0, 2)), (2, (1, 3))):  # column profile gives x, row profile gives y
        profile = visible.max(axis=axis)  # (M, W) for x, (M, H) for y
        inside = profile > eps
        first = np.argmax(inside, axis=1)
        last = profile.shape[1] - 1 - np.argmax(inside[:, ::-1], axis=1)
        rows = np.arange(len(visible))
        cover_first = np.minimum(profile[rows, first], 1.0)
        cover_last = np.minimum(profile[rows, last], 1.0)
        out[:, lo] = first + 1.0 - cover_first  # edge inside the first covered pixel
        out[:, hi] = last + cover_last  # edge inside the last covered pixel
    return out, present


def _render_chunk(kinds, centers, radii, angles, valid, colors, backgrounds, size):
    """Paint one chunk of images; return images, boxes, classes-valid flags and masks."""
    n, k = valid.shape
    alpha = np.zeros((n, k, size, size), np.float32)
    alpha[valid] = render_alpha(kinds[valid], centers[valid], radii[valid], angles[valid], (size, size))
    images = backgrounds
    for j in range(k):  # painter's order: larger objects first, so small ones stay visible on top
        a = alpha[:, j, :, :, None]
        images = images * (1 - a) + colors[:, j, None, None, :] * a
    visible = np.empty_like(alpha)
    left = np.ones((n, size, size), np.float32)  # how much of each pixel the objects painted later leave free
    for j in reversed(range(k)):
        # A pixel belongs to object j's visible part where later objects cover less than half of it;
        # there its own soft coverage counts, so unoccluded edges keep their sub-pixel position.
        visible[:, j] = alpha[:, j] * (left > 0.5)
        left *= 1 - alpha[:, j]
    boxes, present = _boxes_from_coverage(visible.reshape(n * k, size, size))
    keep = valid & present.reshape(n, k)
    masks = (visible >= 0.5) & keep[:, :, None, None]
    return np.clip(images, 0, 1).astype(np.float32), boxes.reshape(n, k, 4), keep, masks


def make_scenes(num_images: int = 1000, image_size: int = 64, classes=SHAPE_NAMES, min_objects: int = 1,
                max_objects: int = 6, radius_range=(0.06, 0.25), max_overlap: float = 0.3,
                noise: float = 0.05, seed: int = 0) -> Scenes:
    """Generate ``num_images`` synthetic scenes with exact boxes, class ids and instance masks.

    Args:
        num_images: how many images.
        image_size: side of the square images in pixels (>= 16).
        classes: the shape names to draw (a subset of :data:`~cnnkit.data.SHAPE_NAMES`),
            in class-id order.
        min_objects, max_objects: objects per image, drawn uniformly in this
            range (an object that finds no place within ``max_overlap`` after
            30 tries is left out, which is rare below ~8 objects).
        radius_range: outer radius of a shape as a fraction of ``image_size``;
            radii are log-uniform, so small objects are as common as large ones.
        max_overlap: a later (smaller) object may cover at most this fraction
            of the square around an earlier one; 0 forbids overlaps.
        noise: standard deviation of the Gaussian pixel noise.
        seed: same seed, same scenes.

    Returns:
        A :class:`Scenes` (``images``, padded ``boxes`` / ``classes`` / ``masks``,
        ``class_names``), with ``K = max_objects``.

    Example:
        >>> scenes = make_scenes(100, image_size=64, classes=("circle", "square", "triangle"), seed=1)
        >>> scenes.targets()[0]["boxes"].shape[1]
        4
    """
    n = V.positive_int(num_images, "num_images")
    size = V.integer(image_size, "image_size", minimum=16, reason="pixels, to hold several shapes")
    class_names = V.distinct_choices(classes, "classes", SHAPE_NAMES)
    k_max = V.positive_int(max_objects, "max_objects")
    k_min = V.positive_int(min_objects, "min_objects")
    if k_min > k_max:
        raise ValueError(f"min_objects must be <= max_objects; received min_objects={k_min}, max_objects={k_max}.")
    r_min, r_max = V.number_range(radius_range, "radius_range", 0.01, 0.5)
    if r_min * size < 1:
        raise ValueError(f"radius_range[0] * image_size must be at least 1 pixel; received {r_min} * {size} = {r_min * size:g}.")
    max_overlap = V.fraction(max_overlap, "max_overlap")
    noise = V.non_negative_float(noise, "noise")
    seed = V.seed(seed)
    V.memory_of(n * size * size * (3 * 4 * 4 + 8 * k_max), {"num_images": n, "image_size": size},
                "the images, masks and their drawing")

    rng = np.random.default_rng(seed)
    counts = rng.integers(k_min, k_max + 1, size=n)
    valid = np.arange(k_max)[None, :] < counts[:, None]
    radii = np.exp(rng.uniform(np.log(r_min * size), np.log(r_max * size), size=(n, k_max)))
    radii = -np.sort(-np.where(valid, radii, 0.0), axis=1)  # largest first; padding (0) last
    radii = np.where(valid, radii, r_min * size)  # keep padding slots harmless in the geometry
    labels = rng.integers(0, len(class_names), size=(n, k_max))
    kinds = np.array([SHAPE_NAMES.index(c) for c in class_names])[labels]
    angles = rng.uniform(0, 2 * np.pi, size=(n, k_max))
    centers, valid = _place_objects(rng, valid, radii, size, max_overlap)

    bg, _ = random_colors(rng, n)
    light_background = bg.mean(axis=1) > 0.5
    colors = _object_colors(rng, light_background, k_max)
    backgrounds = textured_background(rng, bg, (size, size), noise)

    images = np.empty((n, size, size, 3), np.float32)
    boxes = np.full((n, k_max, 4), PAD_BOX, np.float32)
    out_classes = np.full((n, k_max), PAD_CLASS, np.int32)
    masks = np.zeros((n, k_max, size, size), bool)
    for start in range(0, n, _CHUNK):  # chunks of images, vectorised inside
        s = slice(start, start + _CHUNK)
        images[s], chunk_boxes, keep, masks[s] = _render_chunk(
            kinds[s], centers[s], radii[s], angles[s], valid[s], colors[s], backgrounds[s], size)
        boxes[s] = np.where(keep[..., None], chunk_boxes, PAD_BOX)
        out_classes[s] = np.where(keep, labels[s], PAD_CLASS)
    boxes, out_classes, masks = _compact(boxes, out_classes, masks)
    source = (f"synthetic scenes generated by cnnkit (seed={seed}, {n} images of {size}x{size}, "
              f"{k_min}-{k_max} objects, radius {r_min:g}-{r_max:g} of the side)")
    return Scenes(images, boxes, out_classes, masks, class_names, source)


def _compact(boxes, classes, masks):
    """Move real objects to the front of the object axis (dropped ones leave gaps), keeping their order."""
    order = np.argsort(classes < 0, axis=1, kind="stable")
    boxes = np.take_along_axis(boxes, order[..., None], axis=1)
    classes = np.take_along_axis(classes, order, axis=1)
    masks = np.take_along_axis(masks, order[..., None, None], axis=1)
    return boxes, classes, masks
