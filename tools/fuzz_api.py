"""Fuzz cnnkit's public API with bad input and count, per module, how clearly each call fails.

The measurement of issue 19's "Done means": the same classes of bad input as the
issue's fuzz (wrong types and shapes, empty arrays, NaN/inf, negative and huge
sizes, unknown names, uint8 0-255 images, channels-first arrays, mismatched
lengths, degenerate boxes), fed to the public functions of every module::

    python tools/fuzz_api.py                      # every case, a table per module, totals
    python tools/fuzz_api.py --module detection   # one module (repeatable)
    python tools/fuzz_api.py --json fuzz.json     # every outcome, for a diff between runs
    python tools/fuzz_api.py --show unclear       # print the cases of one outcome with their message
    python tools/fuzz_api.py --list               # count the cases without running them
    KERAS_BACKEND=jax python tools/fuzz_api.py    # another backend

How a case is built. Each *target* is one public function with a valid call
(``base``) and the arguments to spoil (``slots``: argument -> a class of bad
input). A class turns the valid value into its bad versions (``images`` gives
NaN, inf, uint8 0-255, float 0-255, channels-first, a missing batch axis, an
empty batch, a string ...), so every case differs from a call that works in
exactly one argument. The valid call of every target runs first: when it fails,
the harness is wrong and the target's cases are reported as ``broken`` and not
counted.

How a case is classified:

* **clear**: a ``ValueError`` or ``TypeError`` (or the agreed ``FileNotFoundError``
  for a path that does not exist), raised at a line of cnnkit, whose message says
  what was received (``"... must be ...; received ..."``, cnnkit/_validate.py's
  wording) and names the argument;
* **unclear**: any other exception: one raised inside Keras, TensorFlow, NumPy,
  matplotlib ..., a bare ``IndexError``/``KeyError``/``ZeroDivisionError`` at a
  cnnkit line, or a cnnkit message that does not name the argument or say what
  it received (``--show unclear`` prints why);
* **silent**: the call returned. Every case is a bad input, so a result is a
  wrong result. Values a function legitimately accepts are excluded from its
  cases (``skip``, each with the reason), not counted as clear;
* **hang**: the call ran past ``--timeout`` seconds (default 60), grew the
  worker's memory by more than ``--max-gb`` (default 3 GB), or killed the
  worker. Each case runs in a worker process that the runner watches (its
  resident memory is polled every 20 ms), so a hang or a blow-up is counted and
  the run goes on in a fresh worker.

``Done means`` (issue 19): at least 95 % clear, no silent result on images,
labels, boxes, scores or learning rates (the ``silent*`` column), no hang. The
exit status is 1 when the bar is missed. One TensorFlow run takes a few minutes
on a 2-core CPU (most cases fail in microseconds; the ones that reach
``model.fit`` take a second).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CNNKIT_DIR = str(ROOT / "cnnkit")
OUTCOMES = ("clear", "unclear", "silent", "hang")
# Inputs whose silent acceptance the issue counts as the worst case (wrong training data, wrong metrics):
# images (and clips), labels (class ids, masks), boxes, scores (and the detection dicts holding both), learning rates.
CRITICAL = ("images", "clips", "labels", "class_id", "masks", "boxes", "scores", "detections", "learning_rate")


# ---------------------------------------------------------------- classes of bad input
# Each takes the valid value of the argument and returns {label: bad value}.


def _nan(v):
    v = np.array(v, dtype=np.float32, copy=True)
    v.flat[0] = np.nan
    return v


def _inf(v):
    v = np.array(v, dtype=np.float32, copy=True)
    v.flat[-1] = np.inf
    return v


def _common(v):
    """NaN, infinity, a string, None, a complex array: wrong for any numeric array."""
    return {"nan": _nan(v), "inf": _inf(v), "string": "data.npy", "none": None,
            "complex": np.asarray(v).astype(np.complex64), "object array": np.array([{"a": 1}, "x"], dtype=object)}


def images(v):
    """A batch of images (N, H, W, C) in [0, 1]."""
    v = np.asarray(v, np.float32)
    bad = _common(v)
    bad.update({"uint8 0-255": (v * 255).astype(np.uint8), "float 0-255": v * 255,
                "channels-first": np.ascontiguousarray(np.moveaxis(v, -1, 1)), "no batch axis": v[0],
                "no channel axis": v[..., 0], "empty batch": v[:0], "list of strings": ["a.png", "b.png"]})
    if v.shape[1] == v.shape[-1]:  # a channels-first copy would have the same shape: not a bad input
        del bad["channels-first"]
    return bad


def image(v):
    """One image (H, W, C) or (H, W) in [0, 1]."""
    v = np.asarray(v, np.float32)
    bad = _common(v)
    bad.update({"uint8 0-255": (v * 255).astype(np.uint8), "float 0-255": v * 255,
                "rank 1": v.reshape(-1), "empty": v[:0]})
    return bad


def clips(v):
    """A batch of clips (N, T, H, W, C) in [0, 1]."""
    v = np.asarray(v, np.float32)
    bad = _common(v)
    bad.update({"uint8 0-255": (v * 255).astype(np.uint8), "float 0-255": v * 255, "no batch axis": v[0],
                "no channel axis": v[..., 0], "empty batch": v[:0]})
    return bad


def labels(v):
    """Integer class ids (N,) below the number of classes."""
    v = np.asarray(v)
    bad = {"nan": _nan(v), "inf": _inf(v), "string": "labels", "none": None, "fractional": v + 0.5,
           "out of range": v + 100, "negative": v - 10, "too few": v[:-1], "probabilities": np.full((len(v), 3), 1 / 3),
           "list of strings": ["cat"] * len(v)}
    return bad


def class_id(v):
    """One class index (an int below the number of classes)."""
    return {"negative": -1, "out of range": 100, "float": 1.5, "bool": True, "string": "cat", "nan": float("nan"),
            "list": [0, 1, 0, 1, 0, 1, 0]}


def masks(v):
    """Integer class masks (N, H, W)."""
    v = np.asarray(v)
    return {"nan": _nan(v), "string": "masks", "none": None, "fractional": v + 0.5, "out of range": v + 100,
            "negative": v - 10, "too few": v[:-1], "wrong size": v[:, :-1], "probabilities": v[..., None] * 0.3 + 0.1}


def boxes(v):
    """Boxes (K, 4) "xyxy"."""
    v = np.asarray(v, np.float32)
    bad = {"nan": _nan(v), "inf": _inf(v), "string": "boxes", "none": None, "inverted": v[..., [2, 3, 0, 1]],
           "wrong last axis": v[..., :3], "too few": v[:-1], "complex": v.astype(np.complex64),
           "rank 3": v[None, None]}
    return bad


def scores(v):
    """Scores (K,) in [0, 1]."""
    v = np.asarray(v, np.float32)
    return {"nan": _nan(v), "inf": _inf(v), "string": "scores", "none": None, "too few": v[:-1],
            "rank 2": np.stack([v, v], axis=1), "complex": v.astype(np.complex64)}


def array(v):
    """Any numeric array (a kernel, a signal, a heatmap)."""
    v = np.asarray(v)
    bad = _common(v)
    bad.update({"empty": np.zeros((0,) * max(v.ndim, 1), np.float32), "scalar": np.float32(1.0),
                "extra axis": v[None, None]})
    return bad


def posint(v):
    """A positive integer (a size, a count, a stride)."""
    return {"zero": 0, "negative": -3, "float": 2.5, "bool": True, "string": "3", "nan": float("nan"), "none": None,
            "list": [2, 2, 2, 2, 2]}


def size(v):
    """A positive integer that sets how much is allocated: also a huge one."""
    return {**posint(v), "huge": 10**9}


def nonneg(v):
    """A non-negative integer (a seed, a patience, a count that may be 0)."""
    return {"negative": -1, "float": 1.5, "bool": True, "string": "0", "nan": float("nan")}


def positive(v):
    """A positive finite number (a sample rate, a scale, a size in pixels)."""
    return {"nan": float("nan"), "inf": float("inf"), "negative": -1.0, "zero": 0.0, "string": "0.1", "bool": True,
            "none": None, "list": [0.1, 0.2, 0.3]}


def learning_rate(v):
    return positive(v)


def fraction(v):
    """A number in [0, 1] (a threshold, an opacity, a share)."""
    return {"nan": float("nan"), "inf": float("inf"), "negative": -0.5, "above 1": 1.5, "string": "half", "bool": True,
            "none": None}


def name(v):
    """One of a set of names."""
    return {"unknown": "no_such_name", "int": 3, "none": None, "empty": "", "list": ["a", "b"]}


def flag(v):
    """True or False."""
    return {"string": "yes", "int 2": 2, "none": None, "array": np.array([True, False])}


def model(v):
    """A Keras model."""
    return {"string": "model.keras", "none": None, "int": 3, "array": np.zeros((2, 2)), "a function": print}


def dictionary(v):
    """A dict (history, maps, anchors)."""
    return {"int": 3, "string": "history", "none": None, "list": [1, 2], "empty": {}}


def sequence(v):
    """A list of per-item things (titles, class names): wrong types and lengths."""
    v = ["a", "b", "c"] if v is None else v
    n = len(v)
    return {"int": 3, "too few": list(v)[:-1] if n > 1 else [], "too many": list(v) + list(v), "dict": {"a": 1},
            "nested": [[1, 2]] * n}


def path_in(v):
    """A path to a file to read."""
    return {"missing": "/tmp/cnnkit_fuzz/no_such_file" + Path(str(v)).suffix, "folder": "/tmp",
            "int": 3, "none": None, "corrupt": "/tmp/cnnkit_fuzz/corrupt" + Path(str(v)).suffix}


def path_out(v):
    """A path to write."""
    suffix = Path(str(v)).suffix
    return {"folder": "/tmp", "int": 3, "none": None, "wrong suffix": "/tmp/cnnkit_fuzz/out.txt",
            "read-only folder": "/proc/cnnkit_fuzz" + suffix}


def custom(v):
    """No generic bad values: the target lists its own in ``extra``."""
    return {}


def detections(v):
    """A list of per-image detection dicts {"boxes", "classes", "scores"} (or ground truth without scores)."""
    first = dict(v[0])
    n = len(first["boxes"])

    def with_(**changes):
        return [{**first, **changes}] + [dict(d) for d in v[1:]]
    bad = {"nan box": with_(boxes=_nan(first["boxes"])), "inverted box": with_(boxes=first["boxes"][:, [2, 3, 0, 1]]),
           "fractional class": with_(classes=np.asarray(first["classes"]) + 0.5),
           "class count mismatch": with_(classes=np.asarray(first["classes"])[:-1]),
           "wrong box axis": with_(boxes=first["boxes"][:, :3]), "not a list": "detections", "a dict": first,
           "missing boxes": [{k: x for k, x in first.items() if k != "boxes"}] + list(v[1:]),
           "one image too many": list(v) + [first], "none": None, "string class": with_(classes=["cat"] * n)}
    if "scores" in first:
        bad.update({"nan score": with_(scores=_nan(first["scores"])), "inf score": with_(scores=_inf(first["scores"])),
                    "score count mismatch": with_(scores=np.asarray(first["scores"])[:-1]),
                    "missing scores": [{k: x for k, x in first.items() if k != "scores"}] + list(v[1:])})
    return bad


def shape(v):
    """An input shape (height, width, channels)."""
    v = tuple(v)
    return {"one axis short": v[:-1], "zero": (0,) + v[1:], "negative": (-1,) + v[1:], "float": (v[0] + 0.5,) + v[1:],
            "string": "32x32", "huge": (10**6, 10**6) + v[2:], "int": 32}


KINDS = {f.__name__: f for f in (custom, detections, shape, class_id, images, image, clips, labels, masks, boxes, scores, array, posint, size, nonneg,
                                 positive, learning_rate, fraction, name, flag, model, dictionary, sequence, path_in,
                                 path_out)}


# ---------------------------------------------------------------- targets


class Lazy:
    """A bad value built from the fixtures when the case runs (a tuple of fixture arrays, say)."""

    def __init__(self, build):
        self.build = build


@dataclass
class Target:
    """One public function: a valid call and the arguments to spoil."""

    module: str
    function: str
    call: object  # (fixtures, kwargs) -> result
    base: object  # fixtures -> kwargs of a valid call
    slots: dict  # argument -> kind name (a key of KINDS)
    skip: dict = field(default_factory=dict)  # argument -> {label: why this bad value is in fact accepted}
    extra: dict = field(default_factory=dict)  # argument -> {label: value}: bad values particular to this function


@dataclass
class Case:
    index: int
    target: Target
    arg: str | None  # None: the valid call
    label: str

    @property
    def critical(self) -> bool:
        return self.arg is not None and self.target.slots.get(self.arg, "") in CRITICAL

    def describe(self) -> str:
        return f"{self.target.function}({self.arg}={self.label})"


def _targets():
    from tools import fuzz_targets

    return fuzz_targets.TARGETS


def valid_value(kwargs: dict, arg: str, kind: str):
    """The valid value the bad ones derive from: the call's own, or a stand-in for an argument left at its default."""
    if arg in kwargs:
        return kwargs[arg]
    return {"shape": (8, 8, 3), "array": np.ones((3, 4)), "boxes": np.ones((2, 4)), "scores": np.ones(2),
            "labels": np.zeros(2, int), "images": np.zeros((2, 4, 4, 3)), "image": np.zeros((4, 4, 3))}.get(kind)


