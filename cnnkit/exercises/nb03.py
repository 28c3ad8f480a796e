"""Exercises of notebook 03, Classification (``notebooks/03_classification.ipynb``); solutions in ``solutions/03_classification_solutions.ipynb``.

The shapes and counts of 03.1 and 03.2 are what Keras and
``analysis.receptive_field`` compute (the tests rebuild the models); the
function of 03.3 runs on hidden labels built so that the lowest recall, the
lowest precision and the most mistakes fall on different classes; the state
dict of 03.6 is compared with hidden PyTorch-layout weights and, where PyTorch
is installed, loaded into the seed's PyTorch SimpleCNN, whose logits must match
the Keras model's. 03.4 and 03.5 are open questions: their model answers state
what the solutions notebook measures. The format and the recipe are in
``cnnkit.exercises`` and CONTRIBUTING.md ("Exercises and solutions").
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

# From the private modules, not from the package, which imports this module (no import cycle).
from cnnkit.exercises._checkers import (
    call_answer,
    describe,
    expect_equal,
    expect_fields,
    expect_function,
    expect_shape,
)
from cnnkit.exercises._core import exercise, lazy, model_answer

# ---------------------------------------------------------------- 03.1 native size

exercise("03.1", title="Native size", level=1, minutes=15,
         check=expect_fields({
             "relu3_shape": expect_shape((2, 2, 128), what="relu3's output shape for 8×8 digits (no batch axis)"),
             "pooled_values": expect_equal(4, what="the number of different values in one channel of "
                                                   "adaptive_pool's output (a channel whose relu3 values differ)"),
         }),
         correct={"relu3_shape": (2, 2, 128), "pooled_values": 4},
         wrong={"relu3_shape": (2, 2, 128), "pooled_values": 16},
         hint="Each MaxPooling2D(2) halves the height and width, the convolutions ('same') keep them. "
              "Print analysis.summary_table of the 8×8 model, or feed it one digit and look at "
              "analysis.feature_maps(model, digit, 'adaptive_pool').")


# ---------------------------------------------------------------- 03.2 strided convolutions

exercise("03.2", title="Strided convolutions instead of pooling", level=2, minutes=20,
         check=expect_fields({
             "params": expect_equal(666_538, what="the parameter count of the strided variant "
                                                  "(input (32, 32, 3), 10 classes)"),
             "conv3_field": expect_equal(21, what="the receptive field of conv3 in the strided variant"),
         }),
         correct={"params": 666_538, "conv3_field": 21}, wrong={"params": 620_362, "conv3_field": 18},
         hint="A Conv2D(f, 3) on f channels adds 3·3·f·f weights and f biases. For the field, each layer adds "
              "(k - 1) × jump and a stride multiplies the jump: a 3×3 window with stride 2 adds more than "
              "a 2×2 pooling does. analysis.receptive_field(model) checks your table.")


# ---------------------------------------------------------------- 03.3 lowest recall


def lowest_recall(y_true, y_pred) -> int:
    """Reference: the class with the lowest recall (the smallest class on a tie), among the classes in y_true."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    classes = np.unique(y_true)
    recalls = [np.mean(y_pred[y_true == c] == c) for c in classes]
    return int(classes[int(np.argmin(recalls))])


def lowest_precision(y_true, y_pred) -> int:
    """The class with the lowest precision (a typical wrong answer: the columns instead of the rows)."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    classes = np.unique(y_true)
    precisions = [np.mean(y_true[y_pred == c] == c) if np.any(y_pred == c) else 1.0 for c in classes]
    return int(classes[int(np.argmin(precisions))])


def most_mistakes(y_true, y_pred) -> int:
    """The class with the most misclassified examples (a typical wrong answer: counts instead of rates)."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    classes = np.unique(y_true)
    return int(classes[int(np.argmax([np.sum((y_true == c) & (y_pred != c)) for c in classes]))])


