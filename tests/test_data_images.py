"""cnnkit.data.images: the photos shipped inside installed packages."""


import socket

import numpy as np
import pytest

from cnnkit import data

# ---------------------------------------------------------------- photos


@pytest.mark.parametrize("name", data.list_images())
def test_every_photo_loads(name):
    image = data.load_image(name, size=32)
    assert image.shape == (32, 32, 3) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.02


def test_gray_photo_and_unknown_name():
    assert data.load_image("grace_hopper", gray=True).shape[-1] == 1
    with pytest.raises(ValueError, match=r"name must be one of the shipped images \(.*grace_hopper.*\); received 'lena'"):
        data.load_image("lena")


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test: the photos come from installed wheels only."""

    def refuse(*args, **kwargs):
        raise AssertionError("an image loader tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", ["china", "flower"])
def test_scikit_learn_sample_photos(name, no_network):
    assert name in data.list_images()
    image = data.load_image(name)
    assert image.shape == (427, 640, 3) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.1
    assert data.load_image(name, size=64, gray=True).shape == (64, 64, 1)


def test_a_size_that_would_need_gigabytes_is_refused_up_front():
    with pytest.raises(ValueError, match=r"size must be small enough for the resized image to fit in 4 GB; received "
                                         r"20000, which would need about 14\.4 GB"):
        data.load_image(size=20000)
