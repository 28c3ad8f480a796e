"""Generic tests that run over EVERY registered model (as timm does for its zoo).

Each model is built from its registry tags: ``task`` says what the input and
the output look like (the table in :mod:`cnnkit.models.registry`:
"classification" ``(batch, num_classes)``; "segmentation" ``(batch, H, W,
num_classes)``; "detection" ``{"boxes": (batch, A, 4), "classes": (batch, A,
num_classes)}``; "video" clips ``(T, H, W, C)``; "sequence" int tokens
``(length,)``; "audio" waveforms ``(samples, channels)``) and ``backbone=True``
says the model marks pyramid levels ``P2``..``P5`` when built with
``include_top=False``. The builder's
default ``input_shape`` is the input fed here, so defaults must stay small.

For every model: it builds at two input sizes with the right output shape,
saves and loads as ``.keras`` with identical outputs, and a few training steps
on a fixed batch lower the loss. Parameter counts are checked against the
published networks where a layout reproduces one.
"""

from __future__ import annotations

import inspect
import math

import keras
import numpy as np
import pytest

from cnnkit.models import (
    create_model,
    get_builder,
    list_models,
    model_tags,
    pyramid_model,
    pyramid_outputs,
)

TASKS = ("classification", "segmentation", "detection", "video", "sequence", "audio")
# The axis doubled for the second input size: height for images and clips, the length otherwise.
GROWING_AXIS = {"classification": -3, "segmentation": -3, "detection": -3, "video": -3, "sequence": 0, "audio": 0}
BOXES_PER_IMAGE = 2
# Attention trained without warm-up overshoots at Adam's 1e-3 on a batch of 8: tiny_vit's loss doubled
# after its first step on JAX (with the non-partitionable random generator device.setup selects there).
LEARNING_RATE = {"tiny_vit": 3e-4, "sequence_transformer": 3e-4}
NUM_CLASSES = 3
BATCH = 2
MODELS = list_models()
# Models whose default input is the ImageNet size get a smaller one here (they take any size with random
# weights; their own test file checks the default): EfficientNet-Lite0 at 224x224 made its generic tests
# take 2 minutes on JAX, 448x224 included.
SMALLER_INPUT = {"efficientnet_lite0": (64, 64, 3)}
BACKBONES = [name for name in MODELS if model_tags(name).get("backbone")]


def default_input_shape(name: str) -> tuple:
    if name in SMALLER_INPUT:
        return SMALLER_INPUT[name]
    parameter = inspect.signature(get_builder(name)).parameters.get("input_shape")
    assert parameter is not None and parameter.default is not inspect.Parameter.empty, (
        f"The builder of {name!r} must take an input_shape argument with a default (the generic tests feed it)."
    )
    return tuple(parameter.default)


def task_of(name: str) -> str:
    task = model_tags(name)["task"]
    if task not in TASKS:  # a new task needs its expectations written here: fail loudly, never skip
        pytest.fail(f"Model {name!r} has task tag {task!r}; the generic tests know {TASKS}. Teach them the new task.")
    return task


def input_shapes(name: str) -> list[tuple]:
    """The default input shape and one twice as tall (or long), for every task."""
    shape = default_input_shape(name)
    longer = list(shape)
    longer[GROWING_AXIS[task_of(name)]] *= 2
    return [shape, tuple(longer)]


def expected_output_shape(name: str, shape: tuple, model) -> dict | tuple:
    task = task_of(name)
    if task == "segmentation":
        return (BATCH, shape[-3], shape[-2], NUM_CLASSES)
    if task == "detection":
        anchors = len(model.anchors)
        return {"boxes": (BATCH, anchors, 4), "classes": (BATCH, anchors, NUM_CLASSES)}
    return (BATCH, NUM_CLASSES)  # classification, video, sequence, audio


def fixed_batch(name: str, shape: tuple, seed: int = 0):
    """Random inputs (images in [0, 1], or token ids) and random targets of the shape the task wants."""
    rng = np.random.default_rng(seed)
    n = BATCH * 4
    task = task_of(name)
    if task == "sequence":
        vocab = inspect.signature(get_builder(name)).parameters["vocab_size"].default
        x = rng.integers(0, vocab, size=(n, *shape)).astype(np.int32)
    else:
        x = rng.random((n, *shape), dtype=np.float32)
    if task == "segmentation":
        return x, rng.integers(0, NUM_CLASSES, size=(n, shape[-3], shape[-2])).astype(np.int32)
    if task == "detection":  # boxes of 8 to 24 pixels inside the image, "xyxy"
        corner = rng.uniform(0, min(shape[:2]) - 24, size=(n, BOXES_PER_IMAGE, 2))
        boxes = np.concatenate([corner, corner + rng.uniform(8, 24, size=(n, BOXES_PER_IMAGE, 2))], axis=-1)
        classes = rng.integers(0, NUM_CLASSES, size=(n, BOXES_PER_IMAGE))
        return x, {"boxes": boxes[..., [1, 0, 3, 2]].astype(np.float32), "classes": classes.astype(np.int32)}
    return x, rng.integers(0, NUM_CLASSES, size=(n,)).astype(np.int32)


