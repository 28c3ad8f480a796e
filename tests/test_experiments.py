"""cnnkit.experiments: repeats over seeds (deterministic, numpy-exact statistics), verdicts, timing."""

import math
import random

import keras
import numpy as np
import pytest

from cnnkit import experiments
from cnnkit.experiments import Repeats


def fake(label, values, metric="test_accuracy"):
    """A Repeats with given per-seed values (no training)."""
    return Repeats(label, range(len(values)), [{metric: v} for v in values])


def tiny_training_run(seed):
    """A real (tiny) training run: its numbers depend on the seed through weights, shuffling and data."""
    x = np.random.rand(64, 6).astype("float32")  # noqa: NPY002 (the global generator is what repeat seeds)
    y = (x.sum(axis=1) > 3).astype("int32")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return {"loss": history.history["loss"][-1], "python": random.random(),
            "backend": float(keras.ops.convert_to_numpy(keras.random.uniform(()))), "seed": seed}


def test_repeat_seeds_everything_so_a_result_is_reproducible():
    first = experiments.repeat(tiny_training_run, seeds=(0, 1, 2), verbose=False)
    again = experiments.repeat(tiny_training_run, seeds=(0, 1, 2), verbose=False)
    for metric in ("loss", "python", "backend"):
        assert first[metric].values == again[metric].values, metric
        assert len(set(first[metric].values)) == 3, f"{metric} did not change with the seed"
    assert first["seed"].values == (0.0, 1.0, 2.0)  # run(seed) got the seed, in order


def test_repeat_matches_keras_seeding():
    result = experiments.repeat(lambda seed: np.random.rand(), seeds=(5, 7), verbose=False)  # noqa: NPY002
    expected = []
    for seed in (5, 7):
        keras.utils.set_random_seed(seed)
        expected.append(np.random.rand())  # noqa: NPY002
    assert result.values == tuple(expected)


def test_statistics_match_numpy_with_sample_std():
    values = [0.971, 0.978, 0.974, 0.969]
    s = fake("a", values)["test_accuracy"]
    assert s.n == 4
    assert s.mean == pytest.approx(np.mean(values))
    assert s.std == pytest.approx(np.std(values, ddof=1))
    assert s.std != pytest.approx(np.std(values))  # not the population std
    assert (s.min, s.max) == (min(values), max(values))


def test_readable_repr():
    s = fake("a", [0.970, 0.974, 0.978])["test_accuracy"]
    assert str(s) == "0.974 ± 0.004 over 3 seeds"
    assert str(fake("b", [12.13, 12.5, 11.9], "seconds")["seconds"]) == "12.2 ± 0.3 over 3 seeds"
    assert str(fake("c", [0.9])["test_accuracy"]) == "0.9000 (1 seed: no spread)"
    assert math.isnan(fake("c", [0.9])["test_accuracy"].std)
    single = experiments.repeat(lambda seed: seed / 10, seeds=(1, 2, 3), label="tenths", verbose=False)
    assert single.mean == pytest.approx(0.2) and single.std == pytest.approx(0.1)
    assert str(single) == "tenths: 0.20 ± 0.10 over 3 seeds (1, 2, 3)"
    several = str(fake("GAP head", [0.97, 0.98]))
    assert several.startswith("GAP head over 2 seeds (0, 1):") and "test_accuracy  0.975 ± 0.007" in several


def test_repeat_shows_one_progress_line(capsys):
    experiments.repeat(lambda seed: {"acc": 0.5 + seed / 10}, seeds=(0, 1), label="demo")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "demo" in out and "2/2 seeds" in out and "acc 0.6" in out


@pytest.mark.parametrize("kwargs, message", [
    (dict(run=3), r"run must be a function of the seed; received int 3"),
    (dict(seeds=()), r"seeds must be a non-empty sequence of non-negative integers; received \(\)"),
    (dict(seeds=(0, -1)), r"seeds must be a non-empty sequence .* received \(0, -1\)"),
    (dict(seeds=(0, 0)), r"seeds must be distinct"),
    (dict(seeds=5), r"seeds must be a sequence of non-negative integers; received 5"),
    (dict(label=""), r"label must be a non-empty string or None"),
    (dict(run=lambda seed: "high"), r"run\(seed=0\) must return a number or a non-empty dict of numbers; received str 'high'"),
    (dict(run=lambda seed: {"a": 1} if seed == 0 else {"b": 1}), r"run\(seed=1\) returned the metrics \['b'\], but the first seed returned \['a'\]"),
])
def test_repeat_rejects_bad_arguments(kwargs, message):
    args = dict(run=lambda seed: 1.0, seeds=(0, 1), verbose=False) | kwargs
    with pytest.raises(ValueError, match=message):
        experiments.repeat(**args)


def test_several_metrics_need_a_name():
    result = experiments.repeat(lambda s: {"a": s, "b": 2 * s}, seeds=(0, 1), verbose=False)
    assert result["b"].values == (0.0, 2.0)
    with pytest.raises(ValueError, match=r"several metrics \['a', 'b'\]"):
        _ = result.mean
    with pytest.raises(KeyError, match=r"metric must be one of \['a', 'b'\]; received 'c'"):
        result["c"]


