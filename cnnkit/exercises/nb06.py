"""Exercises of notebook 06, Segmentation (``notebooks/06_segmentation.ipynb``); solutions in ``solutions/06_segmentation_solutions.ipynb``.

Every exercise trains (or reuses) a segmenter, so every check takes the
learner's model and verifies it by its properties: what it is built from
(``Conv2DTranspose`` layers in 06.1, the loss it was compiled with in 06.2,
logits at stride 2 on ``resnet_small`` in 06.3, the ``mobilenet_small``
architecture in 06.4), a test mean IoU above a bar on the notebook's test
scenes, which the check regenerates with the same ``data.load_scene_masks``
call, and the numbers the learner computed from the model (a checkerboard
score, the classes that lost IoU, the coin IoU on the photo), computed again
here from the model itself. The bars are those of a short training run (the
solutions train for a few epochs on fewer scenes than the notebook); in quick
mode they drop to "it runs", like the notebook's own checks. The "why" parts
are discussed in the solutions. The format and the recipe are in
``cnnkit.exercises`` and CONTRIBUTING.md ("Exercises and solutions").
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cnnkit.config import pick

# From the private modules, not from the package, which imports this module (no import cycle).
from cnnkit.exercises._checkers import describe
from cnnkit.exercises._core import TODO, NotAnswered, exercise, lazy

IMAGE_SIZE, NUM_CLASSES = 64, 7  # the notebook's scenes: background + six shapes
CLASS_NAMES = ("background", "circle", "square", "triangle", "cross", "ring", "star")
SCENE_SEED = 0  # data.load_scene_masks(..., image_size=64, seed=0): its test split is make_scenes(seed=2)


def num_test() -> int:
    """The notebook's number of test scenes (``N_TEST``), in this mode."""
    return pick(full=500, quick=64)


def min_miou(full: float) -> float:
    """A check's mean-IoU bar: ``full`` in full mode; in quick mode only the code runs (no bar).

    Quick mode trains for an epoch or two on a few scenes, which can leave a model below even
    the 0.121 of "background everywhere" (a pyramid decoder on JAX scored 0.046), so any bar
    there would only test luck.
    """
    return pick(full=full, quick=0.0)


# Bars of a short run (the solutions' budget: 1,024 scenes, 5 epochs per model); all-background scores 0.121.
UNET_MIN_MIOU, FPN_MIN_MIOU = 0.15, 0.13
BLANK_GREY = 0.5  # 06.1's image with nothing in it
INTERIOR = 8  # pixels left out at each border of 06.1's logit map (the zero padding's reach is not the point)
TOLERANCE = 1e-3  # 06.2: IoU differences smaller than this may count either way


def _test_scenes(n: int):
    from cnnkit import data  # lazily: registering stays cheap

    masks = data.load_scene_masks(num_train=1, num_val=1, num_test=n, image_size=IMAGE_SIZE, seed=SCENE_SEED)
    return masks.split("test")  # the same scenes as the notebook's x_test, y_test (seed + 2)


_SCENES: dict[int, tuple] = {}


def test_scenes() -> tuple[np.ndarray, np.ndarray]:
    """The notebook's test images and masks ``(x_test, y_test)``, generated on first use (cached per size)."""
    n = num_test()
    if n not in _SCENES:
        _SCENES[n] = _test_scenes(n)
    return _SCENES[n]


# ---------------------------------------------------------------- shared model checks


def _is_model(value) -> bool:
    import keras

    return isinstance(value, keras.Model)


def _require_segmenter(model, what: str) -> None:
    """A built keras Model from 64x64 RGB images to 7-class logits of the same size."""
    if not _is_model(model):
        raise AssertionError(f"Expected {what} as a keras Model. Received {describe(model)}.")
    if not model.built:
        raise AssertionError(f"Expected {what} built and trained. Received a model that has no weights yet.")
    shape = tuple(model.output_shape[1:])
    if shape != (IMAGE_SIZE, IMAGE_SIZE, NUM_CLASSES):
        raise AssertionError(f"Expected {what} to give logits of shape ({IMAGE_SIZE}, {IMAGE_SIZE}, {NUM_CLASSES}) "
                             f"on the notebook's {IMAGE_SIZE}x{IMAGE_SIZE} images (one score per class and pixel). "
                             f"Received a model with outputs of shape {shape}.")


