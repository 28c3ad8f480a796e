import keras
import pytest

from cnnkit.models import registry


def test_register_create_and_list(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_TAGS", {})

    @registry.register_model("tiny", backbone=True)
    def tiny(num_classes=3, input_shape=(8, 8, 1)):
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.Dense(num_classes)(keras.layers.Flatten()(inputs)))

    assert registry.list_models() == ["tiny"]
    assert registry.create_model("tiny", num_classes=5).output_shape == (None, 5)
    assert registry.model_tags("tiny") == {"task": "classification", "backbone": True}
    with pytest.raises(ValueError, match=r"Unknown model 'huge'\. Available: tiny"):
        registry.create_model("huge")
    with pytest.raises(ValueError, match=r"already registered"):
        registry.register_model("tiny")(lambda: None)


def test_pyramid_outputs_are_found_by_name_and_sorted():
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, strides=4, padding="same")(inputs)
    p2 = keras.layers.Identity(name="P2")(x)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(p2)
    p3 = keras.layers.Identity(name="P3")(x)
    model = keras.Model(inputs, p3)
    levels = registry.pyramid_outputs(model)
    assert list(levels) == ["P2", "P3"]
    outputs = registry.pyramid_model(model)(keras.ops.zeros((1, 32, 32, 3)))
    assert tuple(outputs["P2"].shape) == (1, 8, 8, 4) and tuple(outputs["P3"].shape) == (1, 4, 4, 4)


def test_model_without_levels_says_how_to_get_them():
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Flatten()(inputs), name="flat")
    with pytest.raises(ValueError, match=r"Model 'flat' has no pyramid levels"):
        registry.pyramid_outputs(model)
