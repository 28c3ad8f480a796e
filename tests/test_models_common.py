"""cnnkit.models.common: the input, the pyramid marks, the classification head, rounding, backbones by name."""

import keras
import pytest

from cnnkit.models import common, pyramid_outputs


@pytest.mark.parametrize("value, divisor, expected", [(32 * 0.35, 8, 16), (32, 8, 32), (3, 8, 8), (100, 8, 104), (90, 16, 96)])
def test_make_divisible_rounds_to_the_nearest_multiple_without_losing_10_percent(value, divisor, expected):
    result = common.make_divisible(value, divisor)
    assert result == expected and result % divisor == 0 and result >= 0.9 * value


def test_scale_depth_rounds_up():
    assert [common.scale_depth(r, 1.2) for r in (1, 2, 3, 4)] == [2, 3, 4, 5]
    assert common.scale_depth(3, 1.0) == 3


def test_image_input_accepts_unknown_sizes_and_refuses_bad_shapes():
    assert tuple(common.image_input((None, None, 3)).shape) == (None, None, None, 3)
    with pytest.raises(ValueError, match=r"input_shape must be \(height, width, channels\) with positive integers"):
        common.image_input((32, 32))


def test_pyramid_marker_names_each_stride_once():
    marker = common.PyramidMarker()
    x = inputs = keras.Input((32, 32, 3))
    x = marker.before_downsampling(x)  # stride 1: not marked
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)
    x = marker.before_downsampling(x)  # the map at stride 2 becomes P1
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)
    x = marker.finish(x)  # stride 4: P2
    assert marker.levels == ["P1", "P2"]
    levels = pyramid_outputs(keras.Model(inputs, x))
    assert {k: tuple(v.shape[1:3]) for k, v in levels.items()} == {"P1": (16, 16), "P2": (8, 8)}


def test_classification_head_pools_drops_and_scores():
    inputs = keras.Input((4, 4, 8))
    model = keras.Model(inputs, common.classification_head(inputs, 5, dropout=0.5))
    assert model.output_shape == (None, 5)
    assert [layer.name for layer in model.layers[1:]] == ["avg_pool", "dropout", "logits"]
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\); received 1"):
        common.classification_head(inputs, 5, dropout=1)


def test_build_backbone_by_name():
    backbone = common.build_backbone("resnet_small", (32, 32, 3), {"width_multiplier": 0.5})
    assert {"P2", "P3", "P4", "P5"} <= set(pyramid_outputs(backbone))
    with pytest.raises(ValueError, match=r"backbone must be the name of a registered backbone, one of "
                                         r"\[.*'efficientnet_small', .*\]; received 'lenet5'"):
        common.build_backbone("lenet5", (32, 32, 3))
    with pytest.raises(TypeError, match=r"backbone_kwargs must be a dict of builder arguments or None"):
        common.build_backbone("resnet_small", (32, 32, 3), [1])
