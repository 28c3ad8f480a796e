"""Every model of cnnkit, registered by name: ``create_model(name, **kwargs)``, ``list_models(task=...)``.

One module per family or task; importing this package imports each of them,
which registers its builders:

==================  ==================================================================
module              models (task)
==================  ==================================================================
``lenet``           ``lenet5`` (classification)
``simple_cnn``      ``simple_cnn``, the seed's network (classification)
``vgg``             ``vgg_small`` (classification, backbone)
``resnet``          ``resnet_small`` (classification, backbone)
``mobilenet``       ``mobilenet_small`` (classification, backbone)
``efficientnet``    ``efficientnet_small`` (classification, backbone)
``vit``             ``tiny_vit`` (classification)
``segmentation``    ``unet_small``, ``fpn_seg`` (segmentation)
``detection``       ``detector``, the :class:`Detector` model (detection)
``video``           ``per_frame_cnn``, ``early_fusion_cnn``, ``frame_difference_cnn``, ``c3d_small``, ``r2plus1d_small``, ``cnn_gru`` (video)
``sequence``        ``sequence_cnn``, ``sequence_rnn``, ``sequence_transformer`` (sequence)
``audio``           ``spectrogram_cnn`` (classification), ``audio_cnn1d`` (audio)
==================  ==================================================================

``common`` holds what the families share (the input, pyramid marks, the
classification head), ``fpn`` the feature pyramid network the detection and
segmentation heads read, and ``registry`` the registry and the ``"P{k}"``
pyramid-level names.
"""

# Model families: importing each module registers its models (one line per family module).
from cnnkit.models import (  # noqa: F401
    audio,
    detection,
    efficientnet,
    efficientnet_lite,
    lenet,
    mobilenet,
    resnet,
    segmentation,
    sequence,
    simple_cnn,
    vgg,
    video,
    vit,
)
from cnnkit.models.detection import Detector
from cnnkit.models.registry import (
    TASKS,
    create_model,
    get_builder,
    list_models,
    model_tags,
    pyramid_level,
    pyramid_levels,
    pyramid_model,
    pyramid_outputs,
    register_model,
)

__all__ = [
    "TASKS",
    "Detector",
    "create_model",
    "get_builder",
    "list_models",
    "model_tags",
    "pyramid_level",
    "pyramid_levels",
    "pyramid_model",
    "pyramid_outputs",
    "register_model",
]
