"""Keep TensorFlow's C++ start-up logs out of a learner's first cell.

Importing TensorFlow (and probing for CUDA on a machine without a GPU) writes
several lines straight to the process's stderr file descriptor: oneDNN notices,
"Could not find cuda drivers", "failed call to cuInit". Since TF 2.20 these are
written before logging is configured, so ``TF_CPP_MIN_LOG_LEVEL`` no longer
hides them, and Jupyter shows them under the setup cell. This context manager
points file descriptor 2 at a temporary file while such a call runs and, if
the call fails, writes what was captured back so no real error is lost.

:func:`quiet_tensorflow_logger` is its Python-side twin: it raises the
``tensorflow`` logger to ERROR for a block (retracing notices, "Assets written
to ..."), and puts the level back afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence C-level stderr for the duration of the block (re-emitted if the block raises)."""
    stderr_fd = 2  # C++ code writes to descriptor 2, whatever Python's sys.stderr is
    try:
        os.fstat(stderr_fd)
    except OSError:  # no descriptor 2 (some embedded interpreters): nothing to silence
        yield
        return
    sys.stderr.flush()
    saved = os.dup(stderr_fd)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), stderr_fd)
        try:
            yield
        except BaseException:
            os.dup2(saved, stderr_fd)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, stderr_fd)
            os.close(saved)


@contextlib.contextmanager
def quiet_tensorflow_logger():
    """Show only errors of TensorFlow's Python logger for the duration of the block.

    TensorFlow warns "triggered tf.function retracing" once a notebook has built a few
    models (each traces its own steps: nothing is wrong) and logs INFO lines on every
    SavedModel write. Only the ``tensorflow`` logger is touched, and only meanwhile.
    """
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
