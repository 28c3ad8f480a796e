"""Transfer learning helpers: offline fallback, freezing, batch norm in inference mode, fine-tuning."""

import keras
import numpy as np
import pytest

from cnnkit import config, create_model, transfer

SHAPE = (32, 32, 3)


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, *SHAPE), dtype=np.float32), rng.integers(0, 3, n).astype(np.int32)


def test_offline_mode_builds_random_weights_and_says_so_once(capsys):
    assert config.offline_mode(), "the test configuration sets CNNKIT_OFFLINE=1"
    backbone = transfer.load_pretrained("efficientnet_b0", input_shape=SHAPE)
    err = capsys.readouterr().err
    assert err.count("[cnnkit]") == 1
    assert "EfficientNetB0" in err and "CNNKIT_OFFLINE=1 is set" in err and "weights=None" in err
    assert "Connect to the internet" in err  # online, its weights would download (hash kept)
    assert backbone.weights is None and not backbone.pretrained
    assert backbone.model.output_shape == (None, 1, 1, 1280)


def test_offline_message_promises_no_download_that_would_be_refused(capsys):
    backbone = transfer.load_pretrained("mobilenet_v2", input_shape=SHAPE)
    err = capsys.readouterr().err
    assert err.count("[cnnkit]") == 1 and not backbone.pretrained
    assert "no verified hash" in err and "Connect to the internet" not in err
    assert "efficientnet_lite0" in err  # where pretrained weights do come from, offline
    assert backbone.model.output_shape == (None, 1, 1, 1280)


def test_failed_download_falls_back_with_the_reason(monkeypatch, capsys):
    monkeypatch.setenv(config.OFFLINE_ENV, "0")

    def no_network(fname, origin, **kwargs):
        raise OSError("URL fetch failure: no route to host")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    monkeypatch.setattr(config, "reachable", lambda url: True)
    backbone = transfer.load_pretrained("efficientnet_b0", input_shape=SHAPE)
    assert not backbone.pretrained
    assert "OSError: URL fetch failure: no route to host" in capsys.readouterr().err


def test_pretrained_weights_are_downloaded_with_the_hash_cnnkit_keeps(monkeypatch, tmp_path, capsys):
    from keras.src.applications.efficientnet import WEIGHTS_HASHES  # the hash Keras itself checks

    monkeypatch.setenv(config.OFFLINE_ENV, "0")
    saved = keras.applications.EfficientNetB0(weights=None, include_top=False, input_shape=SHAPE)
    weights_file = tmp_path / "efficientnetb0_notop.weights.h5"
    saved.save_weights(weights_file)
    calls = []

    def get_file(fname, origin, **kwargs):  # no network: record the request, serve a known file
        calls.append({"fname": fname, "origin": origin, **kwargs})
        return str(weights_file)

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    monkeypatch.setattr(config, "reachable", lambda url: True)
    backbone = transfer.load_pretrained("efficientnet_b0", input_shape=SHAPE)
    assert calls == [{"fname": "efficientnetb0_notop.h5",
                      "origin": "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5",
                      "file_hash": WEIGHTS_HASHES["b0"][1], "cache_subdir": "models"}]
    assert backbone.pretrained and capsys.readouterr().err == ""
    np.testing.assert_array_equal(backbone.model.get_weights()[0], saved.get_weights()[0])


def test_weights_without_a_recorded_hash_are_never_downloaded(monkeypatch, capsys):
    monkeypatch.setenv(config.OFFLINE_ENV, "0")
    requests = []
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: requests.append(args))
    real = keras.applications.MobileNetV2
    asked = []

    def mobilenet(weights=None, **kwargs):  # Keras's MobileNetV2 downloads with no file_hash
        asked.append(weights)
        return real(weights=None, **kwargs)

    monkeypatch.setattr(keras.applications, "MobileNetV2", mobilenet)
    backbone = transfer.load_pretrained("mobilenet_v2", input_shape=SHAPE)
    assert requests == [] and asked == [None] and not backbone.pretrained
    err = capsys.readouterr().err
    assert "no verified hash" in err and "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5" in err  # Keras's file for a 32x32 input


def test_weights_none_is_silent_and_bad_names_are_listed(capsys):
    backbone = transfer.load_pretrained("mobilenet_v2", input_shape=SHAPE, weights=None)
    assert not backbone.pretrained and capsys.readouterr().err == ""
    with pytest.raises(ValueError, match=r"name must be one of \('efficientnet_b0', 'mobilenet_v2'\); received 'vgg99'"):
        transfer.load_pretrained("vgg99")
    with pytest.raises(ValueError, match=r"weights must be one of \('imagenet', None\); received 'cifar'"):
        transfer.load_pretrained("mobilenet_v2", weights="cifar")


def test_images_are_rescaled_to_the_range_the_backbone_expects():
    backbone = transfer.load_pretrained("mobilenet_v2", input_shape=SHAPE, weights=None)
    model = transfer.build_transfer_model(backbone, num_classes=3)
    rescale = model.get_layer("to_backbone_range")
    out = numpy(rescale(np.array([[0.0, 0.5, 1.0]], np.float32)))
    np.testing.assert_allclose(out, [[-1.0, 0.0, 1.0]])  # what mobilenet_v2.preprocess_input gives for 0, 127.5, 255
    reference = keras.applications.mobilenet_v2.preprocess_input(np.array([0.0, 127.5, 255.0]))
    np.testing.assert_allclose(out[0], reference)


