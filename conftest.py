"""Test-run settings shared by the unit tests and the notebooks executed by nbval.

Set before anything imports Keras or starts a notebook kernel (kernels inherit
this environment), so every notebook runs in quick mode and never tries the network.
"""

import os

os.environ["CNNKIT_QUICK"] = "1"  # small datasets, few epochs: the same code, smaller sizes
os.environ["CNNKIT_OFFLINE"] = "1"  # online loaders use their offline fallback at once
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TF's C++ start-up logs out of outputs

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # unit tests draw off-screen; notebook kernels use the inline backend
