"""cnnkit.detection.evaluate: hand-made cases with known answers, and pycocotools' COCOeval as the reference."""

import contextlib
import io

import numpy as np
import pytest

from cnnkit.detection import evaluate
from cnnkit.detection import metrics as metrics_module

# ---------------------------------------------------------------- hand-made cases


def _gt(boxes, classes):
    boxes = np.array(boxes, float)
    return {"boxes": boxes.reshape(0, 4) if boxes.size == 0 else boxes, "classes": np.array(classes, int)}


def _pred(boxes, classes, scores):
    return {**_gt(boxes, classes), "scores": np.array(scores, float)}


def test_perfect_detections_score_one():
    gts = [_gt([[0, 0, 10, 10], [20, 20, 40, 30]], [0, 1]), _gt([[5, 5, 15, 25]], [1])]
    preds = [_pred(g["boxes"], g["classes"], [0.9, 0.8][: len(g["classes"])]) for g in gts]
    m = evaluate(preds, gts)
    assert (m.AP, m.AP50, m.AP75, m.AR) == pytest.approx((1.0, 1.0, 1.0, 1.0), abs=1e-12)
    assert m.per_class_AP == pytest.approx({"0": 1.0, "1": 1.0}, abs=1e-12)


def test_no_detections_score_zero_and_classes_without_ground_truth_are_left_out():
    gts = [_gt([[0, 0, 10, 10]], [0])]
    m = evaluate([_pred(np.zeros((0, 4)), [], [])], gts, num_classes=3)
    assert m.AP == 0.0 and m.AR == 0.0
    assert list(m.per_class_AP) == ["0"]  # classes 1 and 2 have no ground truth
    assert np.all(m.precision[:, :, 1:] == -1)


def test_known_precision_recall_curve():
    # 4 ground-truth boxes; detections by score: TP, FP, TP, FP, TP (the 4th box is never found).
    boxes = [[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10]]
    gts = [_gt(boxes, [0, 0, 0, 0])]
    dets = [boxes[0], [100, 100, 110, 110], boxes[1], [120, 120, 130, 130], boxes[2]]
    preds = [_pred(dets, [0] * 5, [0.9, 0.8, 0.7, 0.6, 0.5])]
    m = evaluate(preds, gts)
    # precision after each detection: 1, 1/2, 2/3, 2/4, 3/5 at recall .25, .25, .5, .5, .75.
    # Interpolated (best precision at any recall >= r): 1 up to r = .25, 2/3 up to .5, 3/5 up to .75, then 0.
    r = np.linspace(0, 1, 101)
    expected = np.where(r <= 0.25 + 1e-12, 1.0, np.where(r <= 0.5 + 1e-12, 2 / 3, np.where(r <= 0.75 + 1e-12, 0.6, 0.0)))
    np.testing.assert_allclose(m.precision[0, :, 0], expected, atol=1e-12)
    assert m.AP50 == pytest.approx(expected.mean())
    assert m.AP == pytest.approx(expected.mean())  # exact boxes: the same at every IoU threshold
    assert m.AR == pytest.approx(0.75)


def test_iou_thresholds_decide_true_positives():
    # A detection shifted by 2 px on a 10 px box: IoU = 80 / 120 = 2/3, a TP at thresholds 0.50..0.65 only.
    gts = [_gt([[0, 0, 10, 10]], [0])]
    m = evaluate([_pred([[2, 0, 12, 10]], [0], [0.9])], gts)
    assert m.AP50 == pytest.approx(1.0, abs=1e-12) and m.AP75 == 0.0
    assert m.AP == pytest.approx(4 / 10)  # thresholds 0.5, 0.55, 0.6, 0.65 of ten


