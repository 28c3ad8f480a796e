import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from cnnkit import device


@pytest.fixture(autouse=True)
def _restore_policy():
    yield
    keras.config.set_dtype_policy("float32")


def test_describe_reports_backend_versions_and_cpu():
    report = device.describe()
    text = str(report)
    assert report.backend == keras.backend.backend()
    assert report.keras_version == keras.__version__
    assert report.devices[0].kind == "CPU" and report.cpu_count >= 1
    for word in ("backend", "keras", "numpy", "python", "CPU cores", "device 0", "precision", "quick mode"):
        assert word in text
    if not report.gpus:
        assert "none found: running on the CPU" in text and report.accelerator == "CPU"


def test_setup_on_cpu_says_what_it_skipped(capsys):
    run = device.setup(seed=1)
    out = capsys.readouterr().out
    if not device.describe().gpus:
        assert "GPU memory growth: skipped (no GPU found)" in out or "skipped (a TensorFlow setting" in out
        assert "Precision: float32 (no GPU found" in out
        assert run.strategy is None and run.replicas == 1
    assert "seed=1" in out
    with run.scope():  # a no-op scope still works
        keras.layers.Dense(2)


def test_setup_seeds_reproducibly():
    # What matters to a learner: the same seed gives the same initial weights and the same data order.
    def fresh_weights():
        device.setup(seed=7, verbose=False)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4)])
        return keras.ops.convert_to_numpy(model.layers[0].kernel), np.random.permutation(10)  # noqa: NPY002 (the global generator is what setup() seeds)

    (w1, p1), (w2, p2) = fresh_weights(), fresh_weights()
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(p1, p2)


def test_forced_mixed_precision_on_cpu_uses_bfloat16():
    run = device.setup(mixed_precision=True, verbose=False)
    if not device.describe().gpus:
        assert run.precision_policy == "mixed_bfloat16"
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        assert any("on the CPU, as requested" in m for m in run.messages)
        layer = keras.layers.Dense(2)
        out = layer(keras.ops.ones((1, 3)))
        assert layer.compute_dtype == "bfloat16" and layer.kernel.dtype == "float32"
        assert "bfloat16" in str(out.dtype)
    device.setup(mixed_precision=False, verbose=False)
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"mixed_precision": "fp16"}, r"mixed_precision must be one of .* received 'fp16'"),
        ({"distribute": "yes"}, r"distribute must be one of .* received 'yes'"),
        ({"seed": -1}, r"seed must be a non-negative integer or None; received -1"),
    ],
)
def test_setup_rejects_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        device.setup(**kwargs)


def test_split_cpu_rejects_bad_n():
    with pytest.raises(ValueError, match=r"n must be a positive integer; received 0"):
        device.split_cpu(0)


BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def test_describe_names_the_backend_library_and_its_version():
    import importlib

    report = device.describe()
    library = importlib.import_module(BACKEND_MODULES[keras.backend.backend()])
    assert report.backend_version == library.__version__
    assert f"{report.backend} {library.__version__}" in str(report)


def test_distribute_true_on_one_cpu_says_what_happened():
    # With one CPU device there is nothing to replicate over; torch cannot replicate at all.
    # (Two devices: tests/test_backends.py trains on two CPU devices on each backend.)
    run = device.setup(seed=None, distribute=True, verbose=False)
    off = device.setup(seed=None, distribute=False, verbose=False)
    assert off.messages[-1] == "Distribution: off (as requested)."
    if device.describe().gpus:
        return
    assert run.strategy is None and run.replicas == 1
    if keras.backend.backend() == "torch":
        assert "not available (Keras's torch backend trains on one device" in run.messages[-1]
    else:
        assert "not needed (one device" in run.messages[-1]


def test_split_cpu_late_or_on_another_backend_says_what_to_do():
    keras.ops.ones((1,))  # the backend has run something: TensorFlow's devices are fixed now
    expected = {
        "tensorflow": r"must run before TensorFlow is initialised",
        "jax": r"xla_force_host_platform_device_count",
        "torch": r"no logical CPU devices",
    }[keras.backend.backend()]
    with pytest.raises(RuntimeError, match=expected):
        device.split_cpu(2)


@pytest.mark.backends("jax", reason="a JAX compilation setting")
def test_setup_on_one_jax_device_uses_the_fast_compiling_random_generator():
    import jax

    before = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", True)
    try:
        run = device.setup(seed=0, verbose=False)
        assert run.replicas == 1 and not jax.config.jax_threefry_partitionable
        assert any("non-partitionable generator" in m for m in run.messages)
        # Seeding still makes initial weights repeatable with this generator.
        first = keras.ops.convert_to_numpy(keras.layers.Dense(3).add_weight((4, 3)))
        device.setup(seed=0, verbose=False)
        np.testing.assert_array_equal(first, keras.ops.convert_to_numpy(keras.layers.Dense(3).add_weight((4, 3))))
    finally:
        jax.config.update("jax_threefry_partitionable", before)


@pytest.mark.backends("jax", reason="a JAX compilation setting")
def test_setup_keeps_compiled_programs_on_disk_on_jax(tmp_path, monkeypatch):
    import jax

    session_cache = jax.config.jax_compilation_cache_dir  # set by tests/conftest.py
    try:
        run = device.setup(seed=None, verbose=False, compile_cache=tmp_path)
        assert jax.config.jax_compilation_cache_dir == str(tmp_path)
        assert any(f"Compilation cache: {tmp_path}" in m for m in run.messages)
        monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "from_env"))
        device.setup(seed=None, verbose=False)  # "auto": the environment variable wins
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "from_env")
    finally:
        jax.config.update("jax_compilation_cache_dir", session_cache)
    # Programs that take a while to compile land in the session's cache (a model step does).
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    model.compile("adam", "mse")
    model.train_on_batch(np.ones((2, 8, 8, 1), np.float32), np.ones((2, 2), np.float32))
    assert any(Path(session_cache).iterdir())


@pytest.mark.parametrize("bad", [3, True, None, ["dir"]])
def test_setup_refuses_a_compile_cache_that_is_not_a_path(bad):
    with pytest.raises(ValueError, match=r"compile_cache must be 'auto', False or a directory path; received"):
        device.setup(seed=None, verbose=False, compile_cache=bad)


@pytest.mark.backends("tensorflow", reason="the oneDNN int64 notice is TensorFlow's C++ log")
def test_after_setup_anchor_style_gathers_print_no_onednn_notice():
    # A fresh process: the notice is printed once per process, so this one must not have spent it.
    script = (
        "import sys, cnnkit\n"
        "from keras import ops\n"
        "cnnkit.device.setup(seed=0, verbose=False)\n"
        "sys.stderr.write('AFTER SETUP\\n'); sys.stderr.flush()\n"
        "best = ops.argmax(ops.ones((2, 30, 3)), axis=-1)\n"  # as anchor matching picks each anchor's box
        "ops.take_along_axis(ops.ones((2, 3, 4)), best[..., None], axis=1)\n"
    )
    # A learner's kernel, not pytest's: this process has set TF_CPP_MIN_LOG_LEVEL=3 (importing TensorFlow
    # here does), which would hide the notice whether or not setup spent it.
    learner_env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    learner_env["KERAS_BACKEND"] = "tensorflow"
    stderr = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env=learner_env).stderr
    assert "AFTER SETUP" in stderr, stderr
    after = stderr.split("AFTER SETUP", 1)[1]
    assert "oneDNN" not in after, f"a C++ notice reached the learner's cell after setup: {after!r}"
