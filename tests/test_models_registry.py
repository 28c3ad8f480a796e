"""cnnkit.models.registry: registering, listing and filtering models; the pyramid-level names P{k}."""

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
    with pytest.raises(ValueError, match=r"name must be a registered model \(.*tiny.*\); received 'huge'"):
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
    with pytest.raises(ValueError, match=r"model must mark pyramid levels.*received model 'flat' without any"):
        registry.pyramid_outputs(model)


def test_list_models_filters_by_task_and_backbone(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_TAGS", {})
    for name, tags in (("a", {}), ("b", {"backbone": True}), ("c", {"task": "segmentation"})):
        registry.register_model(name, **tags)(lambda: None)
    assert registry.list_models() == ["a", "b", "c"]
    assert registry.list_models(task="classification") == ["a", "b"]
    assert registry.list_models(backbone=True) == ["b"]
    assert registry.list_models(task="classification", backbone=False) == ["a"]
    with pytest.raises(ValueError, match=r"task must be one of \('classification', .*\); received 'poetry'"):
        registry.list_models(task="poetry")
    with pytest.raises(ValueError, match=r"task must be one of"):
        registry.register_model("d", task="poetry")


def test_every_registered_model_has_a_known_task():
    from cnnkit.models import list_models

    assert sorted(name for task in registry.TASKS for name in list_models(task=task)) == list_models()


def test_pyramid_level_names_are_parsed_in_one_place():
    assert registry.pyramid_level("P3") == 3 and registry.pyramid_level_name(3) == "P3"
    assert registry.is_pyramid_level("P10") and not registry.is_pyramid_level("p3")
    assert registry.pyramid_levels(["P5", "P3", "P4"], consecutive=True) == ("P3", "P4", "P5")
    for bad in ("3", "P", "Px", 3):
        with pytest.raises(ValueError, match=r"level must be a pyramid level name like 'P3'"):
            registry.pyramid_level(bad)
    with pytest.raises(ValueError, match=r"levels must be consecutive pyramid levels"):
        registry.pyramid_levels(("P3", "P5"), consecutive=True)
    with pytest.raises(ValueError, match=r"levels must be distinct pyramid level names"):
        registry.pyramid_levels(("P3", "P3"))
