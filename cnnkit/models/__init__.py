"""Model families, each registered by name: ``create_model(name, **kwargs)``, ``list_models()``.

Importing this package imports every family module below, which registers it.
"""

from cnnkit.models.registry import (
    create_model,
    get_builder,
    list_models,
    model_tags,
    pyramid_model,
    pyramid_outputs,
    register_model,
)

# Model families: importing each module registers its models.
# (one line per family module, e.g. `from cnnkit.models import simple_cnn  # noqa: F401`)

__all__ = [
    "create_model",
    "get_builder",
    "list_models",
    "model_tags",
    "pyramid_model",
    "pyramid_outputs",
    "register_model",
]
