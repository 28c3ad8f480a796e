"""The public functions tools/fuzz_api.py feeds bad input to: one valid call each and the arguments to spoil.

``T(module, function, base, slots)``: ``base(F)`` returns the keyword arguments of a
call that works (``F`` holds small shared fixtures), ``slots`` maps each argument
to spoil to a class of bad input (a function of tools/fuzz_api.py). ``skip``
names the bad values a function legitimately accepts, each with the reason;
``extra`` adds bad values particular to one function. The call is
``function(**kwargs)`` unless ``call`` says otherwise.
"""

from __future__ import annotations

import numpy as np

from tools.fuzz_api import Lazy, Target, _nan

TARGETS: list[Target] = []
RNG_SEED = 0


def T(module, function, base, slots, call=None, skip=None, extra=None, aliases=None):
    """Register a target; ``function`` is "module.name" resolved under cnnkit (or a callable via ``call``)."""
    if call is None:
        def call(F, kw, _path=function):
            import importlib

            parts = _path.split(".")
            obj = importlib.import_module("cnnkit." + parts[0])
            for part in parts[1:]:
                obj = getattr(obj, part)
            return obj(**kw)
    target = Target(module, function, call, base, slots, skip or {}, extra or {})
    target.aliases = aliases or {}
    TARGETS.append(target)
    return target


# ---------------------------------------------------------------- fixtures


def rng():
    return np.random.default_rng(RNG_SEED)


def X(F):  # six 8x8 RGB images in [0, 1]
    return F.get("X", lambda: rng().random((6, 8, 8, 3), dtype=np.float32))


def Y(F):  # their labels, 3 classes
    return F.get("Y", lambda: np.array([0, 1, 2, 0, 1, 2]))


def M(F):  # masks of X, 3 classes
    return F.get("M", lambda: rng().integers(0, 3, (6, 8, 8)))


def CLIPS(F):  # four clips of 4 frames of 8x8 grey
    return F.get("clips", lambda: rng().random((4, 4, 8, 8, 1), dtype=np.float32))


def clf(F, key: str = "clf"):
    """A compiled classifier (8, 8, 3) -> 3 logits, with a conv layer named "conv" (``key``: a separate copy)."""
    def build():
        import keras

        from cnnkit import train

        inputs = keras.Input((8, 8, 3))
        x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return train.compile_model(keras.Model(inputs, keras.layers.Dense(3)(x)), learning_rate=1e-3)
    return F.get(key, build)


def seg(F):
    """A segmentation model (8, 8, 3) -> (8, 8, 3) logits."""
    def build():
        import keras

        inputs = keras.Input((8, 8, 3))
        return keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same")(inputs))
    return F.get("seg", build)


def vid(F):
    """A clip classifier (4, 8, 8, 1) -> 4 logits."""
    def build():
        import keras

        inputs = keras.Input((4, 8, 8, 1))
        x = keras.layers.Conv3D(2, 3, name="conv3d")(inputs)
        x = keras.layers.GlobalAveragePooling3D()(x)
        return keras.Model(inputs, keras.layers.Dense(4)(x))
    return F.get("vid", build)


def det_model(F):
    def build():
        from cnnkit import create_model

        model = create_model("detector", num_classes=2, input_shape=(32, 32, 3),
                             backbone_kwargs={"widths": (8, 8, 8, 8)}, fpn_channels=8, head_depth=1)
        model.compile(optimizer="adam")
        return model
    return F.get("det_model", build)


def DX(F):
    return F.get("DX", lambda: rng().random((2, 32, 32, 3), dtype=np.float32))


def DY(F):
    return F.get("DY", lambda: {"boxes": np.array([[[2, 2, 12, 12], [-1, -1, -1, -1]],
                                                   [[4, 4, 20, 28], [10, 10, 30, 30]]], np.float32),
                                "classes": np.array([[0, -1], [1, 0]])})


BOXES = np.array([[0, 0, 4, 4], [1, 1, 5, 5], [6, 6, 9, 9]], np.float32)
SCORES = np.array([0.9, 0.8, 0.7], np.float32)
# A NaN or infinite *prediction* (a model output) is a diverging model: Keras reports it (TerminateOnNaN); the
# losses check only its type and shape, so that a compiled training step is never stopped by a check.
OUTPUT = {"nan": "a NaN model output gives a NaN loss (Keras reports it)", "inf": "a model output, as NaN"}


# ---------------------------------------------------------------- train

T("train", "train.compile_model", lambda F: {"model": clf(F), "learning_rate": 1e-3},
  {"model": "model", "learning_rate": "learning_rate"})
T("train", "train.compile_model weight_decay", lambda F: {"model": clf(F), "weight_decay": 1e-4},
  {"weight_decay": "positive"}, call=lambda F, kw: __import__("cnnkit").train.compile_model(**kw),
  skip={"weight_decay": {"none": "None is the default: no weight decay", "zero": "0 means no decay"}})
T("train", "train.compile_model optimizer", lambda F: {"model": clf(F), "optimizer": "adam"},
  {"optimizer": "name"}, call=lambda F, kw: __import__("cnnkit").train.compile_model(**kw))


def _fit(F, kw):
    from cnnkit import train

    return train.fit(**kw)


def fit_base(F):
    return {"model": clf(F), "x": X(F), "y": Y(F), "epochs": 1, "batch_size": 6, "verbose": 0,
            "restore_best_weights": True}


T("train", "train.fit", fit_base, {"x": "images", "y": "labels"}, call=_fit)
T("train", "train.fit epochs", fit_base, {"epochs": "posint"}, call=_fit)
T("train", "train.fit batch_size", fit_base, {"batch_size": "posint"}, call=_fit,
  skip={"batch_size": {"none": "None is Keras's default batch size (32)"}})
T("train", "train.fit early_stopping_patience", lambda F: {**fit_base(F), "early_stopping_patience": 1},
  {"early_stopping_patience": "nonneg"}, call=_fit)
T("train", "train.fit monitor", lambda F: {**fit_base(F), "monitor": "loss", "early_stopping_patience": 1},
  {"monitor": "name"}, call=_fit, extra={"monitor": {"val_loss without validation": "val_loss"}})
T("train", "train.fit validation_data", lambda F: {**fit_base(F), "validation_data": (X(F), Y(F))},
  {"validation_data": "dictionary"}, call=_fit,
  skip={"validation_data": {"none": "None means no validation data", "empty": "{} is an empty dict"}},
  extra={"validation_data": {
      "x only": Lazy(lambda F: (X(F),)), "nan images": Lazy(lambda F: (_nan(X(F)), Y(F))),
      "uint8 images": Lazy(lambda F: ((X(F) * 255).astype(np.uint8), Y(F))),
      "mismatched": Lazy(lambda F: (X(F), Y(F)[:-1])), "fractional labels": Lazy(lambda F: (X(F), Y(F) + 0.5)),
      "channels-first": Lazy(lambda F: (np.moveaxis(X(F), -1, 1), Y(F)))}})
T("train", "train.fit restore_best_weights", fit_base, {"restore_best_weights": "flag"}, call=_fit)
T("train", "train.evaluate", lambda F: {"model": clf(F), "x": X(F), "y": Y(F)},
  {"model": "model", "x": "images", "y": "labels"})
T("train", "train.evaluate batch_size", lambda F: {"model": clf(F), "x": X(F), "y": Y(F), "batch_size": 4},
  {"batch_size": "posint", "class_names": "sequence"},
  call=lambda F, kw: __import__("cnnkit").train.evaluate(**kw))
T("train", "train.confusion_matrix", lambda F: {"y_true": Y(F), "y_pred": Y(F)[::-1].copy(), "num_classes": 3},
  {"y_true": "labels", "y_pred": "labels", "num_classes": "posint"})
T("train", "train.per_class_metrics", lambda F: {"y_true": Y(F), "y_pred": Y(F)[::-1].copy(), "num_classes": 3},
  {"y_true": "labels", "y_pred": "labels", "num_classes": "posint"},
  skip={"num_classes": {"none": "None: the number of classes is taken from the labels"}})
T("train", "train.make_augmentation", lambda F: {"flip": "horizontal", "shift": 0.1, "rotation": 0.05,
                                                 "contrast": 0.2, "seed": 0},
  {"flip": "name", "shift": "fraction", "rotation": "fraction", "contrast": "fraction", "seed": "nonneg"},
  skip={"flip": {"none": "None: no flip"}, "shift": {"none": "None: no shift (documented)"},
        "rotation": {"none": "None: no rotation (documented)"}, "contrast": {"none": "None: no contrast change"}})
