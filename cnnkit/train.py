"""Training recipes on top of ``model.fit``: sensible defaults, a progress bar, best weights, evaluation.

Three functions cover what the notebooks need, and they add no custom training
loop: Keras's own ``model.fit`` does the work, so the code runs unchanged on a
GPU, on several GPUs and on every Keras backend.

* :func:`compile_model` compiles with defaults that suit classification from
  logits: Adam, sparse categorical cross-entropy, accuracy.
* :func:`fit` trains with a progress bar that advances once per epoch (no
  per-batch Python work, so it runs at the speed of a plain ``model.fit``),
  optional early stopping, and the weights of the best epoch restored at the
  end. It returns a :class:`TrainingHistory` that plots itself.
* :func:`evaluate` predicts a labelled set and returns an :class:`Evaluation`:
  accuracy, per-class precision / recall / F1 and the confusion matrix, which
  also plots itself.

Example:
    The whole recipe on the digits (a minute or more of training on a CPU, so not run here)::

        from cnnkit import create_model, data, train

        digits = data.load_digits(image_size=32)
        model = train.compile_model(create_model("simple_cnn", input_shape=(32, 32, 1)))
        history = train.fit(model, digits.x_train, digits.y_train,
                            validation_data=(digits.x_val, digits.y_val),
                            epochs=20, early_stopping_patience=5)
        history.plot()
        result = train.evaluate(model, digits.x_test, digits.y_test, class_names=digits.class_names)
        print(result.accuracy)
        result.plot()

    The pieces that need no training run as they are:

    >>> from cnnkit import create_model, train
    >>> model = train.compile_model(create_model("simple_cnn", input_shape=(32, 32, 1)))
    >>> type(model.optimizer).__name__, model.output_shape
    ('Adam', (None, 10))
    >>> train.confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=2).tolist()
    [[1, 0], [1, 1]]
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass, field

import keras
import numpy as np

from cnnkit import _validate as V
from cnnkit._native_logs import quiet_tensorflow_logger

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
# Training steps per call into the compiled graph on the TensorFlow backend: fewer trips through
# Python per epoch (benchmarks/ measured SimpleCNN training faster than with one step per call).
STEPS_PER_EXECUTION = 16
VERBOSITY = (0, 1, 2, "batch")
BAR_FORMAT = "epoch {n_fmt}/{total_fmt} |{bar:20}| {elapsed}<{remaining}"


# ---------------------------------------------------------------- compile


def compile_model(model, learning_rate: float = 1e-3, optimizer="adam", loss=None, metrics=None,
                  from_logits: bool = True, weight_decay: float | None = None, **compile_kwargs):
    """Compile ``model`` for classification with sensible defaults; return it.

    Args:
        model: a Keras model whose output is one score per class, ``(batch, classes)``
            (or ``(batch, 1)`` for a binary problem).
        learning_rate: step size of the optimizer.
        optimizer: ``"adam"`` (default), ``"adamw"``, ``"sgd"`` (with momentum 0.9),
            ``"rmsprop"``, or a ``keras.optimizers.Optimizer`` instance (then
            ``learning_rate`` and ``weight_decay`` are ignored).
        loss: default: sparse categorical cross-entropy on integer labels, or
            binary cross-entropy when the model has a single output unit.
        metrics: default: ``["accuracy"]`` (binary accuracy for a single unit).
        from_logits: the model outputs raw scores (no softmax/sigmoid at the end);
            the seed's models and every cnnkit classifier do.
        weight_decay: optional decoupled weight decay for the optimizer.
        **compile_kwargs: passed to ``model.compile`` (e.g. ``jit_compile=False``).

    Speed (measured by ``benchmarks/``, see ``benchmarks/results/report.md``): on the
    TensorFlow backend the default is ``steps_per_execution=16``, several training steps
    per call into the compiled graph (per-batch callbacks then run every 16 steps; the
    PyTorch backend rejects it, and JAX keeps Keras's default). ``jit_compile`` keeps
    Keras's ``"auto"``: XLA on a GPU and on JAX, not on a TensorFlow CPU, where it
    slowed SimpleCNN's training down.

    Returns:
        The same model, compiled.

    Example:
        >>> model = compile_model(create_model("simple_cnn"), learning_rate=3e-4)  # doctest: +SKIP
    """
    V.instance(model, "model", keras.Model, "a keras.Model")
    learning_rate = V.positive_float(learning_rate, "learning_rate")
    from_logits = V.boolean(from_logits, "from_logits")
    weight_decay = V.non_negative_float(weight_decay, "weight_decay", allow_none=True)
    binary = _output_units(model) == 1
    if loss is None:
        loss = (keras.losses.BinaryCrossentropy(from_logits=from_logits) if binary
                else keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits))
    if metrics is None:
        metrics = ([keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0 if from_logits else 0.5)]
                   if binary else ["accuracy"])
    if keras.backend.backend() == "tensorflow":
        compile_kwargs.setdefault("steps_per_execution", STEPS_PER_EXECUTION)
    model.compile(optimizer=_make_optimizer(optimizer, learning_rate, weight_decay), loss=loss,
                  metrics=metrics, **compile_kwargs)
    return model


def _make_optimizer(optimizer, learning_rate: float, weight_decay):
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        V.fail("optimizer", f"one of {OPTIMIZERS} or a keras Optimizer", optimizer)
    name = optimizer.lower()
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay or 1e-4)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, weight_decay=weight_decay)
    return keras.optimizers.RMSprop(learning_rate, weight_decay=weight_decay)


def _output_units(model) -> int | None:
    shape = model.outputs[0].shape if getattr(model, "outputs", None) else None
    return shape[-1] if shape is not None and len(shape) >= 2 else None


# ---------------------------------------------------------------- fit


@dataclass(repr=False)
class TrainingHistory:
    """What :func:`fit` did: the metrics per epoch, the best epoch and the time it took.

    Attributes:
        history: ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}``, one value per epoch
            (the same dictionary as ``keras.callbacks.History.history``).
        monitor: the metric that chose the best epoch (``"val_loss"`` with validation data).
        best_epoch: the best epoch, counted from 1 as Keras prints them.
        best: every metric at the best epoch.
        restored: whether the best epoch's weights were put back into the model.
        stopped_early: whether early stopping ended training before ``epochs``.
        seconds: wall-clock time of the whole ``fit`` call.
        epoch_seconds: time from the start of ``fit`` to the end of each epoch (validation
            included); the first epoch also holds the one-off cost of building the steps.
    """

    history: dict
    monitor: str
    best_epoch: int
    restored: bool
    stopped_early: bool
    seconds: float
    epochs_requested: int
    best: dict = field(default_factory=dict)
    epoch_seconds: list = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of epochs actually run."""
        return len(next(iter(self.history.values()), []))

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(self.epochs, 1)

    def seconds_to(self, metric: str, value: float, higher_is_better: bool = True) -> float:
        """Training time until ``metric`` first reached ``value`` (``inf`` if it never did).

        Example:
            >>> history = TrainingHistory(history={"val_mean_iou": [0.2, 0.4, 0.5]}, monitor="val_mean_iou",
            ...                           best_epoch=3, restored=True, stopped_early=False, seconds=9.0,
            ...                           epochs_requested=3, epoch_seconds=[5.0, 7.0, 9.0])
            >>> history.seconds_to("val_mean_iou", 0.35), history.seconds_to("val_mean_iou", 0.9)
            (7.0, inf)
        """
        if metric not in self.history:
            raise ValueError(f"metric must be one of the logged metrics ({', '.join(self.history)}); "
                             f"received {metric!r}.")
        value = V.number(value, "value")
        for reached, seconds in zip(self.history[metric], self.epoch_seconds):
            if (reached >= value) if higher_is_better else (reached <= value):
                return float(seconds)
        return float("inf")

    def plot(self, metrics=None, axes=None):
        """Plot the training curves (see :func:`cnnkit.viz.plot_history`); returns the Figure."""
        from cnnkit.viz.training import plot_history

        return plot_history(self, metrics=metrics, axes=axes)

    def summary(self) -> str:
        """One line: epochs run, best epoch and its metrics, time."""
        metrics = "  ".join(f"{k} {v:.4g}" for k, v in self.best.items())
        stop = ", stopped early" if self.stopped_early else ""
        restored = "; its weights restored" if self.restored else ""
        return (f"{self.epochs}/{self.epochs_requested} epochs{stop}; best epoch {self.best_epoch} by "
                f"{self.monitor} ({metrics}){restored}; {self.seconds:.1f} s ({self.seconds_per_epoch:.2f} s/epoch)")

    def __str__(self) -> str:
        return self.summary()

    __repr__ = __str__


