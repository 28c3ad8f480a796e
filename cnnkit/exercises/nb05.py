"""Exercises of notebook 05, Object detection (``notebooks/05_detection.ipynb``); solutions in ``solutions/05_detection_solutions.ipynb``.

05.3 and 05.4 have exact answers that cnnkit's anchor code computes (anchor
counts, and the coverage at IoU 0.5 on a fixed set of scenes); 05.8 is a
function checked on hidden TP/FP lists against COCO's 101-point AP. The others
are experiments that train a detector for minutes, whose outcome depends on
seeds and budget, so they get a model answer that says what to measure and
what the notebook's own measurements lead one to expect. The format and the
recipe are in ``cnnkit.exercises`` and CONTRIBUTING.md ("Exercises and solutions").
"""

from __future__ import annotations

import numpy as np

# From the private modules, not from the package, which imports this module (no import cycle).
from cnnkit.exercises._checkers import expect_close, expect_equal, expect_fields, expect_function
from cnnkit.exercises._core import exercise, lazy, model_answer

IMAGE_SIZE = 64  # the notebook's scenes
LEVELS = (2, 3, 4, 5)  # the notebook's Detector: P2-P5, anchors of 8 to 64 px, two scales
SIZES = (8, 16, 32, 64)
SCALES = (1.0, 1.41)
COVERAGE_SCENES = {"num_images": 500, "image_size": IMAGE_SIZE, "seed": 3}  # 05.4's scenes, named in the notebook


def anchor_count(levels=LEVELS, sizes=SIZES, ratios=(1.0,), scales=SCALES) -> int:
    """How many anchors an ``AnchorGenerator`` with these settings puts on a 64x64 image."""
    from cnnkit.detection import AnchorGenerator  # lazily: registering stays cheap

    return int(len(AnchorGenerator(levels=levels, sizes=sizes, ratios=ratios, scales=scales).all((IMAGE_SIZE,) * 2)))


def coverage(ratios=(1.0,)) -> float:
    """Share of the objects of ``make_scenes(**COVERAGE_SCENES)`` with an anchor at IoU >= 0.5 (section 3's measure)."""
    from cnnkit.data import make_scenes
    from cnnkit.detection import AnchorGenerator, iou_matrix_numpy

    anchors = AnchorGenerator(levels=LEVELS, sizes=SIZES, ratios=ratios, scales=SCALES).all((IMAGE_SIZE,) * 2)
    scenes = make_scenes(**COVERAGE_SCENES)
    best = np.concatenate([iou_matrix_numpy(b[c >= 0], anchors).max(axis=1)
                           for b, c in zip(scenes.boxes, scenes.classes)])
    return float(np.mean(best >= 0.5))


def coco_ap(is_tp, num_truth) -> float:
    """COCO's 101-point AP of one class from its detections' TP/FP flags (pooled, in score order)."""
    is_tp = np.asarray(is_tp, dtype=bool)
    tp, fp = np.cumsum(is_tp), np.cumsum(~is_tp)
    recall, precision = tp / num_truth, tp / np.maximum(tp + fp, 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.mean([envelope[recall >= r][0] if np.any(recall >= r) else 0.0
                          for r in np.linspace(0.0, 1.0, 101)]))


def _uninterpolated_ap(is_tp, num_truth) -> float:
    """A typical mistake: the raw precision read at the 101 points, without the envelope."""
    is_tp = np.asarray(is_tp, dtype=bool)
    tp, fp = np.cumsum(is_tp), np.cumsum(~is_tp)
    recall, precision = tp / num_truth, tp / np.maximum(tp + fp, 1)
    return float(np.mean([precision[recall >= r][0] if np.any(recall >= r) else 0.0
                          for r in np.linspace(0.0, 1.0, 101)]))


def _hidden_ranked_lists() -> list[tuple]:
    """TP/FP lists a detector could produce (not the notebook's), with the number of ground-truth boxes."""
    rng = np.random.default_rng(505)
    calls = []
    for length, num_truth, p in ((8, 5, 0.6), (20, 12, 0.5), (40, 40, 0.7), (15, 6, 0.3)):
        flags = rng.random(length) < p
        calls.append((flags.tolist(), max(num_truth, int(flags.sum()))))
    calls.append(([False, False, True], 2))  # the first hits come late
    calls.append(([False, False], 3))  # nothing found: AP 0
    return calls


model_answer("05.1", (
    "Measure AP with detection.evaluate on 1,000 training scenes and on the test scenes, for the "
    "notebook's run (augment=True) and one with augment=False, ideally over three seeds. Without "
    "augmentation each scene is seen in one view only, 24 times, so expect the training AP to rise and "
    "the test AP to fall a little: a wider train-test gap is what memorising looks like. With "
    "augmentation the notebook's validation loss follows the training loss closely, so the gap there "
    "is small; if your gap without augmentation is not larger than the spread over seeds, the "
    "notebook's hypothesis is not supported at this budget."),
    title="Augmentation", level=2, minutes=30)

