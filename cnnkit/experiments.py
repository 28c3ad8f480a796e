"""Fair comparisons: repeat a training run over seeds, report mean ± spread, and time code.

One training run's accuracy moves with the seed alone (the initial weights, the
order of the batches, the dropout masks), so "A beats B" needs several seeds
and equal budgets (the course's rule: at least 3 seeds, the spread shown).
:func:`repeat` runs ``run(seed)`` once per seed after seeding Python, NumPy and
the backend, and summarises every number it returns; :func:`compare` puts
several such results side by side and :func:`verdict` says whether a gap is
larger than the noise. ``cnnkit.viz.plot_repeats`` draws every seed and the
mean ± standard deviation.

**The spread** is the *sample* standard deviation (``ddof=1``: divided by
``n - 1``), the usual estimate of the seed-to-seed spread from a few runs;
with one seed it is undefined (``nan``).

**The verdict rule** (a rule of thumb, not a significance test): A beats B on
a metric when ``mean_A - mean_B > std_A + std_B``, both with at least 2 seeds.
A gap within the combined spread is reported as a *hypothesis*: more seeds or
a larger budget may tell, and the prose must not claim it.

:func:`median_time` times a function (warm-up calls first, then the median of
several timed calls) for notebooks that print how long something takes; the
course never asserts a time.

Example:
    A real ``run`` trains a model (minutes on a CPU, so it is not run here)::

        from cnnkit import create_model, data, experiments, train

        digits = data.load_digits(image_size=32)

        def run(seed):
            model = train.compile_model(create_model("simple_cnn", num_classes=10, input_shape=(32, 32, 1)))
            fit = train.fit(model, digits.x_train, digits.y_train, epochs=5, verbose=0)
            return {"test_accuracy": train.evaluate(model, digits.x_test, digits.y_test).accuracy,
                    "seconds": fit.seconds}

        flat = experiments.repeat(run, seeds=(0, 1, 2), label="flatten head")

    Here a stand-in whose score moves with the seed (through NumPy, which
    :func:`repeat` seeds) shows what comes back:

    >>> import numpy as np
    >>> from cnnkit import experiments
    >>> def run(seed):
    ...     return {"test_accuracy": 0.97 + 0.005 * np.random.randn()}
    >>> flat = experiments.repeat(run, seeds=(0, 1, 2), label="flatten head", verbose=False)
    >>> flat["test_accuracy"]
    0.975 ± 0.006 over 3 seeds
    >>> flat["test_accuracy"].values == experiments.repeat(run, seeds=(0, 1, 2), verbose=False)["test_accuracy"].values
    True
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from cnnkit import _validate as V

SINGLE_METRIC = "value"  # the metric name when run(seed) returns one number


# ---------------------------------------------------------------- one metric over seeds


@dataclass(frozen=True, repr=False)
class Summary:
    """One metric measured once per seed.

    Attributes:
        metric: the metric's name (a key of what ``run(seed)`` returned).
        seeds: the seeds, in the order they ran.
        values: the value for each seed (same order).
    """

    metric: str
    seeds: tuple
    values: tuple

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        """Sample standard deviation (``ddof=1``); ``nan`` for a single seed."""
        return float(np.std(self.values, ddof=1)) if self.n > 1 else math.nan

    @property
    def min(self) -> float:
        return float(np.min(self.values))

    @property
    def max(self) -> float:
        return float(np.max(self.values))

    def as_dict(self) -> dict:
        """Mean, std, min, max and the number of seeds, as plain numbers."""
        return {"mean": self.mean, "std": self.std, "min": self.min, "max": self.max, "n": self.n}

    def mean_pm_std(self) -> str:
        """``"0.974 ± 0.004"``, rounded to the spread (``"0.974"`` for one seed)."""
        decimals = _decimals(self.std, self.mean)
        if self.n < 2:
            return f"{self.mean:.{decimals}f}"
        return f"{self.mean:.{decimals}f} ± {self.std:.{decimals}f}"

    def __str__(self) -> str:
        if self.n < 2:
            return f"{self.mean_pm_std()} (1 seed: no spread)"
        return f"{self.mean_pm_std()} over {self.n} seeds"

    __repr__ = __str__


def _seeds(n: int) -> str:
    """``"1 seed"``, ``"3 seeds"``."""
    return f"{n} seed{'' if n == 1 else 's'}"


def _decimals(std: float, mean: float) -> int:
    """Decimals that show the spread with one significant digit (two when it starts with a 1).

    Never more than the mean's 4 significant digits: a spread of float round-off (runs that
    all collapsed to the same answer) would otherwise print as ``0.12107889 ± 0.00000000``.
    """
    scale = abs(mean) if math.isfinite(mean) and mean != 0 else 1.0
    four_significant = int(min(6, max(0, 3 - math.floor(math.log10(scale)))))
    if not math.isfinite(std) or std == 0:
        return four_significant
    exponent = math.floor(math.log10(std))
    leading = std / 10.0**exponent
    digits = -exponent + (1 if leading < 1.95 else 0)
    return int(min(8, four_significant, max(0, digits)))


# ---------------------------------------------------------------- several metrics over seeds


class Repeats:
    """What :func:`repeat` returns: every metric of every seed, summarised.

    ``result["test_accuracy"]`` is a :class:`Summary` (``.mean``, ``.std``,
    ``.min``, ``.max``, ``.values``); when ``run`` returned one number,
    ``result.mean`` and friends work directly.

    Attributes:
        label: the name shown in tables and plots.
        seeds: the seeds, in the order they ran.
        runs: what ``run(seed)`` returned for each seed, as ``{metric: value}`` dicts.
    """

    def __init__(self, label: str, seeds: Sequence[int], runs: Sequence[Mapping[str, float]]):
        self.label = label
        self.seeds = tuple(seeds)
        self.runs = [dict(r) for r in runs]
        self.metrics = list(self.runs[0])
        self._summaries = {
            m: Summary(m, self.seeds, tuple(float(r[m]) for r in self.runs)) for m in self.metrics
        }

    def __getitem__(self, metric: str) -> Summary:
        if not isinstance(metric, str) or metric not in self._summaries:
            raise V.UnknownKeyError(f"metric must be one of {self.metrics}; received {metric!r}.")
        return self._summaries[metric]

    def summary(self, metric: str | None = None) -> Summary:
        """The :class:`Summary` of ``metric`` (may be omitted when there is only one)."""
        if metric is None:
            if len(self.metrics) != 1:
                raise ValueError(f"{self.label!r} has several metrics {self.metrics}: "
                                 "name one, e.g. result['test_accuracy'].mean.")
            metric = self.metrics[0]
        return self[metric]

    # Shortcuts for a run that returned one number.
    mean = property(lambda self: self.summary().mean)
    std = property(lambda self: self.summary().std)
    min = property(lambda self: self.summary().min)
    max = property(lambda self: self.summary().max)
    values = property(lambda self: self.summary().values)

    def __str__(self) -> str:
        seeds = f"{len(self.seeds)} seed{'s' if len(self.seeds) > 1 else ''} {self.seeds}"
        if self.metrics == [SINGLE_METRIC]:
            return f"{self.label}: {self.summary().mean_pm_std()} over {seeds}"
        width = max(len(m) for m in self.metrics)
        lines = [f"{self.label} over {seeds}:"]
        lines += [f"  {m:<{width}}  {self[m].mean_pm_std()}" for m in self.metrics]
        return "\n".join(lines)

    __repr__ = __str__


def repeat(run: Callable, seeds: Iterable[int] = (0, 1, 2), label: str | None = None,
           verbose: bool = True) -> Repeats:
    """Call ``run(seed)`` once per seed, each time after seeding everything, and summarise.

    Before each call, ``keras.utils.set_random_seed(seed)`` seeds Python's
    ``random``, NumPy and the backend (TensorFlow, JAX or PyTorch), as
    ``cnnkit.device.setup`` does; so a result is reproducible given its seeds
    (on one backend and machine). Build the model *inside* ``run`` so each seed
    gets its own initial weights, and give every variant the same budget. A
    NumPy generator made inside ``run`` should take the seed,
    ``np.random.default_rng(seed)``: an unseeded one differs on every call.

    Args:
        run: a function of the seed returning a number, or a dict of numbers
            (e.g. ``{"test_accuracy": ..., "train_accuracy": ..., "seconds": ...}``)
            with the same keys for every seed.
        seeds: distinct non-negative integers; at least 3 for a conclusion.
        label: the name shown in tables and plots (default: the function's name).
        verbose: show a progress bar (one line, updated per seed).

    Returns:
        A :class:`Repeats`: ``result["test_accuracy"].mean``, ``.std`` (sample,
        ``ddof=1``), ``.min``, ``.max``, ``.values``; it prints as
        ``"0.974 ± 0.004 over 3 seeds"``.

    Example:
        >>> result = repeat(lambda seed: np.random.rand(), seeds=(0, 1, 2), verbose=False)
        >>> result.values == repeat(lambda seed: np.random.rand(), seeds=(0, 1, 2), verbose=False).values
        True
    """
    if not callable(run):
        raise ValueError(f"run must be a function of the seed; received {_kind(run)}.")
    seeds = _check_seeds(seeds)
    if label is None:
        label = getattr(run, "__name__", "run")
    if not isinstance(label, str) or not label:
        raise ValueError(f"label must be a non-empty string or None; received {label!r}.")
    progress = _ProgressLine(label, len(seeds)) if V.boolean(verbose, "verbose") else None
    runs = []
    for i, seed in enumerate(seeds):
        keras.utils.set_random_seed(seed)
        runs.append(_as_metrics(run(seed), seed, runs[0] if runs else None))
        if progress is not None:
            progress.update(i + 1, runs[-1])
    if progress is not None:
        progress.close()
    return Repeats(label, seeds, runs)


def _check_seeds(seeds) -> tuple[int, ...]:
    items = V.as_sequence(seeds)
    if items is None:
        V.fail("seeds", "a sequence of non-negative integers", seeds, wrong_type=True)
    seeds = items
    if not seeds or not all(V.is_int(s) and s >= 0 for s in seeds):
        V.fail("seeds", "a non-empty sequence of non-negative integers", seeds)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct (a repeated seed repeats a run exactly); received {seeds!r}.")
    return tuple(int(s) for s in seeds)


def _as_metrics(result, seed: int, first: dict | None) -> dict[str, float]:
    """``run(seed)``'s result as ``{metric: float}``, with the same metrics as the first seed."""
    if V.is_number(result):
        metrics = {SINGLE_METRIC: float(result)}
    elif isinstance(result, Mapping) and result and all(V.is_number(v) for v in result.values()):
        metrics = {str(k): float(v) for k, v in result.items()}
    else:
        raise ValueError(f"run(seed={seed}) must return a number or a non-empty dict of numbers; "
                         f"received {_kind(result)}.")
    if first is not None and list(metrics) != list(first):
        raise ValueError(f"run(seed={seed}) returned the metrics {list(metrics)}, but the first seed "
                         f"returned {list(first)}: every seed must return the same ones.")
    return metrics


def _kind(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


class _ProgressLine:
    """One line per :func:`repeat` call, updated in place after each seed (as ``train.fit``'s bar)."""

    def __init__(self, label: str, total: int):
        from cnnkit.train import in_jupyter

        self.label, self.total = label, total
        self.start = time.perf_counter()
        self.handle = None
        line = self._line(0, {})
        if in_jupyter():
            from IPython.display import display

            self.handle = display({"text/plain": line}, raw=True, display_id=True)
        else:
            self._write(line)

    def _line(self, done: int, metrics: dict) -> str:
        from tqdm import tqdm

        bar = tqdm.format_meter(done, self.total, time.perf_counter() - self.start,
                                bar_format="{l_bar}{bar:20}| {n_fmt}/{total_fmt} seeds [{elapsed}<{remaining}]",
                                prefix=self.label)
        values = "  ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        return f"{bar}  {values}" if values else bar

    def _write(self, line: str):
        sys.stdout.write("\r" + line)
        sys.stdout.flush()

    def update(self, done: int, metrics: dict):
        line = self._line(done, metrics)
        if self.handle is not None:
            self.handle.update({"text/plain": line}, raw=True)
        else:
            self._write(line)

    def close(self):
        if self.handle is None:
            sys.stdout.write("\n")
            sys.stdout.flush()


# ---------------------------------------------------------------- comparing


def by_name(results) -> dict[str, Repeats]:
    """``{name: Repeats}`` from a dict, or from a sequence of :class:`Repeats` named by their labels."""
    if isinstance(results, Repeats):
        results = [results]
    if isinstance(results, Mapping):
        named = dict(results)
    else:
        try:
            results = list(results)
        except TypeError:
            raise ValueError("results must be a dict {name: Repeats} or a sequence of Repeats; "
                             f"received {_kind(results)}.") from None
        labels = [getattr(r, "label", None) for r in results]
        if len(set(labels)) != len(labels):
            raise ValueError(f"results must have distinct labels (pass a dict to name them); received {labels}.")
        named = dict(zip(labels, results))
    bad = {k: _kind(v) for k, v in named.items() if not isinstance(v, Repeats)}
    if not named or bad:
        raise ValueError(f"results must hold at least one Repeats (from experiments.repeat); received {bad or named}.")
    return named


@dataclass(frozen=True, repr=False)
class Verdict:
    """Whether one result beats another on a metric (see the module's rule).

    Attributes:
        shown: True when the better mean leads by more than the combined spread.
        better, worse: the names, by mean (``better`` is None when the means are equal).
        gap: how far the better mean leads (always >= 0).
        spread: ``std_better + std_worse``.
        text: the sentence to print.
    """

    shown: bool
    better: str | None
    worse: str | None
    metric: str
    gap: float
    spread: float
    text: str

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def verdict(a: Repeats, b: Repeats, metric: str | None = None, higher_is_better: bool = True,
            names: tuple[str, str] | None = None) -> Verdict:
    """Does ``a`` beat ``b`` (or ``b`` beat ``a``) on ``metric``, beyond the seed-to-seed spread?

    The rule: the better mean must lead by more than ``std_a + std_b`` (sample
    standard deviations), with at least 2 seeds on each side. Otherwise the
    verdict is a *hypothesis* and says so.

    Args:
        a, b: two results of :func:`repeat`, run with equal budgets.
        metric: the metric to compare (may be omitted when each has only one).
        higher_is_better: False for losses, errors and seconds.
        names: how to call them (default: their labels).

    Returns:
        A :class:`Verdict`; ``.shown`` is the yes/no, ``str(v)`` the sentence.

    Example:
        >>> flat = repeat(lambda seed: {"test_accuracy": 0.97 + 0.005 * np.random.randn()},
        ...               label="flatten head", verbose=False)
        >>> gap = repeat(lambda seed: {"test_accuracy": 0.99 + 0.002 * np.random.randn()},
        ...              label="GAP head", verbose=False)
        >>> v = verdict(gap, flat, "test_accuracy")
        >>> v.shown, v.better
        (True, 'GAP head')
        >>> print(v)  # doctest: +NORMALIZE_WHITESPACE
        GAP head beats flatten head on test_accuracy: 0.992 ± 0.002 (3 seeds) vs 0.975 ± 0.006 (3 seeds);
        the gap 0.017 exceeds the combined spread 0.009.
        >>> verdict(gap, flat, "test_accuracy", names=("GAP", "flatten")).shown
        True
    """
    V.instance(a, "a", Repeats, "a Repeats (from experiments.repeat)")
    V.instance(b, "b", Repeats, "a Repeats (from experiments.repeat)")
    name_a, name_b = names or (a.label, b.label)
    sa, sb = a.summary(metric), b.summary(metric)
    metric = sa.metric
    sign = 1.0 if higher_is_better else -1.0
    if sign * (sa.mean - sb.mean) >= 0:
        (better, s_better), (worse, s_worse) = (name_a, sa), (name_b, sb)
    else:
        (better, s_better), (worse, s_worse) = (name_b, sb), (name_a, sa)
    gap = abs(sa.mean - sb.mean)
    spread = s_better.std + s_worse.std
    numbers = f"{s_better.mean_pm_std()} ({_seeds(s_better.n)}) vs {s_worse.mean_pm_std()} ({_seeds(s_worse.n)})"
    gap_text = f"{gap:.{_decimals(spread, gap)}f}"
    if min(sa.n, sb.n) < 2:
        return Verdict(False, None, None, metric, gap, spread,
                       f"Hypothesis only: {better} vs {worse} on {metric}, {numbers}: fewer than 2 seeds "
                       "on a side, so the spread is unknown.")
    if gap == 0:
        return Verdict(False, None, None, metric, 0.0, spread,
                       f"No difference: {better} and {worse} have the same mean {metric}, {numbers}.")
    spread_text = f"{spread:.{_decimals(spread, gap)}f}"
    if gap > spread:
        return Verdict(True, better, worse, metric, gap, spread,
                       f"{better} beats {worse} on {metric}: {numbers}; the gap {gap_text} exceeds the "
                       f"combined spread {spread_text}.")
    return Verdict(False, better, worse, metric, gap, spread,
                   f"Hypothesis only: {better} leads {worse} on {metric}, {numbers}, but the gap {gap_text} "
                   f"is within the combined spread {spread_text} (more seeds or a larger budget may tell).")


class Comparison:
    """Several results on one metric, best first; prints as a table with its verdicts.

    Attributes:
        metric: the metric compared.
        rows: one dict per result (name, mean, std, min, max, n), best first.
        best: the name of the best mean.
    """

    def __init__(self, results: dict[str, Repeats], metric: str | None, higher_is_better: bool):
        self.results = results
        self.higher_is_better = higher_is_better
        summaries = {name: r.summary(metric) for name, r in results.items()}
        self.metric = next(iter(summaries.values())).metric
        order = sorted(summaries, key=lambda n: summaries[n].mean, reverse=higher_is_better)
        self.rows = [{"name": n, **summaries[n].as_dict()} for n in order]
        self.best = order[0]

    def verdict(self, a: str, b: str) -> Verdict:
        """:func:`verdict` for two of the compared names."""
        for name in (a, b):
            if name not in self.results:
                raise V.UnknownKeyError(f"name must be one of {list(self.results)}; received {name!r}.")
        return verdict(self.results[a], self.results[b], self.metric, self.higher_is_better, names=(a, b))

    def verdicts(self) -> list[Verdict]:
        """The best result against each of the others."""
        return [self.verdict(self.best, row["name"]) for row in self.rows[1:]]

    def to_rows(self) -> list[dict]:
        return [dict(row) for row in self.rows]

    def __str__(self) -> str:
        best = self.results[self.best].summary(self.metric)
        decimals = _decimals(best.std, best.mean)
        header = ("", "mean", "std", "min", "max", "seeds")
        body = [(r["name"], *(f"{r[k]:.{decimals}f}" for k in ("mean", "std", "min", "max")), str(r["n"]))
                for r in self.rows]
        widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
        fmt = lambda line: "  ".join(  # noqa: E731
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
        direction = "higher" if self.higher_is_better else "lower"
        lines = [f"{self.metric} ({direction} is better; std: sample, ddof=1)", fmt(header)]
        lines += [fmt(line) for line in body]
        lines += [str(v) for v in self.verdicts()]
        return "\n".join(lines)

    __repr__ = __str__


def compare(results, metric: str | None = None, higher_is_better: bool = True) -> Comparison:
    """Put results of :func:`repeat` side by side on one metric, with verdicts.

    Args:
        results: ``{name: Repeats}``, or a sequence of :class:`Repeats` (named by their labels).
        metric: the metric to compare (may be omitted when each result has only one).
        higher_is_better: False for losses, errors and seconds.

    Returns:
        A :class:`Comparison`: print it for the table (mean, std, min, max, seeds;
        best first) followed by the best result's verdict against each other one;
        ``.verdict(a, b)`` for any pair, ``.to_rows()`` for plain dicts.

    Example:
        >>> flat = repeat(lambda seed: {"test_accuracy": 0.97 + 0.005 * np.random.randn()}, verbose=False)
        >>> gap = repeat(lambda seed: {"test_accuracy": 0.99 + 0.002 * np.random.randn()}, verbose=False)
        >>> print(compare({"GAP": gap, "flatten": flat}, "test_accuracy"))  # doctest: +NORMALIZE_WHITESPACE
        test_accuracy (higher is better; std: sample, ddof=1)
                  mean    std    min    max  seeds
        GAP      0.992  0.002  0.989  0.994      3
        flatten  0.975  0.006  0.968  0.979      3
        GAP beats flatten on test_accuracy: 0.992 ± 0.002 (3 seeds) vs 0.975 ± 0.006 (3 seeds);
        the gap 0.017 exceeds the combined spread 0.009.
    """
    return Comparison(by_name(results), metric, higher_is_better)


# ---------------------------------------------------------------- timing


def timings(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> list[float]:
    """Seconds taken by each of ``repeats`` calls of ``fn()``, after ``warmup`` untimed calls.

    The warm-up calls absorb one-off costs (tracing and compiling a graph,
    allocating memory, filling caches).

    Args:
        fn: a function of no arguments (wrap a call: ``lambda: model.predict_on_batch(x)``).
        repeats: timed calls (at least 1).
        warmup: untimed calls first (0 or more).

    Returns:
        A list of ``repeats`` durations in seconds.
    """
    if not callable(fn):
        raise ValueError(f"fn must be a function of no arguments; received {_kind(fn)}.")
    repeats, warmup = V.positive_int(repeats, "repeats"), V.non_negative_int(warmup, "warmup")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median seconds of ``fn()`` over ``repeats`` timed calls after ``warmup`` untimed ones.

    The median ignores the occasional slow call caused by other programs. Print
    it; never assert it (times depend on the machine).

    Args:
        fn: a function of no arguments, e.g. ``lambda: layer(x)``.
        repeats: timed calls (at least 1).
        warmup: untimed calls first (0 or more).

    Returns:
        Seconds, a float.

    Example:
        >>> median_time(lambda: sum(range(1000)), repeats=3) < 1.0
        True
    """
    return float(statistics.median(timings(fn, repeats=repeats, warmup=warmup)))
