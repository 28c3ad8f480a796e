"""Old import paths keep working for one release, with a DeprecationWarning that names the new home."""

import importlib
import types

import pytest

from cnnkit._deprecated import moved

# (old module, old name) -> (new module, new name): every public path issue 20 moved.
MOVED = [
    ("cnnkit.detection", "Detector", "cnnkit.models.detection", "Detector"),
    ("cnnkit.detection.detector", "Detector", "cnnkit.models.detection", "Detector"),
    ("cnnkit.video", "Conv2Plus1D", "cnnkit.layers.video", "Conv2Plus1D"),
    ("cnnkit.models.unet", "unet_small", "cnnkit.models.segmentation", "unet_small"),
    ("cnnkit.models.unet", "fpn_seg", "cnnkit.models.segmentation", "fpn_seg"),
    ("cnnkit.models.sequence", "spectrogram_cnn", "cnnkit.models.audio", "spectrogram_cnn"),
    ("cnnkit.models.sequence", "audio_cnn1d", "cnnkit.models.audio", "audio_cnn1d"),
    ("cnnkit.viz.beyond", "show_spectrogram", "cnnkit.viz.audio", "show_spectrogram"),
    ("cnnkit.viz.beyond", "show_patches", "cnnkit.viz.inspect", "show_patches"),
]


@pytest.mark.parametrize("old_module, name, new_module, new_name", MOVED, ids=[f"{m}.{n}" for m, n, _, _ in MOVED])
def test_old_path_warns_and_gives_the_same_object(old_module, name, new_module, new_name):
    old = importlib.import_module(old_module)
    with pytest.warns(DeprecationWarning, match=rf"{old_module}\.{name} moved to {new_module}\.{new_name}"):
        value = getattr(old, name)
    assert value is getattr(importlib.import_module(new_module), new_name)


def test_from_import_of_an_old_path_works():
    with pytest.warns(DeprecationWarning, match="cnnkit.models.detection"):
        from cnnkit.detection import Detector
    from cnnkit.models import Detector as new

    assert Detector is new


def test_unknown_names_still_raise_attribute_error():
    module = types.ModuleType("somewhere")
    module.__getattr__ = moved("somewhere", {"a": "cnnkit.config:pick"})
    with pytest.warns(DeprecationWarning, match=r"somewhere\.a moved to cnnkit\.config\.pick"):
        assert module.a is importlib.import_module("cnnkit.config").pick
    with pytest.raises(AttributeError, match="module 'somewhere' has no attribute 'b'"):
        module.b  # noqa: B018