def outputs_of(model, x) -> dict:
    """The model's outputs in inference mode as NumPy arrays, by name (one "output" for a single tensor)."""
    out = model(x, training=False)
    out = out if isinstance(out, dict) else {"output": out}
    return {key: keras.ops.convert_to_numpy(value) for key, value in out.items()}


def shapes_of(out: dict):
    shapes = {key: tuple(value.shape) for key, value in out.items()}
    return shapes["output"] if list(shapes) == ["output"] else shapes


def build(name: str, shape: tuple | None = None, **kwargs):
    keras.utils.set_random_seed(0)
    return create_model(name, num_classes=NUM_CLASSES, input_shape=shape or default_input_shape(name), **kwargs)


def test_every_family_of_the_course_is_registered():
    families = {"lenet5", "simple_cnn", "vgg_small", "resnet_small", "mobilenet_small", "efficientnet_small",
                "tiny_vit", "unet_small", "fpn_seg", "detector", "per_frame_cnn", "c3d_small", "r2plus1d_small",
                "cnn_gru", "early_fusion_cnn", "frame_difference_cnn", "sequence_cnn", "sequence_rnn", "sequence_transformer", "spectrogram_cnn", "audio_cnn1d"}
    missing = families - set(MODELS)
    assert not missing, f"list_models() misses {sorted(missing)}; it has {MODELS}"


@pytest.mark.parametrize("name", MODELS)
def test_builds_at_two_sizes_with_the_right_output_shape(name):
    for shape in input_shapes(name):
        model = build(name, shape)
        x, _ = fixed_batch(name, shape)
        out = outputs_of(model, x[:BATCH])
        assert shapes_of(out) == expected_output_shape(name, shape, model), f"{name} at input {shape}"
        assert all(np.all(np.isfinite(value)) for value in out.values())


@pytest.mark.parametrize("name", MODELS)
def test_keras_file_round_trip_gives_identical_outputs(name, tmp_path):
    model = build(name)
    x, _ = fixed_batch(name, default_input_shape(name), seed=1)
    before = outputs_of(model, x[:BATCH])
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    after = outputs_of(loaded, x[:BATCH])
    assert type(loaded) is type(model) and set(after) == set(before)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])
    assert loaded.count_params() == model.count_params()


@pytest.mark.parametrize("name", MODELS)
def test_a_few_training_steps_lower_the_loss_on_a_fixed_batch(name):
    model = build(name)
    x, y = fixed_batch(name, default_input_shape(name), seed=2)
    # A detector computes its own loss (anchor matching inside the training step); the rest are classifiers.
    loss = None if task_of(name) == "detection" else keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE.get(name, 1e-3)), loss=loss,
                  run_eagerly=keras.backend.backend() != "jax")
    # Eager steps: tracing a graph would cost more than six tiny steps. Not on JAX, where every
    # eager op compiles on its own: one jitted step is 3x faster there (efficientnet_small 37 s vs 105 s).
    # train_on_batch returns the loss of the batch *before* its update, in training mode.
    losses = [float(np.ravel(model.train_on_batch(x, y))[0]) for _ in range(6)]
    assert np.all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], f"{name}: loss did not decrease over 5 steps: {losses}"


@pytest.mark.parametrize("name", BACKBONES)
def test_backbone_pyramid_levels_have_the_right_strides(name):
    for shape in input_shapes(name):
        backbone = build(name, shape, include_top=False)
        levels = pyramid_outputs(backbone)
        assert {"P2", "P3", "P4", "P5"} <= set(levels), f"{name}: levels {list(levels)}"
        x, _ = fixed_batch(name, shape)
        maps = pyramid_model(backbone)([x[:BATCH]])  # a list, like the model's inputs
        for level, tensor in maps.items():
            stride = 2 ** int(level[1:])
            height, width = shape[-3], shape[-2]
            expected = (BATCH, math.ceil(height / stride), math.ceil(width / stride), levels[level].shape[-1])
            assert tuple(tensor.shape) == expected, f"{name} {level} at input {shape}"


# ---------------------------------------------------------------- parameter counts vs references
#
# Keras counts batch norm's moving mean and variance as (non-trainable) parameters; PyTorch
# keeps them as buffers. Papers and torchvision count *trainable* parameters, so those are
# compared with our trainable count; keras.applications models are compared total to total.

