"""The model registry: every model family registers a builder under a name.

``create_model("resnet_small", num_classes=10)`` builds a model by name and
``list_models()`` lists the names (``list_models(task="segmentation")``,
``list_models(backbone=True)`` filter them by their tags), so notebooks, the
command line and the generic tests (which run over *every* registered model)
never hard-code a list.

Every model builder of cnnkit is registered here, with a ``task`` tag:

================  =================================================================
task              input -> output
================  =================================================================
classification    images ``(H, W, C)`` -> logits ``(num_classes,)``
segmentation      images ``(H, W, C)`` -> logits per pixel ``(H, W, num_classes)``
detection         images ``(H, W, C)`` -> ``{"boxes": (A, 4), "classes": (A, num_classes)}``
video             clips ``(T, H, W, C)`` -> logits ``(num_classes,)``
sequence          token ids ``(length,)`` -> logits ``(num_classes,)``
audio             waveforms ``(samples, channels)`` -> logits ``(num_classes,)``
================  =================================================================

This module also owns the pyramid-level names ``"P{k}"`` (:func:`pyramid_level`).

Example:
    >>> @register_model("tiny_mlp")
    ... def tiny_mlp(num_classes=10, input_shape=(8, 8, 1)):
    ...     ...
"""

from __future__ import annotations

from collections.abc import Callable

from cnnkit import _validate as V

TASKS = ("classification", "segmentation", "detection", "video", "sequence", "audio")
_REGISTRY: dict[str, Callable] = {}
_TAGS: dict[str, dict] = {}


def register_model(name: str | None = None, **tags):
    """Decorator that registers a model builder under ``name`` (default: the function's name).

    ``tags`` describe the model for generic code and tests: ``task`` is one of
    :data:`TASKS` (default ``"classification"``), and ``backbone=True`` says
    that ``include_top=False`` gives pyramid outputs. The builder's default
    ``input_shape`` argument is the input the generic tests feed it.
    """
    V.choice(tags.get("task", "classification"), "task", TASKS)
    if "backbone" in tags:
        V.boolean(tags["backbone"], "backbone")

    def decorator(builder: Callable) -> Callable:
        key = name or builder.__name__
        if key in _REGISTRY and _REGISTRY[key] is not builder:
            raise ValueError(f"A model named {key!r} is already registered ({_REGISTRY[key].__module__}).")
        _REGISTRY[key] = builder
        _TAGS[key] = {"task": "classification", **tags}
        return builder

    return decorator


def model_tags(name: str) -> dict:
    """The tags a model was registered with (always includes ``task``)."""
    get_builder(name)
    return dict(_TAGS[name])


def list_models(task: str | None = None, backbone: bool | None = None) -> list[str]:
    """Sorted names of the registered models, optionally only those of one ``task`` or backbones.

    Args:
        task: keep the models of this task (one of :data:`TASKS`); ``None`` keeps all.
        backbone: ``True`` keeps the backbones (``include_top=False`` gives pyramid
            levels), ``False`` the others; ``None`` keeps all.

    Example:
        >>> list_models(task="segmentation")
        ['fpn_seg', 'mask_head', 'unet_small']
    """
    if task is not None:
        V.choice(task, "task", TASKS)
    if backbone is not None:
        V.boolean(backbone, "backbone")
    return sorted(
        name for name, tags in _TAGS.items()
        if (task is None or tags["task"] == task) and (backbone is None or bool(tags.get("backbone")) == backbone)
    )


def get_builder(name: str) -> Callable:
    """The builder function registered under ``name``."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"name must be a registered model ({', '.join(list_models()) or 'none yet'}); "
                         f"received {name!r}.")
    return _REGISTRY[name]


def create_model(name: str, **kwargs):
    """Build the registered model ``name``; keyword arguments go to its builder."""
    return get_builder(name)(**kwargs)


# ---------------------------------------------------------------- pyramid outputs
#
# Convention (as in keras-hub backbones): a backbone built with
# ``include_top=False`` marks the feature map at stride 2**k with a layer
# named ``"P{k}"`` (an ``Identity`` layer is enough). Detection and
# segmentation heads then plug into any backbone through these names, and the
# names survive saving and loading.

PYRAMID_LEVEL_PREFIX = "P"


def is_pyramid_level(name) -> bool:
    """True for pyramid level names: ``"P"`` followed by digits (``"P3"``)."""
    return isinstance(name, str) and name.startswith(PYRAMID_LEVEL_PREFIX) and name[1:].isdigit()


def pyramid_level(name, what: str = "level") -> int:
    """The ``k`` of a pyramid level name ``"P{k}"`` (stride ``2**k``); ``ValueError`` for anything else.

    Example:
        >>> pyramid_level("P3")
        3
    """
    if not is_pyramid_level(name):
        V.fail(what, "a pyramid level name like 'P3' (stride 2**3)", name)
    return int(name[len(PYRAMID_LEVEL_PREFIX):])


def pyramid_level_name(k: int) -> str:
    """The name of the level at stride ``2**k``: ``pyramid_level_name(3) == "P3"``."""
    return f"{PYRAMID_LEVEL_PREFIX}{V.non_negative_int(k, 'k')}"


def pyramid_levels(levels, name: str = "levels", consecutive: bool = False) -> tuple[str, ...]:
    """Validated level names, sorted from fine to coarse (optionally required to be consecutive).

    Example:
        >>> pyramid_levels(["P4", "P3", "P5"], consecutive=True)
        ('P3', 'P4', 'P5')
    """
    items = (levels,) if isinstance(levels, str) else V.as_sequence(levels)
    if not items or not all(is_pyramid_level(lv) for lv in items) or len(set(items)) != len(items):
        V.fail(name, "distinct pyramid level names like ('P3', 'P4', 'P5')", levels)
    ordered = tuple(sorted(items, key=pyramid_level))
    numbers = [pyramid_level(lv) for lv in ordered]
    if consecutive and numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        V.fail(name, "consecutive pyramid levels (each one stride 2 from the next), like ('P3', 'P4', 'P5')", levels)
    return ordered


def pyramid_outputs(model) -> dict:
    """``{"P2": tensor, "P3": tensor, ...}``: the symbolic feature maps a backbone marks by name.

    Raises ``ValueError`` if the model marks none.
    """
    import keras

    V.instance(model, "model", keras.Model, "a keras.Model (a backbone built with include_top=False)")
    levels = {layer.name: layer.output for layer in model.layers if is_pyramid_level(layer.name)}
    if not levels:
        raise ValueError(
            f"model must mark pyramid levels (layers named 'P2', 'P3', ...: build a registered backbone with "
            f"include_top=False); received model {model.name!r} without any."
        )
    return {name: levels[name] for name in sorted(levels, key=pyramid_level)}


def pyramid_model(model):
    """A model from the backbone's input to its ``pyramid_outputs`` dict (shares the weights)."""
    import keras

    outputs = pyramid_outputs(model)  # checks model first
    return keras.Model(model.inputs, outputs, name=f"{model.name}_pyramid")