def all_cases(fixtures, modules=None) -> list[Case]:
    """Every case, in a fixed order (a restarted worker enumerates the same list).

    The bad values derive from each target's valid values, so the fixtures are built here.
    A target whose valid arguments cannot be built keeps only its valid call (reported broken).
    """
    cases = []
    for target in _targets():
        if modules and target.module not in modules:
            continue
        cases.append(Case(len(cases), target, None, "valid call"))
        try:
            kwargs = fixtures.kwargs(target)
        except Exception:  # noqa: BLE001 (reported when the valid call runs)
            continue
        for arg, kind in target.slots.items():
            bad = dict(KINDS[kind](valid_value(kwargs, arg, kind)))
            bad.update(target.extra.get(arg, {}))
            for label in bad:
                if label in target.skip.get(arg, {}):
                    continue
                cases.append(Case(len(cases), target, arg, label))
    return cases


# ---------------------------------------------------------------- the worker: runs cases, classifies exceptions


def _names_argument(text: str, arg: str, target: Target) -> bool:
    aliases = {arg, arg.rstrip("s"), *target.__dict__.get("aliases", {}).get(arg, ())}
    return any(a and a in text for a in aliases)


def classify_exception(error: BaseException, case: Case) -> tuple[str, str]:
    frames = traceback.extract_tb(error.__traceback__)
    where = frames[-1] if frames else None
    at_cnnkit = where is not None and where.filename.startswith(CNNKIT_DIR)
    text = str(error)
    kind = type(error).__name__
    place = f"{Path(where.filename).name}:{where.lineno}" if where else "?"
    summary = f"{kind} at {place}: {text[:240]}"
    if not at_cnnkit:
        return "unclear", "from a library: " + summary
    agreed = isinstance(error, (ValueError, TypeError)) or (
        isinstance(error, FileNotFoundError) and case.target.slots.get(case.arg) == "path_in")
    if not agreed:
        return "unclear", "bare exception: " + summary
    if "received" not in text.lower():
        return "unclear", "no 'received': " + summary
    if not _names_argument(text, case.arg, case.target):
        return "unclear", f"does not name {case.arg!r}: " + summary
    return "clear", summary


