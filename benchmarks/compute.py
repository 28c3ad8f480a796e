"""How close the convolutions get to the hardware, and why libraries matter.

* ``matmul_peak``: GFLOP/s of a large float32 matrix product in NumPy (BLAS) and
  in TensorFlow: the practical ceiling of this CPU for dense arithmetic.
* ``conv_gflops``: GFLOP/s each Conv2D layer of SimpleCNN achieves (MACs from
  :func:`cnnkit.analysis.summary_table`, forward pass at batch 64), and the
  whole model in training (forward + the two backward products, about 3x the
  forward MACs).
* ``reference_conv``: the NumPy reference convolutions of :mod:`cnnkit.ops`
  (loops over output positions, and im2col + one matrix product) against
  ``keras.layers.Conv2D`` on the same input, outputs checked equal.
"""

from __future__ import annotations

import time

import numpy as np


def best_time(fn, repeats: int) -> float:
    """Shortest of ``repeats`` timed calls (after one warm-up call): the least disturbed one."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_peak(size: int = 2048, repeats: int = 3) -> dict:
    """GFLOP/s of a ``size x size`` float32 matrix product (2 * size**3 FLOPs) in NumPy and TensorFlow."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    flops = 2.0 * size ** 3
    result = {"size": size, "numpy_gflops": flops / best_time(lambda: a @ b, repeats) / 1e9}
    try:
        import tensorflow as tf
    except ImportError:
        result["tensorflow_gflops"] = None
    else:
        ta, tb = tf.constant(a), tf.constant(b)
        result["tensorflow_gflops"] = flops / best_time(lambda: tf.matmul(ta, tb).numpy(), repeats) / 1e9
    result["peak_gflops"] = max(v for k, v in result.items() if k.endswith("_gflops") and v)
    return result


def conv_gflops(batch: int = 64, repeats: int = 5, train_images_per_s: float | None = None) -> dict:
    """Achieved GFLOP/s of SimpleCNN's Conv2D layers (forward, batch ``batch``) from their MACs."""
    import keras

    from cnnkit import create_model
    from cnnkit.analysis import summary_table

    model = create_model("simple_cnn", num_classes=10, input_shape=(32, 32, 3))
    table = summary_table(model)
    rng = np.random.default_rng(0)
    layers = []
    for row in table.rows:
        if row.kind != "Conv2D":
            continue
        layer = model.get_layer(row.name)
        x = keras.ops.convert_to_tensor(rng.random((batch, *layer.input.shape[1:]), dtype=np.float32))
        seconds = best_time(lambda layer=layer, x=x: keras.ops.convert_to_numpy(layer(x)), repeats)
        layers.append({"layer": row.name, "input": list(layer.input.shape[1:]), "output": list(row.output_shape),
                       "macs_per_image": row.macs, "seconds_per_batch": seconds,
                       "gflops": 2 * row.macs * batch / seconds / 1e9})
    conv_macs = sum(r["macs_per_image"] for r in layers)
    result = {"batch": batch, "model_macs_per_image": table.macs, "conv_macs_per_image": conv_macs,
              "layers": layers, "conv_forward_gflops": 2 * conv_macs * batch / sum(r["seconds_per_batch"] for r in layers) / 1e9}
    if train_images_per_s:
        # Training does the forward product and two backward products (input and weight gradients).
        result["train_gflops_estimate"] = 3 * 2 * table.macs * train_images_per_s / 1e9
    return result


def reference_conv(batch: int = 64, size: int = 16, channels: int = 32, filters: int = 64, repeats: int = 3) -> dict:
    """NumPy loops vs NumPy im2col vs ``keras.layers.Conv2D`` (3x3, same padding), outputs checked equal."""
    import keras

    from cnnkit.ops import conv2d_im2col, conv2d_loops

    rng = np.random.default_rng(0)
    x = rng.random((batch, size, size, channels), dtype=np.float32)
    layer = keras.layers.Conv2D(filters, 3, padding="same")
    layer.build(x.shape)
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in layer.weights)
    keras_out = keras.ops.convert_to_numpy(layer(x))
    loops_out = conv2d_loops(x, kernel, bias, padding="same")
    im2col_out = conv2d_im2col(x, kernel, bias, padding="same")
    max_error = float(max(np.abs(loops_out - keras_out).max(), np.abs(im2col_out - keras_out).max()))
    if max_error > 1e-3:
        raise AssertionError(f"Reference convolutions disagree with Conv2D by {max_error:.3g} (expected < 1e-3).")
    macs = batch * size * size * filters * 9 * channels
    timings = {
        "numpy loops": best_time(lambda: conv2d_loops(x, kernel, bias, padding="same"), repeats),
        "numpy im2col": best_time(lambda: conv2d_im2col(x, kernel, bias, padding="same"), repeats),
        "keras Conv2D": best_time(lambda: keras.ops.convert_to_numpy(layer(x)), repeats),
    }
    return {"input": [batch, size, size, channels], "filters": filters, "kernel": 3, "macs": macs,
            "max_abs_difference": max_error,
            "rows": [{"method": k, "seconds": v, "gflops": 2 * macs / v / 1e9,
                      "slower_than_keras": v / timings["keras Conv2D"]} for k, v in timings.items()]}