def fit(model, x, y=None, validation_data=None, epochs: int = 10, batch_size: int | None = None,
        early_stopping_patience: int | None = None, monitor: str = "auto", restore_best_weights: bool = True,
        callbacks=None, verbose=1, **fit_kwargs) -> TrainingHistory:
    """Train with ``model.fit``, show progress, keep the best epoch's weights; return a :class:`TrainingHistory`.

    An uncompiled model is first compiled with :func:`compile_model`'s defaults.

    Args:
        model: a Keras model.
        x, y: NumPy arrays (``x`` of shape ``(N, ...)``, integer labels ``y`` of shape ``(N,)``),
            or ``x`` alone as a ``tf.data.Dataset`` or ``keras.utils.PyDataset`` yielding
            ``(images, labels)`` batches.
        validation_data: ``(x_val, y_val)`` or a dataset, evaluated after every epoch.
        epochs: maximum number of passes over the training data.
        batch_size: for arrays only (Keras's default is 32); datasets are already batched.
        early_stopping_patience: stop when ``monitor`` has not improved for this many
            epochs; ``None`` never stops early.
        monitor: metric that defines "best": ``"auto"`` is ``"val_loss"`` when there is
            validation data and ``"loss"`` otherwise; any logged metric name works,
            e.g. ``"val_accuracy"`` (higher is better for names containing "acc", "auc",
            "precision", "recall" or "f1", as in Keras).
        restore_best_weights: put the best epoch's weights back into the model at the end.
        callbacks: extra Keras callbacks.
        verbose: ``1`` a progress bar advancing once per epoch (default); ``2`` one line
            per epoch; ``0`` silent; ``"batch"`` Keras's own per-batch progress bar (it adds
            Python work on every batch, so it is slower).
        **fit_kwargs: passed to ``model.fit`` (e.g. ``shuffle``, ``class_weight``,
            ``validation_split``).

    Returns:
        A :class:`TrainingHistory`; ``history.plot()`` draws the curves.

    Example:
        >>> history = fit(model, x_train, y_train, validation_data=(x_val, y_val),
        ...               epochs=20, early_stopping_patience=5)        # doctest: +SKIP
        >>> history.best_epoch, history.seconds                       # doctest: +SKIP
    """
    V.instance(model, "model", keras.Model, "a keras.Model")
    epochs = V.positive_int(epochs, "epochs")
    early_stopping_patience = V.non_negative_int(early_stopping_patience, "early_stopping_patience", allow_none=True)
    V.choice(verbose, "verbose", VERBOSITY)
    restore_best_weights = V.boolean(restore_best_weights, "restore_best_weights")
    batch_size = V.positive_int(batch_size, "batch_size", allow_none=True)
    is_array = isinstance(x, np.ndarray) or keras.ops.is_tensor(x)
    if not is_array and batch_size is not None:
        raise ValueError("batch_size applies to NumPy arrays only; a dataset is already batched "
                         f"(received batch_size={batch_size!r} with x of type {type(x).__name__}).")
    if is_array and y is None:
        raise ValueError("x is an array, so y (the labels) is required; received y=None.")
    if monitor != "auto":
        V.instance(monitor, "monitor", str, "'auto' or the name of a logged metric")
    has_validation = validation_data is not None or bool(fit_kwargs.get("validation_split"))
    if monitor != "auto" and monitor.startswith("val_") and not has_validation:
        raise ValueError(f"monitor must be 'auto', 'loss' or a training metric when no validation data is given "
                         f"(pass validation_data=(x_val, y_val) or validation_split to monitor {monitor!r}); "
                         f"received {monitor!r}.")
    if not model.compiled:
        compile_model(model)
    logged = _logged_metrics(model, has_validation)
    if monitor != "auto" and logged is not None and monitor not in logged:
        raise ValueError(f"monitor must be 'auto' or a metric fit will log ({', '.join(sorted(logged))}); "
                         f"received {monitor!r}.")
    sequence = isinstance(validation_data, (tuple, list))
    if validation_data is not None and ((sequence and len(validation_data) not in (2, 3)) or (
            not sequence and (isinstance(validation_data, (str, bytes, dict)) or V.is_number(validation_data)))):
        V.fail("validation_data", "(x_val, y_val), (x_val, y_val, sample_weight) or a dataset", validation_data,
               wrong_type=not sequence)
    if is_array:
        _check_data(model, x, y, "x", "y")
    if isinstance(validation_data, (tuple, list)) and len(validation_data) >= 2:
        _check_data(model, validation_data[0], validation_data[1], "validation_data[0]", "validation_data[1]")
    if not is_array:
        fit_kwargs.setdefault("shuffle", False)  # a dataset shuffles itself; Keras warns otherwise

    if monitor == "auto":
        monitor = "val_loss" if has_validation else "loss"
    patience = epochs if early_stopping_patience is None else int(early_stopping_patience)
    best_keeper = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                                restore_best_weights=restore_best_weights, verbose=0)
    extra = list(callbacks or [])
    progress = [] if verbose in (0, "batch") else [EpochProgress(epochs, one_line_per_epoch=(verbose == 2))]

    start = time.perf_counter()
    clock = _EpochClock(start)
    # TensorFlow counts traces per code object and every Keras model shares the trainer's, so a
    # notebook that trains a few new models hears "triggered tf.function retracing" although each
    # model traces its steps once: the notice says nothing about this model, so it is not shown.
    with quiet_tensorflow_logger():
        keras_history = model.fit(
            x, y, batch_size=batch_size, epochs=int(epochs), validation_data=validation_data,
            callbacks=[best_keeper, clock, *extra, *progress], verbose=1 if verbose == "batch" else 0, **fit_kwargs,
        )
    seconds = time.perf_counter() - start

    history = {k: [float(v) for v in values] for k, values in keras_history.history.items()}
    if monitor not in history:
        raise ValueError(f"monitor={monitor!r} was never logged; logged metrics: {', '.join(history)}.")
    best_index = int(best_keeper.best_epoch)
    result = TrainingHistory(
        history=history, monitor=monitor, best_epoch=best_index + 1,
        restored=restore_best_weights and best_keeper.best_weights is not None,
        stopped_early=best_keeper.stopped_epoch > 0, seconds=seconds, epochs_requested=int(epochs),
        best={k: v[best_index] for k, v in history.items()}, epoch_seconds=clock.ends,
    )
    if verbose in (1, 2):
        print(result.summary())
    return result


