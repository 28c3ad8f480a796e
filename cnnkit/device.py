"""Describe the hardware and set up a run: GPU memory growth, mixed precision, seeds, distribution.

Two functions cover what a notebook needs:

* :func:`describe` reports the backend, library versions, the CPU and every
  GPU (name, memory) and the precision policy, as a printable summary;
* :func:`setup` prepares a run: it seeds every random generator, turns on
  GPU memory growth, picks mixed precision when the GPU has tensor cores, and
  chooses a distribution strategy when several devices are present. On a CPU
  it says which steps it skipped and why, instead of failing.

Both work with the TensorFlow, JAX and PyTorch backends of Keras; the backend
library is imported only inside the function that needs it.

Example:
    >>> from cnnkit import device
    >>> run = device.setup(seed=0)        # doctest: +SKIP
    >>> with run.scope():                  # builds the model on every replica
    ...     model = make_model()           # doctest: +SKIP
    >>> print(device.describe())           # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

import keras
import numpy as np

from cnnkit import _validate as V
from cnnkit import config
from cnnkit._native_logs import quiet_native_stderr

MIXED_PRECISION_CHOICES = ("auto", True, False, "mixed_float16", "mixed_bfloat16", "float32")
DISTRIBUTE_CHOICES = ("auto", True, False)


# ---------------------------------------------------------------- describing the machine


@dataclass
class Device:
    """One compute device as the backend sees it."""

    name: str  # e.g. "CPU:0", "GPU:0"
    kind: str  # "CPU", "GPU" or "TPU"
    description: str = ""  # e.g. "Tesla T4, compute capability 7.5"
    memory_bytes: int | None = None
    compute_capability: tuple[int, int] | None = None

    def __str__(self) -> str:
        memory = f", {self.memory_bytes / 2**30:.1f} GiB" if self.memory_bytes else ""
        detail = f" ({self.description}{memory})" if self.description or memory else ""
        return f"{self.name}{detail}"


@dataclass(repr=False)
class DeviceReport:
    """What :func:`describe` found. ``print(report)`` gives an aligned summary."""

    backend: str
    backend_version: str
    keras_version: str
    numpy_version: str
    python_version: str
    platform: str
    cpu_count: int
    devices: list[Device]
    precision_policy: str
    quick_mode: bool

    @property
    def gpus(self) -> list[Device]:
        return [d for d in self.devices if d.kind == "GPU"]

    @property
    def accelerator(self) -> str:
        """``"GPU"``, ``"TPU"`` or ``"CPU"``: the fastest kind of device present."""
        kinds = {d.kind for d in self.devices}
        return "GPU" if "GPU" in kinds else "TPU" if "TPU" in kinds else "CPU"

    def __str__(self) -> str:
        rows = [
            ("backend", f"{self.backend} {self.backend_version}"),
            ("keras", self.keras_version),
            ("numpy", self.numpy_version),
            ("python", f"{self.python_version} on {self.platform}"),
            ("CPU cores", str(self.cpu_count)),
        ]
        rows += [(f"device {i}", str(d)) for i, d in enumerate(self.devices)]
        if not self.gpus:
            rows.append(("GPU", "none found: running on the CPU"))
        rows += [("precision", self.precision_policy), ("quick mode", "on" if self.quick_mode else "off")]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}} : {v}" for k, v in rows)

    __repr__ = __str__


def describe() -> DeviceReport:
    """Report backend, versions, devices and precision policy, without changing anything."""
    backend = keras.backend.backend()
    version, devices = _BACKENDS[backend]["describe"]()
    return DeviceReport(
        backend=backend,
        backend_version=version,
        keras_version=keras.__version__,
        numpy_version=np.__version__,
        python_version=platform.python_version(),
        platform=f"{platform.system()} {platform.machine()}",
        cpu_count=os.cpu_count() or 1,
        devices=devices,
        precision_policy=keras.config.dtype_policy().name,
        quick_mode=config.quick_mode(),
    )


def _host_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else the machine type."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_device() -> Device:
    return Device("CPU:0", "CPU", _cpu_name(), _host_memory_bytes())


def _nvidia_smi_memory() -> list[int]:
    """Total memory of each NVIDIA GPU in bytes, from nvidia-smi (empty if unavailable)."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
        return [int(line) * 2**20 for line in out.split() if line.strip().isdigit()]
    except (OSError, subprocess.SubprocessError):
        return []


