"""README's backend compatibility table, checked on the backend the tests run on.

Every row of the table in README's "Backends" section names a feature; this
file holds one check per row that exercises the feature on the current Keras
backend. A cell marked ✓ promises the check passes there; a cell marked ✗
promises it fails with an error that says what is missing. CI runs the unit
tests on TensorFlow, JAX and PyTorch, so every cell is checked by one of them.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from cnnkit import analysis, device, export, train

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = {"TensorFlow": "tensorflow", "JAX": "jax", "PyTorch": "torch"}
BACKEND = keras.backend.backend()


def compatibility_table() -> dict[str, dict[str, str]]:
    """README's table as {feature: {backend: cell}}."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Backends\n(.*?)(?=^## )", readme, flags=re.S | re.M)
    assert section, "README has no '## Backends' section"
    rows = [line for line in section.group(1).splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header[1:] == list(COLUMNS), f"table columns must be feature, {', '.join(COLUMNS)}; found {header}"
    table = {}
    for line in rows[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        table[cells[0]] = dict(zip(COLUMNS.values(), cells[1:]))
    return table


def tiny_classifier(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(2)(h))


def separable(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 8, 8, 1), dtype=np.float32)
    y = rng.integers(0, 2, n)
    x[y == 1, 2:6, 2:6] += 1.0
    return x, y


# ---------------------------------------------------------------- one check per table row


def check_training(tmp_path):
    x, y = separable()
    model = train.compile_model(tiny_classifier(), learning_rate=1e-2)
    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    train.fit(model, x, y, epochs=3, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] < before


def check_keras_file(tmp_path):
    model = tiny_classifier()
    x, _ = separable(8)
    loaded = keras.models.load_model(export.save_keras(model, tmp_path / "m.keras"))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def check_mixed_precision(tmp_path):
    try:
        device.setup(mixed_precision="mixed_bfloat16", seed=None, verbose=False)
        layer = keras.layers.Dense(2)
        out = layer(keras.ops.ones((1, 3)))
        assert layer.compute_dtype == "bfloat16" and layer.kernel.dtype == "float32"
        assert "bfloat16" in str(out.dtype)
    finally:
        keras.config.set_dtype_policy("float32")


def check_grad_cam(tmp_path):
    # Grad-CAM of a GAP + dense classifier is the class activation map (Zhou et al. 2016).
    model = tiny_classifier(seed=3)
    x, _ = separable(4, seed=3)
    heat, classes = analysis.grad_cam(model, x, class_index=1)
    maps = analysis.feature_maps(model, x, "conv")
    cam = np.maximum(np.einsum("nhwk,k->nhw", maps, model.layers[-1].get_weights()[0][:, 1]), 0)
    peak = cam.reshape(len(cam), -1).max(axis=1)[:, None, None]
    np.testing.assert_allclose(heat, np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0), atol=1e-5)
    assert list(classes) == [1, 1, 1, 1]


def check_gradients(tmp_path):
    # The head's kernel gradient of the mean cross-entropy is features^T (softmax - one_hot) / N.
    model = tiny_classifier(seed=4)
    x, y = separable(4, seed=4)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    grads = dict(analysis.weight_gradients(model, x, y, loss))
    features = analysis.feature_maps(model, x, "conv").mean(axis=(1, 2))
    logits = keras.ops.convert_to_numpy(model(x))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = features.T @ (probs - np.eye(2)[y]) / len(x)
    np.testing.assert_allclose(grads[model.layers[-1].kernel.path], expected, rtol=1e-4, atol=1e-6)
    (dx,) = analysis.gradients(lambda t: keras.ops.sum(t ** 2), x)
    np.testing.assert_allclose(dx, 2 * x, rtol=1e-6)


def check_tf_data(tmp_path):
    import tensorflow as tf

    from cnnkit.data import make_scenes

    scenes = make_scenes(4, image_size=32, seed=0)
    images, targets = next(iter(scenes.as_dataset(batch_size=4, shuffle=False)))
    assert tuple(images.shape) == (4, 32, 32, 3) and targets["boxes"].shape[-1] == 4
    x, y = separable(32)
    model = train.compile_model(tiny_classifier())
    history = train.fit(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=1, verbose=0)
    assert history.epochs == 1
    result = train.evaluate(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(16))
    assert result.confusion.sum() == 32