class _EpochClock(keras.callbacks.Callback):
    """Records the time since ``start`` at the end of every epoch."""

    def __init__(self, start: float):
        super().__init__()
        self.start, self.ends = start, []

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter() - self.start)


def _logged_metrics(model, validation: bool) -> set | None:
    """The names ``model.fit`` will log for a single-output model compiled with plain metrics; ``None`` if unsure.

    From the compile configuration, before any epoch: ``loss`` and each metric's name (its string, or the
    ``name`` in its config), with ``val_`` copies when there is validation data. Several outputs, dicts of
    metrics or weighted metrics log more names, so ``None`` (the check after training stays).
    """
    try:
        config = model.get_compile_config() or {}
        if len(model.outputs) != 1 or config.get("weighted_metrics") or config.get("loss_weights"):
            return None
        metrics = config.get("metrics") or []
        if not isinstance(metrics, (list, tuple)):
            return None
        names = {"loss"}
        for metric in metrics:
            if isinstance(metric, str):
                names.add(metric)
            elif isinstance(metric, dict) and isinstance(metric.get("config"), dict) and "name" in metric["config"]:
                names.add(metric["config"]["name"])
            else:
                return None
    except Exception:  # a subclassed model without outputs, a custom compile: no up-front check
        return None
    return names | ({f"val_{n}" for n in names} if validation else set())