def predicted_masks(model, x, batch_size: int = 50) -> np.ndarray:
    """Class ids ``(N, H, W)``: argmax of ``model(x, training=False)``, batch by batch.

    Direct calls rather than ``model.predict``: checking several models in a row
    then builds no prediction functions (no retracing warnings in the notebook).
    """
    import keras

    return np.concatenate([np.argmax(keras.ops.convert_to_numpy(model(x[i:i + batch_size], training=False)), -1)
                           for i in range(0, len(x), batch_size)]).astype(np.int32)


def test_iou(model, what: str) -> np.ndarray:
    """IoU per class of ``model`` on the notebook's test scenes (NaN for a class absent from both); errors become the message."""
    from cnnkit import segmentation

    x, y = test_scenes()
    try:
        predicted = predicted_masks(model, x)
    except Exception as error:  # the learner's model: report what it raised
        raise AssertionError(f"Expected {what} to segment the {len(x)} test images of shape {x.shape[1:]}. "
                             f"Received an error: {type(error).__name__}: {str(error)[:300]}") from None
    return segmentation.iou_per_class(segmentation.confusion_matrix(y, predicted, NUM_CLASSES))


def _require_trained(model, what: str, bar_full: float):
    bar, iou = min_miou(bar_full), test_iou(model, what)
    miou, n = float(np.nanmean(iou)), num_test()
    if not miou >= bar:
        raise AssertionError(f"Expected {what} trained to a test mean IoU of at least {bar:.2f} on the notebook's "
                             f"{n} test scenes (predicting background everywhere gives 0.12). Received {miou:.3f}.")
    return f"test mean IoU {miou:.3f} on {n} test scenes (the bar: {bar:.2f})", iou


def _parts(answer, keys, what: str) -> None:
    if not isinstance(answer, Mapping) or set(keys) - set(answer):
        raise AssertionError(f"Expected {what} as a dict with the keys {list(keys)}. Received {describe(answer)}.")


def _number(value, what: str) -> float:
    try:
        number = float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        raise AssertionError(f"Expected {what} as a single number. Received {describe(value)}.") from None
    if not np.isfinite(number):
        raise AssertionError(f"Expected {what} as a finite number. Received {describe(number)}.")
    return number


def _layer_classes(model) -> set[str]:
    """The class names of every layer of ``model``, nested models included."""
    import keras

    names = set()
    for layer in model.layers:
        names.add(type(layer).__name__)
        if isinstance(layer, keras.Model):
            names |= _layer_classes(layer)
    return names


# ---------------------------------------------------------------- 06.1 transposed convolutions


def checkerboard(model) -> float:
    """06.1's score: how much of the background logit's variation, on a blank grey image, repeats every 2 pixels.

    The background logit ``L`` (channel 0) of the 64x64 image of constant grey 0.5,
    without its 8-pixel border; the means of its four 2x2 phases ``L[i::2, j::2]``;
    the score is (largest phase mean - smallest) / ``L.std()`` (0 for a flat map).
    """
    import keras

    blank = np.full((1, IMAGE_SIZE, IMAGE_SIZE, 3), BLANK_GREY, np.float32)
    logits = keras.ops.convert_to_numpy(model(blank, training=False))[0, INTERIOR:-INTERIOR, INTERIOR:-INTERIOR, 0]
    phases = [logits[i::2, j::2].mean() for i in (0, 1) for j in (0, 1)]
    spread = float(logits.astype(np.float64).std())
    return 0.0 if spread == 0 else float((max(phases) - min(phases)) / spread)


def _tiny_transposed(seed: int):
    """A small model with a transposed convolution, weights set by hand, for the tests' example answers.

    The logits layer's bias favours background by 10, so it labels every pixel
    background, which scores the all-background mIoU (0.12, above the
    quick-mode bar) without any training.
    """
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="down")(inputs)
    x = keras.layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu", name="up_transpose")(x)
    logits = keras.layers.Conv2D(NUM_CLASSES, 1, name="logits")(x)
    model = keras.Model(inputs, logits, name="tiny_transpose")
    layer = model.get_layer("logits")
    kernel, _ = layer.get_weights()
    layer.set_weights([0.1 * kernel, np.eye(NUM_CLASSES, dtype=np.float32)[0] * 10.0])
    return model


