"""cnnkit.detection.losses against Keras's own losses and hand values."""

import keras
import numpy as np
import pytest

from cnnkit.detection import losses as L
from cnnkit.detection.anchors import BACKGROUND, IGNORE


def test_focal_loss_matches_keras_binary_focal_crossentropy():
    rng = np.random.default_rng(0)
    labels = (rng.random((5, 7)) < 0.3).astype("float32")
    logits = rng.normal(0, 3, size=(5, 7)).astype("float32")
    ours = np.asarray(L.sigmoid_focal_loss(labels, logits, alpha=0.25, gamma=2.0))
    reference = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0,
                                                     from_logits=True, reduction=None)
    # Keras averages over the last axis; compare the same mean.
    np.testing.assert_allclose(ours.mean(axis=-1), np.asarray(reference(labels, logits)), rtol=1e-4, atol=1e-6)


def test_focal_loss_with_gamma_zero_is_weighted_cross_entropy():
    labels = np.array([1.0, 0.0], np.float32)
    logits = np.array([0.3, -1.2], np.float32)
    p = 1 / (1 + np.exp(-logits))
    expected = [-0.25 * np.log(p[0]), -0.75 * np.log(1 - p[1])]
    np.testing.assert_allclose(np.asarray(L.sigmoid_focal_loss(labels, logits, gamma=0.0)), expected, rtol=1e-5)


def test_smooth_l1_is_huber_divided_by_beta():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 4)).astype("float32"), rng.normal(size=(6, 4)).astype("float32")
    beta = 0.5
    huber = keras.losses.Huber(delta=beta, reduction=None)(a, b)  # mean over the last axis
    np.testing.assert_allclose(np.asarray(L.smooth_l1(a, b, beta=beta)), np.asarray(huber) * 4 / beta, rtol=1e-5)


def test_giou_hand_values():
    a = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 1, 1]], np.float32)
    b = np.array([[0, 0, 2, 2], [1, 0, 3, 2], [2, 0, 3, 1]], np.float32)
    # equal: 1; half overlap: IoU 1/3, enclosing 6 = union -> 1/3; disjoint with a gap of 1: 0 - (3 - 2) / 3.
    np.testing.assert_allclose(np.asarray(L.giou(a, b)), [1.0, 1 / 3, -1 / 3], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(L.giou_loss(a, b)), [0.0, 2 / 3, 4 / 3], rtol=1e-5, atol=1e-6)


def test_detection_loss_normalises_by_positives_and_skips_ignored_anchors():
    num_classes = 3
    class_targets = np.array([[1, BACKGROUND, IGNORE, BACKGROUND]])
    logits = np.zeros((1, 4, num_classes), np.float32)
    box_t = np.zeros((1, 4, 4), np.float32)
    box_p = np.zeros((1, 4, 4), np.float32)
    box_p[0, 0] = [1.0, 0, 0, 0]  # positive anchor: smooth-L1 of 1 with beta 1/9 is 1 - 1/18
    box_p[0, 1] = [5.0, 5, 5, 5]  # background anchor: its box error must not count
    total, cls, box = L.detection_loss(box_t, class_targets, box_p, logits, num_classes)
    focal_at_zero = {1: 0.25 * 0.25 * np.log(2), 0: 0.75 * 0.25 * np.log(2)}  # p = 0.5 for every logit
    expected_cls = (focal_at_zero[1] + 2 * focal_at_zero[0]) + 3 * focal_at_zero[0] + 3 * focal_at_zero[0]
    assert float(cls) == pytest.approx(expected_cls, rel=1e-5)  # 3 anchors count (one ignored), 1 positive
    assert float(box) == pytest.approx(1 - 1 / 18, rel=1e-5)
    assert float(total) == pytest.approx(float(cls) + float(box), rel=1e-6)


def test_detection_loss_with_giou_and_errors():
    anchors = np.array([[0, 0, 10, 10], [10, 10, 20, 20]], np.float32)
    targets = np.zeros((1, 2, 4), np.float32)
    total, _, box = L.detection_loss(targets, np.array([[0, 0]]), targets, np.zeros((1, 2, 1)), 1, anchors,
                                     box_loss="giou")
    assert float(box) == pytest.approx(0.0, abs=1e-5)  # perfect boxes
    with pytest.raises(ValueError, match=r"box_loss must be one of .*'l2'"):
        L.detection_loss(targets, np.array([[0, 0]]), targets, np.zeros((1, 2, 1)), 1, box_loss="l2")
    with pytest.raises(ValueError, match=r"needs the anchors"):
        L.detection_loss(targets, np.array([[0, 0]]), targets, np.zeros((1, 2, 1)), 1, box_loss="giou")


def test_prior_bias_gives_the_prior_probability():
    assert 1 / (1 + np.exp(-L.prior_bias(0.01))) == pytest.approx(0.01)