def test_a_duplicate_detection_is_a_false_positive_and_each_box_matches_once():
    gts = [_gt([[0, 0, 10, 10]], [0])]
    m = evaluate([_pred([[0, 0, 10, 10], [0, 0, 10, 10]], [0, 0], [0.9, 0.8])], gts)
    assert m.AP == pytest.approx(1.0, abs=1e-12)  # the duplicate comes after full recall, so precision at recall <= 1 stays 1
    m2 = evaluate([_pred([[0, 0, 10, 10], [0, 0, 10, 10]], [0, 0], [0.8, 0.9])], gts)
    assert m2.AP == pytest.approx(1.0, abs=1e-12)  # equal boxes: whichever scores higher is the TP
    # Wrong class: never a match.
    m3 = evaluate([_pred([[0, 0, 10, 10]], [1], [0.9])], [_gt([[0, 0, 10, 10]], [0])], num_classes=2)
    assert m3.AP == 0.0


def test_box_format_and_padding_rows():
    gts = [{"boxes": np.array([[0, 0, 10, 10], [-1, -1, -1, -1]], float), "classes": np.array([0, -1])}]
    preds = [_pred([[0, 0, 10, 10]], [0], [0.9])]
    assert evaluate(preds, gts).AP == pytest.approx(1.0, abs=1e-12)
    gts_xywh = [_gt([[0, 0, 10, 10]], [0])]
    preds_xywh = [_pred([[0, 0, 10, 10]], [0], [0.9])]
    assert evaluate(preds_xywh, gts_xywh, box_format="xywh").AP == pytest.approx(1.0, abs=1e-12)
    rel = [_gt([[0, 0, 0.5, 0.5]], [0])]
    assert evaluate([_pred([[0, 0, 0.5, 0.5]], [0], [1.0])], rel, box_format="rel_xyxy", image_shape=(20, 20)).AP == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    "preds, gts, kwargs, pattern",
    [
        ([_pred([[10, 0, 5, 10]], [0], [0.5])], [_gt([[0, 0, 1, 1]], [0])], {}, r"x2 >= x1 and y2 >= y1.*\[10\.0, 0\.0, 5\.0, 10\.0\]"),
        ([_pred([[0, 0, 1]], [0], [0.5])], [_gt([[0, 0, 1, 1]], [0])], {}, r"shape \(\.\.\., 4\).*\(1, 3\)"),
        ([_pred([[0, 0, 1, 1]], [0], [0.5])], [_gt([[0, 0, 1, 1]], [0])], {"box_format": "yxyx"}, r"box_format must be one of .* 'yxyx'"),
        ([{"boxes": [[0, 0, 1, 1]], "classes": [0]}], [_gt([[0, 0, 1, 1]], [0])], {}, r"must have 'scores'"),
        ([], [_gt([[0, 0, 1, 1]], [0])], {}, r"same images.*0 prediction dicts and 1"),
        ([_pred([[0, 0, 1, 1]], [3], [0.5])], [_gt([[0, 0, 1, 1]], [0])], {"num_classes": 2}, r"num_classes must be above every class id; received num_classes=2 and class id 3"),
    ],
)
def test_bad_inputs_raise_clear_errors(preds, gts, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        evaluate(preds, gts, **kwargs)


# ---------------------------------------------------------------- against pycocotools


def _random_case(rng, num_images=12, num_classes=3, sides=(4, 30)):
    gts, preds = [], []
    for _ in range(num_images):
        n = rng.integers(0, 6)
        xy = rng.uniform(0, 80, size=(n, 2))
        wh = rng.uniform(*sides, size=(n, 2))
        gt_boxes = np.concatenate([xy, xy + wh], axis=1)
        gt_classes = rng.integers(0, num_classes, size=n)
        # Detections: most boxes found with some jitter (IoUs spread over 0.3..1), a few duplicates
        # and a few false positives, some of them with the wrong class.
        found = rng.random(n) < 0.8
        jitter = rng.normal(0, 0.12, size=(n, 4)) * np.concatenate([wh, wh], axis=1)
        det = gt_boxes[found] + jitter[found]
        det_classes = np.where(rng.random(found.sum()) < 0.9, gt_classes[found], rng.integers(0, num_classes, found.sum()))
        dup = det[: rng.integers(0, len(det) + 1)] + rng.normal(0, 1.0, size=(1, 4))
        m = rng.integers(0, 4)
        fxy = rng.uniform(0, 80, size=(m, 2))
        fp = np.concatenate([fxy, fxy + rng.uniform(*sides, size=(m, 2))], axis=1)
        boxes = np.concatenate([det, dup, fp])
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 0.5)
        classes = np.concatenate([det_classes, det_classes[: len(dup)], rng.integers(0, num_classes, m)])
        preds.append(_pred(boxes, classes, rng.random(len(boxes))))
        gts.append(_gt(gt_boxes, gt_classes))
    return preds, gts


