"""The checks of notebook 03's exercises on the wrong answers a learner is likely to give.

The generic test in ``tests/test_exercises.py`` runs every check with its
registered correct and wrong examples; these add the other typical mistakes,
and the facts the checks rely on: the shapes of 03.1 and the parameter count
and receptive field of 03.2 recomputed from Keras models, the hidden labels of
03.3 (their lowest recall differs from the lowest precision and from the class
with the most mistakes, and agrees with scikit-learn's recall), and the state
dict of 03.6 with and without PyTorch.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from exercise_helpers import check, rejected

from cnnkit import analysis, create_model, exercises
from cnnkit.exercises import TODO, nb03
from cnnkit.models.simple_cnn import TORCH_NAMES, load_torch_weights

L = keras.layers


def test_every_exercise_of_03_is_registered_in_order():
    assert [e.id for e in exercises.registered("03")] == [f"03.{k}" for k in range(1, 7)]
    kinds = [e.kind for e in exercises.registered("03")]
    assert kinds == [exercises.CHECK] * 3 + [exercises.MODEL_ANSWER] * 2 + [exercises.CHECK]


# ---------------------------------------------------------------- 03.1 native size


def test_at_8x8_relu3_is_2x2_and_the_adaptive_pooling_copies_each_value_into_a_2x2_block():
    model = create_model("simple_cnn", num_classes=10, input_shape=(8, 8, 1))
    image = np.random.default_rng(0).random((8, 8, 1)).astype(np.float32)
    relu3 = analysis.feature_maps(model, image, "relu3")
    pooled = analysis.feature_maps(model, image, "adaptive_pool")
    assert relu3.shape == (2, 2, 128) and pooled.shape == (4, 4, 128)
    np.testing.assert_allclose(pooled, relu3.repeat(2, axis=0).repeat(2, axis=1), rtol=1e-6)
    channel = next(c for c in range(128) if len(np.unique(relu3[..., c])) == 4)
    answer = {"relu3_shape": relu3.shape, "pooled_values": len(np.unique(pooled[..., channel]))}
    assert check("03.1", answer).startswith("✔ 03.1")


def test_native_size_rejects_a_batch_axis_and_the_32x32_shape():
    message = rejected("03.1", {"relu3_shape": (None, 2, 2, 128), "pooled_values": 4}, "with 3 axes")
    assert "1 of 2 parts is wrong" in message
    rejected("03.1", {"relu3_shape": (8, 8, 128), "pooled_values": 4}, "axes 0 and 1 are wrong")
    assert check("03.1", {"relu3_shape": (2, 2, 128), "pooled_values": TODO}) == \
        "03.1: not answered yet (still TODO: pooled_values)\n"


# ---------------------------------------------------------------- 03.2 strided convolutions


def strided_simple_cnn(num_classes=10, input_shape=(32, 32, 3)):
    inputs = keras.Input(input_shape)
    x = inputs
    for i, filters in enumerate((32, 64, 128), start=1):
        x = L.ReLU(name=f"relu{i}")(L.Conv2D(filters, 3, padding="same", name=f"conv{i}")(x))
        if i < 3:
            x = L.Conv2D(filters, 3, strides=2, padding="same", name=f"down{i}")(x)
    x = L.Flatten()(L.AdaptiveAveragePooling2D((4, 4))(x))
    x = L.Dropout(0.5)(L.Dense(256, activation="relu")(x))
    return keras.Model(inputs, L.Dense(num_classes)(x))


def test_the_strided_variant_has_the_checked_parameters_and_field():
    model = strided_simple_cnn()
    seed = create_model("simple_cnn", num_classes=10, input_shape=(32, 32, 3))
    answer = {"params": model.count_params(), "conv3_field": analysis.receptive_field(model)["conv3"].size[0]}
    assert answer == {"params": 666_538, "conv3_field": 21}
    assert analysis.receptive_field(seed)["conv3"].size[0] == 18  # the notebook's section 1
    assert check("03.2", answer).startswith("✔ 03.2")


def test_strided_answer_rejects_forgotten_biases_and_the_pooled_field():
    message = rejected("03.2", {"params": 666_538 - 96, "conv3_field": 18}, "2 of 2 parts are wrong")
    assert "666,538" not in message and "666538" not in message and "21" not in message
    rejected("03.2", {"params": "666538", "conv3_field": 21}, "as a whole number")


# ---------------------------------------------------------------- 03.3 lowest recall


def test_the_hidden_labels_tell_recall_from_precision_and_from_counts():
    from sklearn.metrics import recall_score

    for y_true, y_pred in nb03.hidden_labels():
        assert nb03._is_telling(y_true, y_pred)
        recalls = recall_score(y_true, y_pred, average=None)
        assert nb03.lowest_recall(y_true, y_pred) == int(np.argmin(recalls))


def test_lowest_recall_accepts_the_confusion_matrix_way_and_rejects_counts_and_precision():
    def from_confusion(y_true, y_pred):
        k = int(max(np.max(y_true), np.max(y_pred))) + 1
        confusion = np.zeros((k, k))
        np.add.at(confusion, (y_true, y_pred), 1)
        return int(np.argmin(np.diag(confusion) / confusion.sum(axis=1)))

    assert check("03.3", from_confusion).startswith("✔ 03.3")
    rejected("03.3", nb03.most_mistakes, "not the correct result")
    rejected("03.3", nb03.lowest_precision, "not the correct result")
    rejected("03.3", lambda y_true, y_pred: y_true[10**6], "raised IndexError", received=False)
    assert check("03.3", lambda y_true, y_pred: TODO) == "03.3: not answered yet\n"


# ---------------------------------------------------------------- 03.4 and 03.5 open questions


def test_grad_cam_and_augmentation_are_open_questions_with_model_answers():
    for exercise_id in ("03.4", "03.5"):
        assert check(exercise_id, TODO).startswith(f"{exercise_id}: an open question")
        assert len(exercises.REGISTRY.get(exercise_id).text) > 200


# ---------------------------------------------------------------- 03.6 the other direction


def test_the_reference_inverts_load_torch_weights():
    for model, state, images in nb03.HIDDEN.get():
        back = nb03.to_torch_state_dict(model)
        assert set(back) == set(state)
        for name in state:
            np.testing.assert_array_equal(back[name], state[name])
        copy = create_model("simple_cnn", num_classes=model.output_shape[-1], input_shape=model.input_shape[1:])
        load_torch_weights(copy, back)
        np.testing.assert_allclose(copy.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-5)


def test_state_dict_rejects_keras_layouts_missing_keys_and_non_dicts():
    def keras_layout(model):
        return {f"{t}.{p}": w for t, k in TORCH_NAMES.items()
                for p, w in zip(("weight", "bias"), model.get_layer(k).get_weights())}

    rejected("03.6", keras_layout, r"features.0.weight in PyTorch's layout \(out, in, k_h, k_w\)")
    rejected("03.6", lambda model: {k: v for k, v in nb03.to_torch_state_dict(model).items() if "bias" not in k},
             "missing")
    rejected("03.6", lambda model: list(nb03.to_torch_state_dict(model).values()), r"dict \{name: array\}")
    rejected("03.6", lambda model: model.nonexistent, "raised AttributeError", received=False)
    rejected("03.6", "to_torch_state_dict", "as a function")
    assert check("03.6", lambda model: TODO) == "03.6: not answered yet\n"


def test_state_dict_is_loaded_into_pytorch_and_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    out = check("03.6", lambda model: {k: torch.from_numpy(np.ascontiguousarray(v))
                                       for k, v in nb03.to_torch_state_dict(model).items()})
    assert out.startswith("✔ 03.6") and "PyTorch's SimpleCNN loads your state dict" in out
    net = nb03.torch_simple_cnn(torch, 3, 10)
    assert set(net.state_dict()) == {f"{t}.{p}" for t in TORCH_NAMES for p in ("weight", "bias")}


def test_without_pytorch_the_check_still_compares_the_arrays_and_says_so(monkeypatch):
    monkeypatch.setattr(nb03, "_import_torch", lambda: None)
    out = check("03.6", nb03.to_torch_state_dict)
    assert out.startswith("✔ 03.6") and "PyTorch is not installed here" in out and "pip install torch" in out
    rejected("03.6", nb03.naive_state_dict, "classifier.1.weight to hold the Keras weights in PyTorch's order")