T("train", "train.EpochProgress", lambda F: {"epochs": 3, "one_line_per_epoch": False},
  {"epochs": "posint", "one_line_per_epoch": "flag"})


# ---------------------------------------------------------------- detection

def preds(F):
    return [{"boxes": BOXES.copy(), "scores": SCORES.copy(), "classes": np.array([0, 1, 0])},
            {"boxes": BOXES[:1].copy(), "scores": SCORES[:1].copy(), "classes": np.array([1])}]


def truth(F):
    return [{"boxes": BOXES[:2].copy(), "classes": np.array([0, 1])}, {"boxes": BOXES[:1].copy(), "classes": np.array([1])}]


NMS_SLOTS = {"boxes": "boxes", "scores": "scores", "iou_threshold": "fraction", "score_threshold": "fraction",
             "max_detections": "posint"}
# score_threshold is any number: scores may be logits (documented: V.number, not V.fraction).
NMS_SKIP = {"max_detections": {"none": "None keeps every box"},
            "score_threshold": {"negative": "scores may be logits", "above 1": "scores may be logits"}}
T("detection", "detection.non_max_suppression", lambda F: {"boxes": BOXES, "scores": SCORES,
                                                             "classes": np.array([0, 1, 0])},
  {**NMS_SLOTS, "box_format": "name", "classes": "labels"},
  skip={**NMS_SKIP, "classes": {"none": "None: class-agnostic NMS",
                                "out of range": "class ids only group the boxes here: no class count",
                                "negative": "class ids only group the boxes here: any integer"}})
T("detection", "detection.greedy_nms_reference", lambda F: {"boxes": BOXES, "scores": SCORES}, NMS_SLOTS,
  skip=NMS_SKIP)
T("detection", "detection.weighted_nms", lambda F: {"boxes": BOXES, "scores": SCORES},
  {**NMS_SLOTS, "box_format": "name"}, skip=NMS_SKIP)
BATCHED = "leading axes (..., N, 4) are documented: a batch of box sets"
T("detection", "detection.iou_matrix", lambda F: {"boxes_a": BOXES, "boxes_b": BOXES[:2]},
  {"boxes_a": "boxes", "boxes_b": "boxes", "box_format": "name"},
  skip={"boxes_a": {"too few": "any number of boxes", "rank 3": BATCHED},
        "boxes_b": {"too few": "any number of boxes", "rank 3": BATCHED}})
T("detection", "detection.iou_matrix_numpy", lambda F: {"boxes_a": BOXES, "boxes_b": BOXES[:2]},
  {"boxes_a": "boxes", "boxes_b": "boxes"},
  skip={"boxes_a": {"too few": "any number of boxes"}, "boxes_b": {"too few": "any number of boxes"}})
T("detection", "detection.giou", lambda F: {"boxes_a": BOXES, "boxes_b": BOXES[::-1].copy()},
  {"boxes_a": "boxes", "boxes_b": "boxes"})
T("detection", "detection.giou_loss", lambda F: {"boxes_true": BOXES, "boxes_pred": BOXES[::-1].copy()},
  {"boxes_true": "boxes", "boxes_pred": "boxes"},
  skip={"boxes_pred": {**OUTPUT, "inverted": "predicted boxes: the loss is what teaches them to be ordered"}})
T("detection", "detection.box_area", lambda F: {"boxes": BOXES}, {"boxes": "boxes", "box_format": "name"},
  skip={"boxes": {"too few": "any number of boxes", "rank 3": "boxes of any leading shape (..., 4)"}})
T("detection", "detection.check_boxes", lambda F: {"boxes": BOXES}, {"boxes": "boxes", "box_format": "name"},
  skip={"boxes": {"too few": "any number of boxes", "rank 3": "boxes of any leading shape (..., 4)"}})
T("detection", "detection.clip_boxes", lambda F: {"boxes": BOXES, "image_shape": (8, 8)},
  {"boxes": "boxes", "image_shape": "shape", "box_format": "name"},
  skip={"boxes": {"too few": "any number of boxes", "rank 3": "boxes of any leading shape (..., 4)"},
        "image_shape": {"huge": "a large image size is only two numbers here: nothing is allocated"}},
  extra={"image_shape": {"zero height": (0, 8), "nan": (float("nan"), 8), "negative": (-8, 8)}})
T("detection", "detection.convert_format", lambda F: {"boxes": BOXES, "source": "xyxy", "target": "xywh"},
  {"boxes": "boxes", "source": "name", "target": "name"},
  skip={"boxes": {"too few": "any number of boxes", "rank 3": "boxes of any leading shape (..., 4)"}})


def anchors(F):
    return F.get("anchors", lambda: np.array([[0, 0, 4, 4], [2, 2, 6, 6], [4, 4, 8, 8]], np.float32))


T("detection", "detection.encode", lambda F: {"boxes": BOXES, "anchors": anchors(F)},
  {"boxes": "boxes", "anchors": "boxes", "box_format": "name", "size_coding": "name", "variances": "array"},
  skip={"boxes": {"rank 3": BATCHED}, "anchors": {"rank 3": BATCHED}})
T("detection", "detection.decode", lambda F: {"offsets": np.zeros((3, 4), np.float32), "anchors": anchors(F)},
  {"offsets": "array", "anchors": "boxes", "box_format": "name", "size_coding": "name", "variances": "array"},
  skip={"offsets": {"extra axis": BATCHED, **OUTPUT}, "anchors": {"rank 3": BATCHED}},
  extra={"offsets": {"wrong count": np.zeros((2, 4), np.float32)}})
T("detection", "detection.decode_points", lambda F: {"offsets": np.zeros((3, 6, 2), np.float32),
                                                     "anchors": anchors(F)},
  {"offsets": "array", "anchors": "boxes"},
  skip={"offsets": {"extra axis": BATCHED, **OUTPUT}, "anchors": {"rank 3": BATCHED}})
T("detection", "detection.AnchorGenerator", lambda F: {"levels": (3, 4), "ratios": (1.0,), "scales": (1.0,)},
  {"levels": "sequence", "ratios": "array", "scales": "array", "repeats": "posint"},
  call=lambda F, kw: __import__("cnnkit").detection.AnchorGenerator(**{"repeats": 1, **kw}).all((32, 32)),
  skip={"levels": {"int": "one level may be given as an int", "too few": "one level is enough"},
        "ratios": {"scalar": "one ratio may be given as a number"},
        "scales": {"scalar": "one scale may be given as a number"}},
  extra={"levels": {"negative": (-1, 3), "huge": (40,), "floats": (3.5, 4)}})
T("detection", "detection.AnchorGenerator.all", lambda F: {"image_shape": (32, 32)}, {"image_shape": "shape"},
  call=lambda F, kw: __import__("cnnkit").detection.AnchorGenerator(levels=(3,)).all(**kw),
  extra={"image_shape": {"zero": (0, 32), "nan": (float("nan"), 32)}})
T("detection", "detection.match_anchors", lambda F: {"anchors": anchors(F), "gt_boxes": BOXES[None, :2],
                                                     "gt_classes": np.array([[0, 1]])},
  {"anchors": "boxes", "gt_boxes": "boxes", "gt_classes": "labels", "positive_iou": "fraction",
   "negative_iou": "fraction", "match_best": "flag"},
  skip={"gt_classes": {"out of range": "no num_classes here: any id >= 0 is a class"},
        "anchors": {"too few": "any number of anchors"}})
T("detection", "detection.encode_targets", lambda F: {"anchors": anchors(F), "gt_boxes": BOXES[None, :2],
                                                      "gt_classes": np.array([[0, 1]])},
  {"anchors": "boxes", "gt_boxes": "boxes", "gt_classes": "labels", "positive_iou": "fraction",
   "negative_iou": "fraction"},
  skip={"gt_classes": {"out of range": "no num_classes here: any id >= 0 is a class"},
        "anchors": {"too few": "any number of anchors"}})
T("detection", "detection.check_thresholds", lambda F: {"positive_iou": 0.5, "negative_iou": 0.4},
  {"positive_iou": "fraction", "negative_iou": "fraction"}, extra={"positive_iou": {"below negative": 0.3}})


def loss_base(F):
    return {"box_targets": np.zeros((2, 3, 4), np.float32), "class_targets": np.array([[0, 1, -1], [-2, 0, 1]]),
            "box_pred": np.zeros((2, 3, 4), np.float32), "class_logits": np.zeros((2, 3, 2), np.float32),
            "num_classes": 2}


T("detection", "detection.detection_loss", loss_base,
  {"box_targets": "array", "class_targets": "labels", "box_pred": "array", "class_logits": "array",
   "num_classes": "posint", "alpha": "fraction", "gamma": "positive", "box_loss": "name",
   "box_loss_weight": "positive"},
  skip={"gamma": {"zero": "gamma 0 is plain cross-entropy"}, "box_loss_weight": {"zero": "0 trains classes only"},
        "box_pred": OUTPUT, "class_logits": OUTPUT})
T("detection", "detection.sigmoid_focal_loss", lambda F: {"labels": np.eye(3, dtype=np.float32),
                                                          "logits": np.zeros((3, 3), np.float32)},
  {"labels": "array", "logits": "array", "alpha": "fraction", "gamma": "positive"},
  skip={"gamma": {"zero": "gamma 0 is plain cross-entropy"}, "logits": OUTPUT},
  extra={"logits": {"shape mismatch": np.zeros((2, 3), np.float32)}})
T("detection", "detection.smooth_l1", lambda F: {"y_true": np.zeros((3, 4), np.float32),
                                                 "y_pred": np.ones((3, 4), np.float32)},
  {"y_true": "array", "y_pred": "array", "beta": "positive"}, skip={"y_pred": OUTPUT},
  extra={"y_pred": {"shape mismatch": np.zeros((2, 4), np.float32)}})
T("detection", "detection.evaluate", lambda F: {"predictions": preds(F), "ground_truth": truth(F),
                                                "class_names": ["a", "b"]},
  {"predictions": "detections", "ground_truth": "detections", "num_classes": "posint", "max_detections": "posint",
   "box_format": "name", "class_names": "sequence"},
  skip={"num_classes": {"none": "None: from the class ids"}, "class_names": {
      "too many": "more names than ids seen: classes without ground truth are left out (COCO)"}},
  extra={"predictions": {"empty": []}, "num_classes": {"below the largest id": 1}})
T("detection", "detection.blazeface_anchors", lambda F: {"model": "short_range"}, {"model": "name"})


# ---------------------------------------------------------------- ops

def img(F):  # one 6x6 image, 2 channels (any real numbers: the references are plain maths)
    return F.get("img", lambda: rng().random((6, 6, 2)))


def kernel(F):
    return F.get("kernel", lambda: rng().random((3, 3, 2, 4)))


CONV_SLOTS = {"x": "array", "kernel": "array", "stride": "posint", "padding": "name", "dilation": "posint",
              "bias": "array"}
CONV_EXTRA = {"x": {"too small": np.ones((2, 2, 2)), "channel mismatch": np.ones((6, 6, 3))},
              "kernel": {"rank 2": np.ones((3, 3))}, "bias": {"wrong length": np.zeros(3)}}
CONV_SKIP = {"bias": {"none": "None: no bias"}}
for _fn in ("conv2d_loops", "conv2d_im2col"):
    T("ops", f"ops.{_fn}", lambda F: {"x": img(F), "kernel": kernel(F), "bias": np.zeros(4)}, CONV_SLOTS,
      skip=CONV_SKIP, extra=CONV_EXTRA)
T("ops", "ops.im2col", lambda F: {"x": img(F), "kernel_size": 3},
  {"x": "array", "kernel_size": "posint", "stride": "posint", "padding": "name", "dilation": "posint"},
  extra={"kernel_size": {"too big": 9}})
for _fn in ("max_pool2d", "avg_pool2d"):
    T("ops", f"ops.{_fn}", lambda F: {"x": img(F), "pool_size": 2},
      {"x": "array", "pool_size": "posint", "stride": "posint", "padding": "name"},
      skip={"stride": {"none": "None: stride = pool_size"}}, extra={"pool_size": {"too big": 9}})
# An output larger than the input is allowed (PyTorch's AdaptiveAvgPool2d too: bins overlap), so not a bad case.
T("ops", "ops.adaptive_avg_pool2d", lambda F: {"x": img(F), "output_size": 2}, {"x": "array", "output_size": "posint"})
T("ops", "ops.adaptive_bins", lambda F: {"n": 6, "out": 2}, {"n": "posint", "out": "posint"})
T("ops", "ops.conv_output_size", lambda F: {"n": 6, "kernel": 3},
  {"n": "posint", "kernel": "posint", "stride": "posint", "padding": "name", "dilation": "posint"},
  extra={"kernel": {"larger than n": 9}})
T("ops", "ops.effective_kernel_size", lambda F: {"kernel": 3, "dilation": 2}, {"kernel": "posint", "dilation": "posint"})
T("ops", "ops.padding_amounts", lambda F: {"n": 6, "kernel": 3, "padding": "same"},
  {"n": "posint", "kernel": "posint", "stride": "posint", "padding": "name", "dilation": "posint"})
T("ops", "ops.pad_input", lambda F: {"x": img(F)[None], "kernel": 3, "padding": "same"},
  {"x": "array", "kernel": "posint", "stride": "posint", "padding": "name", "dilation": "posint", "value": "positive"},
  skip={"value": {"zero": "0 is the usual padding value", "negative": "any padding value",
                  "nan": "NaN marks 'no pixel' (max/avg pooling pad with it)", "inf": "-inf/inf pad a max pool"}})


# ---------------------------------------------------------------- audio

def wave(F):
    return F.get("wave", lambda: np.sin(np.linspace(0, 200, 1024)).astype(np.float32))


T("audio", "audio.stft", lambda F: {"signal": wave(F), "frame_length": 128, "frame_step": 64},
  {"signal": "array", "frame_length": "posint", "frame_step": "posint", "fft_length": "posint", "window": "name"},
  skip={"fft_length": {"none": "None: the next power of two"}, "window": {"none": "None: a rectangular window"},
        "signal": {"extra axis": "batches of signals (..., samples) are framed too"}},
  extra={"frame_length": {"longer than the signal": 4096}, "fft_length": {"shorter than a frame": 64}})
T("audio", "audio.frame", lambda F: {"signal": wave(F), "frame_length": 128, "frame_step": 64},
  {"signal": "array", "frame_length": "posint", "frame_step": "posint"},
  skip={"signal": {"extra axis": "batches of signals (..., samples) are framed too"}},
  extra={"frame_length": {"longer than the signal": 4096}})
T("audio", "audio.frame_times", lambda F: {"num_frames": 10, "frame_length": 128, "frame_step": 64,
                                           "sample_rate": 8000},
  {"num_frames": "posint", "frame_length": "posint", "frame_step": "posint", "sample_rate": "positive"})
T("audio", "audio.hann_window", lambda F: {"length": 16}, {"length": "posint", "periodic": "flag"})
T("audio", "audio.hz_to_mel", lambda F: {"hertz": np.array([100.0, 1000.0])}, {"hertz": "array"},
  skip={"hertz": {"scalar": "one frequency", "extra axis": "any shape", "empty": "no frequencies, no mels"}},
  extra={"hertz": {"negative": np.array([-100.0])}})
T("audio", "audio.mel_to_hz", lambda F: {"mels": np.array([100.0, 1000.0])}, {"mels": "array"},
  skip={"mels": {"scalar": "one value", "extra axis": "any shape", "empty": "no values"}},
  extra={"mels": {"negative": np.array([-100.0])}})
T("audio", "audio.mel_band_centers", lambda F: {"num_mel_bins": 8, "sample_rate": 8000},
  {"num_mel_bins": "posint", "sample_rate": "positive", "lower_edge_hertz": "positive", "upper_edge_hertz": "positive"},
  skip={"lower_edge_hertz": {"zero": "0 Hz is a valid lower edge"},
        "upper_edge_hertz": {"none": "None: the Nyquist frequency"}},
  extra={"upper_edge_hertz": {"above Nyquist": 9000.0, "below lower": 10.0}})
T("audio", "audio.mel_filterbank", lambda F: {"num_mel_bins": 8, "num_spectrogram_bins": 65, "sample_rate": 8000},
  {"num_mel_bins": "posint", "num_spectrogram_bins": "posint", "sample_rate": "positive",
   "lower_edge_hertz": "positive", "upper_edge_hertz": "positive"},
  skip={"lower_edge_hertz": {"zero": "0 Hz is the default lower edge"},
        "upper_edge_hertz": {"none": "None: the Nyquist frequency"}},
  extra={"upper_edge_hertz": {"above Nyquist": 9000.0}})  # more bands than bins is valid in tf.signal too
T("audio", "audio.log_mel_spectrogram", lambda F: {"signal": wave(F), "sample_rate": 8000, "frame_length": 128,
                                                   "frame_step": 64, "num_mel_bins": 8},
  {"signal": "array", "sample_rate": "positive", "frame_length": "posint", "frame_step": "posint",
   "num_mel_bins": "posint"},
  skip={"signal": {"extra axis": "batches of signals are framed too"}})


# ---------------------------------------------------------------- models

def _create(F, kw):
    from cnnkit import create_model

    return create_model(**kw)


MODEL_CASES = {
    "simple_cnn": ({"input_shape": (16, 16, 3), "num_classes": 3},
                   {"num_classes": "posint", "input_shape": "shape", "dropout": "fraction", "pooled_size": "size"}),
    "lenet5": ({"input_shape": (32, 32, 1), "num_classes": 3},
               {"num_classes": "posint", "input_shape": "shape", "activation": "name", "pooling": "name"}),
    "resnet_small": ({"input_shape": (16, 16, 3), "num_classes": 3, "widths": (8, 8, 8, 8)},
                     {"num_classes": "posint", "input_shape": "shape", "widths": "sequence", "width_multiplier": "positive",
                      "drop_path_rate": "fraction", "include_top": "flag"}),
    "vgg_small": ({"input_shape": (16, 16, 3), "num_classes": 3, "width_multiplier": 0.25},
                  {"num_classes": "posint", "width_multiplier": "positive", "head": "name", "dropout": "fraction"}),
    "mobilenet_small": ({"input_shape": (16, 16, 3), "num_classes": 3},
                        {"version": "posint", "width_multiplier": "positive", "depth_multiplier": "positive"}),
    "unet_small": ({"input_shape": (16, 16, 3), "num_classes": 3, "widths": (4, 8)},
                   {"num_classes": "posint", "input_shape": "shape", "widths": "sequence", "upsampling": "name",
                    "skip_connections": "flag"}),
    "detector": ({"input_shape": (32, 32, 3), "num_classes": 2, "backbone_kwargs": {"widths": (8, 8, 8, 8)},
                  "fpn_channels": 8},
                 {"num_classes": "posint", "input_shape": "shape", "backbone": "name", "levels": "sequence",
                  "fpn_channels": "posint"}),
    "tiny_vit": ({"input_shape": (16, 16, 3), "num_classes": 3, "embed_dim": 12, "depth": 1},
                 {"patch_size": "posint", "embed_dim": "posint", "depth": "posint", "num_heads": "posint",
                  "mlp_ratio": "positive"}),
    "audio_cnn1d": ({"input_shape": (800, 1), "num_classes": 3, "filters": (4, 4)},
                    {"num_classes": "posint", "filters": "sequence", "first_kernel": "posint", "first_stride": "posint",
                     "kernel_size": "posint", "pool_size": "posint"}),
    "sequence_cnn": ({"input_shape": (16,), "num_classes": 2},
                     {"vocab_size": "posint", "embed_dim": "posint", "filters": "posint", "kernel_size": "posint",
                      "depth": "posint", "pool": "name"}),
    "r2plus1d_small": ({"input_shape": (4, 16, 16, 1), "num_classes": 3, "widths": (4, 4, 4)},
                       {"num_classes": "posint", "widths": "sequence", "temporal_kernel": "posint", "dropout": "fraction"}),
}
for _name, (_kwargs, _slots) in MODEL_CASES.items():
    T("models", f"create_model('{_name}')", lambda F, _k=_kwargs, _n=_name: {"name": _n, **_k}, _slots, call=_create,
      skip={"widths": {"too many": "more stages than the default is a deeper model",
                       "too few": "fewer stages is a shallower model"},
            "filters": {"too many": "more stages is a deeper model", "too few": "fewer stages is a shallower model"},
            "levels": {"too few": "one pyramid level is enough"},
            "activation": {"none": "None: linear (V.activation's documented rule)"}},
      extra={"widths": {"zero width": (0, 8), "floats": (4.5, 8.0)}})
T("models", "create_model name", lambda F: {"name": "simple_cnn", "input_shape": (16, 16, 3)}, {"name": "name"},
  call=_create)
T("models", "models.list_models", lambda F: {"task": "detection"}, {"task": "name", "backbone": "flag"},
  skip={"task": {"none": "None: every task"}, "backbone": {"none": "None: both"}})
T("models", "models.get_builder", lambda F: {"name": "simple_cnn"}, {"name": "name"})
T("models", "models.model_tags", lambda F: {"name": "simple_cnn"}, {"name": "name"})
T("models", "models.pyramid_level", lambda F: {"name": "P3"}, {"name": "name"},
  extra={"name": {"lower case": "p3", "P-1": "P-1", "float": 3.5}})  # "P0" is level 0 (stride 1): valid
T("models", "models.pyramid_levels", lambda F: {"levels": ("P3", "P4")}, {"levels": "sequence"},
  extra={"levels": {"unknown": ("P3", "Q4"), "duplicate": ("P3", "P3")}},
  skip={"levels": {"too few": "one level is a pyramid of one"}})
T("models", "models.pyramid_outputs", lambda F: {"model": F.get("backbone", lambda: _create(F, {
    "name": "resnet_small", "input_shape": (16, 16, 3), "include_top": False, "widths": (8, 8, 8, 8)}))},
  {"model": "model"}, extra={"model": {"no pyramid": Lazy(clf)}})
T("models", "models.pyramid_model", lambda F: {"model": F.get("backbone", lambda: None)}, {"model": "model"},
  extra={"model": {"no pyramid": Lazy(clf)}})


def _det_fit(F, kw):
    return det_model(F).fit(kw["x"], kw["y"], epochs=1, batch_size=2, verbose=0)


T("models", "Detector.fit", lambda F: {"x": DX(F), "y": DY(F)}, {"x": "images", "y": "custom"}, call=_det_fit,
  extra={"y": {
      "nan box": Lazy(lambda F: {"boxes": _nan(DY(F)["boxes"]), "classes": DY(F)["classes"]}),
      "inverted box": Lazy(lambda F: {"boxes": DY(F)["boxes"][..., [2, 3, 0, 1]], "classes": DY(F)["classes"]}),
      "class >= num_classes": Lazy(lambda F: {"boxes": DY(F)["boxes"],
                                              "classes": np.where(DY(F)["classes"] >= 0, 5, -1)}),
      "fractional class": Lazy(lambda F: {"boxes": DY(F)["boxes"], "classes": DY(F)["classes"] + 0.5}),
      "count mismatch": Lazy(lambda F: {"boxes": DY(F)["boxes"][:, :1], "classes": DY(F)["classes"]}),
      "batch mismatch": Lazy(lambda F: {"boxes": DY(F)["boxes"][:1], "classes": DY(F)["classes"][:1]}),
      "missing classes": Lazy(lambda F: {"boxes": DY(F)["boxes"]}),
      "string": "targets", "labels instead": np.array([0, 1])}})
T("models", "Detector.predict", lambda F: {"x": DX(F)}, {"x": "images", "score_threshold": "fraction",
                                              "iou_threshold": "fraction", "max_detections": "posint"},
  call=lambda F, kw: det_model(F).predict(**kw),
  skip={"score_threshold": {"none": "None: the detector's own"}, "iou_threshold": {"none": "None: the detector's own"},
        "max_detections": {"none": "None: the detector's own"}})


# ---------------------------------------------------------------- viz

def im3(F):  # one RGB image in [0, 1]
    return F.get("im3", lambda: rng().random((8, 8, 3)))


VIZ = "viz"
T(VIZ, "viz.show_image", lambda F: {"image": im3(F)}, {"image": "image", "title": "custom"},
  extra={"title": {"int": 3}})
T(VIZ, "viz.show_images", lambda F: {"images": X(F), "titles": list("abcdef")},
  {"images": "images", "titles": "sequence", "ncols": "posint"},
  skip={"ncols": {"none": "None: chosen from the count"}, "images": {"no channel axis": "(N, H, W) grey images"}})
# "no batch axis", one (8, 8, 3) image, is by the documented convention a batch of eight 8x3 grey images: with six
# titles it is refused (titles); without titles it would be drawn as such.
T(VIZ, "viz.show_kernel", lambda F: {"kernel": np.ones((3, 3))}, {"kernel": "array", "annotate": "flag"})
T(VIZ, "viz.show_filters", lambda F: {"source": kernel(F)}, {"source": "array", "max_filters": "posint"},
  extra={"source": {"a dense model": Lazy(lambda F: __import__("keras").Sequential(
      [__import__("keras").Input((3,)), __import__("keras").layers.Dense(2)]))}})
T(VIZ, "viz.show_feature_maps", lambda F: {"maps": rng().random((4, 4, 3))},
  {"maps": "array", "max_maps": "posint", "ncols": "posint"}, skip={"ncols": {"none": "None: chosen from the count"}})
T(VIZ, "viz.show_grad_cam", lambda F: {"image": im3(F), "heatmap": rng().random((4, 4))},
  {"image": "image", "heatmap": "array", "alpha": "fraction"})
T(VIZ, "viz.show_predictions", lambda F: {"images": X(F), "y_true": Y(F), "y_pred": Y(F)[::-1].copy(),
                                          "class_names": ["a", "b", "c"]},
  {"images": "images", "y_true": "labels", "y_pred": "labels", "class_names": "sequence", "max_images": "posint"},
  skip={"images": {"no channel axis": "(N, H, W) grey images"}, "class_names": {"too many": "unused names are harmless"}})
T(VIZ, "viz.plot_confusion_matrix", lambda F: {"confusion": np.array([[3, 1], [0, 2]]), "class_names": ["a", "b"]},
  {"confusion": "array", "class_names": "sequence", "normalize": "flag"},
  extra={"confusion": {"not square": np.ones((2, 3)), "negative": np.array([[-1, 1], [0, 2]]),
                       "fractional": np.array([[0.5, 1], [0, 2]])}})
T(VIZ, "viz.plot_history", lambda F: {"history": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}},
  {"history": "dictionary", "metrics": "custom"},
  # NaN in a history is a diverged run (drawn as a gap), and a shorter val_ curve is Keras's validation_freq: valid
  extra={"history": {"strings": {"loss": ["a", "b"]}, "nested": {"loss": [[1.0], [2.0]]}},
         "metrics": {"unknown": ["accuracy"], "int": 3}})
T(VIZ, "viz.bar_chart", lambda F: {"values": {"a": 1.0, "b": 2.0}}, {"values": "dictionary", "log": "flag"},
  extra={"values": {"nan": {"a": float("nan")}, "strings": {"a": "x"}}})  # negative bars are fine without log
T(VIZ, "viz.line_plot", lambda F: {"x": [1, 2, 3], "series": {"a": [1.0, 2.0, 3.0]}},
  {"x": "array", "series": "dictionary", "legend": "name", "logy": "flag"},
  extra={"series": {"too short": {"a": [1.0, 2.0]}, "strings": {"a": ["x", "y", "z"]}}})
T(VIZ, "viz.grid_axes", lambda F: {"n": 4}, {"n": "size", "ncols": "posint", "panel_size": "positive",
                                            "aspect": "positive"},
  skip={"ncols": {"none": "None: chosen from n"}})
T(VIZ, "viz.new_axes", lambda F: {"figsize": (3, 2)}, {"figsize": "custom"},
  extra={"figsize": {"negative": (-1, 2), "nan": (float("nan"), 2), "string": "big", "huge": (10**5, 10**5),
                     "one number": 3}})
T(VIZ, "viz.draw_boxes", lambda F: {"image": im3(F), "boxes": BOXES, "classes": np.array([0, 1, 0]),
                                    "scores": SCORES, "class_names": ["a", "b"]},
  {"image": "image", "boxes": "boxes", "classes": "labels", "scores": "scores", "alpha": "fraction",
   "linewidth": "positive", "box_format": "name"},
  skip={"classes": {"none": "None: boxes without labels"}, "scores": {"none": "None: boxes without scores"}})
T(VIZ, "viz.draw_keypoints", lambda F: {"image": im3(F), "keypoints": np.array([[1.0, 2.0], [3.0, 4.0]])},
  {"image": "image", "keypoints": "array", "size": "positive"},
  extra={"keypoints": {"wrong last axis": np.ones((2, 3))}})
T(VIZ, "viz.show_detections", lambda F: {"image": im3(F), "prediction": preds(F)[0], "ground_truth": truth(F)[0]},
  {"image": "image", "prediction": "custom", "ground_truth": "custom", "score_threshold": "fraction"},
  skip={"score_threshold": {"negative": "scores may be logits", "above 1": "scores may be logits"}},
  extra={"prediction": {"nan score": Lazy(lambda F: {**preds(F)[0], "scores": _nan(SCORES)}),
                        "inverted box": Lazy(lambda F: {**preds(F)[0], "boxes": BOXES[:, [2, 3, 0, 1]]}),
                        "count mismatch": Lazy(lambda F: {**preds(F)[0], "scores": SCORES[:1]}),
                        "string": "boxes", "a list": Lazy(preds)},
         "ground_truth": {"nan box": Lazy(lambda F: {**truth(F)[0], "boxes": _nan(BOXES[:2])}), "string": "boxes"}})
T(VIZ, "viz.show_detection_grid", lambda F: {"images": X(F)[:2], "predictions": preds(F)},
  {"images": "images", "predictions": "detections", "ncols": "posint", "score_threshold": "fraction"},
  skip={"images": {"no channel axis": "(N, H, W) grey images"}, "predictions": {"none": "None: images only"},
        "ncols": {"none": "None: chosen from the count"},
        "score_threshold": {"negative": "scores may be logits", "above 1": "scores may be logits"}})
T(VIZ, "viz.class_colors", lambda F: {"num_classes": 3}, {"num_classes": "size"})
T(VIZ, "viz.colorize_mask", lambda F: {"mask": M(F)[0], "num_classes": 3}, {"mask": "masks", "num_classes": "posint"},
  skip={"mask": {"too few": "a mask of any size", "wrong size": "a mask of any size"}})
T(VIZ, "viz.overlay_mask", lambda F: {"image": im3(F), "mask": M(F)[0], "num_classes": 3},
  {"image": "image", "mask": "masks", "num_classes": "posint", "alpha": "fraction"})
T(VIZ, "viz.show_mask", lambda F: {"image": im3(F), "mask": M(F)[0], "num_classes": 3},
  {"image": "image", "mask": "masks", "num_classes": "posint", "alpha": "fraction"},
  skip={"num_classes": {"none": "None: from the mask"}})
T(VIZ, "viz.show_segmentation", lambda F: {"images": X(F)[:2], "masks": M(F)[:2], "num_classes": 3},
  {"images": "images", "masks": "masks", "num_classes": "posint", "max_images": "posint"},
  skip={"num_classes": {"none": "None: from the masks"}, "images": {"no channel axis": "(N, H, W) grey images"}})
T(VIZ, "viz.plot_class_iou", lambda F: {"iou": np.array([0.5, 0.7, 0.2]), "class_names": ["a", "b", "c"]},
  {"iou": "array", "class_names": "sequence"},
  extra={"iou": {"above 1": np.array([1.5, 0.2, 0.1])}}, skip={"iou": {"nan": "NaN: a class absent from the data"}})
T(VIZ, "viz.show_filmstrip", lambda F: {"clips": CLIPS(F)[:2]}, {"clips": "clips", "frame_step": "posint",
                                                                 "max_frames": "posint"},
  skip={"max_frames": {"none": "None: every frame"}, "clips": {"no batch axis": "one clip (T, H, W, C) is documented"}})
T(VIZ, "viz.show_space_time", lambda F: {"clip": CLIPS(F)[0]}, {"clip": "image", "axis": "name"})
T(VIZ, "viz.space_time_slice", lambda F: {"clip": CLIPS(F)[0]}, {"clip": "image", "axis": "name"})
T(VIZ, "viz.clip_to_gif", lambda F: {"clips": CLIPS(F)[:2]}, {"clips": "clips", "fps": "positive", "scale": "size",
                                                              "gap": "nonneg"},
  skip={"clips": {"no batch axis": "one clip (T, H, W, C) is documented"}})
T(VIZ, "viz.plot_temporal_saliency", lambda F: {"saliency": np.array([0.1, 0.5, 0.2, 0.0])},
  {"saliency": "array"})
T(VIZ, "viz.show_temporal_filters", lambda F: {"kernel": rng().random((3, 3, 3, 1, 2))},
  {"kernel": "array", "max_filters": "posint", "in_channel": "nonneg"},
  extra={"in_channel": {"out of range": 5}})
T(VIZ, "viz.show_spectrogram", lambda F: {"spectrogram": rng().random((10, 8)), "sample_rate": 8000, "frame_step": 64},
  {"spectrogram": "array", "sample_rate": "positive", "frame_step": "posint"},
  skip={"sample_rate": {"none": "None: axes in frames and bins"}, "frame_step": {"none": "None: axes in frames"}})
T(VIZ, "viz.show_waveform", lambda F: {"wave": wave(F), "sample_rate": 8000},
  {"wave": "array", "sample_rate": "positive"})
T(VIZ, "viz.show_filterbank", lambda F: {"weights": np.abs(rng().random((65, 8))), "sample_rate": 8000},
  {"weights": "array", "sample_rate": "positive"})
T(VIZ, "viz.show_patches", lambda F: {"image": im3(F), "patch_size": 4},
  {"image": "image", "patch_size": "posint", "max_patches": "posint"}, extra={"patch_size": {"larger than image": 16}})
T(VIZ, "viz.plot_gradient_norms", lambda F: {"norms": {"conv": [0.1, 0.2], "dense": [0.2, 0.3]}},
  {"norms": "dictionary"},
  extra={"norms": {"nan": {"conv": [float("nan"), 0.1]}, "strings": {"conv": ["x", "y"]}}})
T(VIZ, "viz.plot_tradeoff", lambda F: {"rows": [{"model": "a", "macs": 10, "accuracy": 0.5},
                                                {"model": "b", "macs": 20, "accuracy": 0.6}]},
  {"rows": "custom", "x": "name", "y": "name"},
  extra={"rows": {"missing key": [{"model": "a", "macs": 10}], "string": "rows", "empty": [],
                  "negative with log": [{"model": "a", "macs": -10, "accuracy": 0.5}]}})
T(VIZ, "viz.show_anchors", lambda F: {"image": im3(F), "anchors": {"P3": anchors(F)}},
  {"image": "image", "anchors": "dictionary"},
  extra={"anchors": {"nan": {"P3": np.full((2, 4), np.nan)}, "wrong axis": {"P3": np.ones((2, 3))},
                     "unknown level": {"Q3": np.ones((2, 4))}}})
T(VIZ, "viz.show_pyramid", lambda F: {"image": im3(F), "maps": {"P2": rng().random((2, 2, 3))}},
  {"image": "image", "maps": "dictionary", "reduce": "name"},
  extra={"maps": {"nan": {"P2": np.full((2, 2, 3), np.nan)}, "rank 1": {"P2": np.ones(3)}}})


# ---------------------------------------------------------------- segmentation

SEG_PAIR = {"y_true": "masks", "y_pred": "masks"}
for _fn in ("confusion_matrix", "mean_iou", "per_image_mean_iou"):
    T("segmentation", f"segmentation.{_fn}", lambda F: {"y_true": M(F), "y_pred": M(F)[::-1].copy(), "num_classes": 3},
      {**SEG_PAIR, "num_classes": "posint"}, extra={"num_classes": {"below the largest id": 2}})
T("segmentation", "segmentation.pixel_accuracy", lambda F: {"y_true": M(F), "y_pred": M(F)[::-1].copy()}, SEG_PAIR,
  skip={"y_true": {"out of range": "no num_classes: any id >= 0 is a class"},
        "y_pred": {"out of range": "no num_classes: any id >= 0 is a class"}})
T("segmentation", "segmentation.iou_per_class", lambda F: {"confusion": np.array([[3, 1], [0, 2]])},
  {"confusion": "array"}, extra={"confusion": {"not square": np.ones((2, 3)), "negative": np.array([[-1, 1], [0, 2]]),
                                               "fractional": np.array([[0.5, 1], [0, 2]])}})
T("segmentation", "segmentation.evaluate", lambda F: {"model": seg(F), "x": X(F), "y": M(F)},
  {"model": "model", "x": "images", "y": "masks", "batch_size": "posint", "class_names": "custom"},
  extra={"class_names": {"too few": ["a"], "int": 3}})
T("segmentation", "segmentation.predict_masks", lambda F: {"model": seg(F), "x": X(F)},
  {"model": "model", "x": "images", "batch_size": "posint"})
T("segmentation", "segmentation.pixel_cross_entropy", lambda F: {"from_logits": True, "ignore_class": 0},
  {"from_logits": "flag", "ignore_class": "nonneg"},
  skip={"ignore_class": {"negative": "-1 is a common 'void' id (Keras accepts any integer)"}})
T("segmentation", "segmentation.DiceLoss", lambda F: {"smooth": 1.0}, {"from_logits": "flag", "smooth": "positive",
                                                                       "include_background": "flag"},
  skip={"smooth": {"zero": "0: no smoothing (a defined loss when both masks are non-empty)"}})
T("segmentation", "segmentation.CrossEntropyDice", lambda F: {"dice_weight": 1.0},
  {"dice_weight": "positive", "smooth": "positive", "from_logits": "flag"},
  skip={"dice_weight": {"zero": "0: cross-entropy only"}, "smooth": {"zero": "0: no smoothing"}})
T("segmentation", "segmentation.segmentation_metrics", lambda F: {"num_classes": 3}, {"num_classes": "posint"})

# instance segmentation: two boxes in each of the six 8x8 images
SEG_BOXES = np.array([[[0, 0, 4, 4], [2, 1, 7, 8]]] * 6, np.float32)


def OBJ(F):  # two object masks per image, and their classes
    return F.get("objects", lambda: np.stack([M(F) == 1, M(F) == 2], axis=1))


T("segmentation", "segmentation.crop_boxes", lambda F: {"images": X(F), "boxes": SEG_BOXES, "size": 4},
  {"images": "images", "boxes": "boxes", "size": "size", "image_index": "labels"},
  skip={"images": {"uint8 0-255": "feature maps and masks as well as images: any finite values",
                   "float 0-255": "feature maps and masks as well as images: any finite values",
                   "channels-first": "feature maps of any channel count", "no channel axis": "(N, H, W) maps"},
        "image_index": {"none": "None: boxes (N, K, 4), one row per image"}},
  extra={"image_index": {"with (N, K, 4) boxes": [0, 1, 2, 3, 4, 5]}})
T("segmentation", "segmentation.paste_masks",
  lambda F: {"mask_probs": rng().random((6, 2, 4, 4)), "boxes": SEG_BOXES, "image_shape": (8, 8)},
  {"mask_probs": "array", "boxes": "boxes", "image_shape": "shape", "threshold": "fraction"},
  skip={"threshold": {"none": "None: the probabilities", "negative": "any real threshold of any scores",
                      "above 1": "any real threshold of any scores"}})
T("segmentation", "segmentation.instance_ious", lambda F: {"true_masks": OBJ(F), "pred_masks": OBJ(F)[::-1].copy()},
  {"true_masks": "masks", "pred_masks": "masks"})
T("segmentation", "segmentation.component_masks",
  lambda F: {"semantic_mask": M(F), "instance_masks": OBJ(F), "classes": np.array([[0, 1]] * 6)},
  {"semantic_mask": "masks", "instance_masks": "masks", "classes": "labels"},
  skip={"semantic_mask": {"out of range": "a class id without objects: its regions are given to nobody"},
        "classes": {"out of range": "a class absent from the semantic mask: its objects get empty masks"}})


def _dice_call(F, kw):
    from cnnkit import segmentation

    return segmentation.DiceLoss()(kw["y_true"], kw["y_pred"])


T("segmentation", "segmentation.DiceLoss call", lambda F: {"y_true": M(F), "y_pred": rng().random((6, 8, 8, 3))},
  {"y_true": "masks", "y_pred": "array"}, call=_dice_call, skip={"y_pred": OUTPUT})


# ---------------------------------------------------------------- export

def saved(F):
    def build():
        from cnnkit import export

        return str(export.save_keras(clf(F), "/tmp/cnnkit_fuzz/model.keras"))
    return F.get("saved", build)


def _save_base(F):
    import os

    for suffix in (".keras", ".tflite", ".onnx"):
        if os.path.exists(f"/tmp/cnnkit_fuzz/new{suffix}"):
            os.remove(f"/tmp/cnnkit_fuzz/new{suffix}")
    return {"model": clf(F), "path": "/tmp/cnnkit_fuzz/new.keras"}


T("export", "export.save_keras", _save_base, {"model": "model", "path": "path_out"},
  call=lambda F, kw: (__import__("cnnkit").export.save_keras(**kw), _save_base(F)))
T("export", "export.load_keras", lambda F: {"path": saved(F)}, {"path": "path_in"})
T("export", "export.file_size", lambda F: {"path": saved(F)}, {"path": "path_in"},
  skip={"path": {"corrupt": "any file has a size", "folder": "a folder's size is documented (a SavedModel)"}})
T("export", "export.measure_latency", lambda F: {"predict": lambda x: x, "x": X(F), "warmup": 1, "repeats": 2},
  {"predict": "model", "warmup": "nonneg", "repeats": "posint"},  # x is whatever predict takes: predict checks it
  skip={"predict": {"a function": "print is a callable"}})


T("export", "export.export_litert", lambda F: {"model": clf(F), "path": "/tmp/cnnkit_fuzz/m.tflite",
                                                "quantization": "int8", "representative_data": X(F),
                                                "calibration_samples": 4},
  {"representative_data": "images", "quantization": "name", "calibration_samples": "posint", "int8_io": "flag",
   "model": "model"})
T("export", "export.LiteRTModel", lambda F: {"path": F.get("tflite", lambda: str(__import__("cnnkit").export.export_litert(
    clf(F), "/tmp/cnnkit_fuzz/f.tflite")))}, {"path": "path_in", "num_threads": "posint"},
  skip={"num_threads": {"none": "None: the runtime's default"}})
T("export", "export.LiteRTModel.predict", lambda F: {"x": X(F)}, {"x": "images", "batch_size": "posint"},
  call=lambda F, kw: __import__("cnnkit").export.LiteRTModel(F.get("tflite", lambda: None)).predict(**kw))


# ---------------------------------------------------------------- data

SPLITS = {"val_fraction": "fraction", "test_fraction": "fraction", "seed": "nonneg"}
T("data", "data.load_shapes", lambda F: {"num_samples": 60, "image_size": 8},
  {"num_samples": "size", "image_size": "size", "classes": "custom", "noise": "positive", **SPLITS},
  skip={"noise": {"zero": "0: clean images"}},
  extra={"classes": {"unknown": ("circle", "hexagon"), "one class": ("circle",), "int": 3, "duplicate": ("circle", "circle")},
         "num_samples": {"too few for the splits": 12}, "val_fraction": {"with test, 1 or more": 0.9}})
T("data", "data.make_shapes", lambda F: {"num_samples": 12, "image_size": 8},
  {"num_samples": "size", "image_size": "size", "noise": "positive", "seed": "nonneg"},
  skip={"noise": {"zero": "0: clean images"}})
T("data", "data.load_digits", lambda F: {"image_size": 8}, {"image_size": "size", **SPLITS},
  skip={"image_size": {"none": "None: the native 8x8"}})
T("data", "data.load_mnist_5k", lambda F: {"image_size": 14}, {"image_size": "size", "channels": "posint", **SPLITS},
  skip={"image_size": {"none": "None: the native 28x28"}})
T("data", "data.load_textures", lambda F: {"patch_size": 16}, {"patch_size": "size", "channels": "posint", **SPLITS},
  extra={"patch_size": {"larger than the photos": 4096}})
T("data", "data.load_image", lambda F: {"name": "grace_hopper", "size": 16}, {"name": "name", "size": "size",
                                                                             "gray": "flag"},
  skip={"size": {"none": "None: the native size"}})
T("data", "data.load_audio", lambda F: {"num_samples": 24, "sample_rate": 8000, "duration": 0.1},
  {"num_samples": "size", "sample_rate": "size", "duration": "positive", "classes": "custom", "snr_db": "custom",
   **SPLITS},
  extra={"classes": {"unknown": ("tone", "bark")}, "snr_db": {"reversed": (20.0, 0.0), "nan": (float("nan"), 1.0),
                                                             "string": "loud"},
         "duration": {"huge": 10.0**7}})
T("data", "data.make_scenes", lambda F: {"num_images": 4, "image_size": 32},
  {"num_images": "size", "image_size": "size", "min_objects": "posint", "max_objects": "posint",
   "radius_range": "custom", "max_overlap": "fraction", "seed": "nonneg"},
  extra={"radius_range": {"reversed": (0.3, 0.1), "above 1": (0.1, 2.0), "string": "big"},
         "min_objects": {"above max": 9}})
T("data", "data.load_scene_masks", lambda F: {"num_train": 4, "num_val": 2, "num_test": 2, "image_size": 32},
  {"num_train": "size", "num_val": "size", "num_test": "size", "image_size": "size"})
T("data", "data.load_motion_clips", lambda F: {"num_samples": 24, "frames": 4, "image_size": 8, "num_dots": 4},
  {"num_samples": "size", "frames": "size", "image_size": "size", "num_directions": "posint", "num_dots": "posint",
   "speed": "custom", "coherence": "fraction", "dot_sigma": "positive", "noise": "positive"},
  skip={"noise": {"zero": "0: clean clips"}},
  extra={"speed": {"reversed": (2.0, 1.0), "nan": (float("nan"), 1.0), "string": "fast"}})
T("data", "data.direction_names", lambda F: {"num_directions": 4}, {"num_directions": "posint"})
T("data", "data.direction_vectors", lambda F: {"labels": np.array([0, 1, 2, 3]), "num_directions": 4},
  {"labels": "labels", "num_directions": "posint"},
  skip={"labels": {"too few": "any number of labels"}})
T("data", "data.opposite_direction", lambda F: {"labels": np.array([0, 1, 2, 3]), "num_directions": 4},
  {"labels": "labels", "num_directions": "posint"}, skip={"labels": {"too few": "any number of labels"}})
T("data", "data.render_dots", lambda F: {"positions": rng().random((2, 3, 2)) * 8, "image_size": 8},
  {"positions": "array", "image_size": "size", "dot_sigma": "positive"},
  skip={"positions": {"extra axis": "(..., num_dots, 2): leading axes are documented"}})
T("data", "data.reverse_clips", lambda F: {"clips": CLIPS(F), "labels": np.array([0, 1, 2, 3])},
  {"clips": "clips", "labels": "labels"})
T("data", "data.shuffle_frames", lambda F: {"clips": CLIPS(F)}, {"clips": "clips", "seed": "nonneg"},
  skip={"clips": {"empty batch": "no clips in, no clips out"}})
T("data", "data.load_motif_task", lambda F: {"num_samples": 40, "length": 16},
  {"num_samples": "size", "length": "size", "vocab_size": "posint", "num_classes": "posint", "motif_length": "posint",
   **SPLITS}, extra={"motif_length": {"longer than length": 32}})
T("data", "data.load_far_match_task", lambda F: {"num_samples": 40, "length": 16},
  {"num_samples": "size", "length": "size", "vocab_size": "posint", "filler_tokens": "posint", **SPLITS},
  skip={"filler_tokens": {"zero": "0: no filler tokens (documented as a non-negative count)"}})
T("data", "data.pad_targets", lambda F: {"targets": truth(F)}, {"targets": "detections", "max_boxes": "posint"},
  skip={"max_boxes": {"none": "None: the largest count"},
        "targets": {"one image too many": "one list only: any number of images"}}, extra={"max_boxes": {"fewer than the boxes": 1}})
T("data", "data.split_off", lambda F: {"x": X(F), "y": Y(F), "fraction": 0.5, "seed": 0},
  {"x": "images", "y": "labels", "fraction": "fraction", "seed": "nonneg"},
  skip={"x": {k: "split_off splits any arrays (features, clips), not only images" for k in
              ("uint8 0-255", "float 0-255", "channels-first", "no channel axis", "nan", "inf", "complex")},
        "y": {"out of range": "no class count here"}})
T("data", "data.stratified_split", lambda F: {"x": np.concatenate([X(F)] * 3), "y": np.concatenate([Y(F)] * 3),
                                              "val_fraction": 0.34, "test_fraction": 0.34, "seed": 0},
  {"y": "labels", "val_fraction": "fraction", "test_fraction": "fraction"},
  skip={"y": {"out of range": "no class count here"}})
T("data", "data.decode_predictions", lambda F: {"probabilities": np.full((2, 1000), 1e-3)},
  {"probabilities": "array", "top": "posint"}, extra={"probabilities": {"10 classes": np.full((2, 10), 0.1)},
                                                      "top": {"above 1000": 1001}})
T("data", "data.load_dataset", lambda F: {"name": "digits"}, {"name": "name"})
T("data", "data.texture_patches", lambda F: {"name": "brick", "patch_size": 16}, {"name": "name", "patch_size": "size"})
T("data", "data.load_coins_mask", lambda F: {"size": 32}, {"size": "size"}, skip={"size": {"none": "native size"}})
T("data", "data.motif_set", lambda F: {"num_classes": 4, "motif_length": 4}, {"num_classes": "posint",
                                                                               "motif_length": "posint",
                                                                               "motif_seed": "nonneg"})


# ---------------------------------------------------------------- transfer

def mnv2(F):
    return F.get("mnv2", lambda: __import__("cnnkit").transfer.load_pretrained("mobilenet_v2", (32, 32, 3),
                                                                               weights=None))


T("transfer", "transfer.load_pretrained", lambda F: {"name": "mobilenet_v2", "input_shape": (32, 32, 3),
                                                     "weights": None},
  {"name": "name", "input_shape": "shape", "weights": "name"}, skip={"weights": {"none": "None: random weights"}},
  extra={"input_shape": {"tiny": (8, 8, 3)}})  # grey (32, 32, 1) is valid with weights=None
