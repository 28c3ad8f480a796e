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

import sys

__version__ = "0.1.0"

# the public submodules, in the order of the docstring above
SUBMODULES = ("config", "device", "checks", "exercises", "experiments", "layers", "models", "data", "viz", "ops",
              "detection", "segmentation", "video", "audio", "train", "analysis", "transfer", "export", "weights")

__all__ = ["__version__", "create_model", "list_models", "register_model", "import_all", *SUBMODULES]


def import_all() -> None:
    """Import Keras (without its C++ start-up logs) and every public submodule, registering cnnkit's layers.

    ``import cnnkit`` runs it, so ``keras.models.load_model`` finds cnnkit's classes
    in a saved ``.keras`` file. ``python -m cnnkit`` runs it only after its arguments
    are parsed: ``--help`` and a bad argument answer without importing TensorFlow.
    """
    import importlib

    from cnnkit._native_logs import quiet_native_stderr

    with quiet_native_stderr():
        import keras  # noqa: F401  (imports the backend once, without its C++ start-up logs)
    for name in SUBMODULES:
        importlib.import_module(f"cnnkit.{name}")
    from cnnkit.models import create_model, list_models, register_model

    globals().update(create_model=create_model, list_models=list_models, register_model=register_model)


def _starting_command_line() -> bool:
    """True while ``python -m cnnkit`` imports this package to find ``cnnkit/__main__.py``.

    Python documents that ``sys.argv[0]`` is ``"-m"`` while the module named by
    ``-m`` is being located; ``sys.orig_argv`` says which module that is.
    """
    if sys.argv[:1] != ["-m"]:
        return False
    for i, arg in enumerate(sys.orig_argv[1:], start=1):
        if arg.startswith("-m"):
            module = arg[2:] or (sys.orig_argv[i + 1] if i + 1 < len(sys.orig_argv) else "")
            return module in ("cnnkit", "cnnkit.__main__")
    return False


def __getattr__(name: str):
    """Under ``python -m cnnkit``, before :func:`import_all` ran: a submodule is imported on first use."""
    import importlib

    if name in SUBMODULES:
        return importlib.import_module(f"cnnkit.{name}")
    if name in ("create_model", "list_models", "register_model"):
        return getattr(importlib.import_module("cnnkit.models"), name)
    raise AttributeError(f"module 'cnnkit' has no attribute {name!r}")


if not _starting_command_line():
    import_all()