def test_verdict_needs_the_gap_to_exceed_the_combined_spread():
    a, b = fake("A", [0.90, 0.91, 0.92]), fake("B", [0.85, 0.86, 0.87])  # gap 0.05 > 0.01 + 0.01
    v = experiments.verdict(a, b, "test_accuracy")
    assert v.shown and (v.better, v.worse) == ("A", "B")
    assert v.gap == pytest.approx(0.05) and v.spread == pytest.approx(0.02)
    assert str(v).startswith("A beats B on test_accuracy: 0.910 ± 0.010 (3 seeds) vs 0.860 ± 0.010 (3 seeds)")
    assert experiments.verdict(b, a, "test_accuracy").better == "A"  # symmetric

    close = fake("C", [0.89, 0.905, 0.92])  # gap 0.005 < spread
    v = experiments.verdict(a, close, "test_accuracy")
    assert not v.shown and v.better == "A" and str(v).startswith("Hypothesis only: A leads C")

    # A gap exactly equal to the combined spread is not enough (values exact in binary).
    v = experiments.verdict(fake("E", [1.0, 2.0, 3.0]), fake("F", [-1.0, 0.0, 1.0]), "test_accuracy")
    assert (v.gap, v.spread, v.shown) == (2.0, 2.0, False)


def test_verdict_lower_is_better_one_seed_and_ties():
    slow, fast = fake("slow", [2.0, 2.1, 2.2], "seconds"), fake("fast", [1.0, 1.1, 1.2], "seconds")
    v = experiments.verdict(slow, fast, higher_is_better=False)
    assert v.shown and v.better == "fast"
    one = experiments.verdict(fake("x", [0.99]), fake("y", [0.5]))
    assert not one.shown and "fewer than 2 seeds" in str(one)
    assert "(1 seed) vs" in str(one) and "(1 seeds)" not in str(one)
    tie = experiments.verdict(fake("x", [0.5, 0.6]), fake("y", [0.6, 0.5]))
    assert not tie.shown and tie.better is None and str(tie).startswith("No difference")


def test_compare_table_best_first_with_verdicts():
    results = [fake("flatten", [0.970, 0.974, 0.978]), fake("GAP", [0.983, 0.985, 0.987]),
               fake("tiny", [0.960, 0.973, 0.986])]
    table = experiments.compare(results, "test_accuracy")
    assert table.best == "GAP"
    assert [r["name"] for r in table.rows] == ["GAP", "flatten", "tiny"]
    assert table.rows[1]["std"] == pytest.approx(np.std([0.970, 0.974, 0.978], ddof=1))
    text = str(table).splitlines()
    assert text[0] == "test_accuracy (higher is better; std: sample, ddof=1)"
    assert text[1].split() == ["mean", "std", "min", "max", "seeds"]
    assert text[2].split() == ["GAP", "0.985", "0.002", "0.983", "0.987", "3"]
    assert text[5].startswith("GAP beats flatten") and text[6].startswith("Hypothesis only: GAP leads tiny")
    assert table.verdict("tiny", "flatten").better == "flatten"
    with pytest.raises(KeyError, match="name must be one of"):
        table.verdict("GAP", "nope")
    assert experiments.compare({"a": results[0], "b": results[1]}).best == "b"  # dict: names given


def test_compare_rejects_what_is_not_a_result():
    with pytest.raises(ValueError, match="distinct labels"):
        experiments.compare([fake("a", [1, 2]), fake("a", [1, 2])])
    with pytest.raises(ValueError, match="results must hold at least one Repeats"):
        experiments.compare({"a": 0.97})
    with pytest.raises(ValueError, match="results must be a dict"):
        experiments.compare(3)


def test_timings_and_median_time():
    calls = []
    times = experiments.timings(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6 and len(times) == 4 and all(t >= 0 for t in times)
    assert isinstance(experiments.median_time(lambda: None, repeats=3, warmup=0), float)
    with pytest.raises(ValueError, match=r"repeats must be a positive integer; received 0"):
        experiments.median_time(lambda: None, repeats=0)
    with pytest.raises(ValueError, match=r"warmup must be a non-negative integer; received -1"):
        experiments.timings(lambda: None, warmup=-1)
    with pytest.raises(ValueError, match=r"fn must be a function of no arguments; received int 3"):
        experiments.median_time(3)


def test_a_spread_of_float_round_off_prints_with_the_means_four_digits():
    collapsed = experiments.repeat(lambda seed: {"miou": 0.12107889 + seed * 1e-10}, verbose=False)
    assert collapsed["miou"].mean_pm_std() == "0.1211 ± 0.0000"
    spread = experiments.repeat(lambda seed: {"miou": (0.37, 0.45, 0.44)[seed]}, verbose=False)
    assert spread["miou"].mean_pm_std() == "0.42 ± 0.04"     # a real spread still sets the digits