model_answer("05.2", (
    "GIoU scores the overlap of the decoded box, the very quantity the strict IoU thresholds test, "
    "while smooth-L1 on offsets weighs a one-pixel error on a small box like one on a large box in "
    "offset units. Expect AP@0.5 to change least (a box only has to be roughly right) and AP@0.75 and "
    "AP@[.5:.95] to change most; which way is an open question at this budget (box_loss_weight was "
    "tuned for GIoU, and the solutions' single short run put smooth-L1 slightly ahead). Compare over "
    "three seeds at the notebook's budget before naming a winner."),
    title="Box loss", level=2, minutes=30)

exercise("05.3", title="No fine level", level=1, minutes=10,
         check=expect_equal(lazy(lambda: anchor_count(levels=(3, 4, 5), sizes=(16, 32, 64))),
                            what="the number of anchors on P3-P5"),
         correct=lazy(lambda: anchor_count(levels=(3, 4, 5), sizes=(16, 32, 64))),
         wrong=lazy(anchor_count),
         hint="len(detection.AnchorGenerator(levels=[3, 4, 5], sizes=(16, 32, 64), ratios=ANCHOR_RATIOS, "
              "scales=ANCHOR_SCALES).all((IMAGE_SIZE, IMAGE_SIZE))), or count the cells of each level by hand.")

exercise("05.4", title="Anchor shapes", level=1, minutes=15,
         check=expect_fields({
             "anchors": expect_equal(lazy(lambda: anchor_count(ratios=(0.5, 1.0, 2.0))),
                                     what="the number of anchors with three ratios"),
             "coverage": expect_close(lazy(lambda: coverage((0.5, 1.0, 2.0))), atol=1e-6,
                                      what="the share of objects covered at IoU 0.5 with three ratios"),
         }),
         correct=lazy(lambda: {"anchors": anchor_count(ratios=(0.5, 1.0, 2.0)), "coverage": coverage((0.5, 1.0, 2.0))}),
         wrong=lazy(lambda: {"anchors": anchor_count(ratios=(0.5, 1.0, 2.0)), "coverage": coverage()}),
         hint="Section 3's code with ratios=(0.5, 1.0, 2.0): the best IoU of each object of "
              "data.make_scenes(500, image_size=64, seed=3) with any anchor, then the share >= 0.5.")

model_answer("05.5", (
    "With negative_iou=0.5 every anchor is either positive (IoU >= 0.5) or background: the anchors that "
    "half-overlap an object, which section 3 ignores, now learn 'background'. Their features look "
    "much like those of the positives next to them, so the class head receives contradictory targets "
    "for near-identical inputs: expect a higher class loss at the end and lower scores on true "
    "objects, which costs recall at the score threshold and a little AP. The effect is expected to be "
    "small: the band holds few anchors (about as many per image as the positives, against hundreds of "
    "background ones; count them with detection.encode_targets); measure it over three seeds."),
    title="The ignore band", level=2, minutes=30)

model_answer("05.6", (
    "Class-agnostic NMS (classes=None) suppresses across classes. It helps where the detector fires two "
    "classes on one object (a small cross also scored as a star, section 9's most frequent mix-up): "
    "only the higher-scoring box survives, which removes a false positive. It hurts where two different "
    "objects overlap by more than the IoU threshold, which the scenes allow: the weaker object's box is "
    "removed even though it is of another class, a missed object. With a weak detector it can hurt isolated "
    "objects too: a higher-scoring box of the wrong class suppresses the right one. Count these cases on "
    "the test scenes: "
    "kept boxes per image with and without classes, and recall on the overlapped objects."),
    title="Class-agnostic NMS", level=2, minutes=15)

model_answer("05.7", (
    "With up to 10 objects and overlaps up to 0.5 most objects are overlapped and more of them are "
    "small, so the 'overlapped' row of section 9 grows first: more hidden parts, more neighbours "
    "suppressed by NMS at IoU 0.5, and the one-box-per-object picture breaks for pairs that overlap "
    "more than the NMS threshold. Expect AP to drop, AP@0.75 more than AP@0.5, and recall on "
    "overlapped objects to fall further below that on isolated ones."),
    title="Crowds", level=2, minutes=20)

exercise("05.8", title="AP from a ranked list", level=2, minutes=20,
         check=expect_function(coco_ap, lazy(_hidden_ranked_lists), atol=1e-9,
                               what="your AP function (TP/FP flags in score order, number of objects)"),
         correct=coco_ap, wrong=_uninterpolated_ap,
         hint="Running sums of TP and FP give recall and precision after each detection; make the precision "
              "non-increasing from the right (np.maximum.accumulate on the reversed array), then read it at the "
              "101 recall points 0, 0.01, ..., 1 (0 where the recall is never reached) and average.")
