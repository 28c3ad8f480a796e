"""cnnkit: the helper package of a notebook-first course on convolutional neural networks.

``import cnnkit`` imports every public submodule below (TensorFlow and the other
optional tools are imported only by the functions that need them):

Settings and checks:
    config        quick mode, offline mode, the repository URL: run settings in one place
    device        describe the hardware; GPU memory growth, mixed precision, seeding, distribution
    checks        "check yourself" assertions with Expected/Received messages
    exercises     checks for the exercises at the end of each notebook (never revealing the solution)
    experiments   repeat a run over seeds (mean ± std, verdicts), time a function

Where each kind of thing lives (one rule, see CONTRIBUTING.md):
    layers        every keras.layers.Layer of cnnkit, one topic per file
    models        every model builder, registered: create_model(name), list_models(task=...)
    data          every dataset, one file each: digits, shapes, photos, sounds, clips, scenes
    viz           every plot, one file per topic: ax=None in, the Figure out

Task maths (NumPy and keras.ops; no layer, no model):
    ops           reference convolution and pooling, output sizes
    detection     boxes, anchors, matching, NMS, detection losses, COCO-style AP
    segmentation  per-pixel losses, confusion matrix, IoU, evaluation
    video         (2+1)D widths, parameter and MAC formulas, I3D weight inflation, temporal saliency
    audio         STFT, mel filterbank, log-mel spectrograms

Recipes on top of Keras:
    train         compile / fit / evaluate on top of model.fit
    analysis      receptive fields, parameters and MACs per layer, feature maps, Grad-CAM
    transfer      keras.applications backbones, freezing and fine-tuning
    export        .keras, SavedModel, LiteRT (float16 and int8) and ONNX, with runners and latency
    weights       read pretrained weights shipped in packages (PyTorch checkpoints, safely, without torch)

The command line is ``python -m cnnkit`` (info, train, evaluate).
"""

from cnnkit._native_logs import quiet_native_stderr

with quiet_native_stderr():
    import keras  # noqa: F401  (imports the backend once, without its C++ start-up logs)

from cnnkit import (
    analysis,
    audio,
    checks,
    config,
    data,
    detection,
    device,
    exercises,
    experiments,
    export,
    layers,
    models,
    ops,
    segmentation,
    train,
    transfer,
    video,
    viz,
    weights,
)
from cnnkit.models import create_model, list_models, register_model

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "create_model",
    "list_models",
    "register_model",
    # the public submodules, in the order of the docstring above
    "config", "device", "checks", "exercises", "experiments", "layers", "models", "data", "viz", "ops", "detection", "segmentation",
    "video", "audio", "train", "analysis", "transfer", "export", "weights",
]
