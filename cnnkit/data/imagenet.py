"""The 1,000 ImageNet classes, shipped inside cnnkit, and :func:`decode_predictions` without a download.

``keras.applications.imagenet_utils.decode_predictions`` downloads its class
list the first time it runs, which fails offline. cnnkit ships the list as
``cnnkit/data/imagenet_classes.txt`` (31 KB): one line per class, in the
standard ILSVRC-2012 order (class ``i`` is the ``i``-th WordNet id in sorted
order, which is how every ImageNet network numbers its outputs), holding the
WordNet id and its lemmas, e.g. ``n02123045<TAB>tabby, tabby cat``.

Source: ``timm/data/_info/imagenet_synsets.txt`` and
``imagenet_synset_to_lemma.txt`` in the wheel of timm 1.0.31 (PyTorch Image
Models, Apache-2.0); the lemmas are WordNet 3.0's (Princeton's WordNet licence,
permissive). Two short names repeat, as in ImageNet itself: "crane" (134 the
bird, 517 the machine) and "maillot" (638, 639).

Example:
    >>> names = imagenet_class_names()
    >>> len(names), names[285], names[652], names[967]
    (1000, 'Egyptian cat', 'military uniform', 'espresso')
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from cnnkit import _validate as V

CLASSES_FILE = Path(__file__).with_name("imagenet_classes.txt")
NUM_CLASSES = 1000


@lru_cache(maxsize=1)
def _read_classes() -> tuple[tuple[str, str], ...]:
    rows = tuple(tuple(line.split("\t")) for line in CLASSES_FILE.read_text(encoding="utf-8").splitlines())
    if len(rows) != NUM_CLASSES or any(len(row) != 2 for row in rows):
        raise RuntimeError(f"{CLASSES_FILE} must hold {NUM_CLASSES} lines 'wordnet_id<TAB>names'; the file is damaged.")
    return rows


def imagenet_class_names(full: bool = False) -> list[str]:
    """The 1,000 class names in output order: the first lemma (``"tabby"``), or all of them (``full=True``).

    Example:
        >>> imagenet_class_names(full=True)[281]
        'tabby, tabby cat'
    """
    if not isinstance(full, bool):
        raise ValueError(f"full must be True or False; received {full!r}.")
    return [names if full else names.split(",")[0].strip() for _, names in _read_classes()]


def imagenet_wordnet_ids() -> list[str]:
    """The 1,000 WordNet ids (``"n02123045"``) in output order."""
    return [wnid for wnid, _ in _read_classes()]


def decode_predictions(probabilities, top: int = 5) -> list[list[tuple[int, str, float]]]:
    """The ``top`` classes of each image: ``[(class index, name, probability), ...]``, most likely first.

    Like ``keras.applications.imagenet_utils.decode_predictions``, but with
    the class index first and no download.

    Args:
        probabilities: ``(batch, 1000)`` class probabilities (apply a softmax to
            logits first), or one ``(1000,)`` vector; NumPy or any backend tensor.
        top: how many classes per image (1 to 1000).

    Returns:
        One list per image of ``top`` tuples ``(index, name, probability)``.

    Example:
        >>> p = np.full((1, 1000), 0.5 / 999); p[0, 967] = 0.5
        >>> decode_predictions(p, top=2)[0][0]
        (967, 'espresso', 0.5)
    """
    import keras

    probs = V.finite_array(keras.ops.convert_to_numpy(probabilities) if keras.ops.is_tensor(probabilities)
                           else probabilities, "probabilities", np.float64)
    if probs.ndim == 1:
        probs = probs[None]
    if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES:
        raise ValueError(f"probabilities must have shape (batch, {NUM_CLASSES}) or ({NUM_CLASSES},); "
                         f"received shape {probs.shape}.")
    top = V.integer(top, "top", minimum=1, maximum=NUM_CLASSES)
    names = imagenet_class_names()
    order = np.argsort(-probs, axis=1, kind="stable")[:, :top]
    return [[(int(i), names[i], float(row[i])) for i in idx] for row, idx in zip(probs, order)]