def trainable_count(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def lenet5_formula(num_classes=10):
    """LeNet-5 at 32x32x1, layer by layer: (kernel area * inputs + 1 bias) * outputs."""
    conv = lambda k, c_in, c_out: (k * k * c_in + 1) * c_out  # noqa: E731
    dense = lambda n_in, n_out: (n_in + 1) * n_out  # noqa: E731
    return conv(5, 1, 6) + conv(5, 6, 16) + dense(16 * 5 * 5, 120) + dense(120, 84) + dense(84, num_classes)


PUBLISHED = [
    # (model, builder kwargs, input shape, classes, trainable parameters, source)
    ("resnet_small", dict(layout="resnet18"), (224, 224, 3), 1000, 11_689_512,
     "ResNet-18: He et al. 2016 (11.7M); torchvision resnet18 weights table: 11,689,512"),
    ("resnet_small", dict(layout="resnet50"), (224, 224, 3), 1000, 25_557_032,
     "ResNet-50: He et al. 2016 (25.6M); torchvision resnet50 weights table: 25,557,032"),
    ("vgg_small", dict(layout="vgg16", batch_norm=False, head="fc"), (224, 224, 3), 1000, 138_357_544,
     "VGG-16: Simonyan & Zisserman 2015 (138M); torchvision vgg16 weights table: 138,357,544"),
    ("mobilenet_small", dict(width_multiplier=1.0, depth_multiplier=1.0), (224, 224, 3), 1000, 3_504_872,
     "MobileNetV2 1.0: Sandler et al. 2018 (3.4M); torchvision mobilenet_v2 weights table: 3,504,872"),
    ("efficientnet_small", dict(phi=0), (224, 224, 3), 1000, 5_288_548,
     "EfficientNet-B0: Tan & Le 2019 (5.3M); torchvision efficientnet_b0 weights table: 5,288,548"),
    ("simple_cnn", dict(), (32, 32, 3), 10, 620_362,
     "the seed's PyTorch SimpleCNN (CIFAR-10 style, 10 classes): 620,362"),
    ("lenet5", dict(), (32, 32, 1), 10, lenet5_formula(10),
     "LeNet-5 (LeCun et al. 1998) with full C3 connections: 61,706 by the layer formula"),
]


@pytest.mark.backends("tensorflow", reason="a parameter count is fixed by the layers' build shapes, the same code on every backend; building and training on each backend are tested above")
@pytest.mark.parametrize("name, kwargs, shape, classes, expected, source", PUBLISHED,
                         ids=[f"{p[0]}-{'-'.join(map(str, p[1].values()))}" for p in PUBLISHED])
def test_parameter_count_matches_the_published_network(name, kwargs, shape, classes, expected, source):
    if name not in MODELS:
        pytest.fail(f"{name} is not registered")
    model = create_model(name, num_classes=classes, input_shape=shape, **kwargs)
    assert trainable_count(model) == expected, source


KERAS_APPLICATIONS = [
    # (model, builder kwargs, input shape, keras.applications class, its kwargs, which count)
    ("mobilenet_small", dict(width_multiplier=1.0, depth_multiplier=1.0), (224, 224, 3), "MobileNetV2", {}, "total"),
    ("mobilenet_small", dict(version=1, width_multiplier=1.0, depth_multiplier=1.0), (224, 224, 3), "MobileNet", {}, "total"),
    ("mobilenet_small", dict(width_multiplier=0.35, depth_multiplier=1.0), (224, 224, 3), "MobileNetV2", dict(alpha=0.35), "total"),
    # keras's EfficientNets add a Normalization layer with 7 non-trainable numbers (mean, variance,
    # count): compare the trainable parameters. B1 = width 1.0, depth 1.1, 240x240.
    ("efficientnet_small", dict(phi=0), (224, 224, 3), "EfficientNetB0", {}, "trainable"),
    ("efficientnet_small", dict(width_multiplier=1.0, depth_multiplier=1.1), (240, 240, 3), "EfficientNetB1", {}, "trainable"),
    ("vgg_small", dict(layout="vgg16", batch_norm=False, include_top=False), (224, 224, 3), "VGG16", dict(include_top=False), "total"),
]


@pytest.mark.backends("tensorflow", reason="a parameter count is fixed by the layers' build shapes, the same code on every backend; building and training on each backend are tested above")
@pytest.mark.parametrize("name, kwargs, shape, app, app_kwargs, which", KERAS_APPLICATIONS,
                         ids=[f"{p[0]}-{p[3]}{'-' + str(p[4]) if p[4] else ''}" for p in KERAS_APPLICATIONS])
def test_parameter_count_matches_keras_applications(name, kwargs, shape, app, app_kwargs, which):
    ours = create_model(name, num_classes=1000, input_shape=shape, **kwargs)
    theirs = getattr(keras.applications, app)(weights=None, input_shape=shape, **app_kwargs)
    count = trainable_count if which == "trainable" else (lambda m: m.count_params())
    assert count(ours) == count(theirs), f"{name} {kwargs} vs keras.applications.{app}"