def check_saved_model(tmp_path):
    model = tiny_classifier()
    x, _ = separable(8)
    runner = export.load_saved_model(export.export_saved_model(model, tmp_path / "saved"))
    np.testing.assert_allclose(runner.predict(x), model.predict(x, verbose=0), atol=1e-5)


def check_litert(tmp_path):
    model = tiny_classifier()
    x, _ = separable(8)
    lite = export.LiteRTModel(export.export_litert(model, tmp_path / "m.tflite"))
    np.testing.assert_allclose(lite.predict(x), model.predict(x, verbose=0), atol=1e-5)


def check_onnx(tmp_path):
    model = tiny_classifier()
    x, _ = separable(8)
    expected = model.predict(x, verbose=0)  # Keras's ONNX export wants a model that has run once
    onnx_model = export.OnnxModel(export.export_onnx(model, tmp_path / "m.onnx"))
    np.testing.assert_allclose(onnx_model.predict(x), expected, atol=1e-5)


TWO_DEVICES = {
    # A fresh process with the CPU split into two devices before the backend starts: (environment,
    # code before the shared part, code after it).
    "tensorflow": ({}, "from cnnkit import device\nassert len(device.split_cpu(2)) == 2\n", textwrap.dedent(
        """
        try:
            device.split_cpu(3)
        except RuntimeError as err:
            assert "before TensorFlow is initialised" in str(err)
        else:
            raise AssertionError("split_cpu after start-up should fail")
        """)),
    "jax": ({"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}, "from cnnkit import device\n",
            'assert "2 JAX host devices" in str(device.describe())\n'),
}

TRAIN_ON_TWO_DEVICES = textwrap.dedent(
    """
    import numpy as np, keras
    auto = device.setup(seed=0, verbose=False)
    assert auto.replicas == 1, "auto must not replicate over CPU devices"
    run = device.setup(seed=0, distribute=True, verbose=False)
    print(run.messages[-1])
    assert run.replicas == 2, run.messages[-1]
    with run.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 4), "float32"); y = np.zeros((8, 3), "float32")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < before, (before, after)
    """
)


def check_several_devices(tmp_path):
    if BACKEND == "torch":  # no way to make several CPU devices: ask setup() directly, in this process
        run = device.setup(seed=None, distribute=True, verbose=False)
        if run.replicas < 2:
            raise RuntimeError(run.messages[-1])
        return
    env_extra, start, end = TWO_DEVICES[BACKEND]
    env = {**os.environ, "KERAS_BACKEND": BACKEND, **env_extra}
    script = start + TRAIN_ON_TWO_DEVICES + end + 'print("OK")\n'
    result = subprocess.run([sys.executable, "-c", script], env=env,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-500:] + result.stderr[-1500:])
    assert result.stdout.strip().endswith("OK"), result.stdout
    expected = {"tensorflow": "MirroredStrategy over 2 devices", "jax": "DataParallel over 2 CPU devices"}
    assert expected[BACKEND] in result.stdout, result.stdout


CHECKS = {
    "training and evaluation (`train.fit`, `train.evaluate`)": check_training,
    "saving and loading `.keras` files": check_keras_file,
    "mixed precision (`device.setup(mixed_precision=...)`)": check_mixed_precision,
    "Grad-CAM (`analysis.grad_cam`)": check_grad_cam,
    "gradients (`analysis.gradients`, `analysis.weight_gradients`)": check_gradients,
    "`tf.data` input (`Scenes.as_dataset`, datasets in `train.fit` / `evaluate`)": check_tf_data,
    "SavedModel export (`export.export_saved_model`)": check_saved_model,
    "LiteRT export and int8 quantization (`export.export_litert`)": check_litert,
    "ONNX export (`export.export_onnx`)": check_onnx,
    "several devices (`device.setup(distribute=True)`)": check_several_devices,
}


def test_the_table_has_one_row_per_check():
    assert list(compatibility_table()) == list(CHECKS)


def test_every_cell_is_a_yes_or_a_no_with_a_reason():
    for feature, cells in compatibility_table().items():
        for backend, cell in cells.items():
            assert cell == "✓" or re.fullmatch(r"✗ \(.+\)", cell), f"{feature} / {backend}: {cell!r}"


