"""cnnkit: the helper package of a notebook-first course on convolutional neural networks.

Submodules:
    config   quick mode, offline mode, run settings
    device   describe the hardware; GPU memory growth, mixed precision, seeding, distribution
    data     offline datasets (digits, shapes, photos) and optional online loaders
    ops      NumPy reference implementations (convolution, im2col, output sizes)
    checks   "check yourself" assertions with Expected/Received messages
    exercises  checks for the exercises at the end of each notebook (never revealing the solution)
    experiments  repeat a run over seeds (mean ± std, verdicts), time a function
    viz      plots: every function takes ``ax=None`` and returns the Figure
    detection boxes, anchors, NMS, a one-stage Detector, COCO-style AP
    models   the model registry: ``create_model(name)``, ``list_models()``
    train    compile / fit / evaluate recipes on top of ``model.fit``
    analysis receptive fields, parameters and MACs per layer, feature maps, Grad-CAM
    video    (2+1)D convolutions, I3D weight inflation, temporal saliency
"""

from cnnkit._native_logs import quiet_native_stderr

with quiet_native_stderr():
    import keras  # noqa: F401  (imports the backend once, without its C++ start-up logs)

from cnnkit import (
    analysis,
    checks,
    config,
    data,
    detection,
    device,
    exercises,
    experiments,
    ops,
    train,
    video,
    viz,
)
from cnnkit.models import create_model, list_models, register_model

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "analysis",
    "checks",
    "config",
    "create_model",
    "data",
    "detection",
    "device",
    "exercises",
    "experiments",
    "list_models",
    "models",
    "ops",
    "register_model",
    "train",
    "video",
    "viz",
]