def _pixel_model(weights, bias, name: str):
    """A 1x1 convolution on the RGB pixels with the given weights ``(3, classes)``: a segmenter by colour alone."""
    import keras

    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    logits = keras.layers.Conv2D(NUM_CLASSES, 1, name="logits")(inputs)
    model = keras.Model(inputs, logits, name=name)
    model.get_layer("logits").set_weights([np.asarray(weights, np.float32)[None, None], np.asarray(bias, np.float32)])
    return model


def _whole_map_checkerboard(model) -> float:
    """A typical slip: the score of 06.1 on the whole map, border included."""
    import keras

    blank = np.full((1, IMAGE_SIZE, IMAGE_SIZE, 3), BLANK_GREY, np.float32)
    logits = keras.ops.convert_to_numpy(model(blank, training=False))[0, ..., 0]
    phases = [logits[i::2, j::2].mean() for i in (0, 1) for j in (0, 1)]
    return float((max(phases) - min(phases)) / logits.std())


def _example_06_1(right: bool):
    model = _tiny_transposed(seed=61)
    return {"model": model, "checkerboard": checkerboard(model) if right else _whole_map_checkerboard(model)}


@exercise("06.1", title="Transposed convolutions in a U-Net", level=2, minutes=30,
          correct=lazy(lambda: _example_06_1(True)), wrong=lazy(lambda: _example_06_1(False)),
          hint="Build the U-Net with create_model('unet_small', ..., upsampling='transpose') and train it with "
               "train_segmenter. For the score: L = model(blank, training=False)[0, 8:-8, 8:-8, 0] (the logits, "
               "not the probabilities), the four means L[i::2, j::2], then (max - min) / L.std().")
def _(answer):
    _parts(answer, ("model", "checkerboard"), "your answer")
    model, what = answer["model"], "your transposed-convolution U-Net"
    if model is TODO or answer["checkerboard"] is TODO:
        raise NotAnswered()
    _require_segmenter(model, what)
    if "Conv2DTranspose" not in _layer_classes(model):
        raise AssertionError(f"Expected {what} to upsample with transposed convolutions (upsampling='transpose'). "
                             f"Received a model with no Conv2DTranspose layer ({model.name!r}).")
    trained, _ = _require_trained(model, what, UNET_MIN_MIOU)
    score = _number(answer["checkerboard"], "the checkerboard score")
    if not np.isclose(score, checkerboard(model), rtol=1e-2, atol=1e-3):
        raise AssertionError("Expected the checkerboard score of your model's background logit on the blank image "
                             "(8-pixel border left out) within 1% of the value computed again from your model. "
                             f"Received {describe(score)}.")
    return f"{trained}; checkerboard score computed again from your model"


# ---------------------------------------------------------------- 06.2 cross-entropy alone


def _loss_problem(loss) -> str | None:
    """None when ``loss`` is per-pixel cross-entropy on logits alone, else what it is instead."""
    import keras

    from cnnkit import segmentation

    if loss is None:
        return "a model that was never compiled"
    if isinstance(loss, (segmentation.CrossEntropyDice, segmentation.DiceLoss)):
        return f"a model compiled with {type(loss).__name__}"
    if isinstance(loss, keras.losses.SparseCategoricalCrossentropy):
        if not loss.get_config().get("from_logits", False):
            return ("a model compiled with SparseCategoricalCrossentropy(from_logits=False), which expects "
                    "probabilities, while the U-Net gives logits")
        return None
    if isinstance(loss, str):
        return f"a model compiled with loss={loss!r} (a loss named by a string expects probabilities, not logits)"
    return f"a model compiled with {getattr(loss, '__name__', type(loss).__name__)}"