@pytest.mark.parametrize("feature", list(CHECKS))
def test_the_table_is_true_on_this_backend(feature, tmp_path):
    cell = compatibility_table()[feature][BACKEND]
    if cell == "✓":
        CHECKS[feature](tmp_path)
    else:  # the feature must fail, and say so clearly, rather than produce garbage
        with pytest.raises((ImportError, NotImplementedError, RuntimeError, ValueError)):
            CHECKS[feature](tmp_path)


# ---------------------------------------------------------------- TensorFlow only where needed

WITHOUT_TENSORFLOW = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    sys.modules["tensorflow"] = None  # as if TensorFlow were not installed: importing it fails
    import keras
    import numpy as np
    before = set(sys.modules)
    import cnnkit
    from cnnkit import analysis, data, export
    names = [m.name for m in pkgutil.walk_packages(cnnkit.__path__, "cnnkit.") if m.name != "cnnkit.__main__"]
    for name in names:
        importlib.import_module(name)
    # No backend library beyond what Keras itself loaded (Keras's torch backend imports jax too).
    extra = {m.split(".")[0] for m in set(sys.modules) - before} & {"jax", "torch", "tensorflow"}
    assert not extra, f"importing cnnkit imported {extra}"

    model = cnnkit.create_model("lenet5")            # models, training helpers and Grad-CAM work ...
    heat, _ = analysis.grad_cam(model, np.zeros(model.inputs[0].shape[1:], "float32"))
    try:                                              # ... a tf.data pipeline says what it needs
        data.make_scenes(2, image_size=32).as_dataset()
    except ImportError as err:
        assert "needs the 'tensorflow' package: pip install tensorflow" in str(err), err
    else:
        raise AssertionError("expected an ImportError naming tensorflow")
    try:                                              # ... and so does export (package or backend)
        export.export_saved_model(model, "unused")
    except (ImportError, NotImplementedError) as err:
        assert "'tensorflow' package" in str(err) or "KERAS_BACKEND=tensorflow" in str(err), err
    else:
        raise AssertionError("expected an error naming tensorflow")
    print("OK", len(names))
    """
)


@pytest.mark.backends("jax", "torch", reason="on the TensorFlow backend Keras itself needs TensorFlow")
def test_cnnkit_runs_without_tensorflow_and_says_where_it_is_needed():
    env = {**os.environ, "KERAS_BACKEND": BACKEND}
    result = subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-500:] + result.stderr[-2000:]
    assert result.stdout.startswith("OK"), result.stdout


# ---------------------------------------------------------------- the setup cell in Colab


def run_setup_cell(in_colab: bool, monkeypatch) -> list[tuple[str, str]]:
    """Execute tools/nbtool.py's SETUP_CELL as IPython would; return the magics it ran."""
    import types

    from IPython.core.inputtransformer2 import TransformerManager

    from tools import nbtool

    magics = []
    ipython = types.SimpleNamespace(run_line_magic=lambda name, line: magics.append((name, line)))
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    code = TransformerManager().transform_cell(nbtool.SETUP_CELL)
    namespace = {"get_ipython": lambda: ipython}
    try:
        exec(compile(code, "setup-cell", "exec"), namespace)
    finally:
        keras.config.set_dtype_policy("float32")
    assert namespace["run"].seed == 42 and namespace["run"].messages  # device.setup() ran
    return magics


def test_setup_cell_installs_cnnkit_in_colab_and_leaves_its_backends_alone(monkeypatch):
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    from cnnkit.config import REPO_URL

    assert run_setup_cell(False, monkeypatch) == []  # locally: nothing is installed
    [(magic, line)] = run_setup_cell(True, monkeypatch)
    assert magic == "pip"
    args = line.split()
    assert args[0] == "install" and f'"cnnkit @ git+{REPO_URL}"' in line
    # No upgrade or reinstall flags: pip keeps Colab's preinstalled packages when they satisfy the bounds.
    assert not {"-U", "--upgrade", "--force-reinstall", "--ignore-installed", "-I"} & set(args), args
    # And cnnkit requires no backend, so Colab's TensorFlow, JAX and PyTorch are never replaced.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {re.match(r"[A-Za-z0-9_.\-]+", dep).group(0).lower() for dep in project["dependencies"]}
    assert not required & {"tensorflow", "jax", "jaxlib", "torch"}, required
    # The cell leaves the backend choice to the learner (a cell above it may set KERAS_BACKEND).
    from tools import nbtool

    assert "KERAS_BACKEND" not in nbtool.SETUP_CELL
