"""How close the convolutions get to the hardware, and why libraries matter.

* ``cpu_peak``: the CPU's theoretical float32 peak, cores x FLOP per cycle x
  clock: the FLOPs per cycle from the CPU's features (``/proc/cpuinfo``), the
  clock measured (:func:`measured_clock_ghz`, because a VM reports its base
  clock and hides the boost one): the ceiling no measurement can pass.
* ``matmul_peak``: GFLOP/s of a large float32 matrix product in NumPy (BLAS) and
  in TensorFlow: the practical ceiling of this CPU for dense arithmetic, with the
  CPU time it used (how many cores were busy) and its fraction of ``cpu_peak``.
* ``conv_gflops``: GFLOP/s each Conv2D layer of SimpleCNN achieves (MACs from
  :func:`cnnkit.analysis.summary_table`, forward pass at batch 64), and the
  whole model in training (forward + the two backward products, about 3x the
  forward MACs).
* ``reference_conv``: the NumPy reference convolutions of :mod:`cnnkit.ops`
  (loops over output positions, and im2col + one matrix product) against
  ``keras.layers.Conv2D`` on the same input, outputs checked equal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

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


def _first_cpuinfo_block(text: str) -> dict[str, str]:
    """``key: value`` pairs of the first processor in ``/proc/cpuinfo``."""
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def fp32_flops_per_cycle(vendor: str, family: int | None, flags: set[str]) -> tuple[int, str]:
    """Float32 FLOPs one core can start per cycle, and why: FMA pipes x SIMD lanes x 2 (multiply + add).

    An upper bound where the flags do not settle it (Intel parts with AVX-512 have one or two
    512-bit FMA units; we count two). AMD's Zen 4 (family 25) runs AVX-512 on 256-bit pipes, so it
    peaks as AVX2 does; Zen 5 (family 26) has full 512-bit pipes.
    """
    if "avx512f" in flags:
        if vendor == "AuthenticAMD" and (family or 0) < 26:
            return 32, "AVX-512 on two 256-bit FMA pipes (AMD Zen 4): 2 x 8 lanes x 2"
        return 64, "AVX-512: two 512-bit FMA pipes x 16 lanes x 2"
    if "avx2" in flags and "fma" in flags:
        return 32, "AVX2 + FMA: two 256-bit FMA pipes x 8 lanes x 2"
    if "avx" in flags:
        return 16, "AVX without FMA: one 256-bit add + one multiply x 8 lanes"
    return 8, "SSE: one 128-bit add + one multiply x 4 lanes"


def _max_clock_ghz(fields: dict[str, str]) -> tuple[float | None, str]:
    """The highest clock the kernel reports: cpufreq's maximum if exposed, else /proc/cpuinfo's MHz."""
    cpufreq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    try:
        return int(cpufreq.read_text()) / 1e6, "cpufreq cpuinfo_max_freq"
    except (OSError, ValueError):
        pass
    try:
        return float(fields["cpu MHz"]) / 1e3, "/proc/cpuinfo cpu MHz (a VM shows no boost clock)"
    except (KeyError, ValueError):
        return None, "no clock reported"


# A chain of dependent integer additions: each waits for the previous one, and an
# addition takes one cycle on every x86-64 and AArch64 core, so additions per
# second of CPU time is the clock the core ran at (boost included).
_CLOCK_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__)
#define ADD "add %1, %0\n\t"
#elif defined(__aarch64__)
#define ADD "add %0, %0, %1\n\t"
#else
#error "no one-cycle add known for this CPU"
#endif
/* A register operand, not an immediate: Intel cores since Golden Cove fold chains of
   add-immediate at rename (a 2.6 GHz Xeon read 8.3 GHz with "add $1"). */
#define ADD4 ADD ADD ADD ADD
static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 50000000L;
    unsigned long x = 0, one = 1;
    double start = cpu_seconds();
    for (long i = 0; i < iterations; i++) __asm__ volatile(ADD4 ADD4 ADD4 ADD4 ADD4 : "+r"(x) : "r"(one));
    double seconds = cpu_seconds() - start;
    if (x != 20UL * iterations) return 1;
    printf("%.4f\n", 20.0 * iterations / seconds / 1e9);
    return 0;
}
"""


