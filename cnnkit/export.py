"""Ship a trained model: ``.keras``, SavedModel, LiteRT (float, float16, dynamic-range and int8) and ONNX.

Each recipe writes a file (or folder) and comes with a loader whose
``predict(x)`` gives outputs comparable with ``model.predict(x)``, so a test
(and the notebook) can check that the converted model still computes the
same thing. :func:`file_size` and :func:`measure_latency` measure what the
conversion bought.

================  =====================  =======================================  ================
format            write                  run                                      needs
================  =====================  =======================================  ================
``.keras``        :func:`save_keras`     :func:`load_keras` (``load_model``)      Keras
SavedModel        :func:`export_saved_model`  :func:`load_saved_model`            TensorFlow
LiteRT (TFLite)   :func:`export_litert`  :class:`LiteRTModel`                     TensorFlow (+ ai-edge-litert)
ONNX              :func:`export_onnx`    :class:`OnnxModel`                       tf2onnx, onnx, onnxruntime
================  =====================  =======================================  ================

**Post-training int8 quantization** (``export_litert(..., quantization="int8",
representative_data=x)``) stores every weight as an 8-bit integer with one
scale per output channel, and runs the activations in int8 too. The scales of
the activations are *calibrated*: the converter runs the float model on a few
hundred representative inputs and records the range of every tensor. The file
shrinks about 4x (8 bits instead of 32 per weight) and integer kernels run
fast on phones and microcontrollers; the price is a small rounding error.
:func:`int8_code` computes that code by hand (``q = round(x / s) + z``,
per tensor or per channel), so a notebook can measure the rounding error of
one layer before trusting the converter.

TensorFlow, ai-edge-litert, tf2onnx and onnxruntime are imported only inside
the functions that need them; a missing one raises an ``ImportError`` that
names the package to install.

Example:
    With a trained ``model`` and its data (a conversion takes seconds to minutes
    and needs TensorFlow, so the lines are not run here):

    >>> from cnnkit import export
    >>> path = export.export_litert(model, "model_int8.tflite", quantization="int8",  # doctest: +SKIP
    ...                             representative_data=x_train[:200])
    >>> lite = export.LiteRTModel(path)                                  # doctest: +SKIP
    >>> accuracy = (lite.predict(x_test).argmax(-1) == y_test).mean()    # doctest: +SKIP
    >>> latency_ms = export.measure_latency(lite.predict, x_test[:1]).median_ms  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from cnnkit import _validate as V
from cnnkit import experiments
from cnnkit._optional import require

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")


# ---------------------------------------------------------------- helpers


_require = require  # one helper for every optional import (cnnkit._optional)


@contextlib.contextmanager
def _quiet():
    """Hide the converters' C++ logs, TensorFlow's INFO logs and Python warnings (they would fill a notebook)."""
    from cnnkit._native_logs import quiet_native_stderr, quiet_tensorflow_logger

    # quiet_tensorflow_logger: "INFO:tensorflow:Assets written to: ..." on every SavedModel write
    with quiet_native_stderr(), quiet_tensorflow_logger(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _tensorflow(what: str):
    return _require("tensorflow", "tensorflow", what)


def _require_backend(backends: tuple[str, ...], what: str) -> None:
    """Raise a NotImplementedError naming the backends that can do ``what`` (README's table lists them)."""
    backend = keras.backend.backend()
    if backend not in backends:
        raise NotImplementedError(
            f"{what} works on the {' or '.join(backends)} backend of Keras; this one is {backend!r}. "
            f"Run with KERAS_BACKEND={backends[0]} (see README, 'Backends')."
        )


def file_size(path) -> int:
    """Size in bytes of a file, or of every file inside a folder (a SavedModel is a folder)."""
    path = _path(path, "path")
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    if not path.exists():
        raise ValueError(f"path must be an existing file or folder; received {str(path)!r}, which does not exist.")
    return path.stat().st_size


def _path(value, name: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        V.fail(name, "a path (a string or a pathlib.Path)", value, wrong_type=True)
    return Path(value)


def _inputs(x, name: str = "x") -> np.ndarray:
    """A batch of real numbers for a runner: no NaN, no 0-255 images, at least one sample (float32)."""
    V.model_inputs(x, name)
    raw = np.asarray(x)
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_) or np.iscomplexobj(raw) or raw.ndim == 0:
        V.fail(name, "a batch of real numbers (batch, ...)", x, wrong_type=True)
    if len(raw) == 0:
        raise ValueError(f"{name} must hold at least one sample; received {V.describe(raw)}.")
    return raw.astype(np.float32, copy=False)


def _as_batch(x, expected_shape, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != len(expected_shape) or any(e not in (-1, None, s) for s, e in zip(x.shape[1:], expected_shape[1:])):
        raise ValueError(
            f"{name} expects a batch of shape {tuple(-1 if e in (-1, None) else int(e) for e in expected_shape)} "
            f"(-1: any size); received an array of shape {x.shape}."
        )
    return x


def _batched(predict_batch, x: np.ndarray, batch_size: int) -> np.ndarray:
    batch_size = V.positive_int(batch_size, "batch_size")
    return np.concatenate([predict_batch(x[i : i + batch_size]) for i in range(0, len(x), batch_size)], axis=0)


# ---------------------------------------------------------------- .keras and SavedModel


def save_keras(model, path) -> Path:
    """Save the whole model (architecture, weights, optimizer state) as a ``.keras`` file; return its path.

    This is the format to keep training later or to share with Keras users;
    load it back with ``keras.models.load_model(path)``.

    The file is written atomically: Keras writes a temporary file in the same
    folder, which then replaces ``path`` in one ``os.replace``. A save that fails
    half-way (a full disk, an interrupted process) leaves ``path`` as it was,
    an earlier good model included, and removes the temporary file.

    Example:
        >>> save_keras(model, "audio.keras")          # doctest: +SKIP
    """
    import secrets

    import keras

    V.instance(model, "model", keras.Model, "a keras.Model")
    path = V.output_file(path, "path", ".keras", overwrite=True)  # suffix, not a folder, a writable place
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh hidden name next to the target (same file system, so os.replace is atomic); Keras creates
    # it with the usual permissions, which mkstemp's 0600 would not give.
    temporary = path.parent / f".{path.stem}.{secrets.token_hex(4)}.partial.keras"
    try:
        model.save(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    return path


def load_keras(path):
    """Load a ``.keras`` model, with an error that says what is wrong with a file that does not load.

    ``import cnnkit`` registers cnnkit's layers and models, so a cnnkit model loads
    with ``keras.models.load_model`` once cnnkit is imported. (In a process that has
    not imported cnnkit, Keras fails with "Could not locate class": Keras imports
    the module named in a file only for its own packages, and has no plug-in
    registry a package could join.) This function also tells apart what Keras
    reports as "File not found" in every case:

    * a missing file;
    * a corrupt one: not a zip archive, truncated, or without the model's config
      (an interrupted save, a download cut short, another format renamed);
    * a file that uses a class nobody registered (a custom layer whose module was not imported).

    Raises:
        ValueError: for each case above, naming the file.

    Example:
        >>> model = load_keras("runs/simple_cnn_digits.keras")   # doctest: +SKIP
    """
    import zipfile

    if not isinstance(path, (str, os.PathLike)):
        V.fail("path", "a path to a .keras file", path, wrong_type=True)
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be an existing .keras file; received {str(path)!r}, which does not exist.")
    corrupt = (f"path must be a readable .keras file (a zip archive holding config.json and the weights); received "
               f"{str(path)!r}, which is not a readable .keras file: it is corrupt or truncated (an interrupted save "
               f"or download?) or in another format")
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist() or archive.testzip() is not None:
                raise ValueError(f"{corrupt}.")
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{corrupt} ({error}).") from None
    try:
        return keras.models.load_model(path)
    except TypeError as error:  # Keras nests the missing class's message inside its container's
        missing = re.search(r"Could not locate (?:class|function) '([^']+)'", str(error))
        if missing is None:
            raise
        name = missing.group(1)
        raise ValueError(f"{str(path)!r} uses the class {name!r}, which is not registered: import the module that "
                         f"defines it (decorated with @keras.saving.register_keras_serializable) before loading; "
                         f"cnnkit's own classes are registered by import cnnkit.") from None


def export_saved_model(model, path) -> Path:
    """Export the forward pass as a TensorFlow SavedModel folder (for TF Serving, TF.js, the converters).

    The folder holds the graph and the weights, not the Python code: it runs
    without cnnkit or the model's builder. Uses Keras's ``model.export``
    (TensorFlow or JAX backend).

    Example:
        >>> export_saved_model(model, "audio_savedmodel")   # doctest: +SKIP
    """
    _require_backend(("tensorflow", "jax"), "Exporting a SavedModel")
    _tensorflow("Exporting a SavedModel")
    path = Path(path)
    with _quiet():
        model.export(str(path), format="tf_saved_model", verbose=False)
    return path


class SavedModelRunner:
    """Run an exported SavedModel's ``serve`` endpoint on NumPy batches.

    Example:
        >>> runner = load_saved_model("audio_savedmodel")     # doctest: +SKIP
        >>> runner.predict(x_test).shape                      # doctest: +SKIP
        (N, num_classes)
    """

    def __init__(self, path):
        tf = _tensorflow("Loading a SavedModel")
        self.path = Path(path)
        if not (self.path / "saved_model.pb").exists():
            raise ValueError(f"Expected a SavedModel folder holding saved_model.pb; received {str(self.path)!r}.")
        with _quiet():
            self._artifact = tf.saved_model.load(str(self.path))
        self._serve = self._artifact.serve

    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        """Outputs for a batch ``x`` (float32), computed ``batch_size`` samples at a time."""
        x = np.asarray(x, dtype=np.float32)
        return _batched(lambda b: np.asarray(self._serve(b)), x, batch_size)


def load_saved_model(path) -> SavedModelRunner:
    """Load a folder written by :func:`export_saved_model`; returns a :class:`SavedModelRunner`."""
    return SavedModelRunner(path)


# ---------------------------------------------------------------- LiteRT (TensorFlow Lite)


def _converter_settings(tf, quantization: str, representative_data, calibration_samples: int, int8_io: bool) -> dict:
    """Keyword arguments for ``model.export(format="litert")``: attributes of the TFLite converter."""
    builtins_only = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}  # runs on the plain LiteRT runtime
    if quantization == "none":
        return {"target_spec": builtins_only}
    if quantization == "float16":
        return {"optimizations": [tf.lite.Optimize.DEFAULT],
                "target_spec": {**builtins_only, "supported_types": [tf.float16]}}
    if quantization == "dynamic":  # int8 weights; activations stay float
        return {"optimizations": [tf.lite.Optimize.DEFAULT], "target_spec": builtins_only}
    # int8: weights AND activations in int8; activation ranges calibrated on representative data.
    if representative_data is None:
        raise ValueError(
            "quantization='int8' needs representative_data: a few hundred typical inputs (e.g. x_train[:200]) "
            "to calibrate the range of every activation; received None."
        )
    samples = np.asarray(representative_data, dtype=np.float32)[:calibration_samples]
    if len(samples) == 0:
        raise ValueError("representative_data must hold at least one sample; received an empty array.")

    def representative_dataset():
        for sample in samples:
            yield [sample[None]]  # one sample at a time, with a batch axis

    settings = {
        "optimizations": [tf.lite.Optimize.DEFAULT],
        "representative_dataset": representative_dataset,
        "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
    }
    if int8_io:  # the caller feeds int8 and reads int8 (what a microcontroller wants)
        settings.update(inference_input_type=tf.int8, inference_output_type=tf.int8)
    return settings


def export_litert(model, path, quantization: str = "none", representative_data=None,
                  calibration_samples: int = 200, int8_io: bool = False) -> Path:
    """Convert a Keras model to a LiteRT (TensorFlow Lite) ``.tflite`` file, optionally quantized.

    Goes through Keras's ``model.export(path, format="litert", ...)``, which
    writes a SavedModel and runs ``tf.lite.TFLiteConverter.from_saved_model``
    on it, with the converter settings of the chosen quantization.

    Args:
        model: a Keras model (TensorFlow backend).
        path: output file, ending in ``.tflite``.
        quantization: ``"none"`` (float32), ``"float16"`` (weights stored as
            float16), ``"dynamic"`` (weights int8, activations float) or
            ``"int8"`` (weights and activations int8, calibrated).
        representative_data: inputs for int8 calibration, e.g. ``x_train[:200]``;
            required for ``"int8"``, ignored otherwise.
        calibration_samples: how many of them to use.
        int8_io: ``"int8"`` only: make the model's input and output int8 too
            (the caller quantizes; :class:`LiteRTModel` does it for you).
            By default they stay float32 and the model converts at its edges.

    Returns:
        The path of the ``.tflite`` file.

    Example:
        >>> export_litert(model, "m_int8.tflite", "int8", representative_data=x_train[:200])  # doctest: +SKIP
    """
    import keras

    V.instance(model, "model", keras.Model, "a keras.Model")
    path = V.output_file(path, "path", ".tflite", overwrite=True)
    if representative_data is not None:
        representative_data = _inputs(representative_data, "representative_data")
        V.fits_model(representative_data, model, "representative_data")
    tf = _tensorflow("Converting to LiteRT")
    V.choice(quantization, "quantization", QUANTIZATIONS)
    calibration_samples = V.positive_int(calibration_samples, "calibration_samples")
    int8_io = V.boolean(int8_io, "int8_io")
    settings = _converter_settings(tf, quantization, representative_data, calibration_samples, int8_io)
    _require_backend(("tensorflow",), "Converting to LiteRT")
    with _quiet():
        model.export(str(path), format="litert", verbose=False, **settings)
    return path


def _litert_interpreter_class():
    """LiteRT's interpreter from ai-edge-litert when installed, else TensorFlow's (deprecated) copy."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        tf = _require("tensorflow", "ai-edge-litert", "Running a .tflite model")
        return tf.lite.Interpreter
    return Interpreter


class LiteRTModel:
    """Run a ``.tflite`` model with the LiteRT interpreter on NumPy batches.

    Quantized inputs and outputs are handled for you: float inputs are
    quantized with the input's scale and zero point, int8 outputs are
    dequantized, so ``predict`` always takes and returns float32 like the
    Keras model.

    Args:
        path: a ``.tflite`` file.
        num_threads: CPU threads the interpreter may use (default: LiteRT's choice).

    Example:
        >>> lite = LiteRTModel("m_int8.tflite")                 # doctest: +SKIP
        >>> lite.predict(x_test[:8]).shape, lite.input_dtype    # doctest: +SKIP
        ((8, num_classes), dtype('float32'))
    """

    def __init__(self, path, num_threads: int | None = None):
        self.path = _path(path, "path")
        if not self.path.is_file():
            raise ValueError(f"path must be an existing .tflite file; received {str(self.path)!r}.")
        num_threads = V.positive_int(num_threads, "num_threads", allow_none=True)
        interpreter = _litert_interpreter_class()
        try:
            with _quiet():
                self._interpreter = interpreter(model_path=str(self.path), num_threads=num_threads)
        except ValueError as error:  # not a flatbuffer: a corrupt, truncated or other file
            raise ValueError(f"path must be a readable .tflite file; received {str(self.path)!r}, which LiteRT "
                             f"cannot read ({error}).") from None
        self._input = self._interpreter.get_input_details()
        self._output = self._interpreter.get_output_details()
        if len(self._input) != 1 or len(self._output) != 1:
            raise ValueError(f"LiteRTModel runs models with one input and one output; {self.path} has "
                             f"{len(self._input)} inputs and {len(self._output)} outputs.")
        self._input, self._output = self._input[0], self._output[0]
        self._batch = None

    @property
    def input_dtype(self):
        """NumPy dtype the model's input tensor holds (float32, or int8 with ``int8_io``)."""
        return np.dtype(self._input["dtype"])

    @property
    def input_shape(self) -> tuple:
        """The input shape, ``-1`` on the batch axis (any batch size)."""
        return tuple(int(s) for s in self._input["shape_signature"])

    def tensor_dtypes(self) -> dict:
        """How many tensors of each dtype the model holds: shows whether it really computes in int8."""
        counts: dict = {}
        for detail in self._interpreter.get_tensor_details():
            name = np.dtype(detail["dtype"]).name
            counts[name] = counts.get(name, 0) + 1
        return counts

    def _resize(self, batch: int):
        if batch != self._batch:
            self._interpreter.resize_tensor_input(self._input["index"], [batch, *self.input_shape[1:]])
            with _quiet():  # the first allocation prints "INFO: Created TensorFlow Lite XNNPACK delegate"
                self._interpreter.allocate_tensors()
            self._batch = batch

    def _predict_batch(self, x: np.ndarray) -> np.ndarray:
        self._resize(len(x))
        if self.input_dtype.kind == "i":  # quantize: q = x / scale + zero_point
            scale, zero = self._input["quantization"]
            info = np.iinfo(self.input_dtype)
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(self.input_dtype)
        self._interpreter.set_tensor(self._input["index"], x.astype(self.input_dtype, copy=False))
        self._interpreter.invoke()
        out = self._interpreter.get_tensor(self._output["index"])
        if np.dtype(self._output["dtype"]).kind == "i":  # dequantize: x = (q - zero_point) * scale
            scale, zero = self._output["quantization"]
            out = (out.astype(np.float32) - zero) * scale
        return np.array(out, dtype=np.float32)

    def predict(self, x, batch_size: int = 32) -> np.ndarray:
        """Outputs for a batch ``x``, computed ``batch_size`` samples at a time (float32 in, float32 out)."""
        x = _as_batch(_inputs(x), self.input_shape, f"{self.path.name}")
        return _batched(self._predict_batch, x, batch_size)


# ---------------------------------------------------------------- ONNX


def export_onnx(model, path) -> Path:
    """Export the forward pass to an ONNX file (for ONNX Runtime, TensorRT, OpenVINO, browsers, ...).

    Uses Keras's ``model.export(path, format="onnx")``, which converts with
    ``tf2onnx`` on the TensorFlow backend. Needs the ``tf2onnx`` and ``onnx``
    packages; running the file needs ``onnxruntime`` (:class:`OnnxModel`).

    Example:
        >>> export_onnx(model, "audio.onnx")                      # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"path must end with '.onnx'; received {str(path)!r}.")
    _require("tf2onnx", "tf2onnx", "Exporting to ONNX")
    _require("onnx", "onnx", "Exporting to ONNX")
    _require_backend(("tensorflow",), "Exporting to ONNX")
    with _quiet():
        model.export(str(path), format="onnx", verbose=False)
    return path


class OnnxModel:
    """Run an ``.onnx`` file with ONNX Runtime on NumPy batches (CPU).

    Example:
        >>> OnnxModel("audio.onnx").predict(x_test).shape          # doctest: +SKIP
    """

    def __init__(self, path, num_threads: int | None = None):
        ort = _require("onnxruntime", "onnxruntime", "Running an ONNX model")
        self.path = Path(path)
        if not self.path.is_file():
            raise ValueError(f"Expected an existing .onnx file; received {str(self.path)!r}.")
        options = ort.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
        self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f"OnnxModel runs models with one input; {self.path} has {len(inputs)}.")
        self._input_name = inputs[0].name
        self.input_shape = tuple(s if isinstance(s, int) else -1 for s in inputs[0].shape)

    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        """Outputs for a batch ``x`` (float32), computed ``batch_size`` samples at a time."""
        x = _as_batch(np.asarray(x, dtype=np.float32), self.input_shape, self.path.name)
        return _batched(lambda b: self._session.run(None, {self._input_name: b})[0], x, batch_size)


# ---------------------------------------------------------------- quantization by hand

INT8_RANGE = (-128, 127)


@dataclass(frozen=True)
class Int8Code:
    """How a float tensor maps to int8: ``q = clip(round(x / scale) + zero_point, -128, 127)``.

    ``scale`` and ``zero_point`` are arrays shaped to broadcast against the
    tensor: one value for the whole tensor (*per-tensor*) or one per index
    along the channel axis (*per-channel*), as :func:`int8_code` chose them.

    Attributes:
        scale: the float step between two neighbouring integers.
        zero_point: the integer that stands for 0.0 (0 for a symmetric code).
    """

    scale: np.ndarray
    zero_point: np.ndarray

    def quantize(self, x) -> np.ndarray:
        """``x`` as int8: ``clip(round(x / scale) + zero_point, -128, 127)``."""
        x = np.asarray(x, dtype=np.float64)
        q = np.round(x / self.scale) + self.zero_point
        return np.clip(q, *INT8_RANGE).astype(np.int8)

    def dequantize(self, q) -> np.ndarray:
        """The float numbers the integers stand for: ``(q - zero_point) * scale``."""
        return ((np.asarray(q, dtype=np.float64) - self.zero_point) * self.scale).astype(np.float32)

    def round_trip(self, x) -> np.ndarray:
        """``dequantize(quantize(x))``: what survives of ``x`` after 8 bits."""
        return self.dequantize(self.quantize(x))


def int8_code(x, axis: int | None = None, symmetric: bool = True) -> Int8Code:
    """Choose the int8 scale and zero point that cover the values of ``x``, as LiteRT does.

    * **symmetric** (LiteRT's rule for weights): ``zero_point = 0`` and
      ``scale = max|x| / 127``, so the integers ``-127 ... 127`` cover
      ``[-max|x|, max|x|]`` (the same code as ``keras.quantizers.abs_max_quantize``);
    * **asymmetric** (for activations, e.g. all positive after a ReLU): the range
      ``[min(x, 0), max(x, 0)]`` (it must hold 0.0 exactly) is spread over all 256
      integers, ``scale = (max - min) / 255`` and ``zero_point = round(-128 - min / scale)``.

    Args:
        x: the float values to cover (a weight tensor, or activations from calibration data).
        axis: ``None`` for one scale for the whole tensor (*per-tensor*), or the
            channel axis for one scale per channel (*per-channel*; ``-1`` for the
            output channels of a Keras ``Conv2D`` kernel).
        symmetric: the symmetric code (weights) or the asymmetric one (activations).

    Returns:
        An :class:`Int8Code` (``.quantize``, ``.dequantize``, ``.round_trip``).

    Example:
        >>> code = int8_code(np.array([-1.0, 0.5, 1.27]))
        >>> code.quantize([-1.0, 0.5, 1.27]).tolist(), float(code.scale)
        ([-100, 50, 127], 0.01)
    """
    x = V.finite_array(x, "x", dtype=np.float64)
    if x.size == 0:
        raise ValueError(f"x must hold at least one value; received an array of shape {x.shape}.")
    symmetric = V.boolean(symmetric, "symmetric")
    if axis is None:
        reduce = None
    else:
        axis = V.integer(axis, "axis", minimum=-x.ndim, maximum=x.ndim - 1,
                         reason=f"an axis of x, which has {x.ndim} dimensions")
        reduce = tuple(i for i in range(x.ndim) if i != axis % x.ndim)
    keep = axis is not None  # per channel: shaped to broadcast against x; per tensor: a 0-d array
    if symmetric:
        largest = np.max(np.abs(x), axis=reduce, keepdims=keep)
        scale = np.where(largest > 0, largest / 127.0, 1.0)  # an all-zero channel: any scale codes it exactly
        return Int8Code(scale=scale, zero_point=np.zeros_like(scale, dtype=np.int64))
    low = np.minimum(np.min(x, axis=reduce, keepdims=keep), 0.0)
    high = np.maximum(np.max(x, axis=reduce, keepdims=keep), 0.0)
    scale = np.where(high > low, (high - low) / 255.0, 1.0)
    zero_point = np.clip(np.round(INT8_RANGE[0] - low / scale), *INT8_RANGE).astype(np.int64)
    return Int8Code(scale=scale, zero_point=zero_point)


# ---------------------------------------------------------------- measuring


@dataclass
class Latency:
    """Wall-clock times of repeated calls, in milliseconds."""

    times_ms: list

    @property
    def median_ms(self) -> float:
        return float(statistics.median(self.times_ms))

    @property
    def spread_ms(self) -> tuple[float, float]:
        """10th and 90th percentile: how much the runs varied (other programs share the CPU)."""
        low, high = np.percentile(self.times_ms, [10, 90])
        return float(low), float(high)

    def __str__(self) -> str:
        low, high = self.spread_ms
        return f"median {self.median_ms:.3f} ms (10-90%: {low:.3f}-{high:.3f} ms, {len(self.times_ms)} runs)"


def measure_latency(predict, x, warmup: int = 10, repeats: int = 100) -> Latency:
    """Time ``predict(x)`` honestly: ``warmup`` untimed calls first, then ``repeats`` timed ones.

    The warm-up calls absorb one-off costs (graph tracing, memory allocation,
    caches); the median of the timed calls ignores the occasional slow run
    caused by other programs. The timing itself is :func:`cnnkit.experiments.timings`,
    the one timer of the course.

    Args:
        predict: a function of one batch, e.g. ``LiteRTModel(path).predict`` or ``model.predict_on_batch``.
        x: the batch to feed (typically one sample, ``x_test[:1]``, for on-device latency).
        warmup: untimed calls before measuring.
        repeats: timed calls.

    Returns:
        A :class:`Latency` (``.median_ms``, ``.spread_ms``).

    Example:
        >>> measure_latency(lambda b: b * 2, np.ones(3), warmup=1, repeats=5).median_ms < 10
        True
    """
    if not callable(predict):
        V.fail("predict", "a function of one batch (e.g. LiteRTModel(path).predict)", predict, wrong_type=True)
    seconds = experiments.timings(lambda: predict(x), repeats=repeats, warmup=warmup)
    return Latency([t * 1000.0 for t in seconds])


def cpu_threads() -> int:
    """CPU cores this process may use (what the latency numbers were measured with)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