def test_frozen_backbone_trains_only_the_head_and_keeps_its_batch_norm_statistics():
    keras.utils.set_random_seed(0)
    backbone = transfer.as_backbone(create_model("resnet_small", include_top=False, input_shape=SHAPE))
    model = transfer.build_transfer_model(backbone, num_classes=3, dropout=0.0)
    transfer.freeze(backbone.model)
    channels = backbone.model.output_shape[-1]
    assert transfer.count_parameters(model)["trainable"] == channels * 3 + 3  # the dense head only

    before = [numpy(w) for w in backbone.model.weights]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  run_eagerly=True)
    x, y = batch()
    head_before = numpy(model.get_layer("logits").kernel)
    model.train_on_batch(x, y)
    for old, new in zip(before, backbone.model.weights):  # weights AND moving statistics untouched
        np.testing.assert_array_equal(numpy(new), old)
    assert not np.array_equal(numpy(model.get_layer("logits").kernel), head_before)


def test_unfreeze_top_trains_the_last_layers_and_keeps_batch_norm_frozen():
    keras.utils.set_random_seed(0)
    backbone = transfer.as_backbone(create_model("resnet_small", include_top=False, input_shape=SHAPE))
    model = transfer.build_transfer_model(backbone, num_classes=3, dropout=0.0)
    transfer.freeze(backbone.model)
    names = transfer.unfreeze_top(backbone.model, num_layers=2)
    assert names == ["stage4_block1", "P5"]
    block = backbone.model.get_layer("stage4_block1")
    conv_kernels = {w.path for w in block.trainable_weights}
    assert conv_kernels and all("bn" not in path for path in conv_kernels), "batch norm stays frozen"
    assert all(not layer.trainable for layer in backbone.model.layers[:-2])

    early = backbone.model.get_layer("stage1_block1")
    early_before = [numpy(w) for w in early.weights]
    late_before = [numpy(w) for w in block.weights]
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  run_eagerly=True)
    x, y = batch(seed=1)
    model.train_on_batch(x, y)
    for old, new in zip(early_before, early.weights):
        np.testing.assert_array_equal(numpy(new), old)
    changed = [not np.array_equal(old, numpy(new)) for old, new in zip(late_before, block.weights)]
    assert any(changed), "the unfrozen block must have been updated"
    bn = block.branch[0].bn
    np.testing.assert_array_equal(numpy(bn.moving_mean), np.zeros(bn.moving_mean.shape), "moving mean must not move")


def test_unfreeze_top_validates_its_arguments():
    model = create_model("resnet_small", include_top=False, input_shape=SHAPE)
    with pytest.raises(ValueError, match=r"num_layers must be a non-negative integer; received -1"):
        transfer.unfreeze_top(model, -1)
    with pytest.raises(ValueError, match=r"num_layers must be at most the \d+ layers of .*; received 999"):
        transfer.unfreeze_top(model, 999)


def test_reestimate_batch_norm_sets_each_layer_to_the_new_images_statistics():
    rng = np.random.default_rng(0)
    inputs = keras.Input((6, 6, 2))
    x = keras.layers.BatchNormalization(name="bn1")(inputs)
    x = keras.layers.Conv2D(3, 3, padding="same", name="conv")(x)
    outputs = keras.layers.BatchNormalization(name="bn2")(x)
    model = keras.Model(inputs, outputs)
    images = rng.normal(5.0, 3.0, size=(32, 6, 6, 2)).astype("float32")
    assert transfer.reestimate_batch_norm(model, images) == 2
    bn1 = model.get_layer("bn1")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn1.moving_mean), images.mean(axis=(0, 1, 2)), atol=1e-4)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn1.moving_variance), images.var(axis=(0, 1, 2)),
                               rtol=1e-4)
    # The second layer sees the first one's output normalised with the batch's statistics (training mode).
    normalised = (images - images.mean(axis=(0, 1, 2))) / np.sqrt(images.var(axis=(0, 1, 2)) + bn1.epsilon)
    conv = keras.ops.convert_to_numpy(model.get_layer("conv")(normalised))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.get_layer("bn2").moving_mean),
                               conv.mean(axis=(0, 1, 2)), atol=1e-4)
    assert bn1.momentum == 0.99 and model.get_layer("bn2").momentum == 0.99  # restored
    # Inference mode now normalises the new images to mean 0 at the first layer.
    probe = keras.Model(inputs, model.get_layer("bn1").output)
    assert np.abs(keras.ops.convert_to_numpy(probe(images, training=False)).mean(axis=(0, 1, 2))).max() < 1e-3


def test_reestimate_batch_norm_refuses_what_is_not_a_model_or_a_batch():
    model = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization()])
    with pytest.raises(ValueError, match="model must be"):
        transfer.reestimate_batch_norm("model", np.zeros((4, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        transfer.reestimate_batch_norm(model, np.zeros((1, 4)))


def test_no_connection_falls_back_without_trying_the_download(monkeypatch, capsys):
    monkeypatch.setenv(config.OFFLINE_ENV, "0")
    requests = []
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: requests.append(args))
    monkeypatch.setattr(config, "reachable", lambda url: False)
    backbone = transfer.load_pretrained("efficientnet_b0", input_shape=SHAPE)
    out, err = capsys.readouterr()
    assert requests == [] and not backbone.pretrained and out == ""
    assert "no connection to storage.googleapis.com" in err
