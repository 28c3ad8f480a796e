"""Fixtures shared by the unit tests, and the ``backends`` marker.

The unit tests run on every Keras backend (``KERAS_BACKEND=tensorflow``,
``jax`` or ``torch``). A test that needs one particular backend says so, with
the reason, and is skipped with that reason elsewhere::

    @pytest.mark.backends("tensorflow", reason="SavedModel export goes through TensorFlow")
    def test_saved_model(): ...
"""

import shutil
import sys
import tempfile
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # lets tests import tools/ and benchmarks/

BACKENDS = ("tensorflow", "jax", "torch")


def pytest_configure(config):
    # The unit tests run with the settings a notebook's setup cell makes (on JAX: random
    # initialisers that compile fast on one device), without seeding or printing.
    # On JAX, compiled programs are kept in a cache of this session only: the many tests that build
    # the same model again (one per property checked) then skip most of its compilation.
    from cnnkit import device

    cache = tempfile.mkdtemp(prefix="cnnkit-test-jax-cache-")
    config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))
    device.setup(seed=None, distribute=False, verbose=False, compile_cache=cache)


def pytest_report_header(config):
    return f"Keras {keras.__version__}, backend: {keras.backend.backend()}"


def backend_skip_reason(marker, backend: str) -> str | None:
    """The skip reason of a ``backends`` marker on ``backend`` (None when the test runs there)."""
    wanted = marker.args
    reason = marker.kwargs.get("reason", "")
    unknown = set(wanted) - set(BACKENDS)
    if not wanted or unknown:
        raise pytest.UsageError(f"@pytest.mark.backends takes backend names from {BACKENDS}; received {wanted}.")
    if not reason.strip():
        raise pytest.UsageError(f"@pytest.mark.backends{wanted} needs reason=... saying why the test is backend-specific.")
    if backend in wanted:
        return None
    return f"{' / '.join(wanted)} backend only: {reason}"


def pytest_collection_modifyitems(config, items):
    backend = keras.backend.backend()
    for item in items:
        for marker in item.iter_markers("backends"):
            reason = backend_skip_reason(marker, backend)
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test opened, so tests cannot leak memory into each other."""
    yield
    plt.close("all")


@pytest.fixture
def repo_root() -> Path:
    return ROOT
