"""The model registry: every model family registers a builder under a name.

``create_model("resnet_small", num_classes=10)`` builds a model by name and
``list_models()`` lists the names, so notebooks, the command line and the
generic tests (which run over *every* registered model) never hard-code a list.

Example:
    >>> @register_model("tiny_mlp")
    ... def tiny_mlp(num_classes=10, input_shape=(8, 8, 1)):
    ...     ...
"""

from __future__ import annotations

from collections.abc import Callable

_REGISTRY: dict[str, Callable] = {}
_TAGS: dict[str, dict] = {}


def register_model(name: str | None = None, **tags):
    """Decorator that registers a model builder under ``name`` (default: the function's name).

    ``tags`` describe the model for generic code and tests, e.g.
    ``task="classification"`` (the default), ``"segmentation"`` or ``"video"``,
    and ``backbone=True`` when ``include_top=False`` gives pyramid outputs.
    The builder's default ``input_shape`` argument is the input the generic
    tests feed it.
    """

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


def list_models() -> list[str]:
    """Sorted names of every registered model."""
    return sorted(_REGISTRY)


def get_builder(name: str) -> Callable:
    """The builder function registered under ``name``."""
    if name not in _REGISTRY:
        raise ValueError(f"Unknown model {name!r}. Available: {', '.join(list_models()) or '(none)'}.")
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


def pyramid_outputs(model) -> dict:
    """``{"P2": tensor, "P3": tensor, ...}``: the symbolic feature maps a backbone marks by name.

    Raises ``ValueError`` if the model marks none.
    """
    levels = {
        layer.name: layer.output
        for layer in model.layers
        if layer.name.startswith(PYRAMID_LEVEL_PREFIX) and layer.name[1:].isdigit()
    }
    if not levels:
        raise ValueError(
            f"Model {model.name!r} has no pyramid levels (layers named 'P2', 'P3', ...). "
            "Build a registered backbone with include_top=False."
        )
    return dict(sorted(levels.items(), key=lambda item: int(item[0][1:])))


def pyramid_model(model):
    """A model from the backbone's input to its ``pyramid_outputs`` dict (shares the weights)."""
    import keras

    return keras.Model(model.inputs, pyramid_outputs(model), name=f"{model.name}_pyramid")