def _labels(num_classes: int, seed: int):
    """Labels with unequal supports and error rates (no ties), predictions with errors to other classes."""
    rng = np.random.default_rng(seed)
    support = rng.integers(8, 60, num_classes)
    y_true = rng.permutation(np.repeat(np.arange(num_classes), support))
    error_rate = rng.uniform(0.02, 0.45, num_classes)
    y_pred = y_true.copy()
    for c in range(num_classes):
        members = np.flatnonzero(y_true == c)
        wrong = rng.choice(members, int(round(error_rate[c] * len(members))), replace=False)
        y_pred[wrong] = (c + rng.integers(1, num_classes, len(wrong))) % num_classes
    return y_true, y_pred


def _is_telling(y_true, y_pred) -> bool:
    """True when the lowest recall is unique and differs from the lowest precision and the most mistakes."""
    classes = np.unique(y_true)
    recalls = np.array([np.mean(y_pred[y_true == c] == c) for c in classes])
    unique = np.sum(recalls == recalls.min()) == 1
    answer = lowest_recall(y_true, y_pred)
    return bool(unique and answer != lowest_precision(y_true, y_pred) and answer != most_mistakes(y_true, y_pred))


def hidden_labels() -> list[tuple[np.ndarray, np.ndarray]]:
    """Three hidden (y_true, y_pred) pairs (10, 6 and 3 classes), not the notebook's data."""
    calls = []
    for num_classes, start in ((10, 3000), (6, 3100), (3, 3200)):
        seed = start
        while not _is_telling(*_labels(num_classes, seed)):
            seed += 1
        calls.append(_labels(num_classes, seed))
    return calls


exercise("03.3", title="Normalised confusion", level=2, minutes=15,
         check=expect_function(lowest_recall, lazy(hidden_labels),
                               what="lowest_recall(y_true, y_pred) (the class index with the lowest recall)"),
         correct=lowest_recall, wrong=lowest_precision,
         hint="Recall is per true class: of the examples whose label is c, the fraction predicted c. In the "
              "confusion matrix that is a row, divided by the row's sum (the class's support), not a column.")


# ---------------------------------------------------------------- 03.4 Grad-CAM for the wrong class

model_answer(
    "03.4",
    "Mostly in different places. In the solutions notebook's run (the notebook's model, 7 test "
    "digits misclassified), the two maps of a mistake correlate by less than 0.2 for four of "
    "them, and by 0.8 for one (a 9 taken for a 3); for the other two, one of the maps is empty: "
    "Grad-CAM keeps only the positive part, and no position of the last convolution raises that "
    "class's score (once the predicted class's, an 8 taken for a 1; once the true class's, a 0 "
    "taken for a 4). Where both maps exist, the predicted class's heat is concentrated on a "
    "smaller part of the digit and the true class's is spread wider (a higher mean of the "
    "normalised map, in all five). Two caveats of section 4 apply. Each map is divided by its own "
    "maximum, so the colours do not say which class has the stronger evidence; the probabilities "
    "do, and several mistakes are close calls (0.53 against 0.44 or 0.47). And for this model, "
    "whose flatten head also uses where features are, Grad-CAM on the last convolution is a weak "
    "guide: an occlusion map (analysis.occlusion_map) is the measurement.",
    title="Grad-CAM for the wrong class", level=2, minutes=15)


# ---------------------------------------------------------------- 03.5 which augmentation matters

model_answer(
    "03.5",
    "Shifts. In the solutions notebook's run (section 6's 300 training digits and budget, three "
    "seeds each), shifts alone lift the accuracy on the perturbed test digits from 0.774 ± 0.015 "
    "(no augmentation) to 0.890 ± 0.004, about four fifths of the gain of all three kinds together "
    "(0.914 ± 0.011). Rotations alone add about 0.025 and contrast changes alone nothing (0.770), "
    "both within the seed-to-seed spread. The perturbed digits are shifted by up to a tenth of "
    "their size (about 3 pixels at 32×32), which puts strokes where a model trained on centred "
    "digits has never seen them; a network is not shift-invariant (section 6: padding, pooling "
    "and the flatten head, which learns where features are), so it has to be shown shifts. "
    "Rotations of up to 18° move the strokes less, and a contrast change keeps the digit's shape "
    "and position. All three together still beat shifts alone (a gap larger than the combined "
    "spread): the other two kinds add a little on top, but the shifts carry most of the gain.",
    title="Which augmentation matters?", level=3, minutes=30)


