"""Bad input, fed to the public API: every call must raise a clear error, never a library traceback or garbage.

Each case is one public function and one class of bad input (NaN and infinity, 0-255 images, the
wrong rank, a fractional or out-of-range class id, mismatched lengths, degenerate boxes, sizes that
are negative or huge, unknown names, wrong types). The function must raise ``ValueError`` or
``TypeError`` with cnnkit's wording, "... must be ...; received ...", naming what it received:
not an error from deep inside Keras or NumPy, not a silent result. Tiny shapes: the whole file runs
in seconds on each backend.
"""

from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import keras  # noqa: E402

from cnnkit import (  # noqa: E402
    analysis,
    audio,
    create_model,
    data,
    detection,
    experiments,
    ops,
    segmentation,
    train,
    transfer,
    video,
    viz,
)
from cnnkit import export as cnnkit_export  # noqa: E402
from cnnkit import models as cnnkit_models  # noqa: E402

CNNKIT_DIR = Path(cnnkit_models.__file__).resolve().parents[1]
RNG = np.random.default_rng(0)
X = RNG.random((6, 8, 8, 1), dtype=np.float32)  # six 8x8 grey images in [0, 1]
Y = np.array([0, 1, 2, 0, 1, 2])


def with_nan(x):
    x = np.array(x, dtype=np.float32)
    x.flat[0] = np.nan
    return x


# Bad images and bad labels for every function that takes a batch of images / of class ids.
BAD_IMAGES = {
    "nan": with_nan(X),
    "inf": np.where(X > 0.5, np.inf, X).astype(np.float32),
    "uint8 0-255": (X * 255).astype(np.uint8),
    "float 0-255": X * 255,
    "string": "images.png",
}
BAD_LABELS = {
    "fractional": Y + 0.5,
    "out of range": Y + 3,
    "negative": Y - 1,
    "nan": with_nan(Y),
    "too few": Y[:4],
}


@pytest.fixture(scope="module")
def model():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return train.compile_model(keras.Model(inputs, keras.layers.Dense(3)(x)), learning_rate=1e-3)


def fit(model, x=X, y=Y, **kwargs):
    return train.fit(model, x, y, epochs=1, batch_size=6, verbose=0, **kwargs)


CLIPS = RNG.random((2, 4, 8, 8, 1), dtype=np.float32)
MASKS = RNG.integers(0, 3, (6, 8, 8))
DET_Y = {"boxes": np.array([[[2, 2, 12, 12]], [[4, 4, 20, 28]]], np.float32), "classes": np.array([[0], [1]])}


def seg_model():
    inputs = keras.Input((8, 8, 1))
    return keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same")(inputs))


def tiny_detector():
    detector = create_model("detector", num_classes=2, input_shape=(32, 32, 3),
                            backbone_kwargs={"widths": (4, 4, 4, 4)}, fpn_channels=4, head_depth=1)
    detector.compile(optimizer="adam")
    return detector


def repeats(label):
    return experiments.repeat(lambda seed: {"acc": 0.5 + 0.01 * seed}, label=label, verbose=False)


def clip_model():
    inputs = keras.Input((4, 8, 8, 1))
    x = keras.layers.GlobalAveragePooling3D()(keras.layers.Conv3D(2, 3)(inputs))
    return keras.Model(inputs, keras.layers.Dense(4)(x))


BOXES = np.array([[0, 0, 4, 4], [1, 1, 5, 5]], np.float32)
SCORES = np.array([0.9, 0.8], np.float32)
MASK = np.array([[0, 1], [2, 1]])


def det(boxes=BOXES, scores=SCORES, classes=(0, 1)):
    return [{"boxes": np.asarray(boxes), "scores": np.asarray(scores), "classes": np.asarray(classes)}]


def gt(boxes=BOXES, classes=(0, 1)):
    return [{"boxes": np.asarray(boxes), "classes": np.asarray(classes)}]


