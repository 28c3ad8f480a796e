"""cnnkit.models.lenet: LeNet-5, layer by layer."""

import keras
import pytest

from cnnkit.models import create_model


def test_layers_and_shapes_of_the_paper():
    model = create_model("lenet5")
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers[1:]}
    assert shapes["C1"] == (28, 28, 6) and shapes["S2"] == (14, 14, 6)
    assert shapes["C3"] == (10, 10, 16) and shapes["S4"] == (5, 5, 16)
    assert shapes["C5"] == (120,) and shapes["F6"] == (84,) and shapes["logits"] == (10,)
    assert model.count_params() == 61_706


def test_pooling_and_activation_options():
    model = create_model("lenet5", pooling="max", activation="relu")
    assert isinstance(model.get_layer("S2"), keras.layers.MaxPooling2D)
    assert model.get_layer("C1").activation is keras.activations.relu


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(input_shape=(12, 12, 1)), r"LeNet-5 needs a fixed input of at least 16x16"),
    (dict(pooling="median"), r"pooling must be one of \('avg', 'max'\); received 'median'"),
    (dict(activation="sigmoidal"), r"activation must be the name of a Keras activation"),
])
def test_bad_arguments_say_what_was_received(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        create_model("lenet5", **kwargs)
