"""Fixtures shared by the unit tests."""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # lets tests import tools/ and benchmarks/


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test opened, so tests cannot leak memory into each other."""
    yield
    plt.close("all")


@pytest.fixture
def repo_root() -> Path:
    return ROOT
