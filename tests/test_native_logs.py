"""cnnkit._native_logs: C++ start-up noise kept out of outputs, and TensorFlow's Python logger quieted for a block."""

import logging
import os

import pytest

from cnnkit._native_logs import quiet_native_stderr, quiet_tensorflow_logger


def test_native_stderr_is_silenced_and_reemitted_on_error(capfd):
    with quiet_native_stderr():
        os.write(2, b"noise from C++\n")
    assert "noise from C++" not in capfd.readouterr().err

    with pytest.raises(RuntimeError), quiet_native_stderr():
        os.write(2, b"the real reason\n")
        raise RuntimeError("import failed")
    assert "the real reason" in capfd.readouterr().err


def test_tensorflow_logger_is_quiet_only_inside_the_block():
    logger = logging.getLogger("tensorflow")
    logger.setLevel(logging.INFO)
    with quiet_tensorflow_logger():
        assert logger.level == logging.ERROR
    assert logger.level == logging.INFO
    with pytest.raises(KeyError), quiet_tensorflow_logger():
        raise KeyError("still restored")
    assert logger.level == logging.INFO
    logger.setLevel(logging.NOTSET)
