"""Model families, each registered by name: ``create_model(name, **kwargs)``, ``list_models()``.

Importing this package imports every family module below, which registers it.
"""

# Model families: importing each module registers its models (one line per family module).
from cnnkit.models import (  # noqa: F401
    efficientnet,
    lenet,
    mobilenet,
    resnet,
    sequence,
    simple_cnn,
    unet,
    vgg,
    video,
    vit,
)
from cnnkit.models.registry import (
    create_model,
    get_builder,
    list_models,
    model_tags,
    pyramid_model,
    pyramid_outputs,
    register_model,
)

__all__ = [
    "create_model",
    "get_builder",
    "list_models",
    "model_tags",
    "pyramid_model",
    "pyramid_outputs",
    "register_model",
]