def _cocoeval(preds, gts, num_classes, max_dets=100):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(b):
        return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]

    annotations = []
    for i, g in enumerate(gts):
        for b, c in zip(g["boxes"], g["classes"]):
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(c) + 1,
                                "bbox": xywh(b), "area": float((b[2] - b[0]) * (b[3] - b[1])), "iscrowd": 0})
    dataset = {"images": [{"id": i + 1} for i in range(len(gts))],
               "categories": [{"id": k + 1} for k in range(num_classes)], "annotations": annotations}
    results = [{"image_id": i + 1, "category_id": int(c) + 1, "bbox": xywh(b), "score": float(s)}
               for i, p in enumerate(preds) for b, c, s in zip(p["boxes"], p["classes"], p["scores"])]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results)
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        if max_dets != 100:  # COCOeval sorts maxDets and evaluates with the last; stats[] assume 100
            ev.params.maxDets = [max_dets]
        ev.evaluate()
        ev.accumulate()
        if max_dets == 100:
            ev.summarize()
    return ev


@pytest.mark.parametrize("seed", range(6))
def test_matches_pycocotools_cocoeval_on_random_cases(seed):
    rng = np.random.default_rng(seed)
    num_classes = 3
    preds, gts = _random_case(rng, num_images=10 + seed, num_classes=num_classes)
    ours = evaluate(preds, gts, num_classes=num_classes)
    ev = _cocoeval(preds, gts, num_classes)
    stats = ev.stats
    assert ours.AP == pytest.approx(stats[0], abs=1e-12)
    assert ours.AP50 == pytest.approx(stats[1], abs=1e-12)
    assert ours.AP75 == pytest.approx(stats[2], abs=1e-12)
    assert ours.AR == pytest.approx(stats[8], abs=1e-12)
    np.testing.assert_allclose(ours.precision, ev.eval["precision"][:, :, :, 0, -1], atol=1e-12)
    np.testing.assert_allclose(ours.recall, ev.eval["recall"][:, :, 0, -1], atol=1e-12)
    # The case is not trivial: AP strictly between 0 and 1, and AP@0.5 above AP@[.5:.95].
    assert 0.05 < ours.AP < ours.AP50 < 1.0


