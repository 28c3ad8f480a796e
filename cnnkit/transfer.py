"""Transfer learning: reuse a trained backbone, train a new head, then fine-tune the top.

The recipe (as in Keras's transfer-learning guide):

1. :func:`load_pretrained` a ``keras.applications`` backbone with ImageNet
   weights (offline, or with ``CNNKIT_OFFLINE=1``, it builds the same network
   with ``weights=None`` and says so once: the recipe still runs, on random features);
2. :func:`build_transfer_model` puts it under a new head: rescale the
   ``[0, 1]`` images to the range the backbone was trained on, run the
   backbone **with** ``training=False``, pool, dropout, a dense layer;
3. :func:`freeze` the backbone and train the head (a normal learning rate);
4. :func:`unfreeze_top` the last layers and fine-tune with a learning rate ~10x lower.

**Batch norm while frozen.** A ``BatchNormalization`` layer does two things in
training mode: it normalises with the *batch's* statistics and updates its
moving averages. Keras runs a layer with ``trainable = False`` in inference
mode (moving statistics, no updates), and calling the backbone with
``training=False`` keeps it in inference mode even after it is unfrozen. This
matters: a small new dataset has different statistics, and letting them
overwrite ImageNet's would shift every feature the head has learned to read,
undoing the pretraining in the first steps. :func:`unfreeze_top` also keeps the
batch-norm layers' scale and shift frozen by default.

The helpers work for cnnkit's own backbones too (any ``keras.Model``), which is
how the course demonstrates transfer offline: train a backbone on one task in
the notebook, then transfer it to another.

Example:
    The recipe with ImageNet weights (a download the first time, then minutes of
    training, so not run here; ``x``, ``y``: images in ``[0, 1]`` and their labels)::

        from cnnkit import train, transfer

        backbone = transfer.load_pretrained("mobilenet_v2", input_shape=(96, 96, 3))
        model = transfer.build_transfer_model(backbone, num_classes=6)
        transfer.freeze(backbone.model)
        train.fit(train.compile_model(model, 1e-3), x, y, epochs=5)
        transfer.unfreeze_top(backbone.model, num_layers=20)
        train.fit(train.compile_model(model, 1e-4), x, y, epochs=5)

    The same steps on one of cnnkit's own backbones, untrained here:

    >>> from cnnkit import create_model, transfer
    >>> backbone = transfer.as_backbone(create_model("resnet_small", include_top=False, input_shape=(32, 32, 3)))
    >>> model = transfer.build_transfer_model(backbone, num_classes=6)
    >>> transfer.freeze(backbone.model)
    >>> transfer.count_parameters(model)          # only the new head trains
    {'trainable': 774, 'frozen': 308976}
    >>> transfer.unfreeze_top(backbone.model, num_layers=2)
    ['stage4_block1', 'P5']
    >>> transfer.count_parameters(model)          # the last block too, but not its batch norms
    {'trainable': 230150, 'frozen': 79600}
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import keras
import numpy as np

from cnnkit import _validate as V
from cnnkit import config
from cnnkit.analysis import flatten_layers

# name -> (keras.applications class, scale, offset): images in [0, 1] become x * scale + offset,
# the range each network's own preprocess_input produces.
APPLICATIONS = {
    "mobilenet_v2": ("MobileNetV2", 2.0, -1.0),  # expects [-1, 1]
    "efficientnet_b0": ("EfficientNetB0", 255.0, 0.0),  # expects [0, 255]; normalises inside
}

# The hash of every ImageNet weight file load_pretrained downloads. cnnkit downloads the file itself
# with keras.utils.get_file(file_hash=...), which checks the hash after the download and again each time
# the cached copy is reused, and hands the checked file to the keras.applications constructor (which,
# for MobileNetV2, would download without any hash and trust the cache afterwards).
# EfficientNetB0's is the MD5 Keras itself checks (keras/src/applications/efficientnet.py,
# WEIGHTS_HASHES["b0"][1]). Keras publishes no hash for MobileNetV2's files, so none is recorded and
# load_pretrained("mobilenet_v2") does not download them (it says so and uses random weights); to use
# them, add the SHA-256 of a copy you trust here, under the file name weights_file gives.
WEIGHT_HASHES = {
    "efficientnetb0_notop.h5": "50bc09e76180e00e4465e1a485ddc09d",
}


def _input_shape(input_shape) -> tuple[int, int, int]:
    """``(height, width, channels)`` with height and width at least 32 (the smallest size keras.applications builds)."""
    shape = V.image_shape(input_shape, unknown_size=False)
    if min(shape[:2]) < 32:
        V.fail("input_shape", "(height, width, channels) with height and width >= 32 (keras.applications' minimum)",
               input_shape)
    return shape


def weights_file(name: str, input_shape) -> tuple[str, str]:
    """``(file name, URL)`` of the ImageNet weights without the top that Keras's constructor would download.

    MobileNetV2 has one file per input size 96, 128, 160, 192 and 224 (Keras
    uses the 224 file for any other size); EfficientNetB0 one for every size.

    Example:
        >>> weights_file("mobilenet_v2", (96, 96, 3))[0]
        'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5'
    """
    V.choice(name, "name", list_pretrained())
    input_shape = _input_shape(input_shape)
    if name == "mobilenet_v2":
        rows = input_shape[0] if input_shape[0] in (96, 128, 160, 192, 224) else 224
        fname = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"
        return fname, f"https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/{fname}"
    fname = "efficientnetb0_notop.h5"
    return fname, f"https://storage.googleapis.com/keras-applications/{fname}"


@dataclass(repr=False)
class Backbone:
    """A backbone ready for transfer: the model and how to feed it.

    Attributes:
        model: the ``keras.Model`` (no classification head).
        name: e.g. ``"mobilenet_v2"``, or the model's name for a cnnkit backbone.
        weights: ``"imagenet"`` when pretrained weights were loaded, else ``None``.
        scale, offset: images in ``[0, 1]`` are fed as ``x * scale + offset``.
        message: where the weights came from, in one sentence.
    """

    model: keras.Model
    name: str
    weights: str | None
    scale: float = 1.0
    offset: float = 0.0
    message: str = ""

    @property
    def pretrained(self) -> bool:
        return self.weights is not None

    def __repr__(self) -> str:
        return f"Backbone({self.name!r}, weights={self.weights!r}, {self.model.count_params():,} parameters)"


def list_pretrained() -> list[str]:
    """Names accepted by :func:`load_pretrained`."""
    return sorted(APPLICATIONS)


def load_pretrained(name: str = "mobilenet_v2", input_shape=(96, 96, 3), weights: str | None = "imagenet") -> Backbone:
    """A ``keras.applications`` backbone (``include_top=False``) with ImageNet weights when possible.

    With ``weights="imagenet"`` it downloads the weights with the hash cnnkit
    keeps for them (:data:`WEIGHT_HASHES`; Keras caches them under
    ``~/.keras/models`` and the hash is checked on every reuse). Offline, with
    ``CNNKIT_OFFLINE=1``, when the download fails or its hash does not match, or
    when cnnkit keeps no hash for the file, it builds the same network with
    ``weights=None`` (random initialisation) and prints one message saying so.

    Args:
        name: one of :func:`list_pretrained`.
        input_shape: ``(height, width, 3)``; ImageNet weights exist for any size
            of at least 32x32 without the top (96-224 work best).
        weights: ``"imagenet"`` or ``None`` (random on purpose, no message).

    Returns:
        A :class:`Backbone`; ``backbone.pretrained`` says whether ImageNet weights were loaded.
    """
    V.choice(name, "name", list_pretrained())
    V.choice(weights, "weights", ("imagenet", None))
    input_shape = _input_shape(input_shape)
    class_name, scale, offset = APPLICATIONS[name]
    constructor = getattr(keras.applications, class_name)

    def build(w):
        return constructor(weights=w, include_top=False, input_shape=tuple(input_shape))

    if weights is None:
        return Backbone(build(None), name, None, scale, offset, f"{class_name} with random weights (weights=None).")
    advice = f"Connect to the internet (and unset {config.OFFLINE_ENV}) for ImageNet weights."
    fname, origin = weights_file(name, input_shape)
    if fname not in WEIGHT_HASHES:
        # Checked before the offline switch, so the message never promises a download that would be refused.
        reason = f"cnnkit keeps no verified hash for {fname}, and Keras checks none, so it is not downloaded"
        advice = ("Add the SHA-256 of a copy you trust to cnnkit.transfer.WEIGHT_HASHES for ImageNet weights, or use "
                  "load_pretrained('efficientnet_b0') (hash kept) or create_model('efficientnet_lite0', "
                  "weights='imagenet') (weights inside an installed package, offline).")
    elif config.offline_mode():
        reason = f"{config.OFFLINE_ENV}=1 is set"
    elif not config.reachable(origin):
        reason = f"no connection to {origin.split('/')[2]}"
    else:
        try:
            path = keras.utils.get_file(fname, origin, file_hash=WEIGHT_HASHES[fname], cache_subdir="models")
            model = build(path)
            return Backbone(model, name, "imagenet", scale, offset, f"{class_name} with ImageNet weights.")
        except Exception as err:  # no network, DNS failure, blocked download, hash mismatch, ...
            reason = f"{type(err).__name__}: {err}".splitlines()[0]
            reason = reason if len(reason) <= 120 else reason[:117] + "..."
    message = (
        f"[cnnkit] ImageNet weights for {class_name} are not available ({reason}). Using the same network "
        f"with random weights (weights=None): the transfer recipe runs, but the frozen features are not "
        f"pretrained. {advice}"
    )
    print(message, file=sys.stderr)
    return Backbone(build(None), name, None, scale, offset, message)


def as_backbone(model, name: str | None = None) -> Backbone:
    """Wrap one of cnnkit's own backbones (``include_top=False``, images in ``[0, 1]``) for transfer."""
    V.instance(model, "model", keras.Model, "a keras.Model")
    if name is not None and not (isinstance(name, str) and name):
        V.fail("name", "a non-empty string", name, allow_none=True, wrong_type=not isinstance(name, str))
    return Backbone(model, name or model.name, "trained in cnnkit", 1.0, 0.0, f"{model.name} trained in this session.")