# name -> a call that takes the model fixture and the bad value; then the bad values to give it.
CALLS = {
    "train.fit x": (lambda m, v: fit(m, x=v), BAD_IMAGES),
    "train.fit y": (lambda m, v: fit(m, y=v), BAD_LABELS),
    "train.fit validation x": (lambda m, v: fit(m, validation_data=(v, Y)), BAD_IMAGES),
    "train.fit monitor": (lambda m, v: fit(m, monitor=v, early_stopping_patience=1),
                          {"val_loss without validation data": "val_loss", "unknown": "val_acc"}),
    "train.fit epochs": (lambda m, v: train.fit(m, X, Y, epochs=v, verbose=0),
                         {"zero": 0, "negative": -1, "float": 2.5, "bool": True}),
    "train.evaluate x": (lambda m, v: train.evaluate(m, v, Y), BAD_IMAGES),
    "train.evaluate y": (lambda m, v: train.evaluate(m, X, v), BAD_LABELS),
    "train.compile_model learning_rate": (
        lambda m, v: train.compile_model(m, learning_rate=v),
        {"nan": float("nan"), "inf": float("inf"), "negative": -1.0, "zero": 0.0, "string": "0.1", "bool": True}),
    "analysis.grad_cam images": (lambda m, v: analysis.grad_cam(m, v, layer="conv"), BAD_IMAGES),
    "viz.show_image": (lambda m, v: viz.show_image(v),
                       {"nan": with_nan(RNG.random((4, 4, 3))), "float 0-255": RNG.random((4, 4, 3)) * 255,
                        "uint8 0-255 colour": (RNG.random((4, 4, 3)) * 255).astype(np.uint8)}),
    "viz.grid_axes n": (lambda m, v: viz.grid_axes(v), {"huge": 10**6, "zero": 0, "float": 2.5}),
    "segmentation.mean_iou y_pred": (
        lambda m, v: segmentation.mean_iou(MASK, v, num_classes=3),
        {"probabilities": RNG.random((2, 2)), "out of range": MASK + 3, "wrong shape": MASK[:1], "nan": with_nan(MASK)}),
    "segmentation.mean_iou num_classes": (lambda m, v: segmentation.mean_iou(MASK, MASK, num_classes=v),
                                          {"zero": 0, "too small": 2, "float": 3.0}),
    "segmentation.pixel_accuracy y_pred": (lambda m, v: segmentation.pixel_accuracy(MASK, v),
                                           {"probabilities": RNG.random((2, 2)), "wrong shape": MASK[:1]}),
    "detection.non_max_suppression scores": (
        lambda m, v: detection.non_max_suppression(BOXES, v),
        {"nan": np.array([np.nan, 0.8]), "too few": np.array([0.9]), "string": "high"}),
    "detection.non_max_suppression boxes": (
        lambda m, v: detection.non_max_suppression(v, SCORES),
        {"nan": with_nan(BOXES), "wrong last axis": BOXES[:, :3], "inverted": BOXES[:, [2, 3, 0, 1]]}),
    "detection.non_max_suppression iou_threshold": (
        lambda m, v: detection.non_max_suppression(BOXES, SCORES, iou_threshold=v), {"nan": float("nan"), "above 1": 1.5}),
    "detection.evaluate predictions": (
        lambda m, v: detection.evaluate(v, gt()),
        {"nan score": det(scores=[np.nan, 0.8]), "fractional class": det(classes=[0.7, 1]),
         "inverted box": det(boxes=BOXES[:, [2, 3, 0, 1]]), "count mismatch": det(classes=[0])}),
    "detection.evaluate empty": (lambda m, v: detection.evaluate(v, v), {"no images at all": []}),
    "detection.iou_matrix boxes": (lambda m, v: detection.iou_matrix(v, BOXES),
                                   {"nan": with_nan(BOXES), "wrong last axis": BOXES[:, :3]}),
    "ops.conv2d_loops x": (lambda m, v: ops.conv2d_loops(v, np.ones((3, 3, 1, 1))),
                           {"rank 1": np.ones(5), "too small": np.ones((2, 2, 1)), "string": "x"}),
    "ops.conv2d_loops stride": (lambda m, v: ops.conv2d_loops(np.ones((5, 5, 1)), np.ones((3, 3, 1, 1)), stride=v),
                                {"zero": 0, "negative": -1}),
    "ops.conv_output_size": (lambda m, v: ops.conv_output_size(*v),
                             {"negative n": (-1, 3), "zero kernel": (5, 0), "kernel > n": (2, 5), "bad padding": (5, 3, 1, "full")}),
    "ops.max_pool2d pool_size": (lambda m, v: ops.max_pool2d(np.ones((4, 4, 1)), pool_size=v),
                                 {"zero": 0, "negative": -2, "too big": 9}),
    "audio.stft": (lambda m, v: audio.stft(*v), {"nan signal": (with_nan(np.ones(512)),),
                                                 "zero frame": (np.ones(512), 0), "string": ("a sound",)}),
    "audio.mel_filterbank": (lambda m, v: audio.mel_filterbank(*v),
                             {"zero bins": (0, 129, 8000), "nan rate": (8, 129, float("nan")), "negative rate": (8, 129, -1)}),
    "data.load_shapes": (lambda m, v: data.load_shapes(**v),
                         {"nan noise": {"noise": float("nan")}, "empty splits": {"num_samples": 12},
                          "huge": {"num_samples": 10**9}, "zero size": {"image_size": 0},
                          "unknown class": {"classes": ("circle", "hexagon")}}),
    "data.load_image": (lambda m, v: data.load_image(**v),
                        {"huge": {"size": 20000}, "unknown": {"name": "no_such_photo"}, "zero": {"size": 0}}),
    "create_model": (lambda m, v: create_model(*v[:1], **v[1]),
                     {"unknown": ("alexnet", {}), "zero classes": ("simple_cnn", {"num_classes": 0}),
                      "huge pooled_size": ("simple_cnn", {"pooled_size": 100}),
                      "bad input_shape": ("simple_cnn", {"input_shape": (8, 8)})}),
    # found by tools/fuzz_api.py (silent results and library tracebacks before)
    "ops.conv2d_im2col x": (lambda m, v: ops.conv2d_im2col(v, np.ones((3, 3, 1, 1))),
                            {"nan": with_nan(np.ones((5, 5, 1))), "complex": np.ones((5, 5, 1), np.complex64)}),
    "ops.conv2d_loops kernel/bias": (lambda m, v: ops.conv2d_loops(np.ones((5, 5, 1)), *v),
                                     {"nan kernel": (with_nan(np.ones((3, 3, 1, 1))),),
                                      "bias of the wrong length": (np.ones((3, 3, 1, 2)), np.zeros(3)),
                                      "nan bias": (np.ones((3, 3, 1, 1)), np.array([np.nan]))}),
    "ops.max_pool2d x": (lambda m, v: ops.max_pool2d(v), {"inf": np.full((4, 4, 1), np.inf)}),
    "ops.effective_kernel_size": (lambda m, v: ops.effective_kernel_size(*v), {"zero": (0,), "float dilation": (3, 1.5)}),
    "ops.pad_input x": (lambda m, v: ops.pad_input(v, 3, padding="same"), {"rank 3": np.ones((4, 4, 1))}),
    "audio.frame signal": (lambda m, v: audio.frame(v, 4, 2), {"nan": with_nan(np.ones(16))}),
    "audio.frame_times": (lambda m, v: audio.frame_times(*v), {"zero step": (10, 128, 0, 8000),
                                                               "nan rate": (10, 128, 64, float("nan"))}),
    "audio.hann_window periodic": (lambda m, v: audio.hann_window(8, periodic=v), {"string": "yes"}),
    "audio.hz_to_mel": (lambda m, v: audio.hz_to_mel(v), {"nan": np.array([np.nan]), "negative": -100.0,
                                                           "string": "loud"}),
    "audio.mel_band_centers": (lambda m, v: audio.mel_band_centers(8, *v),
                               {"negative rate": (-8000,), "above Nyquist": (8000, 20.0, 9000.0), "zero bands": (0,)}),
    "detection.greedy_nms_reference": (lambda m, v: detection.greedy_nms_reference(*v),
                                       {"nan boxes": (with_nan(BOXES), SCORES), "string boxes": ("boxes", SCORES),
                                        "nan scores": (BOXES, np.array([np.nan, 0.8]))}),
    "detection.non_max_suppression batch of boxes": (lambda m, v: detection.non_max_suppression(v, SCORES),
                                                     {"rank 3": BOXES[None]}),
    "detection.iou_matrix_numpy": (lambda m, v: detection.iou_matrix_numpy(v, BOXES),
                                   {"nan": with_nan(BOXES), "inverted": BOXES[:, [2, 3, 0, 1]]}),
    "detection.iou_matrix box_format": (lambda m, v: detection.iou_matrix(BOXES, BOXES, box_format=v), {"int": 3}),
    "detection.encode/decode anchors": (lambda m, v: v(), {
        "encode: two anchors for three boxes": lambda: detection.encode(np.vstack([BOXES, BOXES[:1]]), BOXES),
        "decode: string offsets": lambda: detection.decode("offsets", BOXES)}),
    "detection losses": (lambda m, v: v(), {
        "focal: nan alpha": lambda: detection.sigmoid_focal_loss(np.eye(2), np.zeros((2, 2)), alpha=float("nan")),
        "focal: nan labels": lambda: detection.sigmoid_focal_loss(with_nan(np.eye(2)), np.zeros((2, 2))),
        "smooth_l1: zero beta": lambda: detection.smooth_l1(np.zeros((2, 4)), np.ones((2, 4)), beta=0.0),
        "giou: inverted": lambda: detection.giou(BOXES[:, [2, 3, 0, 1]], BOXES),
        "detection_loss: class id >= num_classes": lambda: detection.detection_loss(
            np.zeros((1, 2, 4)), np.array([[5, 0]]), np.zeros((1, 2, 4)), np.zeros((1, 2, 2)), num_classes=2)}),
    "detection.match_anchors": (lambda m, v: detection.match_anchors(BOXES, BOXES[None], *v), {
        "fractional classes": (np.array([[0.5, 1]]),), "match_best string": (np.array([[0, 1]]), 0.5, 0.4, "yes")}),
    "detection.AnchorGenerator.all image_shape": (lambda m, v: detection.AnchorGenerator(levels=(3,)).all(v),
                                                  {"huge": (10**6, 10**6)}),
    "detection.evaluate class_names/predictions": (lambda m, v: detection.evaluate(*v), {
        "nested class_names": (det(), gt(), None, [[1, 2], [3]]), "predictions None": (None, gt())}),
    "train.fit x shape": (lambda m, v: fit(m, x=v), {"channels first": np.ascontiguousarray(np.moveaxis(X, -1, 1)),
                                                     "no channel axis": X[..., 0]}),
    "train.fit y names": (lambda m, v: fit(m, y=v), {"list of strings": ["cat"] * 6}),
    "train.fit monitor name": (lambda m, v: fit(m, monitor=v), {"never logged": "no_such_metric"}),
    "train.fit validation_data": (lambda m, v: fit(m, validation_data=v), {"int": 3}),
    "train.evaluate model/x/class_names": (lambda m, v: train.evaluate(v[0] or m, *v[1:3], **v[3]), {
        "model a string": ("model.keras", X, Y, {}), "empty batch": (None, X[:0], Y[:0], {}),
        "class_names an int": (None, X, Y, {"class_names": 3})}),
    "train.EpochProgress epochs": (lambda m, v: train.EpochProgress(v), {"zero": 0, "string": "10"}),
    "analysis.grad_cam/feature_maps": (lambda m, v: v(m), {
        "grad_cam: model a string": lambda m: analysis.grad_cam("model.keras", X),
        "grad_cam: channels first": lambda m: analysis.grad_cam(m, np.ascontiguousarray(np.moveaxis(X, -1, 1))),
        "feature_maps: unknown layer": lambda m: analysis.feature_maps(m, X, "conv9"),
        "occlusion_map: empty batch": lambda m: analysis.occlusion_map(m, X[:0], patch=2),
        "weight_gradients: 0-255 images": lambda m: analysis.weight_gradients(
            m, X * 255, Y, keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
        "weight_gradients: fractional labels": lambda m: analysis.weight_gradients(
            m, X, Y + 0.5, keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
        "summary_table: input_shape an int": lambda m: analysis.summary_table(m, input_shape=8)}),
    "video": (lambda m, v: v(), {
        "class_probabilities: batch_size 0": lambda: video.class_probabilities(clip_model(), CLIPS, batch_size=0),
        "class_probabilities: 0-255 clips": lambda: video.class_probabilities(clip_model(), CLIPS * 255),
        "blank_frame: nan clips": lambda: video.blank_frame(with_nan(CLIPS), 1),
        "temporal_saliency: no channel axis": lambda: video.temporal_saliency(clip_model(), CLIPS[..., 0]),
        "conv3d_params: use_bias a string": lambda: video.conv3d_params(3, 8, use_bias="yes"),
        "inflate_2d_to_3d: nan kernel": lambda: video.inflate_2d_to_3d(with_nan(np.ones((3, 3, 1, 2))), 3)}),
    "segmentation": (lambda m, v: v(), {
        "iou_per_class: nan confusion": lambda: segmentation.iou_per_class(np.array([[np.nan, 1], [0, 2]])),
        "iou_per_class: negative counts": lambda: segmentation.iou_per_class(np.array([[-1, 1], [0, 2]])),
        "predict_masks: 0-255 images": lambda: segmentation.predict_masks(seg_model(), X * 255),
        "predict_masks: model a string": lambda: segmentation.predict_masks("unet.keras", X),
        "evaluate: class_names an int": lambda: segmentation.evaluate(seg_model(), X, MASKS, class_names=3),
        "pixel_cross_entropy: from_logits a string": lambda: segmentation.pixel_cross_entropy(from_logits="yes"),
        "DiceLoss: class ids out of range": lambda: segmentation.DiceLoss()(MASKS + 5, np.zeros((6, 8, 8, 3))),
        "DiceLoss: mask of another size": lambda: segmentation.DiceLoss()(MASKS[:, :4], np.zeros((6, 8, 8, 3)))}),
    "models": (lambda m, v: v(m), {
        "lenet5: huge input_shape": lambda m: create_model("lenet5", input_shape=(10**6, 10**6, 1)),
        "pyramid_outputs: model a string": lambda m: cnnkit_models.pyramid_outputs("resnet"),
        "Detector.fit: channels-first images": lambda m: tiny_detector().fit(
            np.zeros((2, 3, 32, 32), np.float32), DET_Y, epochs=1, verbose=0),
        "Detector.fit: one target row for two images": lambda m: tiny_detector().fit(
            np.zeros((2, 32, 32, 3), np.float32), {k: v[:1] for k, v in DET_Y.items()}, epochs=1, verbose=0),
        "Detector.predict: no batch axis": lambda m: tiny_detector().predict(np.zeros((32, 32, 3), np.float32))}),
    "transfer/experiments": (lambda m, v: v(m), {
        "load_pretrained: input_shape below 32": lambda m: transfer.load_pretrained("mobilenet_v2", (8, 8, 3), None),
        "load_pretrained: name a list": lambda m: transfer.load_pretrained(["mobilenet_v2"]),
        "weights_file: input_shape an int": lambda m: transfer.weights_file("mobilenet_v2", 96),
        "freeze: model a string": lambda m: transfer.freeze("model"),
        "count_parameters: None": lambda m: transfer.count_parameters(None),
        "compare: metric a list": lambda m: experiments.compare([repeats("a"), repeats("b")], metric=["acc"]),
        "verdict: a number": lambda m: experiments.verdict(0.5, repeats("b")),
        "repeat: verbose a string": lambda m: experiments.repeat(lambda seed: 0.5, verbose="yes")}),
    "viz": (lambda m, v: v(), {
        "show_predictions: id without a name": lambda: viz.show_predictions(X[:2], [0, 5], [0, 1], ["a", "b"]),
        "draw_boxes: nan scores": lambda: viz.draw_boxes(X[0], BOXES, scores=[np.nan, 0.5]),
        "draw_boxes: class id without a name": lambda: viz.draw_boxes(X[0], BOXES, [0, 7], class_names=["a"]),
        "show_detections: inverted box": lambda: viz.show_detections(X[0], {"boxes": BOXES[:, [2, 3, 0, 1]],
                                                                            "classes": [0, 1], "scores": SCORES}),
        "line_plot: nan x": lambda: viz.line_plot([1, np.nan], {"a": [1, 2]}),
        "bar_chart: values strings": lambda: viz.bar_chart({"a": "x"}),
        "grid_axes: nan panel_size": lambda: viz.grid_axes(2, panel_size=float("nan")),
        "new_axes: huge figsize": lambda: viz.new_axes(figsize=(10**5, 10**5)),
        "show_filmstrip: 0-255 clips": lambda: viz.show_filmstrip(CLIPS * 255),
        "clip_to_gif: huge scale": lambda: viz.clip_to_gif(CLIPS, scale=10**9),
        "class_colors: huge": lambda: viz.class_colors(10**9),
        "show_mask: ids above num_classes": lambda: viz.show_mask(X[0], MASKS[0] + 3, num_classes=3),
        "plot_class_iou: above 1": lambda: viz.plot_class_iou([1.5, 0.2]),
        "show_grad_cam: alpha nan": lambda: viz.show_grad_cam(X[0], np.ones((4, 4)), alpha=float("nan")),
        "show_spectrogram: zero frame_step": lambda: viz.show_spectrogram(np.ones((4, 3)), 8000, frame_step=0),
        "plot_tradeoff: missing key": lambda: viz.plot_tradeoff([{"model": "a", "macs": 1}])}),
    "data": (lambda m, v: v(), {
        "make_shapes: huge": lambda: data.make_shapes(num_samples=10**9, image_size=8),
        "load_motion_clips: huge": lambda: data.load_motion_clips(num_samples=10**9, frames=4, image_size=8),
        "load_audio: huge sample_rate": lambda: data.load_audio(num_samples=24, sample_rate=10**9, duration=0.1),
        "load_motif_task: huge length": lambda: data.load_motif_task(num_samples=40, length=10**9),
        "load_digits: huge image_size": lambda: data.load_digits(image_size=10**9),
        "direction_vectors: fractional": lambda: data.direction_vectors([0.5, 1]),
        "reverse_clips: nan clips": lambda: data.reverse_clips(with_nan(CLIPS), [0, 1]),
        "shuffle_frames: negative seed": lambda: data.shuffle_frames(CLIPS, seed=-1),
        "pad_targets: inverted box": lambda: data.pad_targets(gt(boxes=BOXES[:, [2, 3, 0, 1]])),
        "split_off: fractional labels": lambda: data.split_off(X, Y + 0.5, 0.5, 0),
        "decode_predictions: nan": lambda: data.decode_predictions(np.full((1, 1000), np.nan)),
        "texture_patches: zero patch": lambda: data.texture_patches("brick", 0),
        "load_dataset: a list": lambda: data.load_dataset(["digits"])}),
    "export": (lambda m, v: v(m), {
        "save_keras: model a string": lambda m: cnnkit_export.save_keras("model", "/tmp/cnnkit_fuzz_test.keras"),
        "file_size: path an int": lambda m: cnnkit_export.file_size(3),
        "measure_latency: predict a string": lambda m: cnnkit_export.measure_latency("model", X),
        "export_litert: 0-255 calibration data": lambda m: cnnkit_export.export_litert(
            m, "/tmp/cnnkit_fuzz_test.tflite", "int8", representative_data=X * 255),
        "export_litert: channels-first calibration data": lambda m: cnnkit_export.export_litert(
            m, "/tmp/cnnkit_fuzz_test.tflite", "int8", representative_data=np.moveaxis(X, -1, 1)),
        "LiteRTModel: path None": lambda m: cnnkit_export.LiteRTModel(None)}),
}

CASES = [pytest.param(call, bad, id=f"{name}: {label}")
         for name, (call, values) in CALLS.items() for label, bad in values.items()]


@pytest.mark.parametrize("call, bad", CASES)
def test_bad_input_gets_a_clear_error(call, bad, model):
    with pytest.raises((ValueError, TypeError)) as error:
        call(model, bad)
    text = str(error.value)
    assert "received" in text or "Received" in text, f"{type(error.value).__name__}: {text[:300]}"
    assert error.value.__class__.__module__ == "builtins" or "cnnkit" in error.value.__class__.__module__, (
        f"an error from inside a library: {type(error.value)!r}")
    raised_at = Path(error.traceback[-1].path).resolve()  # the line that raised: cnnkit's, not a library's
    assert CNNKIT_DIR in raised_at.parents, f"raised inside a library ({raised_at}): {text[:200]}"
