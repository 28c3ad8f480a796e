"""cnnkit.models.fpn: the feature pyramid network on backbone levels."""

import keras
import numpy as np
import pytest
from pyramid_models import tiny_backbone

from cnnkit import create_model
from cnnkit.models.fpn import fpn
from cnnkit.models.registry import pyramid_outputs

# ---------------------------------------------------------------- FPN


def test_fpn_shapes_on_a_registered_backbone():
    backbone = create_model("resnet_small", include_top=False, input_shape=(64, 64, 3))
    feats = fpn(pyramid_outputs(backbone), channels=24, levels=("P3", "P4", "P5"))
    assert {k: tuple(v.shape[1:]) for k, v in feats.items()} == {"P3": (8, 8, 24), "P4": (4, 4, 24), "P5": (2, 2, 24)}


def test_fpn_handles_sizes_that_do_not_halve_evenly():
    # 36 px: P2 9x9, P3 5x5, P4 3x3 (ceil); upsampled 10x10 and 6x6 maps are cropped to fit.
    backbone = tiny_backbone(size=36)
    feats = fpn(pyramid_outputs(backbone), channels=4)
    assert [tuple(v.shape[1:3]) for v in feats.values()] == [(9, 9), (5, 5), (3, 3)]
    model = keras.Model(backbone.input, feats)
    out = model(np.zeros((1, 36, 36, 3), np.float32))
    assert tuple(out["P2"].shape) == (1, 9, 9, 4)


def test_fpn_top_down_path_carries_coarse_information_down():
    # With the lateral of P2 zeroed, P2's output still depends on P4 through the top-down path.
    backbone = tiny_backbone()
    feats = fpn(pyramid_outputs(backbone), channels=4)
    model = keras.Model(backbone.input, feats)
    lateral = model.get_layer("fpn_lateral_P2")
    lateral.set_weights([np.zeros_like(w) for w in lateral.get_weights()])
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    assert np.abs(keras.ops.convert_to_numpy(model(x)["P2"])).max() > 0


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"levels": ("P2", "P4")}, r"levels must be consecutive"),
        ({"levels": ("P3", "P7")}, r"not in the pyramid"),
        ({"channels": 0}, r"channels must be a positive integer"),
    ],
)
def test_fpn_rejects_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        fpn(pyramid_outputs(tiny_backbone()), **{"channels": 4, **kwargs})
