"""SimpleCNN training and inference throughput: cnnkit's recipe, plain ``model.fit``, XLA, PyTorch eager.

Every configuration trains the seed's SimpleCNN (``create_model("simple_cnn")``,
32x32x3 images, 10 classes, batch 64, Adam 1e-3, cross-entropy on logits) on
the same random images. Each configuration is warmed up once (tracing and
compilation are not throughput), then timed ``repeats`` times, interleaved with
the other configurations so that a busy moment on a shared machine hits all of
them alike. The best (shortest) timing is reported, as ``timeit`` does: other
load only ever slows a run down, so the least disturbed run is the best estimate
of what the machine can do; the median is kept beside it.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import time

import numpy as np

BATCH = 64
IMAGE_SHAPE = (32, 32, 3)
NUM_CLASSES = 10


def random_batch_data(num_images: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(num_images, 32, 32, 3)`` float32 images in [0, 1] and int32 labels in [0, 10)."""
    rng = np.random.default_rng(seed)
    x = rng.random((num_images, *IMAGE_SHAPE), dtype=np.float32)
    y = rng.integers(0, NUM_CLASSES, size=num_images).astype(np.int32)
    return x, y


# ---------------------------------------------------------------- Keras configurations


class KerasRun:
    """One Keras configuration: ``plain`` (``model.compile`` + ``model.fit``) or ``cnnkit`` (its recipe).

    ``compile_kwargs`` go to ``model.compile`` (plain) or ``cnnkit.train.compile_model`` (cnnkit);
    empty means each recipe's own defaults.
    """

    def __init__(self, recipe: str, compile_kwargs: dict, x, y):
        import keras

        from cnnkit import create_model, train

        self.recipe, self.compile_kwargs, self.x, self.y = recipe, dict(compile_kwargs), x, y
        keras.utils.set_random_seed(0)
        self.model = create_model("simple_cnn", num_classes=NUM_CLASSES, input_shape=IMAGE_SHAPE)
        if recipe == "plain":
            self.model.compile(optimizer=keras.optimizers.Adam(1e-3),
                               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                               metrics=["accuracy"], **self.compile_kwargs)
        else:
            train.compile_model(self.model, learning_rate=1e-3, **self.compile_kwargs)

    @property
    def jit_compile(self) -> bool:
        """Whether XLA compiles the steps (Keras resolves ``"auto"`` when the model is compiled)."""
        return bool(getattr(self.model, "jit_compile", False))

    @property
    def steps_per_execution(self) -> int:
        return int(getattr(self.model, "steps_per_execution", 1) or 1)

    def fit(self, epochs: int) -> float:
        from cnnkit import train

        start = time.perf_counter()
        if self.recipe == "plain":
            self.model.fit(self.x, self.y, batch_size=BATCH, epochs=epochs, verbose=0)
        else:  # with its default progress bar (captured): it is part of the recipe
            with contextlib.redirect_stdout(io.StringIO()):
                train.fit(self.model, self.x, self.y, batch_size=BATCH, epochs=epochs)
        return time.perf_counter() - start

    def predict(self) -> float:
        start = time.perf_counter()
        self.model.predict(self.x, batch_size=BATCH, verbose=0)
        return time.perf_counter() - start


# ---------------------------------------------------------------- PyTorch eager


def torch_version() -> str | None:
    """PyTorch's version, or None when it is not installed (the benchmark then says so)."""
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


def torch_status(use_torch: bool = True) -> tuple[str | None, str]:
    """``(version to measure or None, what the report says)``: PyTorch is optional, never required."""
    installed = torch_version()
    if installed is None:
        return None, "not installed"
    if not use_torch:
        return None, "not measured (--no-torch)"
    return installed, installed