# ---------------------------------------------------------------- 03.6 the other direction


def to_torch_state_dict(model) -> dict[str, np.ndarray]:
    """Reference: the Keras SimpleCNN's weights as the seed's PyTorch state dict (NumPy arrays)."""
    from cnnkit.models.simple_cnn import TORCH_NAMES  # lazily: registering stays cheap

    pooled = model.get_layer("adaptive_pool").output.shape[1:3]
    state = {}
    for torch_name, keras_name in TORCH_NAMES.items():
        kernel, bias = model.get_layer(keras_name).get_weights()
        if kernel.ndim == 4:  # (kh, kw, in, out) -> (out, in, kh, kw)
            weight = kernel.transpose(3, 2, 0, 1)
        elif keras_name == "fc1":  # inputs ordered (h, w, C) in Keras, (C, h, w) in PyTorch
            flat, out_features = kernel.shape
            channels = flat // (pooled[0] * pooled[1])
            weight = (kernel.reshape(pooled[0], pooled[1], channels, out_features)
                      .transpose(3, 2, 0, 1).reshape(out_features, flat))
        else:
            weight = kernel.T
        state[f"{torch_name}.weight"], state[f"{torch_name}.bias"] = weight, bias
    return state


def naive_state_dict(model) -> dict[str, np.ndarray]:
    """The classic mistake: every kernel in PyTorch's layout, but fc1's inputs left in Keras's order."""
    state = to_torch_state_dict(model)
    state["classifier.1.weight"] = model.get_layer("fc1").get_weights()[0].T
    return state


# Hidden models: (input shape, classes, seed of the PyTorch-layout weights); not the notebook's.
HIDDEN_MODELS = (((32, 32, 3), 10, 601), ((16, 16, 1), 6, 602))


def _random_state_dict(in_channels: int, num_classes: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = {"features.0": (32, in_channels, 3, 3), "features.3": (64, 32, 3, 3), "features.6": (128, 64, 3, 3),
              "classifier.1": (256, 2048), "classifier.4": (num_classes, 256)}
    state = {}
    for name, shape in shapes.items():
        state[f"{name}.weight"] = rng.normal(scale=np.prod(shape[1:]) ** -0.5, size=shape).astype(np.float32)
        state[f"{name}.bias"] = rng.normal(scale=0.1, size=shape[0]).astype(np.float32)
    return state


def _hidden_models():
    """[(keras model with hidden weights, the same weights as a PyTorch state dict, hidden images)]."""
    from cnnkit.models.simple_cnn import (  # lazily: registering stays cheap
        load_torch_weights,
        simple_cnn,
    )

    cases = []
    for shape, num_classes, seed in HIDDEN_MODELS:
        state = _random_state_dict(shape[-1], num_classes, seed)
        model = simple_cnn(num_classes=num_classes, input_shape=shape)
        load_torch_weights(model, state)
        images = np.random.default_rng(seed + 100).random((3, *shape)).astype(np.float32)
        cases.append((model, state, images))
    return cases


HIDDEN = lazy(_hidden_models)


def _import_torch():
    """PyTorch, or None when it is not installed (the check then skips loading into a PyTorch model)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_simple_cnn(torch, in_channels: int, num_classes: int):
    """The seed's PyTorch SimpleCNN (section 1 of the notebook), in eval mode."""
    nn = torch.nn

    class SimpleCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(64, 128, kernel_size=3, padding=1), nn.ReLU(),
                nn.AdaptiveAvgPool2d((4, 4)))
            self.classifier = nn.Sequential(
                nn.Flatten(), nn.Linear(128 * 4 * 4, 256), nn.ReLU(), nn.Dropout(0.5),
                nn.Linear(256, num_classes))

        def forward(self, x):
            return self.classifier(self.features(x))

    return SimpleCNN().eval()