def lost_classes(model, baseline, model_iou=None) -> tuple[set, set]:
    """(classes whose test IoU is lower with ``model`` than with ``baseline`` by more than TOLERANCE, those within it).

    ``model_iou``: ``model``'s test IoU per class when it is already computed.
    """
    new = test_iou(model, "your model") if model_iou is None else model_iou
    old = test_iou(baseline, "the baseline U-Net")
    new, old = np.nan_to_num(new, nan=1.0), np.nan_to_num(old, nan=1.0)  # absent from truth and prediction: no loss
    lost = {c for c, a, b in zip(CLASS_NAMES, new, old) if a < b - TOLERANCE}
    close = {c for c, a, b in zip(CLASS_NAMES, new, old) if abs(a - b) <= TOLERANCE}
    return lost, close


def _example_06_2(right: bool):
    """Hand-set models: the baseline labels everything background; the other paints bright-red pixels 'circle'."""
    from cnnkit import segmentation

    weights, bias = np.zeros((3, NUM_CLASSES)), np.full(NUM_CLASSES, -100.0)
    bias[0] = 0.0
    baseline = _pixel_model(weights, bias, "all_background")
    weights[0, 1], bias[1] = 20.0, -12.0  # circle where red > 0.6
    model = _pixel_model(weights, bias, "red_is_circle")
    for m, loss in ((baseline, segmentation.CrossEntropyDice()), (model, segmentation.pixel_cross_entropy())):
        m.compile(optimizer="adam", loss=loss)
    lost, _ = lost_classes(model, baseline)
    answer = sorted(lost) if right else [c for c in CLASS_NAMES[1:] if c not in lost]
    return {"model": model, "baseline": baseline, "lost_classes": answer}


@exercise("06.2", title="Cross-entropy alone", level=2, minutes=30,
          correct=lazy(lambda: _example_06_2(True)), wrong=lazy(lambda: _example_06_2(False)),
          hint="Compile a fresh resize U-Net as train_segmenter does but with loss=segmentation.pixel_cross_entropy(); "
               "then compare segmentation.evaluate(...).iou of the two models class by class on x_test, y_test, and "
               "list the names (CLASSES) whose IoU went down.")
def _(answer):
    _parts(answer, ("model", "baseline", "lost_classes"), "your answer")
    model, baseline, named = answer["model"], answer["baseline"], answer["lost_classes"]
    if TODO in (model, named) or baseline is TODO:
        raise NotAnswered()
    what = "your U-Net trained with cross-entropy alone"
    _require_segmenter(model, what)
    _require_segmenter(baseline, "the baseline (the notebook's U-Net, trained with CrossEntropyDice)")
    if model is baseline:
        raise AssertionError("Expected two different models: yours, trained with cross-entropy alone, and the "
                             "notebook's U-Net as the baseline. Received the same model twice.")
    problem = _loss_problem(getattr(model, "loss", None))
    if problem:
        raise AssertionError(f"Expected {what}: compiled with segmentation.pixel_cross_entropy() and nothing else. "
                             f"Received {problem}.")
    if model.count_params() != baseline.count_params():
        raise AssertionError(f"Expected {what} to have the architecture of the baseline U-Net "
                             f"({baseline.count_params():,} parameters), so that only the loss differs. "
                             f"Received a model with {model.count_params():,} parameters.")
    trained, iou = _require_trained(model, what, UNET_MIN_MIOU)
    if isinstance(named, str) or not isinstance(named, (list, tuple, set)) or \
            not all(isinstance(c, str) for c in named) or set(named) - set(CLASS_NAMES):
        raise AssertionError(f"Expected lost_classes as a list of class names from CLASSES "
                             f"({', '.join(CLASS_NAMES)}). Received {describe(named)}.")
    lost, close = lost_classes(model, baseline, iou)
    missing, extra = lost - set(named), set(named) - lost - close
    if missing or extra:
        parts = ([f"{len(missing)} class{'es' if len(missing) > 1 else ''} whose IoU went down "
                  f"{'are' if len(missing) > 1 else 'is'} missing"] if missing else []) + \
                ([f"{len(extra)} listed class{'es' if len(extra) > 1 else ''} did not lose IoU"] if extra else [])
        raise AssertionError(f"Expected lost_classes to name every class whose test IoU is lower with your model "
                             f"than with the baseline (differences under {TOLERANCE:g} may go either way). "
                             f"Received {describe(list(named))}: {' and '.join(parts)}.")
    return f"{trained}; the classes that lost IoU are right"


