"""cnnkit.models.resnet: the family at any width and depth; plain networks; the published layouts."""

import keras
import pytest

from cnnkit.layers import Bottleneck, ResidualBlock
from cnnkit.models import create_model


def blocks(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


def test_layouts_choose_the_block_and_the_depth():
    resnet18 = create_model("resnet_small", layout="resnet18", input_shape=(64, 64, 3))
    assert len(blocks(resnet18, ResidualBlock)) == 8 and not blocks(resnet18, Bottleneck)
    resnet50 = create_model("resnet_small", layout="resnet50", input_shape=(64, 64, 3))
    assert len(blocks(resnet50, Bottleneck)) == 16
    custom = create_model("resnet_small", depths=(2, 1, 1, 1), widths=(8, 16, 32, 64), block="bottleneck")
    assert len(blocks(custom, Bottleneck)) == 5 and custom.get_layer("stage4_block1").out_channels == 256


def test_plain_network_has_no_shortcut_and_the_same_parameters_but_the_projections():
    residual = create_model("resnet_small")
    plain = create_model("resnet_small", residual=False)
    assert plain.name.startswith("plain") and residual.name.startswith("resnet")
    assert all(not block.residual for block in blocks(plain, ResidualBlock))
    projections = sum(block.projection.count_params() for block in blocks(residual, ResidualBlock) if block.projection)
    assert residual.count_params() - plain.count_params() == projections


def test_width_and_depth_multipliers():
    base = create_model("resnet_small")
    wide = create_model("resnet_small", width_multiplier=2.0)
    deep = create_model("resnet_small", depth_multiplier=2.0)
    assert wide.get_layer("stage1_block1").filters == 2 * base.get_layer("stage1_block1").filters
    assert len(blocks(deep, ResidualBlock)) == 2 * len(blocks(base, ResidualBlock))


def test_drop_path_rises_over_the_blocks():
    model = create_model("resnet_small", depths=(2, 2, 2, 2), drop_path_rate=0.3)
    rates = [block.drop_path_rate for block in blocks(model, ResidualBlock)]
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.3) and rates == sorted(rates)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(layout="resnet101"), r"layout must be one of \('small', 'resnet18', 'resnet34', 'resnet50'\)"),
    (dict(depths=(1, 1, 1)), r"depths must be 4 positive integers \(one per stage\); received \(1, 1, 1\)"),
    (dict(width_multiplier=0), r"width_multiplier must be a positive number; received 0"),
    (dict(residual="yes"), r"residual must be True or False; received 'yes'"),
    (dict(num_classes=0), r"num_classes must be a positive integer; received 0"),
])
def test_bad_arguments_say_what_was_received(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        create_model("resnet_small", **kwargs)


def test_without_top_the_model_ends_at_the_last_stage():
    model = create_model("resnet_small", include_top=False, input_shape=(64, 64, 3))
    assert model.output_shape == (None, 2, 2, 128)
    assert isinstance(model.layers[-1], keras.layers.Identity) and model.layers[-1].name == "P5"