class Fixtures:
    """Small valid inputs and models, built once per worker, on first use."""

    def __init__(self):
        self._cache = {}
        self._kwargs = {}

    def get(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def kwargs(self, target: Target) -> dict:
        key = (target.module, target.function)
        if key not in self._kwargs:
            self._kwargs[key] = target.base(self)
        return self._kwargs[key]


def run_case(case: Case, fixtures: Fixtures) -> dict:
    import copy

    target = case.target
    kwargs = dict(fixtures.kwargs(target))
    if case.arg is not None:
        bad = dict(KINDS[target.slots[case.arg]](valid_value(kwargs, case.arg, target.slots[case.arg])))
        bad.update(target.extra.get(case.arg, {}))
        kwargs[case.arg] = bad[case.label].build(fixtures) if isinstance(bad[case.label], Lazy) else bad[case.label]
    kwargs = {k: (copy.deepcopy(v) if isinstance(v, (dict, list)) else v) for k, v in kwargs.items()}
    try:
        target.call(fixtures, kwargs)
    except Exception as error:  # noqa: BLE001 (classifying every exception is the point)
        if case.arg is None:
            return {"outcome": "broken", "detail": "the valid call failed: " + f"{type(error).__name__}: {error}"[:300]}
        outcome, detail = classify_exception(error, case)
        return {"outcome": outcome, "detail": detail}
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
    if case.arg is None:
        return {"outcome": "valid", "detail": ""}
    return {"outcome": "silent", "detail": "returned a result"}


def worker(modules, result_fd: int) -> None:
    """Read case indices on stdin, write one JSON line per result on ``result_fd`` (the runner's pipe)."""
    import matplotlib

    matplotlib.use("Agg")
    import warnings

    warnings.filterwarnings("ignore")
    Path("/tmp/cnnkit_fuzz").mkdir(exist_ok=True)
    Path("/tmp/cnnkit_fuzz/corrupt.keras").write_bytes(b"not a zip file")
    Path("/tmp/cnnkit_fuzz/corrupt.tflite").write_bytes(b"not a flatbuffer")
    Path("/tmp/cnnkit_fuzz/corrupt.onnx").write_bytes(b"not a protobuf")
    import cnnkit  # noqa: F401

    fixtures = Fixtures()
    cases = all_cases(fixtures, modules)
    out = os.fdopen(result_fd, "w", buffering=1)
    listing = [[c.target.module, c.target.function, c.arg, c.label, c.critical,
                c.target.slots.get(c.arg)] for c in cases]
    out.write(json.dumps({"ready": listing}) + "\n")
    for line in sys.stdin:
        index = int(line)
        try:
            result = run_case(cases[index], fixtures)
        except BaseException as error:  # noqa: BLE001 (a SystemExit or KeyboardInterrupt inside a call)
            result = {"outcome": "unclear", "detail": f"{type(error).__name__}: {error}"[:300]}
        out.write(json.dumps({"index": index, **result}) + "\n")


# ---------------------------------------------------------------- the runner: one worker at a time, watched


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Worker:
    def __init__(self, modules, log):
        read, write = os.pipe()
        args = [sys.executable, str(Path(__file__).resolve()), "--worker", str(write)]
        for module in modules or ():
            args += ["--module", module]
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=log, stderr=log, pass_fds=(write,),
                                        env=env, text=True, cwd=str(ROOT))
        os.close(write)
        self.results = os.fdopen(read, "r")
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.results, selectors.EVENT_READ)
        ready = self._read(timeout=300)
        if ready is None or "ready" not in ready:
            raise RuntimeError("the fuzz worker did not start; see its log")
        self.cases = ready["ready"]

    def _read(self, timeout, max_growth=None, start_rss=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.selector.select(timeout=0.02):
                line = self.results.readline()
                return json.loads(line) if line else None
            if self.process.poll() is not None:
                return None
            if max_growth is not None and _rss_bytes(self.process.pid) - start_rss > max_growth:
                return {"outcome": "hang", "detail": f"memory grew by more than {max_growth / 1e9:g} GB"}
        return {"outcome": "hang", "detail": f"still running after {timeout:g} s"}

    def run(self, index: int, timeout: float, max_growth: float) -> dict:
        start = _rss_bytes(self.process.pid)
        self.process.stdin.write(f"{index}\n")
        self.process.stdin.flush()
        result = self._read(timeout, max_growth, start)
        if result is None:
            return {"outcome": "hang", "detail": f"the worker died (exit status {self.process.poll()})"}
        return result

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def run_all(modules, timeout: float, max_gb: float, log_path: Path, progress: bool = True) -> list[dict]:
    log = open(log_path, "w")
    worker_ = Worker(modules, log)
    cases = worker_.cases
    results = []
    broken_targets = set()
    started = time.monotonic()
    for index, (module, function, arg, label, critical, kind) in enumerate(cases):
        if function in broken_targets:
            result = {"outcome": "broken", "detail": "its valid call failed"}
        else:
            begun = time.monotonic()
            result = worker_.run(index, timeout, max_gb * 1e9)
            result["seconds"] = round(time.monotonic() - begun, 3)
            if result["outcome"] == "hang":
                worker_.stop()
                worker_ = Worker(modules, log)
            if result["outcome"] == "broken":
                broken_targets.add(function)
        result.update(module=module, function=function, arg=arg, label=label, kind=kind, critical=critical)
        results.append(result)
        if progress and index % 200 == 0:
            print(f"  {index}/{len(cases)} cases, {time.monotonic() - started:.0f} s", file=sys.stderr)
    worker_.stop()
    return results


# ---------------------------------------------------------------- the report


def table(results: list[dict]) -> tuple[str, dict]:
    modules = sorted({r["module"] for r in results})
    rows = {}
    for module in modules + ["total"]:
        mine = [r for r in results if (module == "total" or r["module"] == module) and r["arg"] is not None
                and r["outcome"] != "broken"]
        row = {o: sum(r["outcome"] == o for r in mine) for o in OUTCOMES}
        row["calls"] = len(mine)
        row["silent*"] = sum(r["outcome"] == "silent" and r["critical"] for r in mine)
        row["clear %"] = 100.0 * row["clear"] / max(1, len(mine))
        rows[module] = row
    header = f"{'module':<14}{'calls':>7}{'clear':>7}{'unclear':>9}{'silent':>8}{'silent*':>9}{'hang':>6}{'clear %':>9}"
    lines = [header, "-" * len(header)]
    for module, row in rows.items():
        if module == "total":
            lines.append("-" * len(header))
        lines.append(f"{module:<14}{row['calls']:>7}{row['clear']:>7}{row['unclear']:>9}{row['silent']:>8}"
                     f"{row['silent*']:>9}{row['hang']:>6}{row['clear %']:>8.1f}%")
    broken = sorted({r["function"] for r in results if r["outcome"] == "broken"})
    if broken:
        lines.append(f"broken targets (their valid call failed, cases not counted): {', '.join(broken)}")
    lines.append("silent* = silent results on images, labels, boxes, scores or learning rates")
    return "\n".join(lines), rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", action="append", help="only this module (repeatable)")
    parser.add_argument("--json", type=Path, help="write every outcome to this file")
    parser.add_argument("--show", action="append", default=[], choices=OUTCOMES + ("broken",),
                        help="print the cases with this outcome (repeatable)")
    parser.add_argument("--list", action="store_true", help="count the cases per module, run nothing")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one call may take (default 60)")
    parser.add_argument("--max-gb", type=float, default=3.0, help="memory growth one call may cause (default 3)")
    parser.add_argument("--log", type=Path, default=Path("/tmp/cnnkit_fuzz_worker.log"),
                        help="the worker's own output (Keras logs)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # the file descriptor of the results
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    sys.modules.setdefault("tools.fuzz_api", sys.modules[__name__])  # one Lazy and Target class, run as a script too
    if args.worker is not None:
        worker(args.module, args.worker)
        return 0
    if args.list:
        import cnnkit  # noqa: F401

        cases = all_cases(Fixtures(), args.module)
        counts = {}
        for case in cases:
            if case.arg is not None:
                counts[case.target.module] = counts.get(case.target.module, 0) + 1
        for module, count in sorted(counts.items()):
            print(f"{module:<14}{count:>6}")
        print(f"{'total':<14}{sum(counts.values()):>6}  ({len({c.target.function for c in cases})} functions)")
        return 0
    started = time.monotonic()
    results = run_all(args.module, args.timeout, args.max_gb, args.log)
    text, rows = table(results)
    for outcome in args.show:
        print(f"\n== {outcome}")
        for r in results:
            if r["outcome"] == outcome and (r["arg"] is None or outcome != "broken"):
                print(f"  {r['function']}({r['arg']}={r['label']}): {r['detail']}")
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    print(f"\nfuzz of cnnkit's public API on {backend}, {time.monotonic() - started:.0f} s\n{text}")
    if args.json:
        args.json.write_text(json.dumps({"backend": backend, "rows": rows, "results": results}, indent=1))
    total = rows["total"]
    met = total["clear %"] >= 95 and total["silent*"] == 0 and total["hang"] == 0
    print(f"issue 19's bar (>= 95 % clear, 0 silent*, 0 hang): {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
