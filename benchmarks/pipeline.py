"""The input side: how many images per second the data generators and input pipelines deliver.

The model consumes images at its training throughput (measured in
:mod:`benchmarks.training`); the input must deliver them faster or the model
waits. Two kinds of input are measured:

* the generators of :mod:`cnnkit.data` (shapes, motion clips, detection scenes),
  which produce a data set once, before training (images per second of generation);
* the pipelines that feed ``model.fit`` every epoch: NumPy arrays through Keras's
  own array adapter (what ``cnnkit.train.fit(model, x, y)`` uses) and a
  ``tf.data`` pipeline with shuffling, batching and prefetching (what the
  detection scenes' ``as_dataset`` returns).
"""

from __future__ import annotations

import time

import numpy as np


def _rate(fn, items: int, repeats: int) -> float:
    """Items per second of ``fn`` (best of ``repeats`` timed calls after a warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return items / best


def generators(num_images: int = 512, repeats: int = 2) -> list[dict]:
    """Images (or clips) per second of the cnnkit.data generators used by the notebooks."""
    from cnnkit import data

    cases = [
        ("make_shapes (32x32x3)", lambda: data.make_shapes(num_images, image_size=32), num_images, "images"),
        ("make_motion_clips (8x32x32x1)", lambda: data.make_motion_clips(num_images // 4, frames=8, image_size=32),
         num_images // 4, "clips"),
        ("make_scenes (64x64x3, boxes + masks)", lambda: data.make_scenes(num_images // 4, image_size=64),
         num_images // 4, "images"),
    ]
    return [{"generator": name, "unit": unit, "per_s": _rate(fn, n, repeats)} for name, fn, n, unit in cases]


def feeding(num_images: int = 2048, batch: int = 64, repeats: int = 2) -> list[dict]:
    """Images per second delivered by the pipelines that feed ``model.fit`` (no model attached)."""
    import tensorflow as tf
    from keras.src.trainers.data_adapters import get_data_adapter

    rng = np.random.default_rng(0)
    x = rng.random((num_images, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, num_images).astype(np.int32)

    import keras

    def keras_arrays():  # the iterator model.fit itself uses on this backend
        adapter = get_data_adapter(x, y, batch_size=batch, shuffle=True)
        backend = keras.backend.backend()
        batches = (adapter.get_jax_iterator() if backend == "jax" else adapter.get_torch_dataloader()
                   if backend == "torch" else adapter.get_tf_dataset())
        for _ in batches:
            pass

    def tf_data():
        ds = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(num_images, seed=0)
              .batch(batch).prefetch(tf.data.AUTOTUNE))
        for _ in ds:
            pass

    from cnnkit import data

    scenes = data.make_scenes(num_images // 8, image_size=64)

    def scenes_dataset():
        for _ in scenes.as_dataset(batch_size=16, shuffle=True, augment=True):
            pass

    return [
        {"pipeline": "NumPy arrays via Keras's array adapter (train.fit(model, x, y))", "per_s": _rate(keras_arrays, num_images, repeats)},
        {"pipeline": "tf.data from_tensor_slices + shuffle + batch + prefetch", "per_s": _rate(tf_data, num_images, repeats)},
        {"pipeline": "Scenes.as_dataset(augment=True), 64x64 detection batches", "per_s": _rate(scenes_dataset, num_images // 8, repeats)},
    ]
