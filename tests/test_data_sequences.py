"""cnnkit.data.sequences: the motif and far-match token tasks."""

import numpy as np
import pytest

from cnnkit import data

# ---------------------------------------------------------------- motif task


def motif_positions(tokens, motifs):
    """(sequence, start, motif) of every motif occurrence, by brute force."""
    m = motifs.shape[1]
    return [(i, s, k) for i in range(len(tokens)) for s in range(tokens.shape[1] - m + 1)
            for k in range(len(motifs)) if (tokens[i, s : s + m] == motifs[k]).all()]


def test_motif_task_hides_exactly_one_motif_the_label_names():
    x, y, motifs = data.make_motif_task(num_samples=200, length=24, seed=3)
    assert x.shape == (200, 24) and x.dtype == np.int32 and x.min() >= 0 and x.max() < 10
    found = motif_positions(x, motifs)
    assert sorted(i for i, _, _ in found) == list(range(200))  # exactly one occurrence per sequence
    assert all(k == y[i] for i, _, k in found)
    assert np.bincount(y).tolist() == [50] * 4


def test_motifs_are_orderings_of_the_same_tokens_and_do_not_depend_on_the_seed():
    _, _, a = data.make_motif_task(num_samples=10, seed=0)
    _, _, b = data.make_motif_task(num_samples=10, seed=1)
    np.testing.assert_array_equal(a, b)
    assert len({tuple(m) for m in a}) == 4
    assert all(sorted(m) == [1, 2, 3, 4] for m in a.tolist())  # counting tokens cannot tell them apart


def test_motif_positions_can_be_restricted():
    x, _, motifs = data.make_motif_task(num_samples=100, length=32, positions=(20, 28), seed=0)
    starts = [s for _, s, _ in motif_positions(x, motifs)]
    assert min(starts) >= 20 and max(starts) <= 28


def test_motif_task_is_deterministic():
    a = data.make_motif_task(num_samples=50, seed=7)
    b = data.make_motif_task(num_samples=50, seed=7)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------- far-match task


def test_far_match_label_is_first_equals_last_and_balanced():
    x, y = data.make_far_match_task(num_samples=400, length=50, vocab_size=4, filler_tokens=3, seed=0)
    assert x.shape == (400, 50)
    np.testing.assert_array_equal(y, (x[:, 0] == x[:, -1]).astype(np.int32))
    assert np.bincount(y).tolist() == [200, 200]
    assert x[:, [0, -1]].max() < 4 and x[:, 1:-1].min() >= 4 and x.max() < 7  # content ids, then filler ids
    # The filler carries no information: it is uniform over the filler ids in both classes.
    for label in (0, 1):
        counts = np.bincount(x[y == label, 1:-1].ravel() - 4, minlength=3) / x[y == label, 1:-1].size
        np.testing.assert_allclose(counts, 1 / 3, atol=0.02)


def test_far_match_without_filler_ids_draws_the_middle_from_the_content_tokens():
    x, y = data.make_far_match_task(num_samples=400, length=20, vocab_size=4, filler_tokens=0, seed=0)
    np.testing.assert_array_equal(y, (x[:, 0] == x[:, -1]).astype(np.int32))
    assert x.max() < 4 and np.bincount(x[:, 1:-1].ravel()).min() > 0.2 * x[:, 1:-1].size


def test_loaders_split_and_describe_the_tasks():
    motifs = data.load_dataset("motifs", num_samples=200, length=32)
    far = data.load_dataset("far_match", num_samples=200, length=16)
    assert motifs.input_shape == (32,) and motifs.num_classes == 4 and motifs.extras["vocab_size"] == 10
    assert far.class_names == ["different", "same"] and far.input_shape == (16,) and far.extras["vocab_size"] == 6
    assert len(far.x_train) + len(far.x_val) + len(far.x_test) == 200


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: data.make_motif_task(length=3), r"length must be at least motif_length \(4\); received 3"),
        (lambda: data.make_motif_task(vocab_size=4), r"vocab_size must be larger than motif_length"),
        (lambda: data.make_motif_task(length=16, positions=(5, 20)), r"positions must be a \(low, high\) pair"),
        (lambda: data.make_motif_task(num_classes=30, motif_length=3), r"num_classes must be an integer in \[2, 6\] \(a task needs two classes; there are 6 orderings of 3 tokens\)"),
        (lambda: data.make_far_match_task(length=1), r"length must be an integer >= 2 \(a first and a last token\); received 1"),
        (lambda: data.make_far_match_task(num_samples=-1), r"num_samples must be a positive integer; received -1"),
        (lambda: data.make_far_match_task(filler_tokens=-2), r"filler_tokens must be a non-negative integer; received -2"),
    ],
)
def test_bad_task_arguments_say_what_was_received(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
