"""cnnkit.segmentation: per-pixel losses, confusion matrix, IoU and evaluation, checked against Keras's metrics."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnkit import segmentation as seg

# ---------------------------------------------------------------- NumPy references


def softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def dice_reference(y_true, probs, smooth=1.0, include_background=True):
    """Per-image 1 - mean-over-classes soft Dice, written with explicit loops over images and classes."""
    n, c = len(y_true), probs.shape[-1]
    losses = []
    for i in range(n):
        dices = []
        for k in range(c if include_background else c - 1):
            k = k if include_background else k + 1
            t = (y_true[i] == k).astype(np.float64)
            p = probs[i, ..., k].astype(np.float64)
            dices.append((2 * np.sum(p * t) + smooth) / (np.sum(p) + np.sum(t) + smooth))
        losses.append(1 - np.mean(dices))
    return np.array(losses)


def random_case(seed=0, n=3, h=5, w=6, c=4):
    rng = np.random.default_rng(seed)
    return rng.integers(0, c, size=(n, h, w)), rng.normal(size=(n, h, w, c)).astype(np.float32) * 2


# ---------------------------------------------------------------- metrics on hand cases


def test_confusion_matrix_and_iou_on_a_hand_case():
    y_true = np.array([[0, 0, 1, 1], [2, 2, 2, 0]])
    y_pred = np.array([[0, 1, 1, 1], [2, 2, 0, 0]])
    confusion = seg.confusion_matrix(y_true, y_pred, 3)
    assert confusion.tolist() == [[2, 1, 0], [0, 2, 0], [1, 0, 2]]
    # class 0: TP 2, FP 1, FN 1 -> 2/4; class 1: TP 2, FP 1, FN 0 -> 2/3; class 2: TP 2, FP 0, FN 1 -> 2/3
    np.testing.assert_allclose(seg.iou_per_class(confusion), [0.5, 2 / 3, 2 / 3])
    assert seg.mean_iou(y_true, y_pred, 3) == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    assert seg.pixel_accuracy(y_true, y_pred) == pytest.approx(6 / 8)


def test_a_class_absent_from_labels_and_predictions_is_left_out_of_the_mean():
    y_true = np.array([[0, 0, 1, 1]])
    y_pred = np.array([[0, 1, 1, 1]])
    iou = seg.iou_per_class(seg.confusion_matrix(y_true, y_pred, 4))
    assert np.isnan(iou[2]) and np.isnan(iou[3])
    assert seg.mean_iou(y_true, y_pred, 4) == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_predicting_background_everywhere_has_high_pixel_accuracy_but_low_mean_iou():
    y_true = np.zeros((1, 10, 10), int)
    y_true[0, :2, :5] = 1  # 10 % of the pixels are an object
    y_pred = np.zeros_like(y_true)
    assert seg.pixel_accuracy(y_true, y_pred) == pytest.approx(0.9)
    assert seg.mean_iou(y_true, y_pred, 2) == pytest.approx((0.9 + 0.0) / 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mean_iou_matches_keras_mean_iou_and_iou(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, size=(4, 8, 8))
    y_pred = np.where(rng.random((4, 8, 8)) < 0.6, y_true, rng.integers(0, 4, size=(4, 8, 8)))
    y_pred[y_pred == 3] = 2  # class 3 is never predicted: IoU 0, still counted (it occurs in y_true)
    keras_miou = keras.metrics.MeanIoU(num_classes=5)  # class 4 occurs nowhere: left out by both
    keras_miou.update_state(y_true, y_pred)
    assert seg.mean_iou(y_true, y_pred, 5) == pytest.approx(float(keras_miou.result()), abs=1e-6)
    ours = seg.iou_per_class(seg.confusion_matrix(y_true, y_pred, 5))
    for c in range(4):
        one = keras.metrics.IoU(num_classes=5, target_class_ids=[c])
        one.update_state(y_true, y_pred)
        assert ours[c] == pytest.approx(float(one.result()), abs=1e-6)
    assert ours[3] == 0.0


def test_keras_compile_metrics_on_logits_match_the_numpy_metrics():
    y_true, logits = random_case(seed=3)
    miou, accuracy = seg.segmentation_metrics(4)
    miou.update_state(y_true, logits)
    accuracy.update_state(y_true, logits)
    y_pred = logits.argmax(-1)
    assert float(miou.result()) == pytest.approx(seg.mean_iou(y_true, y_pred, 4), abs=1e-6)
    assert float(accuracy.result()) == pytest.approx(seg.pixel_accuracy(y_true, y_pred), abs=1e-6)
    assert miou.name == "mean_iou" and miou._direction == "up"  # early stopping on val_mean_iou maximises it


def test_per_image_mean_iou_matches_one_computation_per_image():
    y_true, logits = random_case(seed=4, n=5)
    y_pred = logits.argmax(-1)
    expected = [seg.mean_iou(t, p, 4) for t, p in zip(y_true, y_pred)]
    np.testing.assert_allclose(seg.per_image_mean_iou(y_true, y_pred, 4, classes="union"), expected)


def test_per_image_mean_iou_averages_over_the_true_classes_by_default():
    y_true = np.zeros((1, 4, 4), int)
    y_true[0, :2] = 1                        # classes 0 and 1, 8 pixels each
    y_pred = y_true.copy()
    y_pred[0, 3, 3] = 2                      # one stray pixel of a class the image does not hold
    by_truth = seg.per_image_mean_iou(y_true, y_pred, 3)
    assert by_truth.tolist() == [pytest.approx((7 / 8 + 1) / 2)]   # class 0 lost a pixel; class 2 not averaged
    assert seg.per_image_mean_iou(y_true, y_pred, 3, classes="union").tolist() == [pytest.approx((7 / 8 + 1 + 0) / 3)]
    with pytest.raises(ValueError, match="classes"):
        seg.per_image_mean_iou(y_true, y_pred, 3, classes="pred")


def test_metrics_reject_bad_masks():
    with pytest.raises(ValueError, match="same shape"):
        seg.confusion_matrix(np.zeros((2, 3), int), np.zeros((2, 4), int), 2)
    with pytest.raises(ValueError, match=r"class ids in \[0, 1\]"):
        seg.confusion_matrix(np.array([[0, 2]]), np.array([[0, 1]]), 2)
    with pytest.raises(ValueError, match="integer class ids"):
        seg.mean_iou(np.zeros((2, 2)), np.zeros((2, 2)), 2)  # floats: probably logits or probabilities
    with pytest.raises(ValueError, match="num_classes"):
        seg.confusion_matrix([[0]], [[0]], 0)
    with pytest.raises(ValueError, match="square"):
        seg.iou_per_class(np.zeros((2, 3)))


# ---------------------------------------------------------------- losses


def test_pixel_cross_entropy_is_the_mean_over_pixels_of_minus_log_softmax():
    y_true, logits = random_case(seed=5)
    probs = softmax(logits.astype(np.float64))
    expected = -np.mean(np.log(np.take_along_axis(probs, y_true[..., None], axis=-1)))
    assert float(seg.pixel_cross_entropy()(y_true, logits)) == pytest.approx(expected, rel=1e-5)


def test_pixel_cross_entropy_can_ignore_a_void_label():
    y_true, logits = random_case(seed=6, c=3)
    y_true = np.where(np.random.default_rng(0).random(y_true.shape) < 0.3, 255, y_true)
    probs = softmax(logits.astype(np.float64))
    keep = y_true != 255
    picked = np.take_along_axis(probs, np.where(keep, y_true, 0)[..., None], axis=-1)[..., 0]
    expected = -np.sum(np.log(picked) * keep) / keep.sum()
    assert float(seg.pixel_cross_entropy(ignore_class=255)(y_true, logits)) == pytest.approx(expected, rel=1e-5)


def test_dice_loss_on_a_hand_case():
    # One 1x2 image, 2 classes; labels [0, 1]; probabilities of class 1: [0.25, 0.75].
    probs = np.array([[[[0.75, 0.25], [0.25, 0.75]]]], np.float32)
    y_true = np.array([[[0, 1]]])
    # class 0: 2*0.75 / (1.0 + 1) ; class 1: the same by symmetry -> Dice 0.75 each (smooth 0)
    loss = seg.DiceLoss(from_logits=False, smooth=0.0)
    assert float(loss(y_true, probs)) == pytest.approx(0.25)
    # smooth 1: (1.5 + 1) / (2 + 1) = 5/6 for each class
    assert float(seg.DiceLoss(from_logits=False)(y_true, probs)) == pytest.approx(1 / 6, rel=1e-6)


@pytest.mark.parametrize("include_background", [True, False])
def test_dice_loss_matches_the_loop_reference(include_background):
    y_true, logits = random_case(seed=7)
    expected = dice_reference(y_true, softmax(logits.astype(np.float64)), include_background=include_background)
    loss = seg.DiceLoss(include_background=include_background)
    assert float(loss(y_true, logits)) == pytest.approx(expected.mean(), rel=1e-5)
    per_image = seg.DiceLoss(include_background=include_background, reduction=None)(y_true, logits)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(per_image), expected, rtol=1e-5)


def test_dice_loss_is_zero_for_a_perfect_confident_prediction_and_large_for_a_wrong_one():
    y_true = np.array([[[0, 1], [2, 2]]])
    right = np.eye(3, dtype=np.float32)[y_true] * 50.0
    wrong = np.eye(3, dtype=np.float32)[(y_true + 1) % 3] * 50.0
    assert float(seg.DiceLoss()(y_true, right)) == pytest.approx(0.0, abs=1e-6)
    assert float(seg.DiceLoss(smooth=0.0)(y_true, wrong)) == pytest.approx(1.0, abs=1e-6)


def test_cross_entropy_dice_is_the_weighted_sum_of_its_parts():
    y_true, logits = random_case(seed=8)
    ce = float(seg.pixel_cross_entropy()(y_true, logits))
    dice = float(seg.DiceLoss()(y_true, logits))
    assert float(seg.CrossEntropyDice(dice_weight=0.5)(y_true, logits)) == pytest.approx(ce + 0.5 * dice, rel=1e-5)
    assert float(seg.CrossEntropyDice(dice_weight=0.0)(y_true, logits)) == pytest.approx(ce, rel=1e-5)


def test_losses_serialize_and_validate():
    for loss in (seg.DiceLoss(smooth=0.5, include_background=False), seg.CrossEntropyDice(dice_weight=2.0)):
        again = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
    with pytest.raises(ValueError, match="smooth"):
        seg.DiceLoss(smooth=-1)
    with pytest.raises(ValueError, match="from_logits"):
        seg.DiceLoss(from_logits="yes")
    with pytest.raises(ValueError, match="dice_weight"):
        seg.CrossEntropyDice(dice_weight=-0.1)


# ---------------------------------------------------------------- evaluate


def test_evaluate_reads_the_argmax_of_the_model_outputs():
    rng = np.random.default_rng(9)
    y_true = rng.integers(0, 3, size=(5, 4, 4))
    y_pred = np.where(rng.random((5, 4, 4)) < 0.7, y_true, 0)
    logits = np.eye(3, dtype=np.float32)[y_pred]  # one-hot "images" in [0, 1]: 0-255 ones are refused
    identity = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Identity()])  # "predicts" its input
    result = seg.evaluate(identity, logits, y_true, class_names=["bg", "a", "b"], batch_size=2)
    np.testing.assert_array_equal(result.y_pred, y_pred)
    assert result.mean_iou == pytest.approx(seg.mean_iou(y_true, y_pred, 3))
    assert result.pixel_accuracy == pytest.approx(seg.pixel_accuracy(y_true, y_pred))
    np.testing.assert_allclose(result.image_miou, seg.per_image_mean_iou(y_true, y_pred, 3))
    assert result.image_miou[result.worst[0]] == result.image_miou.min()
    assert "mean IoU" in str(result) and result.plot() is not None
    with pytest.raises(ValueError, match="class_names"):
        seg.evaluate(identity, logits, y_true, class_names=["bg"])
    with pytest.raises(ValueError, match="y must be masks \\(N, H, W\\) matching the images x"):
        seg.evaluate(identity, logits, y_true[:, :2])


def test_pixel_accuracy_refuses_float_probabilities_as_mean_iou_does():
    y_true = np.zeros((2, 4, 4), dtype=np.int64)
    probabilities = np.random.default_rng(0).random((2, 4, 4))
    for metric in (lambda: seg.pixel_accuracy(y_true, probabilities), lambda: seg.mean_iou(y_true, probabilities, 2)):
        with pytest.raises(TypeError, match=r"y_pred must be integer class ids .*; received an array of shape "
                                            r"\(2, 4, 4\) and dtype float64 \(scores\? take the argmax"):
            metric()
    with pytest.raises(ValueError, match=r"y_true must be integer class ids >= 0; received values from -1 to 0"):
        seg.pixel_accuracy(np.where(np.arange(4) == 0, -1, y_true), y_true)
    assert seg.pixel_accuracy(y_true, y_true) == 1.0


@pytest.mark.parametrize("images, pattern", [
    (np.full((2, 4, 4, 3), 200, np.uint8), r"x must be float images in \[0, 1\].*divide it by 255"),
    (np.full((2, 4, 4, 3), 200.0, np.float32), r"x must be images with values in \[0, 1\].*divide it by 255"),
    (np.full((2, 4, 4, 3), np.nan, np.float32), r"x must contain finite numbers only"),
])
def test_evaluate_refuses_0_255_and_nan_images(images, pattern):
    identity = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Identity()])
    with pytest.raises(ValueError, match=pattern):
        seg.evaluate(identity, images, np.zeros((2, 4, 4), np.int64))