def _describe_tensorflow() -> tuple[str, list[Device]]:
    import tensorflow as tf

    devices = [_cpu_device()]
    memory = _nvidia_smi_memory()
    # list_physical_devices does not initialise the runtime, so setup() can still configure GPUs.
    # On a machine without CUDA drivers, the first probe logs "failed call to cuInit" in C++.
    with quiet_native_stderr():
        gpus = tf.config.list_physical_devices("GPU")
    for i, gpu in enumerate(gpus):
        details = tf.config.experimental.get_device_details(gpu)
        capability = details.get("compute_capability")
        text = details.get("device_name", "GPU")
        if capability:
            text += f", compute capability {capability[0]}.{capability[1]}"
        devices.append(Device(f"GPU:{i}", "GPU", text, memory[i] if i < len(memory) else None, capability))
    return tf.__version__, devices


def _describe_jax() -> tuple[str, list[Device]]:
    import jax

    devices = []
    cpu_seen = False
    for d in jax.devices():
        kind = d.platform.upper()
        if kind == "CPU":
            if cpu_seen:  # several host devices (XLA_FLAGS) are shown as one CPU plus a count
                continue
            cpu_seen = True
            count = len(jax.devices("cpu"))
            cpu = _cpu_device()
            cpu.description += f"; {count} JAX host devices" if count > 1 else ""
            devices.append(cpu)
            continue
        stats = d.memory_stats() or {}
        devices.append(Device(f"{kind}:{d.id}", kind, d.device_kind, stats.get("bytes_limit")))
    if not cpu_seen:
        devices.insert(0, _cpu_device())
    return jax.__version__, devices


def _describe_torch() -> tuple[str, list[Device]]:
    import torch

    devices = [_cpu_device()]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            text = f"{props.name}, compute capability {props.major}.{props.minor}"
            devices.append(Device(f"GPU:{i}", "GPU", text, props.total_memory, (props.major, props.minor)))
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append(Device("GPU:0", "GPU", "Apple Metal (MPS)"))
    return torch.__version__, devices


# ---------------------------------------------------------------- setting up a run


@dataclass(repr=False)
class RunSetup:
    """What :func:`setup` did. Build models inside ``with run.scope():``."""

    seed: int | None
    precision_policy: str
    strategy: object | None = None  # tf.distribute.Strategy or keras.distribution.Distribution
    replicas: int = 1
    messages: list[str] = field(default_factory=list)

    def scope(self):
        """Context for building and compiling models (a no-op without a TF strategy)."""
        if self.strategy is not None and hasattr(self.strategy, "scope"):
            return self.strategy.scope()
        return contextlib.nullcontext()

    def __str__(self) -> str:
        return "\n".join(self.messages)

    __repr__ = __str__


