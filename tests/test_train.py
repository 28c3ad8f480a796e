"""cnnkit.train: compile defaults, fit (best weights, early stopping, datasets, progress), evaluate vs scikit-learn."""

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn import metrics as skm

from cnnkit import train


def separable(n=256, seed=0, flip=False):
    """Two classes a linear model can learn: the sign of the mean pixel (flip=True swaps the labels)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4, 4, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
    return x, (1 - y if flip else y)


def tiny_model(units=2, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(units)])


def test_compile_defaults():
    model = train.compile_model(tiny_model(), learning_rate=3e-3)
    assert model.compiled
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy) and model.loss.from_logits
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-3)
    sgd = train.compile_model(tiny_model(), optimizer="sgd")
    assert isinstance(sgd.optimizer, keras.optimizers.SGD) and sgd.optimizer.momentum == 0.9
    binary = train.compile_model(tiny_model(units=1))
    assert isinstance(binary.loss, keras.losses.BinaryCrossentropy)


def test_fit_learns_and_restores_the_best_epoch(capsys):
    x, y = separable()
    xv, yv = separable(128, seed=1)
    model = train.compile_model(tiny_model(), learning_rate=1e-2)
    history = train.fit(model, x, y, validation_data=(xv, yv), epochs=6, batch_size=32, verbose=0)
    assert capsys.readouterr().out == ""  # verbose=0 is silent
    assert history.epochs == 6 and history.monitor == "val_loss" and not history.stopped_early
    val_loss = history.history["val_loss"]
    assert history.best_epoch == int(np.argmin(val_loss)) + 1
    assert history.history["val_accuracy"][-1] > 0.8, history.history
    # The weights in the model are the best epoch's: evaluating them gives its logged val_loss.
    now = model.evaluate(xv, yv, verbose=0, return_dict=True)["loss"]
    assert now == pytest.approx(history.best["val_loss"], rel=1e-4)
    assert history.seconds > 0 and "best epoch" in str(history)
    ends = history.epoch_seconds  # one time per epoch, increasing, within the whole fit call
    assert len(ends) == 6 and all(a < b for a, b in zip(ends, ends[1:])) and ends[-1] <= history.seconds
    first_good = next(i for i, v in enumerate(history.history["val_accuracy"]) if v >= 0.8)
    assert history.seconds_to("val_accuracy", 0.8) == ends[first_good]
    assert history.seconds_to("val_accuracy", 1.1) == float("inf")
    assert history.seconds_to("val_loss", history.best["val_loss"], higher_is_better=False) == ends[history.best_epoch - 1]
    with pytest.raises(ValueError, match="logged metrics"):
        history.seconds_to("val_mean_iou", 0.5)


def test_early_stopping_stops_and_restores_epoch_one():
    # The validation labels are the opposite rule, so val_loss rises as training learns the train rule.
    x, y = separable()
    xv, yv = separable(128, seed=1, flip=True)
    model = train.compile_model(tiny_model(), learning_rate=5e-2)
    history = train.fit(model, x, y, validation_data=(xv, yv), epochs=20, batch_size=32,
                        early_stopping_patience=2, verbose=0)
    assert history.stopped_early and history.epochs < 20
    assert history.best_epoch == int(np.argmin(history.history["val_loss"])) + 1
    assert history.epochs == history.best_epoch + 2  # patience 2: two epochs without improvement
    now = model.evaluate(xv, yv, verbose=0, return_dict=True)["loss"]
    assert now == pytest.approx(history.best["val_loss"], rel=1e-4)


def test_fit_accepts_tf_data_and_pydataset():
    import tensorflow as tf

    x, y = separable(128)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    history = train.fit(tiny_model(), dataset, validation_data=dataset, epochs=2, verbose=0)
    assert history.epochs == 2 and "val_accuracy" in history.history

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[i * 32:(i + 1) * 32], y[i * 32:(i + 1) * 32]

    history = train.fit(tiny_model(), Batches(), epochs=2, verbose=0)
    assert history.monitor == "loss" and history.epochs == 2


def test_progress_output(capsys):
    x, y = separable(64)
    train.fit(tiny_model(), x, y, epochs=3, verbose=1)
    out = capsys.readouterr().out
    assert "epoch 3/3 |" in out and "3/3 epochs; best epoch" in out
    train.fit(tiny_model(), x, y, epochs=3, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["1/3", "2/3", "3/3"]


def test_progress_bar_ends_full_at_the_epoch_early_stopping_reached(capsys):
    # A bar frozen at "epoch 4/20" looks like a crash; it must end full, saying training stopped early.
    x, y = separable()
    xv, yv = separable(128, seed=1, flip=True)
    model = train.compile_model(tiny_model(), learning_rate=5e-2)
    history = train.fit(model, x, y, validation_data=(xv, yv), epochs=20, batch_size=32,
                        early_stopping_patience=2)
    assert history.stopped_early
    last_bar = capsys.readouterr().out.split("\r")[-1]
    reached = history.epochs
    assert f"epoch {reached}/{reached} |" in last_bar and "stopped early; at most 20 epochs" in last_bar, last_bar


def test_progress_adds_no_per_batch_hooks():
    # Per-batch hooks cost Python work on every step (and stop Keras dispatching them asynchronously
    # on JAX/torch); the progress bar and the best-weights keeper must only use epoch hooks.
    from keras.src.utils.python_utils import is_default

    for callback in (train.EpochProgress(3), keras.callbacks.EarlyStopping()):
        for hook in ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end",
                     "on_test_batch_begin", "on_test_batch_end"):
            assert is_default(getattr(callback, hook)), (type(callback).__name__, hook)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"epochs": 0}, r"epochs must be a positive integer; received 0"),
        ({"verbose": 3}, r"verbose must be one of .* received 3"),
        ({"early_stopping_patience": -1}, r"early_stopping_patience must be a non-negative integer"),
        ({"y": None}, r"y \(the labels\) is required"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, pattern):
    x, y = separable(32)
    args = {"x": x, "y": y, **kwargs}
    with pytest.raises(ValueError, match=pattern):
        train.fit(tiny_model(), **args)


def test_batch_size_with_a_dataset_is_an_error():
    import tensorflow as tf

    x, y = separable(32)
    with pytest.raises(ValueError, match=r"batch_size applies to NumPy arrays only"):
        train.fit(tiny_model(), tf.data.Dataset.from_tensor_slices((x, y)).batch(8), batch_size=8)


def test_unknown_optimizer_and_bad_learning_rate():
    with pytest.raises(ValueError, match=r"optimizer must be one of .* received 'adamax'"):
        train.compile_model(tiny_model(), optimizer="adamax")
    with pytest.raises(ValueError, match=r"learning_rate must be a positive number; received 0"):
        train.compile_model(tiny_model(), learning_rate=0)


def fixed_classifier():
    """A 3-class 'model' whose prediction is the argmax of the first 3 inputs: fully controllable."""
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Identity()(inputs))


def test_evaluate_matches_scikit_learn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, 60)
    y_pred = np.where(rng.random(60) < 0.7, y_true, rng.integers(0, 2, 60))  # class 2 under-predicted
    scores = np.eye(3, dtype="float32")[y_pred] + rng.normal(scale=0.01, size=(60, 3)).astype("float32")
    result = train.evaluate(fixed_classifier(), scores, y_true, class_names=["a", "b", "c"])
    np.testing.assert_array_equal(result.y_pred, y_pred)
    assert result.accuracy == pytest.approx(skm.accuracy_score(y_true, y_pred))
    np.testing.assert_array_equal(result.confusion, skm.confusion_matrix(y_true, y_pred, labels=[0, 1, 2]))
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2], zero_division=0)
    np.testing.assert_allclose(result.precision, p)
    np.testing.assert_allclose(result.recall, r)
    np.testing.assert_allclose(result.f1, f)
    np.testing.assert_array_equal(result.support, s)
    assert result.macro_f1 == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", zero_division=0))
    np.testing.assert_array_equal(result.errors, np.flatnonzero(y_true != y_pred))
    assert result.per_class()[0]["class"] == "a" and "accuracy" in str(result)
    assert isinstance(result.plot(), Figure)


def test_evaluate_a_class_never_predicted_has_zero_precision():
    y_true = np.array([0, 1, 2, 2])
    scores = np.eye(3, dtype="float32")[[0, 1, 1, 1]]
    result = train.evaluate(fixed_classifier(), scores, y_true)
    assert result.precision[2] == 0 and result.recall[2] == 0 and result.f1[2] == 0
    assert result.class_names == ["0", "1", "2"]


def test_evaluate_dataset_and_errors():
    import tensorflow as tf

    y_true = np.array([0, 1, 2, 1, 0])
    scores = np.eye(3, dtype="float32")[[0, 1, 2, 2, 0]]
    result = train.evaluate(fixed_classifier(), tf.data.Dataset.from_tensor_slices((scores, y_true)).batch(2))
    assert result.accuracy == pytest.approx(0.8)
    with pytest.raises(ValueError, match=r"class_names must have 3 entries"):
        train.evaluate(fixed_classifier(), scores, y_true, class_names=["a", "b"])
    with pytest.raises(ValueError, match=r"y must be integer class ids in \[0, 2\]; received values from 0 to 5"):
        train.evaluate(fixed_classifier(), scores, np.array([0, 1, 2, 1, 5]))


def test_evaluate_binary_logit():
    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Identity()(inputs))
    result = train.evaluate(model, np.array([[-2.0], [0.5], [3.0]], "float32"), np.array([0, 0, 1]))
    np.testing.assert_array_equal(result.y_pred, [0, 1, 1])
    assert result.confusion.tolist() == [[1, 1], [0, 1]]


def test_history_plots_itself():
    x, y = separable(64)
    history = train.fit(tiny_model(), x, y, validation_data=(x, y), epochs=2, verbose=0)
    fig = history.plot()
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["accuracy", "loss"]


def test_augmentation_is_identity_at_inference_and_changes_training_images():
    augment = train.make_augmentation(flip="horizontal", shift=0.2, rotation=0.1, contrast=0.3, seed=0)
    images = np.random.default_rng(0).random((4, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(augment(images, training=False)), images)
    changed = keras.ops.convert_to_numpy(augment(images, training=True))
    assert changed.shape == images.shape and not np.allclose(changed, images)
    with pytest.raises(ValueError, match=r"flip must be one of .* received 'diagonal'"):
        train.make_augmentation(flip="diagonal")


def test_steps_per_execution_default_trains_the_same_weights():
    # Several steps per call into the graph is a speed setting only: the same batches in the same
    # order give the same weights as one step per call.
    x, y = separable(200)  # 200 / 32: 6 full batches and a smaller last one
    expected = 1 if keras.backend.backend() != "tensorflow" else train.STEPS_PER_EXECUTION
    fast = train.compile_model(tiny_model(seed=3), learning_rate=1e-2)
    assert fast.steps_per_execution == expected
    one = train.compile_model(tiny_model(seed=3), learning_rate=1e-2, steps_per_execution=1)
    assert one.steps_per_execution == 1  # the caller's choice wins
    for model in (fast, one):
        train.fit(model, x, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    for a, b in zip(fast.get_weights(), one.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- bad data refused before the first epoch


def test_monitoring_a_validation_metric_without_validation_data_is_refused_before_training():
    x, y = separable(32)
    model = train.compile_model(tiny_model())
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"monitor must be 'auto', 'loss' or a training metric when no validation "
                                         r"data is given \(pass validation_data=\(x_val, y_val\) or validation_split to "
                                         r"monitor 'val_loss'\); received 'val_loss'\."):
        train.fit(model, x, y, epochs=2, monitor="val_loss", verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # not one step was trained


@pytest.mark.parametrize("learning_rate", [float("nan"), float("inf"), -1.0])
def test_compile_refuses_a_learning_rate_that_is_not_a_positive_number(learning_rate):
    with pytest.raises(ValueError, match=r"learning_rate must be a positive number; received"):
        train.compile_model(tiny_model(), learning_rate=learning_rate)


def images(n=8, seed=0):
    return np.random.default_rng(seed).random((n, 4, 4, 1), dtype=np.float32)


def with_nan(x):
    x = x.copy()
    x[0, 0, 0, 0] = np.nan
    return x


@pytest.mark.parametrize("x, pattern", [
    ((images() * 255).astype(np.uint8), r"x must be float images in \[0, 1\]; received an array of shape \(8, 4, 4, 1\) "
                                        r"and dtype uint8 .*divide it by 255"),
    (images() * 255, r"x must be images with values in \[0, 1\]; received values from .* divide it by 255"),
    (with_nan(images()), r"x must contain finite numbers only; received 1 NaN or infinite values"),
])
def test_fit_and_evaluate_refuse_0_255_and_nan_images(x, pattern):
    y = np.arange(8) % 2
    with pytest.raises(ValueError, match=pattern):
        train.fit(tiny_model(), x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=pattern.replace("x must", "validation_data\\[0\\] must")):
        train.fit(tiny_model(), images(), y, validation_data=(x, y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=pattern):
        train.evaluate(train.compile_model(tiny_model()), x, y)


def test_fit_refuses_fractional_and_out_of_range_labels_but_takes_whole_floats():
    x = images()
    with pytest.raises(ValueError, match=r"y must be integer class ids in \[0, 1\] \(whole numbers\); received .* "
                                         r"fractional values such as 0\.9"):
        train.fit(tiny_model(), x, np.arange(8) % 2 + 0.9, epochs=1, verbose=0)  # 0.9 -> 0 must not happen
    with pytest.raises(ValueError, match=r"y must be integer class ids in \[0, 1\]; received values from 0 to 2 \(num_classes=2\)\."):
        train.fit(tiny_model(), x, np.arange(8) % 3, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data\[1\] must be integer class ids"):
        train.fit(tiny_model(), x, np.arange(8) % 2, validation_data=(x, np.full(8, 5)), epochs=1, verbose=0)
    history = train.fit(tiny_model(), x, (np.arange(8) % 2).astype(np.float32), epochs=1, verbose=0)
    assert history.epochs == 1


def test_fit_takes_signed_inputs_such_as_spectrograms():
    x, y = separable(32)  # normal noise, negative values: standardised images, log-mel spectrograms
    assert train.fit(tiny_model(), x * 10 - 5, y, epochs=1, verbose=0).epochs == 1
