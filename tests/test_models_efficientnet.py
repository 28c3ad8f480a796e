"""cnnkit.models.efficientnet: compound scaling and the B0 layout at any phi."""

import pytest

from cnnkit.layers import InvertedResidual
from cnnkit.models import create_model
from cnnkit.models.efficientnet import ALPHA, BETA, GAMMA, compound_scaling, input_size


def test_compound_scaling_roughly_doubles_the_flops_per_step():
    assert compound_scaling(0) == {"depth": 1.0, "width": 1.0, "resolution": 1.0}
    one = compound_scaling(1)
    assert one["depth"] * one["width"] ** 2 * one["resolution"] ** 2 == pytest.approx(ALPHA * BETA**2 * GAMMA**2)
    assert 1.9 < ALPHA * BETA**2 * GAMMA**2 < 2.1
    assert input_size(0) == 224 and input_size(1) == 258


def test_phi_shrinks_depth_and_width():
    small = create_model("efficientnet_small", phi=-4.0)
    b0_blocks = 16
    blocks = [layer for layer in small.layers if isinstance(layer, InvertedResidual)]
    assert len(blocks) < b0_blocks and all(block.se_ratio == 0.25 for block in blocks)
    assert blocks[-1].drop_path_rate < 0.2


def test_bad_arguments_say_what_was_received():
    with pytest.raises(ValueError, match=r"phi must be a finite number; received 'b0'"):
        compound_scaling("b0")
    with pytest.raises(ValueError, match=r"drop_path_rate must be a number in \[0, 1\); received 1\.0"):
        create_model("efficientnet_small", drop_path_rate=1.0)