def setup(
    seed: int | None = 42,
    mixed_precision="auto",
    memory_growth: bool = True,
    distribute="auto",
    deterministic: bool = False,
    compile_cache="auto",
    verbose: bool = True,
) -> RunSetup:
    """Prepare a run on whatever hardware is present.

    Args:
        seed: seeds Python, NumPy and the backend (``keras.utils.set_random_seed``)
            so a run can be repeated; ``None`` leaves the generators alone.
        mixed_precision: ``"auto"`` uses ``mixed_float16`` when every GPU has
            tensor cores (compute capability 7.0 or newer) and ``float32``
            otherwise; ``True`` forces mixed precision (``mixed_float16`` on a
            GPU, ``mixed_bfloat16`` on a CPU); ``False`` forces ``float32``; a
            policy name sets that policy.
        memory_growth: TensorFlow only: let GPU memory grow as needed instead
            of reserving all of it up front (so several notebooks can share a GPU).
        distribute: ``"auto"`` replicates the model over several GPUs when
            present; ``True`` also replicates over several logical CPU devices
            (useful to test multi-device code on a laptop); ``False`` never does.
        deterministic: TensorFlow only: make ops deterministic (slower).
        compile_cache: JAX only: keep compiled XLA programs on disk, so a model
            built again (the next seed, the next run of the notebook) skips most of
            its compilation. ``"auto"`` uses ``$JAX_COMPILATION_CACHE_DIR``, else a
            directory set before, else ``~/.cache/cnnkit/jax`` (at most 2 GiB, the
            least recently used programs go first); a path uses that directory;
            ``False`` leaves JAX's setting alone.
        verbose: print what was done and what was skipped.

    Returns:
        A :class:`RunSetup`; build models inside ``with run.scope():``.
    """
    V.choice(mixed_precision, "mixed_precision", MIXED_PRECISION_CHOICES)
    V.choice(distribute, "distribute", DISTRIBUTE_CHOICES)
    seed = V.seed(seed)
    if not (compile_cache == "auto" or compile_cache is False or isinstance(compile_cache, (str, os.PathLike))):
        V.fail("compile_cache", "'auto', False or a directory path", compile_cache)

    backend = keras.backend.backend()
    hooks = _BACKENDS[backend]
    messages: list[str] = []
    gpus = hooks["gpus"]()

    if memory_growth:
        messages.append(hooks["memory_growth"](gpus))

    policy = _choose_policy(mixed_precision, gpus)
    keras.config.set_dtype_policy(policy)
    messages.append(_policy_message(policy, mixed_precision, gpus))

    if seed is not None:
        with quiet_native_stderr():  # on JAX / PyTorch this imports TensorFlow (if installed): its C++ start-up lines
            keras.utils.set_random_seed(int(seed))
        messages.append(f"Seeded Python, NumPy and {backend} with seed={seed}.")
    if deterministic:
        messages.append(hooks["deterministic"]())
    if "one_time_notices" in hooks:
        hooks["one_time_notices"]()

    strategy, replicas, message = hooks["distribute"](distribute, gpus)
    if "compilation" in hooks:
        messages.append(hooks["compilation"](replicas))
    if "compile_cache" in hooks and compile_cache is not False:
        messages.append(hooks["compile_cache"](compile_cache))
    messages.append(message)

    run = RunSetup(seed=seed, precision_policy=policy, strategy=strategy, replicas=replicas, messages=messages)
    if verbose:
        print(run)
    return run


def _choose_policy(mixed_precision, gpus: list[Device]) -> str:
    if isinstance(mixed_precision, str) and mixed_precision != "auto":
        return mixed_precision
    if mixed_precision is False:
        return "float32"
    if mixed_precision is True:
        return "mixed_float16" if gpus else "mixed_bfloat16"
    # auto: float16 pays off on tensor cores (Volta, compute capability 7.0, and newer).
    capable = gpus and all(g.compute_capability and g.compute_capability >= (7, 0) for g in gpus)
    return "mixed_float16" if capable else "float32"


def _policy_message(policy: str, requested, gpus: list[Device]) -> str:
    if requested == "auto" and policy == "float32":
        why = "no GPU found" if not gpus else "the GPU has no tensor cores (compute capability < 7.0)"
        return f"Precision: float32 ({why}; mixed precision only pays off on tensor-core GPUs)."
    if policy.startswith("mixed") and not gpus:
        return f"Precision: {policy} on the CPU, as requested (expect it to be slower than float32)."
    return f"Precision: {policy}."


# TensorFlow -------------------------------------------------------------------


def _tf_gpus() -> list[Device]:
    return [d for d in _describe_tensorflow()[1] if d.kind == "GPU"]


