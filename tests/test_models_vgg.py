"""cnnkit.models.vgg: 3x3 stacks in five stages, the paper's fc head or global pooling."""

import keras
import pytest

from cnnkit.layers import ConvBNAct
from cnnkit.models import create_model, pyramid_outputs


def convs(model):
    return [layer for layer in model.layers if isinstance(layer, ConvBNAct)]


def test_layouts_count_the_convolutions_of_the_paper():
    assert len(convs(create_model("vgg_small", layout="vgg11", input_shape=(32, 32, 3)))) == 8
    assert len(convs(create_model("vgg_small", layout="vgg16", input_shape=(32, 32, 3)))) == 13


def test_batch_norm_off_gives_every_convolution_a_bias():
    model = create_model("vgg_small", batch_norm=False)
    assert all(conv.bn is None and conv.conv.use_bias for conv in convs(model))


def test_the_fc_head_flattens_and_needs_a_fixed_size():
    model = create_model("vgg_small", head="fc", fc_units=64, dropout=0.5)
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dense)] == ["fc1", "fc2", "logits"]
    with pytest.raises(ValueError, match=r"head='fc' flattens the last map, so it needs a fixed input size"):
        create_model("vgg_small", head="fc", input_shape=(None, None, 3))


def test_five_pyramid_levels():
    backbone = create_model("vgg_small", include_top=False, input_shape=(64, 64, 3))
    assert list(pyramid_outputs(backbone)) == ["P1", "P2", "P3", "P4", "P5"]


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(head="mlp"), r"head must be one of \('gap', 'fc'\); received 'mlp'"),
    (dict(layout="vgg19"), r"layout must be one of"),
    (dict(depth_multiplier=-1), r"depth_multiplier must be a positive number; received -1"),
    (dict(fc_units=0), r"fc_units must be a positive integer; received 0"),
])
def test_bad_arguments_say_what_was_received(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        create_model("vgg_small", **kwargs)
