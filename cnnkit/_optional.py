"""Import an optional dependency, or say which package to install and what needed it.

cnnkit imports TensorFlow only where a feature truly needs it (``tf.data``
pipelines, SavedModel / LiteRT / ONNX export, Grad-CAM's tape on the TensorFlow
backend), inside the function, so the package runs on the JAX and PyTorch
backends without TensorFlow installed.
"""

from __future__ import annotations

import importlib


def require(module: str, package: str, what: str):
    """Import ``module`` or raise an ImportError that says which package to install.

    Example:
        >>> tf = require("tensorflow", "tensorflow", "A tf.data pipeline")   # doctest: +SKIP
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"{what} needs the {package!r} package: pip install {package}  ({err})") from None