def measured_clock_ghz(cores: int, iterations: int = 50_000_000, trials: int = 3) -> tuple[float | None, str]:
    """The clock the cores run at when all of them are busy, in GHz, and how it was found.

    Compiles a chain of dependent one-cycle additions with the system's C compiler and runs one
    copy per core at once (the load of a matrix product), ``trials`` times; returns the highest
    rate seen, since the peak is a ceiling. CPU time, not wall time, so a busy machine does not
    lower it. ``None`` (and why) without a C compiler or on a CPU other than x86-64/AArch64.
    """
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        return None, "no C compiler to measure the clock"
    with tempfile.TemporaryDirectory() as tmp:
        source, binary = Path(tmp) / "clock.c", Path(tmp) / "clock"
        source.write_text(_CLOCK_PROGRAM)
        built = subprocess.run([compiler, "-O1", "-o", str(binary), str(source)], capture_output=True, text=True)
        if built.returncode != 0:
            return None, f"the clock program did not compile ({built.stderr.strip().splitlines()[-1:]})"
        rates = []
        for _ in range(trials):
            copies = [subprocess.Popen([str(binary), str(iterations)], stdout=subprocess.PIPE, text=True)
                      for _ in range(cores)]
            for copy in copies:
                out, _ = copy.communicate()
                if copy.returncode == 0:
                    rates.append(float(out))
    if not rates:
        return None, "the clock program failed"
    return round(max(rates), 3), f"measured: dependent additions on {cores} busy cores"


def cpu_peak(cpuinfo: str | None = None, cores: int | None = None, measure_clock: bool | None = None) -> dict:
    """The theoretical float32 peak of the CPUs this process may use: cores x FLOP/cycle x clock.

    ``cores`` are the logical CPUs of ``os.sched_getaffinity`` (two hyperthreads of one core share
    its FMA pipes, so the bound is loose there). The clock is the higher of the reported one and
    the measured one (:func:`measured_clock_ghz`; measured by default when ``cpuinfo`` is read from
    this machine). ``peak_gflops`` is ``None`` where no clock is known.

    Example:
        >>> cpu_peak("vendor_id : AuthenticAMD\ncpu family : 25\ncpu MHz : 2600.0\nflags : avx2 fma avx512f\n",
        ...          cores=2)["peak_gflops"]
        166.4
    """
    reading_this_machine = cpuinfo is None
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields = _first_cpuinfo_block(cpuinfo)
    cores = cores or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    vendor = fields.get("vendor_id", "")
    family = int(fields["cpu family"]) if fields.get("cpu family", "").isdigit() else None
    flops, why = fp32_flops_per_cycle(vendor, family, set(fields.get("flags", "").split()))
    ghz, clock_source = _max_clock_ghz(fields)
    reported_ghz = ghz
    if measure_clock if measure_clock is not None else reading_this_machine:
        measured, how = measured_clock_ghz(cores)
        if measured and (ghz is None or measured > ghz):
            ghz, clock_source = measured, how
        else:
            clock_source += f"; {how}: {measured} GHz" if measured else f"; {how}"
    return {"reported_clock_ghz": reported_ghz, "model": fields.get("model name", "unknown"), "vendor": vendor, "family": family,
            "model_number": fields.get("model"), "cores": cores, "flops_per_cycle": flops, "why": why,
            "clock_ghz": ghz, "clock_source": clock_source,
            "peak_gflops": round(cores * flops * ghz, 1) if ghz else None}


def _timed_gflops(fn, flops: float, repeats: int) -> tuple[float, float]:
    """GFLOP/s of the fastest call and the cores it kept busy (CPU time / wall time of all calls)."""
    fn()
    wall, cpu = time.perf_counter(), time.process_time()
    best = best_time(fn, repeats)
    busy = (time.process_time() - cpu) / max(time.perf_counter() - wall, 1e-9)
    return flops / best / 1e9, busy


def matmul_peak(size: int = 2048, repeats: int = 3) -> dict:
    """GFLOP/s of a ``size x size`` float32 matrix product (2 * size**3 FLOPs) in NumPy and TensorFlow.

    Beside each figure: the cores it kept busy, and ``theoretical`` (:func:`cpu_peak`). ``peak_gflops``,
    the figure efficiencies are quoted against, is the theoretical peak where it is known (a measured
    figure moves with the machine's load, and one above the theoretical peak means the clock or the
    timer is wrong), else the best measured product.
    """
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    flops = 2.0 * size ** 3
    result = {"size": size, "theoretical": cpu_peak()}
    result["numpy_gflops"], result["numpy_cores_busy"] = _timed_gflops(lambda: a @ b, flops, repeats)
    try:
        import tensorflow as tf
    except ImportError:
        result["tensorflow_gflops"] = result["tensorflow_cores_busy"] = None
    else:
        ta, tb = tf.constant(a), tf.constant(b)
        result["tensorflow_gflops"], result["tensorflow_cores_busy"] = _timed_gflops(
            lambda: tf.matmul(ta, tb).numpy(), flops, repeats)
    measured = max(v for k, v in result.items() if k.endswith("_gflops") and v)
    theoretical = result["theoretical"]["peak_gflops"]
    result["measured_peak_gflops"] = measured
    result["above_theoretical"] = bool(theoretical and measured > theoretical)
    result["peak_gflops"] = theoretical or measured
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