def build_transfer_model(backbone: Backbone, num_classes: int, dropout: float = 0.2, name: str | None = None):
    """A classifier on top of ``backbone``: rescale, backbone (inference mode), pool, dropout, dense.

    The backbone is called with ``training=False``, so its batch-norm layers
    use their moving statistics even while the rest of the model trains (see
    the module docstring). The backbone's weights are shared, not copied:
    :func:`freeze` / :func:`unfreeze_top` on ``backbone.model`` act on this model.

    Args:
        backbone: a :class:`Backbone` (from :func:`load_pretrained` or :func:`as_backbone`).
        num_classes: outputs of the new head (logits).
        dropout: dropout before the dense layer.

    Input shape:
        ``(batch, H, W, C)`` images in ``[0, 1]`` of the backbone's input size.

    Output shape:
        ``(batch, num_classes)`` logits.
    """
    V.instance(backbone, "backbone", Backbone, "a cnnkit.transfer.Backbone")
    num_classes = V.num_classes(num_classes)
    dropout = V.rate(dropout, "dropout")
    inputs = keras.Input(backbone.model.input_shape[1:], name="image")
    x = inputs
    if (backbone.scale, backbone.offset) != (1.0, 0.0):
        x = keras.layers.Rescaling(backbone.scale, backbone.offset, name="to_backbone_range")(x)
    x = backbone.model(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(int(num_classes), name="logits")(x)
    return keras.Model(inputs, outputs, name=name or f"{backbone.name}_transfer")


def freeze(model) -> None:
    """Make every weight of ``model`` non-trainable (batch norm then runs in inference mode)."""
    V.instance(model, "model", keras.layers.Layer, "a keras.Model or layer")
    model.trainable = False


def unfreeze_top(model, num_layers: int, keep_batch_norm_frozen: bool = True) -> list[str]:
    """Unfreeze the last ``num_layers`` layers of ``model`` (the rest stays frozen); return their names.

    Args:
        model: the backbone (a functional model: its layers are in graph order).
        num_layers: how many layers, counted from the output end; layers without
            weights (activations, additions) count too.
        keep_batch_norm_frozen: leave ``BatchNormalization`` layers frozen (and so
            in inference mode), as recommended for fine-tuning on small data.
    """
    V.instance(model, "model", keras.Model, "a keras.Model")
    num_layers = V.non_negative_int(num_layers, "num_layers")
    keep_batch_norm_frozen = V.boolean(keep_batch_norm_frozen, "keep_batch_norm_frozen")
    layers = model.layers
    if num_layers > len(layers):
        raise ValueError(f"num_layers must be at most the {len(layers)} layers of {model.name!r}; received "
                         f"{num_layers}.")
    model.trainable = True  # the container must be trainable for any of its layers to be
    top = layers[len(layers) - num_layers:] if num_layers else []
    for layer in layers[: len(layers) - num_layers]:
        layer.trainable = False
    for layer in top:
        if keep_batch_norm_frozen:
            for sub in _with_sublayers(layer):
                if isinstance(sub, keras.layers.BatchNormalization):
                    sub.trainable = False
    return [layer.name for layer in top]


def _with_sublayers(layer):
    """The layer and every layer nested in it (e.g. the BatchNormalization inside a ConvBNAct)."""
    return flatten_layers(layer)


def reestimate_batch_norm(model, images) -> int:
    """Replace every batch-norm layer's moving statistics by those of ``images`` (AdaBN); return how many layers.

    A backbone pretrained on one dataset normalises with that dataset's moving
    means and variances, even when its features are frozen. On a new dataset
    whose images look different (grey digits after coloured shapes), those
    statistics are wrong for every layer. This runs ``images`` through the model
    once in training mode with each layer's momentum set to 0, so each moving
    mean and variance becomes the new images' own (layer by layer, each layer
    normalised with the statistics just computed below it; Li et al., 2016,
    "Revisiting batch normalization for practical domain adaptation"). No weight
    is trained; the momenta are restored afterwards.

    Args:
        model: a Keras model holding ``BatchNormalization`` layers (nested ones too).
        images: a batch ``(N, H, W, C)`` of the new dataset, as the model's input
            (large enough for stable statistics: a few hundred images).

    Returns:
        The number of batch-norm layers re-estimated.

    Example:
        >>> from cnnkit import create_model
        >>> backbone = create_model("resnet_small", include_top=False, input_shape=(32, 32, 3))
        >>> images = np.random.default_rng(0).random((8, 32, 32, 3), dtype="float32")
        >>> reestimate_batch_norm(backbone, images)     # the stem's and each block's batch norms
        12
    """
    V.instance(model, "model", keras.Model, "a keras.Model")
    images = np.asarray(images)
    if images.ndim < 2 or len(images) < 2:
        raise ValueError(f"images must be a batch of at least 2 inputs; received shape {images.shape}.")
    layers = [sub for layer in model.layers for sub in _with_sublayers(layer)
              if isinstance(sub, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    try:
        for layer in layers:
            layer.momentum = 0.0
        model(images.astype("float32"), training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return len(layers)


def count_parameters(model) -> dict:
    """``{"trainable": ..., "frozen": ...}``: parameters the optimizer updates, and the rest.

    ``frozen`` includes batch norm's moving statistics, which are never trained.
    """
    V.instance(model, "model", keras.layers.Layer, "a keras.Model or layer")
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return {"trainable": trainable, "frozen": int(model.count_params()) - trainable}