def _check_data(model, x, y, x_name: str, y_name: str) -> None:
    """Refuse what can only be a mistake before the first epoch: NaN, 0-255 images, labels that are no class id.

    Inputs go through :func:`cnnkit._validate.model_inputs` (two reductions, no copy).
    Labels are checked when the loss is sparse categorical cross-entropy, the loss
    that reads them as class ids: whole numbers (``3.0`` is fine, ``3.9`` would be
    truncated to 3 by Keras) below the number of model outputs.
    """
    V.model_inputs(x, x_name)
    V.fits_model(x, model, x_name)
    if isinstance(y, (str, bytes, list, tuple, np.ndarray)):  # names instead of class ids, a file name
        y_array = np.asarray(y)
        if not (np.issubdtype(y_array.dtype, np.number) or y_array.dtype == np.bool_):
            V.fail(y_name, "an array of labels (numbers)", y, wrong_type=True)
        y = y_array
    if hasattr(x, "shape") and hasattr(y, "shape") and len(x.shape) and len(y.shape) and x.shape[0] != y.shape[0]:
        raise ValueError(f"{y_name} must hold one label per sample of {x_name} ({x.shape[0]}); received "
                         f"{y.shape[0]} labels.")
    loss = getattr(model, "loss", None)
    sparse = isinstance(loss, keras.losses.SparseCategoricalCrossentropy) or loss == "sparse_categorical_crossentropy"
    units = _output_units(model)
    if sparse and units is not None and (isinstance(y, np.ndarray) or keras.ops.is_tensor(y)):
        V.class_ids(keras.ops.convert_to_numpy(y), units, y_name, whole_floats=True)