def _numpy(value):
    """A state-dict value (NumPy array, list, PyTorch or other backend tensor) as a float NumPy array, or None."""
    if hasattr(value, "detach"):  # a PyTorch tensor
        value = value.detach().cpu().numpy()
    try:
        import keras

        if keras.ops.is_tensor(value):
            value = keras.ops.convert_to_numpy(value)
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array


def _torch_logits(torch, state: Mapping, images: np.ndarray, num_classes: int) -> np.ndarray:
    net = torch_simple_cnn(torch, images.shape[-1], num_classes)
    tensors = {k: torch.as_tensor(np.asarray(_numpy(v), dtype=np.float32)) for k, v in state.items()}
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise AssertionError("Expected a state dict that PyTorch's SimpleCNN loads with load_state_dict. "
                             f"Received one it refuses: {str(error)[:300]}") from None
    with torch.no_grad():
        return net(torch.as_tensor(images.transpose(0, 3, 1, 2).copy())).numpy().astype(np.float64)


@exercise("03.6", title="The other direction", level=3, minutes=25,
          correct=to_torch_state_dict, wrong=naive_state_dict,
          hint="Undo each step of load_torch_weights in reverse: transpose the conv kernels back to "
               "(out, in, k_h, k_w) and the dense weights to (out, in); for fc1, reshape its 2,048 inputs "
               "to Keras's (h, w, C) order, move C first, and flatten again.")
def _(answer):
    if not callable(answer):
        raise AssertionError(f"Expected to_torch_state_dict as a function of a Keras SimpleCNN. "
                             f"Received {describe(answer)}.")
    torch = _import_torch()
    for i, (model, hidden, images) in enumerate(HIDDEN.get(), start=1):
        where = f"on hidden model {i} of {len(HIDDEN_MODELS)} (input {model.input_shape[1:]}, " \
                f"{model.output_shape[-1]} classes)"
        state = call_answer(answer, model, name="to_torch_state_dict", where=where)
        if not isinstance(state, Mapping):
            raise AssertionError(f"Expected a dict {{name: array}} {where}. Received {describe(state)}.")
        missing, extra = sorted(set(hidden) - set(state)), sorted(set(state) - set(hidden))
        if missing or extra:
            raise AssertionError(f"Expected the seed PyTorch model's keys ('features.0.weight', ...) {where}. "
                                 f"Received {len(state)} keys" + (f"; missing {missing}" if missing else "")
                                 + (f"; not in the PyTorch model {extra[:6]}" if extra else "") + ".")
        for name, wanted in hidden.items():
            got = _numpy(state[name])
            if got is None:
                raise AssertionError(f"Expected {name} as an array of numbers. Received {describe(state[name])}.")
            if got.shape != wanted.shape:
                layout = "(out, in, k_h, k_w)" if wanted.ndim == 4 else "(out, in)" if wanted.ndim == 2 else "(out,)"
                raise AssertionError(f"Expected {name} in PyTorch's layout {layout} {where}. "
                                     f"Received shape {got.shape}.")
            ok = np.isclose(got, wanted, rtol=1e-5, atol=1e-6)
            if not ok.all():
                raise AssertionError(f"Expected {name} to hold the Keras weights in PyTorch's order {where}. "
                                     f"Received values that differ at {int((~ok).sum()):,} of {ok.size:,} positions.")
        if torch is not None:
            keras_logits = np.asarray(model.predict(images, verbose=0), dtype=np.float64)
            torch_logits = _torch_logits(torch, state, images, model.output_shape[-1])
            if not np.allclose(torch_logits, keras_logits, rtol=1e-4, atol=1e-4):
                raise AssertionError(f"Expected PyTorch's SimpleCNN with your state dict to give the Keras "
                                     f"model's logits {where}. Received logits that differ by up to "
                                     f"{float(np.abs(torch_logits - keras_logits).max()):.3g}.")
    if torch is None:
        return (f"all weights in PyTorch's layout and order on {len(HIDDEN_MODELS)} hidden models; PyTorch "
                "is not installed here, so the dicts were not loaded into a PyTorch model "
                "(pip install torch to run that part of the check too)")
    return (f"PyTorch's SimpleCNN loads your state dict and gives the Keras logits on "
            f"{len(HIDDEN_MODELS)} hidden models")