# ---------------------------------------------------------------- 06.3 / 06.4 pyramid decoders


def fpn_params(backbone: str, levels=("P2", "P3", "P4", "P5")) -> int:
    """Parameters of ``fpn_seg`` on ``backbone`` with these levels (the notebook's other arguments)."""
    from cnnkit.models import create_model

    model = create_model("fpn_seg", num_classes=NUM_CLASSES, input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
                         backbone=backbone, levels=levels)
    return int(model.count_params())


_PARAMS: dict[tuple, int] = {}


def _reference_params(backbone: str, levels) -> int:
    key = (backbone, tuple(levels))
    if key not in _PARAMS:
        _PARAMS[key] = fpn_params(backbone, levels)
    return _PARAMS[key]


P1_LEVELS = ("P1", "P2", "P3", "P4", "P5")


def logit_stride(model) -> int | None:
    """The stride of an ``fpn_seg``'s logits before their final resize (None for a model without that head)."""
    try:
        head = model.get_layer("head_logits")
    except ValueError:
        return None
    height = head.output.shape[1]
    return None if not height else IMAGE_SIZE // int(height)


def _require_fpn(model, what: str, backbone: str, levels, stride: int) -> None:
    _require_segmenter(model, what)
    found = logit_stride(model)
    if found is None:
        raise AssertionError(f"Expected {what} built with create_model('fpn_seg', ...). Received a model "
                             f"without fpn_seg's head ({model.name!r}).")
    if found != stride:
        raise AssertionError(f"Expected {what} to compute its logits at stride {stride} (levels "
                             f"{levels[0]}-{levels[-1]}) before the final resize. Received a model whose logits are "
                             f"at stride {found}.")
    count, reference = int(model.count_params()), _reference_params(backbone, levels)
    if count != reference:
        raise AssertionError(f"Expected {what} to be fpn_seg on backbone={backbone!r} with its other arguments "
                             f"left at their defaults. Received a model with {count:,} parameters, which is not that architecture.")


def _example_fpn(backbone: str, levels):
    """An fpn_seg of the right architecture whose logits favour background (no training), or the wrong one."""
    import keras

    from cnnkit.models import create_model

    keras.utils.set_random_seed(63)
    model = create_model("fpn_seg", num_classes=NUM_CLASSES, input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
                         backbone=backbone, levels=levels)
    layer = model.get_layer("head_logits")
    kernel, bias = layer.get_weights()
    layer.set_weights([0.01 * kernel, np.eye(NUM_CLASSES, dtype=np.float32)[0] * 10.0])
    return model


@exercise("06.3", title="Logits at stride 2", level=3, minutes=40,
          correct=lazy(lambda: _example_fpn("resnet_small", P1_LEVELS)),
          wrong=lazy(lambda: _example_fpn("resnet_small", ("P2", "P3", "P4", "P5"))),
          hint="create_model('fpn_seg', num_classes=NUM_CLASSES, input_shape=(64, 64, 3), backbone='resnet_small', "
               "levels=('P1', 'P2', 'P3', 'P4', 'P5')), trained with train_segmenter; the default levels stop at P2 "
               "(stride 4).")
def _(answer):
    what = "your model"
    _require_fpn(answer, what, "resnet_small", P1_LEVELS, stride=2)
    return f"logits at stride 2 on resnet_small; {_require_trained(answer, what, FPN_MIN_MIOU)[0]}"


@exercise("06.4", title="A MobileNet backbone", level=1, minutes=20,
          correct=lazy(lambda: _example_fpn("mobilenet_small", ("P2", "P3", "P4", "P5"))),
          wrong=lazy(lambda: _example_fpn("resnet_small", ("P2", "P3", "P4", "P5"))),
          hint="The same create_model('fpn_seg', ...) call as section 7 with backbone='mobilenet_small' "
               "(and the default levels), trained with train_segmenter.")
def _(answer):
    what = "your model"
    _require_fpn(answer, what, "mobilenet_small", ("P2", "P3", "P4", "P5"), stride=4)
    return f"fpn_seg on mobilenet_small; {_require_trained(answer, what, FPN_MIN_MIOU)[0]}"


# ---------------------------------------------------------------- 06.5 coins


_COINS: list = []