class EpochProgress(keras.callbacks.Callback):
    """A progress bar that advances once per epoch and shows the epoch's metrics.

    It only implements epoch hooks, so Keras keeps dispatching its per-batch
    callbacks asynchronously and training runs at plain ``model.fit`` speed. In
    Jupyter the bar is one output line updated in place (a saved notebook keeps
    only its last state); in a terminal it is a ``tqdm``-style line rewritten
    with a carriage return.

    Args:
        epochs: total number of epochs (the bar's length).
        one_line_per_epoch: print one line per epoch instead of updating a bar.
    """

    def __init__(self, epochs: int, one_line_per_epoch: bool = False):
        super().__init__()
        self.epochs = V.positive_int(epochs, "epochs")
        self.one_line_per_epoch = V.boolean(one_line_per_epoch, "one_line_per_epoch")
        self._start = 0.0
        self._handle = None

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._done, self._logs = 0, {}
        if not self.one_line_per_epoch:
            self._show(self._line(0, {}), first=True)

    def on_epoch_end(self, epoch, logs=None):
        self._done, self._logs = epoch + 1, dict(logs or {})
        line = self._line(self._done, self._logs)
        if self.one_line_per_epoch:
            print(line, flush=True)
        else:
            self._show(line)

    def on_train_end(self, logs=None):
        if self.one_line_per_epoch:
            return
        if 0 < self._done < self.epochs:  # stopped early: a full bar at the epoch reached, not a frozen one
            self._show(self._line(self._done, self._logs, total=self._done)
                       + f"  (stopped early; at most {self.epochs} epochs)")
        if self._handle is None:
            sys.stdout.write("\n")
            sys.stdout.flush()

    def _line(self, done: int, logs: dict, total: int | None = None) -> str:
        from tqdm import tqdm

        metrics = "  ".join(f"{k} {float(v):.4f}" for k, v in logs.items() if np.ndim(v) == 0)
        elapsed = time.perf_counter() - self._start
        if self.one_line_per_epoch:
            return f"epoch {done}/{self.epochs}  {metrics}  ({elapsed:.1f} s)"
        bar = tqdm.format_meter(done, total or self.epochs, elapsed, bar_format=BAR_FORMAT)
        return f"{bar}  {metrics}" if metrics else bar

    def _show(self, line: str, first: bool = False):
        if first and in_jupyter():
            from IPython.display import display

            self._handle = display({"text/plain": line}, raw=True, display_id=True)
            return
        if self._handle is not None:
            self._handle.update({"text/plain": line}, raw=True)
            return
        sys.stdout.write("\r" + line)
        sys.stdout.flush()