def _tf_memory_growth(gpus: list[Device]) -> str:
    if not gpus:
        return "GPU memory growth: skipped (no GPU found)."
    import tensorflow as tf

    try:
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError:
        return ("GPU memory growth: unchanged, because the GPU was already in use; call setup() "
                "first thing after restarting the kernel to change it.")
    return f"GPU memory growth: on for {len(gpus)} GPU(s)."


def _tf_deterministic() -> str:
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    return "Deterministic ops: on (TensorFlow op determinism; runs are slower)."


def _tf_distribute(distribute, gpus: list[Device]):
    import tensorflow as tf

    if distribute is False:
        return None, 1, "Distribution: off (as requested)."
    logical_gpus = tf.config.list_logical_devices("GPU")
    if len(logical_gpus) > 1:
        names = [d.name for d in logical_gpus]
    elif distribute is True and len(tf.config.list_logical_devices("CPU")) > 1:
        names = [d.name for d in tf.config.list_logical_devices("CPU")]
    else:
        where = "one GPU" if logical_gpus else "the CPU"
        return None, 1, f"Distribution: not needed (one device: {where})."
    strategy = tf.distribute.MirroredStrategy(devices=names)
    return strategy, strategy.num_replicas_in_sync, (
        f"Distribution: MirroredStrategy over {len(names)} devices ({', '.join(names)}); "
        "build models inside run.scope()."
    )


# JAX --------------------------------------------------------------------------


def _jax_gpus() -> list[Device]:
    return [d for d in _describe_jax()[1] if d.kind in ("GPU", "TPU")]


def _not_tensorflow(feature: str) -> str:
    return f"{feature}: skipped (a TensorFlow setting; the {keras.backend.backend()} backend does not need it)."


def _jax_distribute(distribute, gpus: list[Device]):
    import jax

    if distribute is False:
        return None, 1, "Distribution: off (as requested)."
    devices = jax.devices()
    if len(devices) < 2 or (distribute == "auto" and devices[0].platform == "cpu"):
        return None, 1, f"Distribution: not needed (one device: {devices[0].platform.upper()})."
    distribution = keras.distribution.DataParallel(devices=devices)
    keras.distribution.set_distribution(distribution)
    return distribution, len(devices), (
        f"Distribution: keras.distribution.DataParallel over {len(devices)} {devices[0].platform.upper()} devices."
    )


def _jax_compilation(replicas: int) -> str:
    """Random initialisers that compile in a fraction of the time, on one device.

    Every weight of a new shape compiles its own random-number kernel on JAX. With
    ``jax_threefry_partitionable`` (JAX's default, designed for random arrays sharded
    over several devices) the kernel of a rank-4 or rank-5 kernel shape took 2.5-3.5 s
    to compile on a 2-core CPU, against 0.5 s without it: building the course's C3D
    model went from 25 s to 3 s. Only the random numbers change, not their distribution.
    """
    if replicas > 1:
        return "Random numbers: JAX's partitionable generator, kept for the sharded model."
    import jax

    jax.config.update("jax_threefry_partitionable", False)
    return ("Random numbers: JAX's non-partitionable generator on one device "
            "(new weight shapes compile several times faster).")


COMPILE_CACHE_MAX_BYTES = 2 * 1024 ** 3
COMPILE_CACHE_MIN_SECONDS = 0.2


def _jax_compile_cache(directory) -> str:
    """Keep every compiled XLA program on disk: building the same model again costs ~1 s instead of 10.

    On JAX each new model compiles its training step, its prediction and one random-number
    kernel per weight shape; a notebook that trains one architecture over three seeds compiled
    it three times. Measured on a 2-core CPU: building and stepping ``resnet_small`` a second time
    took 8.7-12 s without the cache and 1.0 s with it. Programs that compile in 0.2 s or more are
    kept (JAX's default, 1 s, skips most of a small model's); the many tiny programs of eager ops
    are not worth a file each.
    """
    import jax

    if directory == "auto":
        directory = (os.environ.get("JAX_COMPILATION_CACHE_DIR") or jax.config.jax_compilation_cache_dir
                     or os.path.join(os.path.expanduser("~"), ".cache", "cnnkit", "jax"))
    directory = os.fspath(directory)
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", COMPILE_CACHE_MIN_SECONDS)
    jax.config.update("jax_compilation_cache_max_size", COMPILE_CACHE_MAX_BYTES)
    return f"Compilation cache: {directory} (a model built again skips most of its XLA compilation)."