def coins_64() -> tuple[np.ndarray, np.ndarray]:
    """``data.load_coins_mask(size=64)``: the coins photo at 64x64 and its derived mask (cached)."""
    if not _COINS:
        from cnnkit import data

        _COINS.append(data.load_coins_mask(size=IMAGE_SIZE))
    return _COINS[0]


def coin_iou(model) -> float:
    """IoU of the 'coin' class on the 64x64 coins photo, a pixel counting as coin when ``model`` gives it any shape."""
    from cnnkit import segmentation

    image, mask = coins_64()
    predicted = (predicted_masks(model, image[None])[0] > 0).astype(np.int32)
    return float(segmentation.iou_per_class(segmentation.confusion_matrix(mask, predicted, 2))[1])


def otsu_coin_iou() -> float:
    """IoU of 'coin' for Otsu's threshold on the same 64x64 photo (section 3's recipe)."""
    from skimage.filters import threshold_otsu

    from cnnkit import segmentation

    image, mask = coins_64()
    grey = image[..., 0]
    predicted = (grey > threshold_otsu(grey)).astype(np.int32)
    return float(segmentation.iou_per_class(segmentation.confusion_matrix(mask, predicted, 2))[1])


def _circle_only_iou(model) -> float:
    """A typical slip: only the 'circle' class counted as coin."""
    from cnnkit import segmentation

    image, mask = coins_64()
    predicted = (predicted_masks(model, image[None])[0] == 1).astype(np.int32)
    return float(segmentation.iou_per_class(segmentation.confusion_matrix(mask, predicted, 2))[1])


def _example_06_5(right: bool):
    """A hand-set model that paints grey pixels brighter than 0.5 'circle' and brighter than 0.7 'ring'."""
    weights, bias = np.zeros((3, NUM_CLASSES)), np.full(NUM_CLASSES, -100.0)
    bias[0] = 0.0
    weights[:, 1], bias[1] = 10.0, -15.0  # 30 (g - 0.5) on a grey pixel g
    weights[:, 5], bias[5] = 20.0, -36.0  # above the circle logit when g > 0.7
    model = _pixel_model(weights, bias, "bright_is_coin")
    iou = coin_iou(model) if right else _circle_only_iou(model)
    return {"model": model, "coin_iou": iou, "beats_otsu": coin_iou(model) > otsu_coin_iou()}


@exercise("06.5", title="Shapes model, coins photo", level=2, minutes=20,
          correct=lazy(lambda: _example_06_5(True)), wrong=lazy(lambda: _example_06_5(False)),
          hint="coins64, mask64 = data.load_coins_mask(size=64); coin = segmentation.predict_masks(unet, "
               "coins64[None])[0] > 0 (any shape class counts as coin); then segmentation.iou_per_class of the "
               "2-class confusion matrix, and the same for Otsu's threshold on coins64[..., 0].")
def _(answer):
    _parts(answer, ("model", "coin_iou", "beats_otsu"), "your answer")
    model = answer["model"]
    if model is TODO:
        raise NotAnswered()
    _require_segmenter(model, "the trained U-Net (unet)")
    wrong = []
    iou = _number(answer["coin_iou"], "coin_iou")
    if not np.isclose(iou, coin_iou(model), rtol=0, atol=1e-3):
        wrong.append("coin_iou: Expected the IoU of 'coin' on the 64x64 coins photo, a pixel counting as coin when "
                     f"the model gives it any shape class, within 0.001 of the value computed again from the model. "
                     f"Received {describe(iou)}.")
    beats = answer["beats_otsu"]
    if not isinstance(beats, (bool, np.bool_)):
        wrong.append(f"beats_otsu: Expected True or False. Received {describe(beats)}.")
    elif bool(beats) != (coin_iou(model) > otsu_coin_iou()):
        wrong.append("beats_otsu: Expected whether the model's coin IoU is higher than that of Otsu's threshold on "
                     f"the same 64x64 photo. Received {beats}.")
    if wrong:
        raise AssertionError(f"{len(wrong)} of 2 parts {'is' if len(wrong) == 1 else 'are'} wrong.\n" + "\n".join(wrong))
    return "coin IoU and the comparison with Otsu's threshold computed again from the model"