def in_jupyter() -> bool:
    """True inside a Jupyter kernel (where output lines can be updated in place)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


# ---------------------------------------------------------------- evaluate


@dataclass(repr=False)
class Evaluation:
    """Accuracy, per-class metrics and the confusion matrix of a classifier on a labelled set.

    Attributes:
        accuracy: fraction of correct predictions.
        confusion: ``(classes, classes)`` counts; row = true class, column = predicted class.
        precision, recall, f1, support: one value per class (``support`` = true samples
            of the class). A class never predicted has precision 0, as in scikit-learn
            with ``zero_division=0``.
        class_names: one name per class.
        y_true, y_pred: the labels and the predicted classes.
        scores: the model's outputs, ``(N, classes)``.
    """

    accuracy: float
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    class_names: list
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: np.ndarray

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the classes (each class counts the same, however rare)."""
        return float(np.mean(self.f1))

    @property
    def errors(self) -> np.ndarray:
        """Indices of the misclassified samples."""
        return np.flatnonzero(self.y_true != self.y_pred)

    def per_class(self) -> list[dict]:
        """One dict per class: name, precision, recall, f1, support."""
        return [
            {"class": name, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(self.class_names, self.precision, self.recall, self.f1, self.support)
        ]

    def plot(self, normalize: bool = False, ax=None):
        """Draw the confusion matrix (see :func:`cnnkit.viz.plot_confusion_matrix`); returns the Figure."""
        from cnnkit.viz.training import plot_confusion_matrix

        return plot_confusion_matrix(self.confusion, self.class_names, normalize=normalize, ax=ax)

    def __str__(self) -> str:
        width = max(len("macro avg"), *(len(str(n)) for n in self.class_names))
        lines = [f"{'class':<{width}}  precision  recall     f1  support"]
        lines += [f"{row['class']:<{width}}  {row['precision']:9.3f}  {row['recall']:6.3f}  {row['f1']:5.3f}  "
                  f"{row['support']:7d}" for row in self.per_class()]
        lines.append(f"{'macro avg':<{width}}  {np.mean(self.precision):9.3f}  {np.mean(self.recall):6.3f}  "
                     f"{self.macro_f1:5.3f}  {int(self.support.sum()):7d}")
        lines.append(f"accuracy {self.accuracy:.4f} ({int((self.y_true == self.y_pred).sum())}/{len(self.y_true)})")
        return "\n".join(lines)

    __repr__ = __str__


def evaluate(model, x, y=None, class_names=None, batch_size: int = 256, from_logits: bool = True) -> Evaluation:
    """Predict a labelled set and measure accuracy, per-class precision / recall / F1 and the confusion matrix.

    Args:
        model: a classifier whose output is ``(batch, classes)`` scores (or ``(batch, 1)`` for binary).
        x, y: arrays of images and integer labels, or ``x`` alone as a dataset of
            ``(images, labels)`` batches (it is read once, in order).
        class_names: names for the classes (default ``"0"``, ``"1"``, ...).
        batch_size: prediction batch size for arrays.
        from_logits: for a single-unit binary output, whether it is a logit
            (threshold 0) or a probability (threshold 0.5).

    Returns:
        An :class:`Evaluation`; ``print(result)`` shows the per-class table, ``result.plot()``
        the confusion matrix.

    Example:
        >>> result = evaluate(model, x_test, y_test, class_names=data.class_names)  # doctest: +SKIP
        >>> result.accuracy, result.confusion.shape                                 # doctest: +SKIP
    """
    V.instance(model, "model", keras.Model, "a keras.Model")
    batch_size = V.positive_int(batch_size, "batch_size")
    from_logits = V.boolean(from_logits, "from_logits")
    if x is None:
        V.fail("x", "an array of images or a dataset of (images, labels) batches", x, wrong_type=True)
    V.model_inputs(x, "x")  # a string or a number is neither an array nor a dataset
    if isinstance(x, list) and x and isinstance(x[0], (str, bytes)):
        V.fail("x", "an array of images or a dataset of (images, labels) batches", x, wrong_type=True)
    names = None if class_names is None else V.as_sequence(class_names)
    if class_names is not None and (names is None or not all(isinstance(n, (str, int)) for n in names)):
        V.fail("class_names", "a list of class names (strings), one per model output", class_names,
               wrong_type=names is None)
    if isinstance(x, np.ndarray) or keras.ops.is_tensor(x):
        if y is None:
            raise ValueError("x is an array, so y (the labels) is required; received y=None.")
        _check_data(model, x, y, "x", "y")
        y = np.asarray(y)
        if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
            raise ValueError(f"y must be integer labels of shape ({len(x)},); received {V.describe(y)}.")
        with quiet_tensorflow_logger():  # per-model retracing notices
            scores = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
        y_true = np.asarray(y)
    else:
        if y is not None:
            raise ValueError("Pass y only with array inputs; a dataset must yield (images, labels) batches.")
        scores, labels = [], []
        for batch in x:
            if not isinstance(batch, (tuple, list)) or len(batch) < 2:
                raise ValueError("A dataset passed to evaluate must yield (images, labels) batches; "
                                 f"received batches of type {type(batch).__name__}.")
            # NumPy in: a tf.data batch is a TensorFlow tensor, which the JAX and torch backends refuse.
            scores.append(np.asarray(model.predict_on_batch(keras.ops.convert_to_numpy(batch[0]))))
            labels.append(keras.ops.convert_to_numpy(batch[1]))
        scores, y_true = np.concatenate(scores), np.concatenate(labels)
    y_true = np.asarray(y_true).reshape(-1)
    if scores.ndim != 2 or len(scores) != len(y_true):
        raise ValueError(f"Expected model outputs of shape ({len(y_true)}, classes); received {scores.shape}.")
    if scores.shape[1] == 1:
        y_pred = (scores[:, 0] > (0.0 if from_logits else 0.5)).astype(np.int64)
        num_classes = 2
    else:
        y_pred = scores.argmax(axis=1)
        num_classes = scores.shape[1]
    y_true = V.class_ids(y_true, num_classes, "y")
    names = [str(i) for i in range(num_classes)] if class_names is None else [str(n) for n in class_names]
    if len(names) != num_classes:
        raise ValueError(f"class_names must have {num_classes} entries (one per model output); received {len(names)}.")
    confusion = confusion_matrix(y_true, y_pred, num_classes)
    precision, recall, f1, support = per_class_metrics(y_true, y_pred, num_classes)
    return Evaluation(
        accuracy=float(np.mean(y_true == y_pred)), confusion=confusion, precision=precision, recall=recall,
        f1=f1, support=support, class_names=names, y_true=y_true, y_pred=y_pred, scores=scores,
    )


def _labels(y_true, y_pred, num_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    num_classes = V.num_classes(num_classes)
    y_true = V.class_ids(y_true, num_classes, "y_true").reshape(-1)
    y_pred = V.class_ids(y_pred, num_classes, "y_pred").reshape(-1)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred must have one label per sample each; received {len(y_true)} and "
                         f"{len(y_pred)} labels.")
    return y_true, y_pred, np.arange(num_classes)


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """``(num_classes, num_classes)`` counts: entry ``[i, j]`` = samples of class ``i`` predicted as ``j``.

    scikit-learn's ``confusion_matrix`` with every class listed, so a class that
    never occurs still gets its row and column.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 0, 1], 2).tolist()
        [[1, 0], [1, 1]]
    """
    from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

    y_true, y_pred, labels = _labels(y_true, y_pred, num_classes)
    return sklearn_confusion_matrix(y_true, y_pred, labels=labels).astype(np.int64)


def per_class_metrics(y_true, y_pred=None, num_classes: int | None = None) -> tuple[np.ndarray, ...]:
    """Precision, recall, F1 and support per class (0 where undefined, as scikit-learn's ``zero_division=0``).

    scikit-learn's ``precision_recall_fscore_support`` with every class listed.
    (Passing a confusion matrix alone, the old form, still works for one release
    with a ``DeprecationWarning``.)

    Args:
        y_true, y_pred: integer labels and predicted classes, one per sample.
        num_classes: the number of classes.

    Returns:
        ``(precision, recall, f1, support)``, one value per class each.

    Example:
        >>> p, r, f, s = per_class_metrics([0, 1, 1], [0, 0, 1], 2)
        >>> p.tolist(), r.tolist(), s.tolist()
        ([0.5, 1.0], [1.0, 0.5], [1, 2])
    """
    from sklearn.metrics import precision_recall_fscore_support

    if y_pred is None and num_classes is None:
        warnings.warn("per_class_metrics(confusion) is deprecated: pass (y_true, y_pred, num_classes).",
                      DeprecationWarning, stacklevel=2)
        y_true, y_pred, num_classes = _labels_of(y_true)
    y_true, y_pred, labels = _labels(y_true, y_pred, num_classes)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return precision, recall, f1, support.astype(np.int64)


def _labels_of(confusion) -> tuple[np.ndarray, np.ndarray, int]:
    """Labels and predictions with the counts of a confusion matrix (for the deprecated call)."""
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion must be a square (classes, classes) matrix; received {V.describe(confusion)}.")
    counts = V.finite_array(confusion, "confusion", np.float64).reshape(-1)
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError(f"confusion must hold non-negative integer counts; received {V.describe(confusion)}.")
    counts = counts.astype(np.int64)
    cells = np.arange(counts.size)
    true, pred = np.divmod(np.repeat(cells, counts), confusion.shape[0])
    return true, pred, confusion.shape[0]


# ---------------------------------------------------------------- augmentation

FLIPS = (None, "horizontal", "vertical", "horizontal_and_vertical")


def make_augmentation(flip="horizontal", shift: float = 0.1, rotation: float = 0.05, contrast: float = 0.2,
                      seed: int | None = None, name: str = "augmentation"):
    """Random image augmentation from Keras preprocessing layers, active only while training.

    Put it first in a model (``keras.Sequential([augment, model])``): ``model.fit``
    then sees a new random variant of every image in every epoch, while
    ``predict`` and ``evaluate`` see the images unchanged. A zero (or ``None``)
    turns a transformation off.

    Args:
        flip: ``"horizontal"``, ``"vertical"``, ``"horizontal_and_vertical"`` or ``None``
            (digits must not be flipped: a mirrored 2 is not a 2).
        shift: largest translation, as a fraction of the height and width.
        rotation: largest rotation, as a fraction of a full turn (0.05 = 18 degrees).
        contrast: largest contrast change factor (0.2 = +-20 %).
        seed: makes the random transformations repeatable.

    Input shape:
        ``(batch, H, W, C)`` images in ``[0, 1]``.

    Output shape:
        The same.

    Example:
        >>> from cnnkit import create_model
        >>> augment = make_augmentation(flip=None, shift=0.1, rotation=0.03, seed=0)
        >>> [layer.__class__.__name__ for layer in augment.layers]
        ['RandomTranslation', 'RandomRotation', 'RandomContrast']
        >>> base = create_model("simple_cnn", input_shape=(32, 32, 1))
        >>> model = keras.Sequential([keras.Input((32, 32, 1)), augment, base])
        >>> model.output_shape
        (None, 10)
        >>> x = np.random.default_rng(0).random((2, 32, 32, 1), dtype="float32")
        >>> bool(np.all(keras.ops.convert_to_numpy(augment(x, training=False)) == x))  # predict: unchanged
        True
    """
    V.choice(flip, "flip", FLIPS)
    shift, rotation = V.rate(shift, "shift", allow_none=True), V.rate(rotation, "rotation", allow_none=True)
    contrast, seed = V.rate(contrast, "contrast", allow_none=True), V.seed(seed)
    layers = []
    if flip:
        layers.append(keras.layers.RandomFlip(flip, seed=seed))
    if shift:
        layers.append(keras.layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed))
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode="constant", seed=seed))
    if contrast:
        layers.append(keras.layers.RandomContrast(contrast, seed=seed, value_range=(0, 1)))
    return keras.Sequential(layers, name=name)
