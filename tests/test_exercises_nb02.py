"""The checks of notebook 02's exercises on the wrong answers a learner is likely to give.

The generic test in ``tests/test_exercises.py`` runs every check with its
registered correct and wrong examples; these add the other typical mistakes,
and the facts the checks rely on: the receptive fields of 02.4 and 02.5
recomputed with ``analysis.receptive_field`` (TF-slim's 239 from its pool1
padding included), and the yes/no answers of 02.1-02.3 measured on photos and
crops the notebook does not use.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from exercise_helpers import check, rejected

from cnnkit import analysis, data, exercises, ops
from cnnkit.exercises import TODO, nb02

L = keras.layers


def test_every_exercise_of_02_is_registered_in_order():
    assert [e.id for e in exercises.registered("02")] == [f"02.{k}" for k in range(1, 7)]
    assert [e.kind for e in exercises.registered("02")] == [exercises.CHECK] * 5 + [exercises.MODEL_ANSWER]


# ---------------------------------------------------------------- 02.1 and 02.3: the layers and the facts


def test_overlapping_pool_accepts_the_keras_layer_and_rejects_non_overlapping_windows():
    assert check("02.1", {"pool": L.MaxPooling2D(3, strides=2), "more_invariant": True}).startswith("✔ 02.1")
    message = rejected("02.1", {"pool": L.MaxPooling2D(3), "more_invariant": True}, "1 of 2 parts is wrong")
    assert "returned shape" in message  # strides default to the pool size: a different output size
    rejected("02.1", {"pool": L.MaxPooling2D(2), "more_invariant": True}, "hidden inputs")
    rejected("02.1", {"pool": L.MaxPooling2D(3, strides=2), "more_invariant": "yes"}, "as True or False")
    assert check("02.1", {"pool": TODO, "more_invariant": True}) == "02.1: not answered yet (still TODO: pool)\n"


def test_blur_subsample_accepts_a_layer_pipeline_and_rejects_valid_padding_and_no_blur():
    def with_layer(maps):
        return keras.ops.convert_to_numpy(L.AveragePooling2D(3, strides=1, padding="same")(maps))[:, ::2, ::2, :]

    assert check("02.3", {"blur_subsample": with_layer, "less_change_than_stride": True}).startswith("✔ 02.3")
    valid = lambda maps: ops.avg_pool2d(np.asarray(maps), 3, 1, "valid")[:, ::2, ::2, :]  # noqa: E731
    rejected("02.3", {"blur_subsample": valid, "less_change_than_stride": True}, "returned shape")
    rejected("02.3", {"blur_subsample": lambda maps: maps[:, ::2, ::2, :], "less_change_than_stride": True},
             "differ from the correct ones")
    # A starter function (returns TODO) with the yes/no filled in is still unanswered.
    assert check("02.3", {"blur_subsample": lambda maps: TODO, "less_change_than_stride": True}) == \
        "02.3: not answered yet\n"


def change_curves(scene, pools, n_crops=24, seed=5):
    """Section 3's measurement (horizontal shifts 0-8 px of 64-px crops, 16 random 5×5 ReLU filters)."""
    rng = np.random.default_rng(seed)
    tops, lefts = rng.integers(0, 192, n_crops), rng.integers(0, 184, n_crops)
    crops = np.stack([scene[t:t + 64, s + x:s + x + 64] for s in range(9) for t, x in zip(tops, lefts)])
    keras.utils.set_random_seed(seed)
    maps = keras.Sequential([keras.Input((64, 64, 1)), L.Conv2D(16, 5, activation="relu")]).predict(crops, verbose=0)
    curves = {}
    for name, pool in pools.items():
        f = np.asarray(keras.ops.convert_to_numpy(pool(maps))).reshape(9, n_crops, -1)
        curves[name] = [float(np.mean(np.linalg.norm(f[s] - f[0], axis=1) / np.linalg.norm(f[0], axis=1)))
                        for s in range(1, 9)]
    return curves


@pytest.mark.parametrize("photo", ["camera", "coffee"])  # not the notebook's chelsea
def test_the_yes_no_answers_of_02_1_and_02_3_hold_on_other_photos(photo):
    scene = data.load_image(photo, size=256, gray=True)
    curves = change_curves(scene, {"max 2": L.MaxPooling2D(2), "overlap": nb02.overlapping_max_pool,
                                   "stride 2": lambda m: m[:, ::2, ::2, :], "blur": nb02.blur_then_subsample})
    # 02.1: True at shifts of 1-4 px (beyond, on some photos and filters, the two curves nearly meet)
    assert all(a < b for a, b in zip(curves["overlap"][:4], curves["max 2"][:4]))
    assert all(a < b for a, b in zip(curves["blur"], curves["stride 2"]))  # 02.3: True at every shift


