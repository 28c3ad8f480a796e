"""cnnkit.models.mobilenet: V1 (depthwise-separable blocks) and V2 (inverted residuals) at any width."""

import pytest

from cnnkit.layers import DepthwiseSeparableConv, InvertedResidual
from cnnkit.models import create_model


def test_version_1_and_2_use_their_blocks():
    v1 = create_model("mobilenet_small", version=1, depth_multiplier=1.0)
    v2 = create_model("mobilenet_small", version=2, depth_multiplier=1.0)
    assert len([layer for layer in v1.layers if isinstance(layer, DepthwiseSeparableConv)]) == 13
    assert len([layer for layer in v2.layers if isinstance(layer, InvertedResidual)]) == 17
    assert not any(isinstance(layer, InvertedResidual) for layer in v1.layers)


def test_widths_are_multiples_of_8_in_version_2():
    model = create_model("mobilenet_small", width_multiplier=0.35)
    widths = [layer.filters for layer in model.layers if isinstance(layer, InvertedResidual)]
    assert all(w % 8 == 0 for w in widths) and model.name == "mobilenet_v2_0.35"


def test_bad_arguments_say_what_was_received():
    with pytest.raises(ValueError, match=r"version must be one of \(1, 2\); received 3"):
        create_model("mobilenet_small", version=3)
    with pytest.raises(ValueError, match=r"width_multiplier must be a positive number; received 0"):
        create_model("mobilenet_small", width_multiplier=0)
