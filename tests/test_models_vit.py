"""cnnkit.models.vit: the tiny Vision Transformer and its encoder block."""

import pytest

from cnnkit.models import create_model, model_tags


def vit_parameter_formula(h, w, c, p, d, depth, mlp, k):
    """ViT parameters by hand: patch projection, positions, blocks, final norm, head."""
    tokens = (h // p) * (w // p)
    attention = 4 * (d * d + d)  # query, key, value and output projections, each d x d plus bias
    block = 2 * (2 * d) + attention + (d * mlp + mlp) + (mlp * d + d)  # two LayerNorms, attention, MLP
    return (p * p * c * d + d) + tokens * d + depth * block + 2 * d + (d * k + k)


@pytest.mark.parametrize("kwargs", [{}, dict(patch_size=8, embed_dim=32, depth=2, num_heads=4, mlp_ratio=4)])
def test_tiny_vit_parameter_count_matches_the_formula(kwargs):
    model = create_model("tiny_vit", num_classes=6, input_shape=(32, 32, 3), **kwargs)
    p, d = kwargs.get("patch_size", 4), kwargs.get("embed_dim", 48)
    depth, mlp = kwargs.get("depth", 3), round(d * kwargs.get("mlp_ratio", 2.0))
    assert model.count_params() == vit_parameter_formula(32, 32, 3, p, d, depth, mlp, 6)
    assert model_tags("tiny_vit")["task"] == "classification"


def test_tiny_vit_rejects_shapes_it_cannot_embed():
    with pytest.raises(ValueError, match=r"input_shape must be \(height, width, channels\) with positive integers; received \(None, None, 3\)"):
        create_model("tiny_vit", input_shape=(None, None, 3))
    with pytest.raises(ValueError, match=r"must be a multiple of num_heads"):
        create_model("tiny_vit", embed_dim=30, num_heads=4)