# ---------------------------------------------------------------- 02.2 mean and max


def test_mean_and_max_lose_about_what_the_mean_alone_loses_and_more_than_two_filters():
    blocks = nb02.section2_blocks(size=128)
    mean, maximum = blocks.mean(axis=1, keepdims=True), blocks.max(axis=1, keepdims=True)
    both, alone = nb02.lost_from(blocks, [mean, maximum]), nb02.lost_from(blocks, [mean])
    variances = np.sort(np.linalg.eigvalsh(np.cov(blocks.T)))[::-1]
    two_filters = variances[2:].sum() / variances.sum()
    assert both < alone < 1.01 * both  # the max adds almost nothing
    assert two_filters < 0.6 * both  # so "beats two filters" is False
    assert (alone - both) / both > 10 * 1e-4  # the checker's rtol=1e-4 tells the two apart


def test_mean_max_loss_rejects_a_percentage_and_accepts_float32_rounding():
    correct = nb02.mean_and_max_lost()
    assert check("02.2", {"lost": np.float32(correct), "beats_two_filters": False}).startswith("✔ 02.2")
    message = rejected("02.2", {"lost": 100 * correct, "beats_two_filters": False}, "1 of 2 parts is wrong")
    assert f"{correct:.4g}" not in message
    rejected("02.2", {"lost": nb02.mean_only_lost(), "beats_two_filters": False}, "within")


# ---------------------------------------------------------------- 02.4 and 02.5: the receptive fields


def test_the_receptive_field_of_02_4_is_what_the_calculator_gives():
    model = keras.Sequential([keras.Input((64, 64, 1)), L.Conv2D(8, 5, strides=2, padding="valid"),
                              L.MaxPooling2D(3, strides=2), L.Conv2D(8, 3, dilation_rate=2, padding="same")])
    rf = analysis.receptive_field(model)
    answer = {"size": rf.size[0], "jump": rf.jump[0], "start": rf.start[0]}
    assert check("02.4", answer).startswith("✔ 02.4")
    # Forgetting the dilation (a 3-pixel kernel) is the typical slip.
    rejected("02.4", {"size": 17, "jump": 4, "start": -4}, "2 of 3 parts are wrong")


def test_the_old_text_of_02_4_raises_in_keras():
    with pytest.raises(TypeError):
        L.Conv2D(5, strides=2, padding="valid")  # kernel_size missing: why 02.4's text was rewritten


def slim_resnet50(keras_pool1: bool = False):
    """TF-slim's ResNet-50 v1 topology (1 channel per layer: only the geometry matters).

    conv1 is slim's conv2d_same (explicit padding 3, then valid); pool1 is a 'same' max pool;
    each block's last unit strides in its 3×3 convolution. ``keras_pool1`` swaps in Keras's pool1.
    """
    def conv_same(x, k, s):
        if s == 1:
            return L.Conv2D(1, k, padding="same")(x)
        return L.Conv2D(1, k, strides=s)(L.ZeroPadding2D((k - 1) // 2)(x))

    def unit(x, s):
        residual = L.Conv2D(1, 1)(conv_same(L.Conv2D(1, 1)(x), 3, s))
        return L.Add()([L.Conv2D(1, 1, strides=s)(x), residual])

    inputs = keras.Input((224, 224, 3))
    x = conv_same(inputs, 7, 2)
    x = (L.MaxPooling2D(3, strides=2)(L.ZeroPadding2D(1)(x)) if keras_pool1
         else L.MaxPooling2D(3, strides=2, padding="same")(x))
    for units, stride in ((3, 2), (4, 2), (6, 2), (3, 1)):
        for u in range(units):
            x = unit(x, stride if u == units - 1 else 1)
    return keras.Model(inputs, x)


def test_resnet50_field_and_the_two_pixels_from_tf_slims_pool1_padding():
    rf = analysis.receptive_field(keras.applications.ResNet50(weights=None))["conv5_block3_out"]
    answer = {"size": rf.size[0], "jump": rf.jump[0], "start": rf.start[0]}
    assert answer == {"size": 483, "jump": 32, "start": -241}
    assert check("02.5", answer).startswith("✔ 02.5")
    slim = analysis.receptive_field(slim_resnet50())
    assert (slim.size[0], slim.jump[0], slim.start[0]) == (483, 32, -239)  # Araujo et al.'s published figures
    assert analysis.receptive_field(slim_resnet50(keras_pool1=True)).start[0] == -241  # pool1 is the whole difference
    message = rejected("02.5", {"size": 483, "jump": 32, "start": -239}, "1 of 3 parts is wrong")
    assert "-241" not in message


def test_effective_field_with_relu_is_an_open_question():
    assert check("02.6", TODO).startswith("02.6: an open question")
    assert "√L" in exercises.REGISTRY.get("02.6").text