# PyTorch ----------------------------------------------------------------------


def _torch_gpus() -> list[Device]:
    return [d for d in _describe_torch()[1] if d.kind == "GPU"]


def _torch_distribute(distribute, gpus: list[Device]):
    if distribute is False:
        return None, 1, "Distribution: off (as requested)."
    if len(gpus) > 1:
        return None, 1, (f"Distribution: not available: {len(gpus)} GPUs found, but Keras's torch backend "
                         "trains on one device; use the TensorFlow or JAX backend to use them all.")
    if distribute is True:
        return None, 1, ("Distribution: not available (Keras's torch backend trains on one device; "
                         "use the TensorFlow or JAX backend to replicate a model).")
    return None, 1, "Distribution: not needed (one device)."


def _torch_deterministic() -> str:
    import torch

    torch.use_deterministic_algorithms(True, warn_only=True)
    return "Deterministic ops: on (torch.use_deterministic_algorithms)."


def _tf_spend_one_time_notices() -> None:
    """Print TensorFlow's once-per-process oneDNN int64 notice now, silenced, not in a learner's cell.

    The first int64 index arithmetic in a gather (Keras's ``take_along_axis`` on a 3-D tensor,
    as anchor matching does) writes "oneDNN supports DT_INT64 only on platforms with AVX-512"
    from C++, once per process, even on AVX-512 CPUs; it is harmless (Eigen takes over).
    """
    with quiet_native_stderr():
        keras.ops.take_along_axis(keras.ops.ones((1, 2, 2)), keras.ops.zeros((1, 1, 2), "int32"), axis=1)


_BACKENDS = {
    "tensorflow": {
        "describe": _describe_tensorflow,
        "one_time_notices": _tf_spend_one_time_notices,
        "gpus": _tf_gpus,
        "memory_growth": _tf_memory_growth,
        "deterministic": _tf_deterministic,
        "distribute": _tf_distribute,
    },
    "jax": {
        "describe": _describe_jax,
        "gpus": _jax_gpus,
        "memory_growth": lambda gpus: _not_tensorflow("GPU memory growth"),
        "deterministic": lambda: _not_tensorflow("Deterministic ops"),
        "distribute": _jax_distribute,
        "compilation": _jax_compilation,
        "compile_cache": _jax_compile_cache,
    },
    "torch": {
        "describe": _describe_torch,
        "gpus": _torch_gpus,
        "memory_growth": lambda gpus: _not_tensorflow("GPU memory growth"),
        "deterministic": _torch_deterministic,
        "distribute": _torch_distribute,
    },
}


# ---------------------------------------------------------------- several CPU devices


def split_cpu(n: int) -> list[str]:
    """Split the CPU into ``n`` logical devices, to try multi-device code without GPUs.

    TensorFlow only, and only before TensorFlow has run anything (call it first
    thing in a fresh process). For JAX, set
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` before Keras is imported.

    Returns:
        The logical device names, e.g. ``["/device:CPU:0", "/device:CPU:1"]``.
    """
    n = V.positive_int(n, "n")
    backend = keras.backend.backend()
    if backend != "tensorflow":
        hint = ("set XLA_FLAGS=--xla_force_host_platform_device_count=N before importing Keras"
                if backend == "jax" else "the torch backend has no logical CPU devices")
        raise RuntimeError(f"split_cpu() works with the TensorFlow backend only; for {backend}: {hint}.")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError as err:
        raise RuntimeError(
            "split_cpu() must run before TensorFlow is initialised; call it first thing in a fresh "
            f"process or kernel. ({err})"
        ) from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules
