"""What a model computes on an image: the feature maps of a layer, Grad-CAM and occlusion heat maps.

:func:`feature_maps` returns a layer's activations; :func:`grad_cam` shows
which pixels a class score depends on (from gradients); :func:`occlusion_map`
measures it (grey out a patch, see the probability fall); :func:`visualize_filters`
asks the reverse question, which image a channel responds to most (gradient ascent
on the input). :mod:`cnnkit.viz.inspect` draws them.
"""

from __future__ import annotations

import keras
import numpy as np

from cnnkit import _validate as V
from cnnkit.analysis._graph import call_with_offset, depends_on
from cnnkit.analysis._layers import CONVS, DEPTHWISE, SEPARABLE
from cnnkit.analysis.autodiff import gradients


def _model(model):
    return V.instance(model, "model", keras.Model, "a keras.Model")


def _find_layer(model, layer):
    if isinstance(layer, keras.layers.Layer):
        return layer
    if isinstance(layer, str) and layer:
        try:
            return model.get_layer(layer)
        except ValueError:
            pass
    names = ", ".join(lay.name for lay in model.layers)
    V.fail("layer", f"the name of a layer of model {model.name!r} ({names}) or the layer itself", layer,
           wrong_type=not isinstance(layer, str))


def _model_input(model):
    """The model's input tensor (a single tensor, so the probe model takes a plain array)."""
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def _as_batch(images, model) -> tuple[np.ndarray, bool]:
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.number) or np.iscomplexobj(images):
        V.fail("images", "an array of images", images, wrong_type=True)
    rank = len(model.inputs[0].shape)
    if images.ndim in (rank - 1, rank):  # NaN and 0-255 images refused, checked as a batch (before float32)
        V.model_inputs(images[None] if images.ndim == rank - 1 else images, "images")
    images = images.astype("float32", copy=False)
    if images.ndim == rank - 1:
        V.fits_model(images[None], model, "images")
        return images[None], True
    if images.ndim == rank:
        V.fits_model(images, model, "images")
        return images, False
    raise ValueError(f"Expected one input of shape {tuple(model.inputs[0].shape[1:])} or a batch of them; "
                     f"received an array of shape {images.shape}.")


def feature_maps(model, images, layer) -> np.ndarray:
    """The activations of ``layer`` for the given images.

    Args:
        model: a functional or ``Sequential`` model.
        images: one image ``(H, W, C)`` or a batch ``(N, H, W, C)``.
        layer: a layer name or a layer of the model.

    Returns:
        ``(N, h, w, channels)`` (without ``N`` for a single image), as NumPy.

    Example:
        >>> maps = feature_maps(model, digits.x_test[0], "conv1")   # doctest: +SKIP
        >>> maps.shape                                              # doctest: +SKIP
        (32, 32, 32)
    """
    target = _find_layer(_model(model), layer)
    batch, single = _as_batch(images, model)
    probe = keras.Model(_model_input(model), target.output)
    # A direct call (not predict) avoids compiling a new predict function for every probe model.
    out = keras.ops.convert_to_numpy(probe(batch, training=False))
    return out[0] if single else out


def last_conv_layer(model):
    """The last convolution whose output is still a spatial feature map (the usual Grad-CAM layer).

    Example:
        >>> last_conv_layer(create_model("simple_cnn")).name     # doctest: +SKIP
        'conv3'
    """
    rank = len(_model(model).inputs[0].shape)
    spatial = [layer for layer in model.layers
               if isinstance(layer, CONVS + DEPTHWISE + SEPARABLE) and len(layer.output.shape) == rank]
    if not spatial:
        raise ValueError(f"model must have a convolution layer whose output is a feature map; received model "
                         f"{model.name!r} with layers {', '.join(lay.name for lay in model.layers)}.")
    return spatial[-1]


def grad_cam(model, images, layer=None, class_index=None) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM heat maps: where in the image the chosen class score comes from.

    Selvaraju et al. (2017): weight each channel of a convolutional feature
    map by the average gradient of the class score with respect to it, sum the
    weighted channels, keep the positive part, and scale to ``[0, 1]``. For a
    network that ends in global average pooling and one dense layer it equals
    the class activation map (CAM) of Zhou et al. (2016).

    The gradient is that of the class score with respect to an offset added to
    the layer's output (at zero), from :func:`cnnkit.analysis.gradients`, so it
    works on all three Keras backends and whatever paths lead around the layer
    (e.g. a residual shortcut).

    Args:
        model: a classifier (functional or ``Sequential``) whose output is class scores.
        images: one image ``(H, W, C)`` or a batch ``(N, H, W, C)``.
        layer: the convolutional layer (name or layer) to explain; default: the last one.
        class_index: the class to explain (int); default: each image's predicted class.

    Returns:
        ``(heatmaps, classes)``: heat maps ``(N, h, w)`` at the layer's resolution, in
        ``[0, 1]``, and the explained class of each image (without ``N`` for one image).

    Example:
        >>> heat, cls = grad_cam(model, digits.x_test[0])    # doctest: +SKIP
    """
    target = last_conv_layer(model) if layer is None else _find_layer(_model(model), layer)
    batch, single = _as_batch(images, model)
    num_classes = model.outputs[0].shape[-1]
    class_index = V.integer(class_index, "class_index", 0, num_classes - 1, allow_none=True)
    if not depends_on(model, target):
        raise ValueError(f"The class score does not depend on layer {target.name!r}; choose an earlier layer.")
    probe = keras.Model(_model_input(model), [target.output, model.outputs[0]])
    maps, scores = (keras.ops.convert_to_numpy(t) for t in probe(batch, training=False))
    chosen = (np.argmax(scores, axis=-1) if class_index is None else np.full(len(batch), class_index)).astype("int32")
    inputs = keras.ops.convert_to_tensor(batch)

    def picked_score(offset):
        """Sum over the batch of each image's chosen class score (images do not interact, so its
        gradient holds every image's own gradient)."""
        out = call_with_offset(model, inputs, target, offset)
        return keras.ops.sum(keras.ops.take_along_axis(out, keras.ops.convert_to_tensor(chosen[:, None]), axis=1))

    (grads,) = gradients(picked_score, np.zeros_like(maps))
    weights = grads.mean(axis=tuple(range(1, grads.ndim - 1)))  # one weight per channel
    cam = np.maximum(np.einsum("n...c,nc->n...", maps, weights), 0.0)
    peak = cam.reshape(len(cam), -1).max(axis=1).reshape((-1,) + (1,) * (cam.ndim - 1))
    cam = np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)
    return (cam[0], int(chosen[0])) if single else (cam, chosen)


def class_probabilities(model, x, batch_size: int = 256, from_logits: bool = True) -> np.ndarray:
    """The model's class probabilities on ``x`` as float64 NumPy (a softmax of its logits when ``from_logits``)."""
    _model(model)
    batch_size, from_logits = V.positive_int(batch_size, "batch_size"), V.boolean(from_logits, "from_logits")
    if not hasattr(x, "shape") or V.is_number(x):
        V.fail("x", "an array of model inputs (batch, ...)", x, wrong_type=True)
    raw = np.asarray(x)
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_) or np.iscomplexobj(raw):
        V.fail("x", "an array of real numbers", x, wrong_type=True)
    V.model_inputs(x, "x")
    V.fits_model(x, model, "x")
    out = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    if not from_logits:
        return out
    e = np.exp(out - out.max(axis=-1, keepdims=True))  # shifted: exp never overflows
    return e / e.sum(axis=-1, keepdims=True)


def occlusion_map(model, images, patch: int = 8, stride: int | None = None, fill: float = 0.0,
                  class_index=None, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Occlusion sensitivity (Zeiler & Fergus, 2014): the drop in class probability when a patch is covered.

    A patch of ``fill`` slides over the image; at each position the model's
    softmax probability of the explained class is measured again. The map holds
    ``p(original) - p(occluded)``: large where covering the image removes the
    evidence. It needs no gradients and is not normalised, so maps of different
    images compare on one scale (Grad-CAM's are each stretched to ``[0, 1]``).
    A sanity check for Grad-CAM: the two should agree on where the evidence is.

    Args:
        model: a classifier whose output is logits (cnnkit's convention).
        images: one image ``(H, W, C)`` or a batch ``(N, H, W, C)``.
        patch: side of the square patch, in pixels.
        stride: step between patch positions (default: ``patch // 2``, at least 1).
        fill: value of the patch (0 is the black background of the digits).
        class_index: the class to explain (int); default: each image's predicted class.
        batch_size: occluded images per forward pass.

    Returns:
        ``(maps, classes)``: probability drops ``(N, rows, cols)``, one per patch
        position (negative where covering makes the model *more* sure), and the
        explained class per image (without ``N`` for one image).

    Example:
        >>> drops, cls = occlusion_map(model, digits.x_test[:4], patch=8)    # doctest: +SKIP
    """
    batch, single = _as_batch(images, _model(model))
    if batch.ndim != 4:
        raise ValueError(f"images must be 2D images (H, W, C) or (N, H, W, C); received shape {batch.shape}.")
    height, width = batch.shape[1:3]
    patch = V.integer(patch, "patch", 1, min(height, width))
    stride = V.positive_int(stride if stride is not None else max(1, patch // 2), "stride")
    fill, batch_size = V.number(fill, "fill"), V.positive_int(batch_size, "batch_size")
    num_classes = model.outputs[0].shape[-1]
    class_index = V.integer(class_index, "class_index", 0, num_classes - 1, allow_none=True)

    def probabilities(x):
        return class_probabilities(model, x, batch_size=batch_size)

    base = probabilities(batch)
    chosen = base.argmax(-1) if class_index is None else np.full(len(batch), class_index)
    tops, lefts = range(0, height - patch + 1, stride), range(0, width - patch + 1, stride)
    maps = np.zeros((len(batch), len(tops), len(lefts)), dtype=np.float32)
    rows = np.arange(len(batch))
    for i, top in enumerate(tops):
        occluded = np.repeat(batch[:, None], len(lefts), axis=1)  # (N, cols, H, W, C)
        for j, left in enumerate(lefts):
            occluded[:, j, top:top + patch, left:left + patch] = fill
        p = probabilities(occluded.reshape(-1, *batch.shape[1:])).reshape(len(batch), len(lefts), -1)
        maps[:, i] = base[rows, chosen][:, None] - p[rows[:, None], np.arange(len(lefts))[None], chosen[:, None]]
    chosen = chosen.astype("int32")
    return (maps[0], int(chosen[0])) if single else (maps, chosen)


def visualize_filters(model, layer, channels, steps: int = 40, step_size: float = 0.05, border: float = 0.1,
                      seed: int = 0) -> np.ndarray:
    """Feature visualisation: an input image that each chosen channel of ``layer`` responds to strongly.

    Gradient ascent on the input (Erhan et al., 2009; Chollet, *Deep Learning
    with Python*, "visualizing convnet filters"): start from grey noise, and
    repeatedly step the image along the gradient of the channel's mean
    activation, normalised to unit RMS so every step has the same size, clipped
    to the model's ``[0, 1]`` input range. The gradient comes from
    :func:`cnnkit.analysis.gradients`, so it runs on every Keras backend. All
    channels are optimised together, one image each, in one batch.

    Args:
        model: a functional or ``Sequential`` model with a fully defined input shape,
            taking images in ``[0, 1]`` (cnnkit's convention).
        layer: a layer name or a layer of the model with a spatial output ``(N, h, w, channels)``.
        channels: the channel indices to visualise (ints).
        steps: gradient-ascent steps.
        step_size: size of each step, in input units (RMS over the image).
        border: the fraction of the feature map's height and width left out on each side of
            the objective, so the pattern fills the middle rather than the padded edges.
        seed: seed of the starting noise.

    Returns:
        ``(len(channels), H, W, C)`` float32 images in ``[0, 1]``, in the order of ``channels``.

    Example:
        >>> patterns = visualize_filters(lite0, "P4", [0, 5, 9])      # doctest: +SKIP
        >>> patterns.shape                                            # doctest: +SKIP
        (3, 224, 224, 3)
    """
    target = _find_layer(_model(model), layer)
    out_shape = tuple(target.output.shape)
    if len(out_shape) != 4:
        raise ValueError(f"layer must output a 2D feature map (batch, height, width, channels); received layer "
                         f"{target.name!r} with output shape {out_shape}.")
    input_shape = tuple(model.inputs[0].shape[1:])
    if None in input_shape:
        raise ValueError(f"model must have a fully defined input shape to start from an image; received "
                         f"{input_shape}. Build it with input_shape=(height, width, channels).")
    chosen = V.integer_array(channels, "channels", "channel indices")
    if chosen.ndim != 1 or chosen.size == 0 or chosen.min() < 0 or chosen.max() >= out_shape[-1]:
        raise ValueError(f"channels must be a non-empty list of channel indices in [0, {out_shape[-1] - 1}] "
                         f"(layer {target.name!r} has {out_shape[-1]} channels); received {channels!r}.")
    channels = chosen.tolist()
    steps, step_size = V.positive_int(steps, "steps"), V.positive_float(step_size, "step_size")
    border = V.number(border, "border", 0.0, 0.49)
    seed = V.integer(seed, "seed", 0)

    probe = keras.Model(_model_input(model), target.output)
    height, width = out_shape[1:3]
    top, left = int(border * height), int(border * width)
    selector = np.eye(out_shape[-1], dtype="float32")[channels]  # (N, channels): image i looks at channel i

    def objective(images):
        """Sum over the batch of each image's own channel's mean activation (the images do not interact)."""
        maps = probe(images, training=False)[:, top:height - top, left:width - left, :]
        return keras.ops.sum(keras.ops.multiply(keras.ops.mean(maps, axis=(1, 2)), selector))

    rng = np.random.default_rng(seed)
    images = np.clip(0.5 + 0.05 * rng.standard_normal((len(channels), *input_shape)), 0, 1).astype("float32")
    for _ in range(steps):
        (grad,) = gradients(objective, images)
        rms = np.sqrt(np.mean(grad ** 2, axis=(1, 2, 3), keepdims=True))
        images = np.clip(images + step_size * grad / (rms + 1e-12), 0.0, 1.0).astype("float32")
    return images