@pytest.mark.parametrize("seed", range(4))
def test_area_ranges_match_pycocotools_ap_small_medium_large(seed):
    # Sides from 4 to 140 px: areas on both sides of 32² and 96², so boxes of every size are ignored somewhere,
    # and jittered detections cross the limits (a matched one follows its truth, an unmatched one its own area).
    rng = np.random.default_rng(100 + seed)
    preds, gts = _random_case(rng, num_images=16, num_classes=2, sides=(4, 140))
    ev = _cocoeval(preds, gts, 2)
    for a, name in enumerate(("all", "small", "medium", "large")):
        reference = ev.eval["precision"][:, :, :, a, -1]
        assert (reference > -1).any(), name  # every range holds objects in these cases
        ours = evaluate(preds, gts, num_classes=2, area_range=name)
        np.testing.assert_allclose(ours.precision, reference, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(ours.recall, ev.eval["recall"][:, :, a, -1], atol=1e-12, err_msg=name)
        if a:
            assert ours.AP == pytest.approx(ev.stats[2 + a], abs=1e-12)  # stats[3:6] = AP_S, AP_M, AP_L
    lo, hi = metrics_module.AREA_RANGES["medium"]
    assert evaluate(preds, gts, num_classes=2, area_range=(lo, hi)).AP == evaluate(
        preds, gts, num_classes=2, area_range="medium").AP


def test_an_area_range_ignores_boxes_outside_it():
    # One small and one large object, both found; a false positive of each size. By score: small TP,
    # large FP, large TP, small FP.
    gts = [_gt([[0, 0, 10, 10], [0, 0, 100, 100]], [0, 0])]
    preds = [_pred([[0, 0, 10, 10], [0, 0, 200, 120], [0, 0, 100, 100], [50, 50, 60, 60]], [0, 0, 0, 0],
                   [0.9, 0.85, 0.8, 0.7])]
    small, large, every = (evaluate(preds, gts, area_range=r) for r in ("small", "large", None))
    assert small.num_gt.tolist() == [1] and large.num_gt.tolist() == [1] and every.num_gt.tolist() == [2]
    # small: TP, then its own FP (the large boxes are ignored): AP 1. large: FP then TP: precision 1/2 at
    # every recall, AP 0.5. Together: TP, FP, TP, FP: 51 points at precision 1, 50 at 2/3.
    assert small.AP == pytest.approx(1.0) and large.AP == pytest.approx(0.5)
    assert every.AP == pytest.approx((51 + 50 * 2 / 3) / 101)
    with pytest.raises(ValueError, match="at least one box in area_range='medium'"):
        evaluate(preds, gts, area_range="medium")  # no object there: AP undefined (pycocotools: -1)
    with pytest.raises(ValueError, match="area_range"):
        evaluate(preds, gts, area_range="tiny")
    with pytest.raises(ValueError, match="area_range"):
        evaluate(preds, gts, area_range=(100, 10))


def test_max_detections_per_image_matches_pycocotools():
    rng = np.random.default_rng(11)
    preds, gts = _random_case(rng, num_images=8, num_classes=2)
    ours = evaluate(preds, gts, num_classes=2, max_detections=2)
    ev = _cocoeval(preds, gts, 2, max_dets=2)
    np.testing.assert_allclose(ours.precision, ev.eval["precision"][:, :, :, 0, -1], atol=1e-12)
    recall = ev.eval["recall"][:, :, 0, -1]
    assert ours.AR == pytest.approx(recall[recall > -1].mean(), abs=1e-12)
    assert ours.AR < evaluate(preds, gts, num_classes=2).AR  # the limit bites in this case


@pytest.mark.parametrize(
    "preds, gts, pattern",
    [
        ([_pred([[0, 0, 1, 1]], [0], [np.nan])], [_gt([[0, 0, 1, 1]], [0])],
         r"predictions\[0\]\['scores'\] must contain finite numbers only; received 1 NaN"),
        ([{"boxes": [[0, 0, 1, 1]], "classes": [0.7], "scores": [0.5]}], [_gt([[0, 0, 1, 1]], [0])],
         r"predictions\[0\]\['classes'\] must be class ids, -1 on padding \(whole numbers\); received .* such as 0\.7"),
        ([_pred([[0, 0, 1, 1]], [0], [0.5])], [{"boxes": [[0, 0, 1, 1]], "classes": [np.nan]}],
         r"ground_truth\[0\]\['classes'\] must .* finite numbers only"),
    ],
)
def test_nan_scores_and_fractional_class_ids_are_refused(preds, gts, pattern):
    with pytest.raises(ValueError, match=pattern):
        evaluate(preds, gts)


@pytest.mark.parametrize("preds, gts", [([], []), ([_pred([[0, 0, 1, 1]], [0], [0.5])], [_gt([[-1, -1, -1, -1]], [-1])])])
def test_without_any_ground_truth_box_ap_is_undefined_and_refused(preds, gts):
    # pycocotools prints -1 here, a number that averages into nonsense: refused instead.
    with pytest.raises(ValueError, match=r"ground_truth must hold at least one box \(a class id >= 0\); received "
                                         r"\d+ images? without any: AP and AR are undefined without ground truth"):
        evaluate(preds, gts)