class TorchRun:
    """The seed's PyTorch SimpleCNN, trained and run eagerly on the CPU (the seed's own loop)."""

    recipe = "torch"
    compile_kwargs: dict = {}
    jit_compile = False
    steps_per_execution = 1

    def __init__(self, x, y):
        import torch
        from torch import nn

        torch.manual_seed(0)
        self.torch = torch
        self.model = nn.Sequential(  # the seed text's SimpleCNN, layer for layer
            nn.Conv2d(3, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, kernel_size=3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d((4, 4)),
            nn.Flatten(), nn.Linear(128 * 4 * 4, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, NUM_CLASSES),
        )
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = nn.CrossEntropyLoss()
        self.x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW
        self.y = torch.from_numpy(y.astype(np.int64))

    def params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def fit(self, epochs: int) -> float:
        torch, n = self.torch, len(self.x)
        start = time.perf_counter()
        self.model.train()
        for _ in range(epochs):
            order = torch.randperm(n)  # shuffled every epoch, as model.fit does
            for i in range(0, n, BATCH):
                idx = order[i:i + BATCH]
                self.opt.zero_grad()
                self.loss_fn(self.model(self.x[idx]), self.y[idx]).backward()
                self.opt.step()
        return time.perf_counter() - start

    def predict(self) -> float:
        torch = self.torch
        start = time.perf_counter()
        self.model.eval()
        with torch.no_grad():
            for i in range(0, len(self.x), BATCH):
                self.model(self.x[i:i + BATCH])
        return time.perf_counter() - start


# ---------------------------------------------------------------- the benchmark


# (label, recipe, compile arguments). "keras fit" and "cnnkit fit" with their defaults are the
# identical-settings pair that measures cnnkit's overhead; the others show what each setting does.
CONFIGS = [
    ("keras fit", "plain", {}),
    ("cnnkit fit", "cnnkit", {}),
]
# Settings compared on the TensorFlow backend only: XLA is optional there (JAX always compiles
# with XLA, and the PyTorch backend accepts neither XLA nor several steps per execution).
TENSORFLOW_CONFIGS = [
    ("keras fit, XLA on", "plain", {"jit_compile": True}),
    ("keras fit, XLA off", "plain", {"jit_compile": False}),
    ("keras fit, 16 steps/execution", "plain", {"steps_per_execution": 16}),
]


def configurations(torch_available: bool, backend: str | None = None) -> list[tuple[str, str, dict]]:
    """``(label, recipe, compile_kwargs)`` of every configuration to time on ``backend`` (default: Keras's)."""
    import keras

    backend = backend or keras.backend.backend()
    configs = CONFIGS + (TENSORFLOW_CONFIGS if backend == "tensorflow" else [])
    return configs + ([("pytorch eager", "torch", {})] if torch_available else [])


def run(num_images: int = 1280, epochs: int = 1, repeats: int = 3, use_torch: bool = True, log=print) -> dict:
    """Measure training and inference images/s of every configuration; return a JSON-ready dict.

    Args:
        num_images: random 32x32x3 images per epoch (``num_images / 64`` steps).
        epochs: epochs per timed ``fit``.
        repeats: timings per configuration (interleaved); the best is reported, the median kept.
        use_torch: include PyTorch eager when it is installed.
    """

    from cnnkit._native_logs import quiet_tensorflow_logger

    with quiet_tensorflow_logger():  # each configuration traces its own steps: retracing notices
        return _run(num_images, epochs, repeats, use_torch, log)


def _run(num_images, epochs, repeats, use_torch, log) -> dict:
    import keras

    x, y = random_batch_data(num_images)
    version, torch_label = torch_status(use_torch)
    runs = {}
    for label, recipe, kwargs in configurations(version is not None):
        runs[label] = TorchRun(x, y) if recipe == "torch" else KerasRun(recipe, kwargs, x, y)
        runs[label].fit(1)  # warm-up: tracing and XLA compilation are not throughput
        runs[label].predict()
    train_s = {label: [] for label in runs}
    infer_s = {label: [] for label in runs}
    for rep in range(repeats):
        for label, r in runs.items():
            train_s[label].append(r.fit(epochs))
            infer_s[label].append(r.predict())
        log(f"  timing round {rep + 1}/{repeats} done")
    rows = []
    for label, r in runs.items():
        rows.append({
            "config": label, "recipe": r.recipe, "compile_kwargs": r.compile_kwargs,
            "jit_compile": r.jit_compile, "steps_per_execution": r.steps_per_execution,
            "train_images_per_s": num_images * epochs / min(train_s[label]),
            "infer_images_per_s": num_images / min(infer_s[label]),
            "train_images_per_s_median": num_images * epochs / statistics.median(train_s[label]),
            "infer_images_per_s_median": num_images / statistics.median(infer_s[label]),
            "train_seconds": train_s[label], "infer_seconds": infer_s[label],
        })
    by = {row["config"]: row for row in rows}

    def ratio(a, b, key):
        return by[a][key] / by[b][key]

    ratios = {
        "cnnkit fit / keras fit (each with its defaults), training": ratio("cnnkit fit", "keras fit",
                                                                          "train_images_per_s"),
        "cnnkit fit / keras fit, inference (the same model.predict: shows the noise)":
            ratio("cnnkit fit", "keras fit", "infer_images_per_s"),
    }
    cnnkit = runs["cnnkit fit"]
    same = next((label for label, r in runs.items() if r.recipe == "plain" and r.jit_compile == cnnkit.jit_compile
                 and r.steps_per_execution == cnnkit.steps_per_execution), None)
    if same is not None:  # cnnkit's overhead: the same compile settings, its fit vs model.fit
        ratios[f"cnnkit fit / {same} (identical settings), training"] = ratio("cnnkit fit", same,
                                                                              "train_images_per_s")
    if "keras fit, XLA on" in by:
        ratios["XLA on / off, training"] = ratio("keras fit, XLA on", "keras fit, XLA off", "train_images_per_s")
        ratios["XLA on / off, inference"] = ratio("keras fit, XLA on", "keras fit, XLA off", "infer_images_per_s")
        ratios["16 steps/execution / keras fit, training"] = ratio("keras fit, 16 steps/execution", "keras fit",
                                                                  "train_images_per_s")
    if "pytorch eager" in by:
        ratios["cnnkit fit / pytorch eager, training"] = ratio("cnnkit fit", "pytorch eager", "train_images_per_s")
        ratios["cnnkit fit / pytorch eager, inference"] = ratio("cnnkit fit", "pytorch eager", "infer_images_per_s")
    return {
        "backend": keras.backend.backend(), "keras": keras.__version__,
        "torch": torch_label,
        "batch": BATCH, "image_shape": list(IMAGE_SHAPE), "num_images": num_images, "epochs": epochs,
        "repeats": repeats, "rows": rows, "ratios": ratios,
        "params_keras": runs["keras fit"].model.count_params(),
        "params_torch": runs["pytorch eager"].params() if "pytorch eager" in runs else None,
    }