T("transfer", "transfer.build_transfer_model", lambda F: {"backbone": mnv2(F), "num_classes": 3},
  {"backbone": "model", "num_classes": "posint", "dropout": "fraction"}, extra={"dropout": {"one": 1.0}})
T("transfer", "transfer.as_backbone", lambda F: {"model": clf(F), "name": "tiny"}, {"model": "model", "name": "custom"},
  extra={"name": {"int": 3}})
T("transfer", "transfer.freeze", lambda F: {"model": clf(F, "frozen")}, {"model": "model"})
T("transfer", "transfer.unfreeze_top", lambda F: {"model": mnv2(F).model, "num_layers": 3},
  {"model": "model", "num_layers": "nonneg", "keep_batch_norm_frozen": "flag"})
T("transfer", "transfer.count_parameters", lambda F: {"model": clf(F)}, {"model": "model"})
T("transfer", "transfer.weights_file", lambda F: {"name": "efficientnet_b0", "input_shape": (224, 224, 3)},
  {"name": "name", "input_shape": "shape"})


# ---------------------------------------------------------------- video

T("video", "video.blank_frame", lambda F: {"clips": CLIPS(F), "t": 1}, {"clips": "clips", "t": "nonneg",
                                                                         "fill": "positive"},
  skip={"fill": {"zero": "0: black", "negative": "any fill value (standardised clips)"},
        "clips": {"empty batch": "no clips in, no clips out"}},
  extra={"t": {"past the last frame": 4}})
T("video", "video.class_probabilities", lambda F: {"model": vid(F), "x": CLIPS(F)},
  {"model": "model", "x": "clips", "batch_size": "posint", "from_logits": "flag"})
T("video", "video.temporal_saliency", lambda F: {"model": vid(F), "clips": CLIPS(F)},
  {"model": "model", "clips": "clips", "class_index": "class_id", "fill": "positive", "batch_size": "posint"},
  skip={"fill": {"zero": "0: black", "negative": "any fill"},
        "clips": {"no batch axis": "one clip (T, H, W, C) is documented"}})
T("video", "video.conv3d_params", lambda F: {"in_channels": 3, "filters": 8},
  {"in_channels": "posint", "filters": "posint", "kernel_size": "custom", "use_bias": "flag"},
  extra={"kernel_size": {"zero": 0, "pair": (3, 3), "float": 2.5}})
T("video", "video.conv2plus1d_params", lambda F: {"in_channels": 3, "filters": 8},
  {"in_channels": "posint", "filters": "posint", "intermediate": "posint", "batch_norm": "flag"},
  skip={"intermediate": {"none": "None: matched to Conv3D's parameters"}})
T("video", "video.intermediate_filters", lambda F: {"in_channels": 3, "filters": 8},
  {"in_channels": "posint", "filters": "posint"})
T("video", "video.conv_macs", lambda F: {"output_shape": (4, 8, 8, 16), "kernel_size": (3, 3, 3), "in_channels": 8},
  {"output_shape": "custom", "kernel_size": "custom", "in_channels": "posint", "groups": "posint"},
  extra={"output_shape": {"negative": (4, -8, 8, 16), "string": "big", "floats": (4.5, 8, 8, 16)},
         "kernel_size": {"zero": (0, 3, 3), "string": "3x3"}, "groups": {"not dividing": 3}})
T("video", "video.inflate_2d_to_3d", lambda F: {"conv2d_weights": [kernel(F), np.zeros(4)], "time": 3},
  {"conv2d_weights": "custom", "time": "posint"},
  extra={"conv2d_weights": {"nan": [np.full((3, 3, 2, 4), np.nan)], "rank 2": [np.ones((3, 3))], "string": "w",
                            "none": None}})


# ---------------------------------------------------------------- experiments

def _runs(F):
    from cnnkit import experiments

    return F.get("repeats", lambda: (
        experiments.repeat(lambda seed: {"acc": 0.5 + 0.01 * seed}, seeds=(0, 1, 2), label="a", verbose=False),
        experiments.repeat(lambda seed: {"acc": 0.6 + 0.01 * seed}, seeds=(0, 1, 2), label="b", verbose=False)))


T("experiments", "experiments.repeat", lambda F: {"run": lambda seed: {"acc": 0.5}, "seeds": (0, 1), "verbose": False},
  {"run": "model", "seeds": "custom", "verbose": "flag"},
  extra={"seeds": {"empty": (), "negative": (-1,), "floats": (0.5,), "duplicate": (1, 1), "string": "012"},
         "run": {"returns a string": lambda seed: "good", "returns nothing": lambda seed: None}})
# A run that returns NaN (a diverged training) is a result to report, not refused: refusing it after the first seeds
# would throw their work away. So it is not among the bad inputs.
T("experiments", "experiments.compare", lambda F: {"results": list(_runs(F)), "metric": "acc"},
  {"results": "custom", "metric": "name"}, skip={"metric": {"none": "None: the only metric"}},
  extra={"results": {"empty": [], "string": "runs", "numbers": [1, 2]}})
T("experiments", "experiments.verdict", lambda F: {"a": _runs(F)[0], "b": _runs(F)[1], "metric": "acc"},
  {"a": "custom", "b": "custom", "metric": "name"}, skip={"metric": {"none": "None: the only metric"}},
  extra={"a": {"number": 0.5, "string": "a"}, "b": {"number": 0.5, "none": None}})
T("experiments", "experiments.median_time", lambda F: {"fn": lambda: None, "repeats": 2, "warmup": 0},
  {"fn": "model", "repeats": "posint", "warmup": "nonneg"}, skip={"fn": {"a function": "print() is a callable"}})
T("experiments", "experiments.timings", lambda F: {"fn": lambda: None, "repeats": 2, "warmup": 0},
  {"fn": "model", "repeats": "posint", "warmup": "nonneg"}, skip={"fn": {"a function": "print() is a callable"}})


# ---------------------------------------------------------------- analysis

T("analysis", "analysis.grad_cam", lambda F: {"model": clf(F), "images": X(F)[:2], "layer": "conv"},
  {"model": "model", "images": "images", "layer": "name", "class_index": "class_id"},
  skip={"layer": {"none": "None: the last conv layer"}, "images": {"no batch axis": "one image is documented"}})
T("analysis", "analysis.feature_maps", lambda F: {"model": clf(F), "images": X(F)[:2], "layer": "conv"},
  {"model": "model", "images": "images", "layer": "name"}, skip={"images": {"no batch axis": "one image is documented"}})
T("analysis", "analysis.occlusion_map", lambda F: {"model": clf(F), "images": X(F)[:1], "patch": 4},
  {"model": "model", "images": "images", "patch": "posint", "stride": "posint", "fill": "positive",
   "class_index": "class_id", "batch_size": "posint"},
  skip={"stride": {"none": "None: the patch size"}, "fill": {"zero": "0: black", "negative": "any fill"},
        "images": {"no batch axis": "one image is documented"}},
  extra={"patch": {"larger than the image": 16}})
T("analysis", "analysis.visualize_filters", lambda F: {"model": clf(F), "layer": "conv", "channels": [0, 1],
                                                       "steps": 2},
  {"model": "model", "layer": "name", "channels": "custom", "steps": "posint", "step_size": "positive",
   "border": "custom", "seed": "nonneg"},
  extra={"channels": {"empty": [], "out of range": [99], "negative": [-1], "fractional": [0.5], "string": "0"},
         "border": {"half": 0.5, "negative": -0.1, "nan": float("nan"), "string": "0.1"}})
T("analysis", "analysis.receptive_field", lambda F: {"model": clf(F)}, {"model": "model", "input_shape": "shape"},
  skip={"input_shape": {"huge": "a receptive field is arithmetic: no allocation"}})
T("analysis", "analysis.summary_table", lambda F: {"model": clf(F)}, {"model": "model", "input_shape": "shape"})
T("analysis", "analysis.last_conv_layer", lambda F: {"model": clf(F)}, {"model": "model"},
  extra={"model": {"no conv layer": Lazy(lambda F: __import__("keras").Sequential(
      [__import__("keras").Input((3,)), __import__("keras").layers.Dense(2)]))}})
T("analysis", "analysis.weight_gradients", lambda F: {"model": clf(F), "x": X(F), "y": Y(F),
                                                      "loss_fn": __import__("keras").losses.SparseCategoricalCrossentropy(
                                                          from_logits=True)},
  {"model": "model", "x": "images", "y": "labels", "loss_fn": "model"})
