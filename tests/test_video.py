"""cnnkit.video, the video models and their plots: checked against formulas, Keras's own layers and torchvision."""

import io

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnkit import analysis, data, video, viz
from cnnkit.models import create_model, list_models, model_tags
from cnnkit.video import Conv2Plus1D

VIDEO_MODELS = ["per_frame_cnn", "c3d_small", "r2plus1d_small", "cnn_gru"]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def trainable_count(layer_or_model) -> int:
    return int(sum(np.prod(w.shape) for w in layer_or_model.trainable_weights))


def built(layer, shape):
    layer.build((None, *shape))
    return layer


# ---------------------------------------------------------------- the R(2+1)D width rule and parameter counts


def paper_rule(n_in, n_out, t=3, d=3):
    """Tran et al. (2018), Sec. 3.5: M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out))."""
    return int(np.floor(t * d**2 * n_in * n_out / (d**2 * n_in + t * n_out)))


@pytest.mark.parametrize("n_in, n_out", [(64, 64), (64, 128), (128, 128), (256, 512), (3, 64), (1, 16), (16, 32)])
def test_intermediate_filters_is_the_papers_rule(n_in, n_out):
    assert video.intermediate_filters(n_in, n_out, 3) == paper_rule(n_in, n_out)
    # torchvision writes the same rule in integer arithmetic (BasicBlock's "midplanes").
    assert video.intermediate_filters(n_in, n_out, 3) == (n_in * n_out * 3 * 3 * 3) // (n_in * 3 * 3 + 3 * n_out)


def test_rule_on_a_non_cubic_kernel():
    assert video.intermediate_filters(32, 64, (5, 3, 3)) == paper_rule(32, 64, t=5, d=3)
    assert video.intermediate_filters(8, 8, (3, 1, 7)) == (3 * 7 * 8 * 8) // (7 * 8 + 3 * 8)


@pytest.mark.parametrize("n_in, n_out, kernel", [(64, 64, 3), (1, 16, 3), (16, 32, (5, 3, 3)), (32, 64, (3, 5, 5))])
def test_2plus1d_weights_match_the_3d_block_they_replace(n_in, n_out, kernel):
    layer = built(Conv2Plus1D(n_out, kernel, batch_norm=False, use_bias=False), (8, 16, 16, n_in))
    conv3d = built(keras.layers.Conv3D(n_out, kernel, use_bias=False), (8, 16, 16, n_in))
    ours, full = layer.count_params(), conv3d.count_params()
    assert full == video.conv3d_params(n_in, n_out, kernel, use_bias=False)
    t, kh, kw = (kernel,) * 3 if isinstance(kernel, int) else kernel
    # The rule rounds M down: the factorised block never has more weights, and at most one
    # "unit of M" fewer (kh*kw*N_in + t*N_out weights).
    assert full - (kh * kw * n_in + t * n_out) < ours <= full
    if (n_in, n_out, kernel) == (64, 64, 3):
        assert layer.intermediate_width == 144 and ours == full == 110_592  # exact at R(2+1)D-18's first stage


@pytest.mark.parametrize("batch_norm, use_bias", [(True, True), (True, False), (False, True), (False, False)])
def test_parameter_count_matches_the_formula(batch_norm, use_bias):
    layer = built(Conv2Plus1D(24, (3, 3, 3), batch_norm=batch_norm, use_bias=use_bias), (4, 8, 8, 10))
    assert layer.count_params() == video.conv2plus1d_params(10, 24, 3, use_bias=use_bias, batch_norm=batch_norm)
    m = video.intermediate_filters(10, 24, 3)
    expected_trainable = 9 * 10 * m + 3 * m * 24 + (24 if use_bias else 0) + (2 * m if batch_norm else (m if use_bias else 0))
    assert trainable_count(layer) == expected_trainable


# ---------------------------------------------------------------- Conv2Plus1D behaves like the Conv3D it factorises


@pytest.mark.parametrize("kernel, strides, padding", [
    (3, 1, "same"), (3, 2, "same"), ((3, 3, 3), (1, 2, 2), "valid"), ((5, 3, 3), (2, 1, 1), "same"), (3, 2, "valid"),
])
def test_output_shape_is_that_of_conv3d(kernel, strides, padding):
    x = rand(2, 9, 13, 12, 3)
    ours = Conv2Plus1D(6, kernel, strides=strides, padding=padding)
    reference = keras.layers.Conv3D(6, kernel, strides=strides, padding=padding)
    assert tuple(ours(x).shape) == tuple(reference(x).shape)
    assert ours.compute_output_shape(x.shape) == tuple(reference(x).shape)


def test_a_linear_2plus1d_block_is_a_conv3d_with_the_composed_kernel():
    # Without batch norm and activation, spatial (1,k,k) then temporal (t,1,1) is one Conv3D whose
    # kernel is K[t, h, w, i, o] = sum_m S[h, w, i, m] * T[t, m, o]: a rank-M factorisation.
    x = rand(2, 6, 10, 10, 3)
    layer = Conv2Plus1D(5, 3, padding="valid", batch_norm=False, intermediate_activation=None, use_bias=True)
    layer.build(x.shape)
    s_kernel, s_bias = layer.spatial.get_weights()
    t_kernel, t_bias = layer.temporal.get_weights()
    s_bias = rand(*s_bias.shape, seed=5)  # non-zero biases, to check they compose too
    layer.spatial.set_weights([s_kernel, s_bias])
    out = keras.ops.convert_to_numpy(layer(x))
    composed = np.einsum("hwim,tmo->thwio", s_kernel[0], t_kernel[:, 0, 0])
    bias = t_bias + np.einsum("m,tmo->o", s_bias, t_kernel[:, 0, 0])
    reference = keras.layers.Conv3D(5, 3, padding="valid")
    reference.build(x.shape)
    reference.set_weights([composed, bias])
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(reference(x)), atol=1e-4)


def test_strides_go_to_the_right_half():
    layer = Conv2Plus1D(4, 3, strides=(2, 3, 1))
    layer(rand(1, 8, 9, 9, 2))
    assert layer.spatial.strides == (1, 3, 1) and layer.temporal.strides == (2, 1, 1)
    assert layer.spatial.kernel_size == (1, 3, 3) and layer.temporal.kernel_size == (3, 1, 1)


def test_config_round_trip_and_keras_file(tmp_path):
    layer = Conv2Plus1D(8, (3, 5, 5), strides=(1, 2, 2), intermediate_filters=12, activation="relu",
                        batch_norm_momentum=0.9, name="c21")
    inputs = keras.Input((6, 16, 16, 3))
    model = keras.Model(inputs, layer(inputs))
    again = Conv2Plus1D.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    x = rand(2, 6, 16, 16, 3)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)))
    assert loaded.get_layer("c21").intermediate_width == 12 and loaded.get_layer("c21").norm.momentum == 0.9


@pytest.mark.parametrize("kwargs, pattern", [
    ({"filters": 0}, r"filters must be a positive integer; received 0"),
    ({"filters": 4, "kernel_size": (3, 3)}, r"kernel_size must be a positive integer or 3 positive integers \(time, height, width\); received \(3, 3\)"),
    ({"filters": 4, "strides": 0}, r"strides must be .*received 0"),
    ({"filters": 4, "padding": "causal"}, r"padding must be one of \('same', 'valid'\); received 'causal'"),
    ({"filters": 4, "intermediate_filters": -2}, r"intermediate_filters must be a positive integer or None; received -2"),
    ({"filters": 4, "batch_norm_momentum": 1.0}, r"batch_norm_momentum must be a number in \[0, 1\); received 1.0"),
])
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        Conv2Plus1D(**kwargs)


def test_rejects_non_video_input():
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, time, height, width, channels\).*\(None, 8, 8, 3\)"):
        Conv2Plus1D(4).build((None, 8, 8, 3))


# ---------------------------------------------------------------- torchvision's R3D-18 and R(2+1)D-18, rebuilt


def video_resnet18(conv: str, num_classes: int = 400):
    """torchvision.models.video r3d_18 / r2plus1d_18, layer for layer (BasicBlock, [2, 2, 2, 2])."""
    L = keras.layers

    def bn_relu(x, relu=True):
        x = L.BatchNormalization()(x)
        return L.ReLU()(x) if relu else x

    def conv_block(x, n_out, mid, stride):
        if conv == "3d":
            return L.Conv3D(n_out, 3, strides=stride, padding="same", use_bias=False)(x)
        # torchvision's quirk: both convs of a block use the width computed from the block's
        # (inplanes, planes), so it is passed explicitly.
        return Conv2Plus1D(n_out, 3, strides=stride, padding="same", intermediate_filters=mid, use_bias=False)(x)

    inputs = keras.Input((16, 112, 112, 3))
    if conv == "3d":
        x = L.Conv3D(64, (3, 7, 7), strides=(1, 2, 2), padding="same", use_bias=False)(inputs)
    else:  # R2Plus1dStem: 45 intermediate channels
        x = Conv2Plus1D(64, (3, 7, 7), strides=(1, 2, 2), intermediate_filters=45, use_bias=False)(inputs)
    x = bn_relu(x)
    n_in = 64
    for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for block in range(2):
            s = stride if block == 0 else 1
            mid = video.intermediate_filters(n_in, planes, 3)
            shortcut = x
            if s != 1 or n_in != planes:
                shortcut = bn_relu(L.Conv3D(planes, 1, strides=s, use_bias=False)(x), relu=False)
            y = bn_relu(conv_block(x, planes, mid, s))
            y = bn_relu(conv_block(y, planes, mid, 1), relu=False)
            x = L.ReLU()(L.Add()([y, shortcut]))
            n_in = planes
    x = L.GlobalAveragePooling3D()(x)
    return keras.Model(inputs, L.Dense(num_classes)(x))


@pytest.mark.parametrize("conv, expected", [("3d", 33_371_472), ("2plus1d", 31_505_325)])
def test_torchvision_video_resnets_have_the_published_parameter_counts(conv, expected):
    # torchvision.models.video R3D_18_Weights / R2Plus1D_18_Weights meta "num_params" (PyTorch counts
    # trainable parameters; batch norm's running statistics are buffers there).
    assert trainable_count(video_resnet18(conv)) == expected


# ---------------------------------------------------------------- costs


def test_conv_formulas_agree_with_keras_and_the_analysis_table():
    inputs = keras.Input((8, 32, 32, 1))
    model = keras.Model(inputs, keras.layers.Conv3D(16, 3, padding="same", name="c")(inputs))
    table = analysis.summary_table(model)
    assert table["c"].macs == video.conv_macs((8, 32, 32, 16), (3, 3, 3), in_channels=1) == 8 * 32 * 32 * 16 * 27
    assert table["c"].params == video.conv3d_params(1, 16, 3) == 27 * 16 + 16
    assert video.conv_macs((32, 32, 16), (3, 3), in_channels=1) * 8 * 3 == table["c"].macs  # 8 frames x 3 taps
    with pytest.raises(ValueError, match=r"kernel_size must be a positive integer or 3 positive integers \(one per non-channel output axis\); received \(3, 3\)"):
        video.conv_macs((8, 32, 32, 16), (3, 3), in_channels=1)


# ---------------------------------------------------------------- inflation


def test_inflated_kernel_gives_the_2d_response_on_a_static_clip():
    frame = rand(2, 12, 12, 3, seed=1)
    conv2d = keras.layers.Conv2D(5, 3, padding="same")
    conv2d.build(frame.shape)
    conv2d.set_weights([conv2d.get_weights()[0], rand(5, seed=2)])  # a non-zero bias too
    out2d = keras.ops.convert_to_numpy(conv2d(frame))
    static = np.repeat(frame[:, None], 7, axis=1)  # (2, 7, 12, 12, 3): one frame, seven times
    # "valid" keeps every output step on real frames; spatial padding then has to be explicit.
    conv3d = keras.layers.Conv3D(5, 3, padding="valid")
    padded = np.pad(static, ((0, 0), (0, 0), (1, 1), (1, 1), (0, 0)))
    conv3d.build(padded.shape)
    weights = video.inflate_2d_to_3d(conv2d.get_weights(), time=3)
    assert weights[0].shape == (3, 3, 3, 3, 5)
    conv3d.set_weights(weights)
    out3d = keras.ops.convert_to_numpy(conv3d(padded))
    assert out3d.shape == (2, 5, 12, 12, 5)
    for t in range(out3d.shape[1]):
        np.testing.assert_allclose(out3d[:, t], out2d, atol=1e-5)


def test_inflation_repeats_and_divides():
    kernel = rand(3, 3, 2, 4)
    inflated = video.inflate_2d_to_3d(kernel, time=4)
    np.testing.assert_allclose(inflated.sum(axis=0), kernel, rtol=1e-6)
    np.testing.assert_allclose(inflated[0], inflated[3])
    assert inflated.dtype == np.float32 and isinstance(inflated, np.ndarray)
    with pytest.raises(ValueError, match=r"A Conv2D kernel has shape \(k_h, k_w, C_in, C_out\); received shape \(3, 3, 2\)"):
        video.inflate_2d_to_3d(np.zeros((3, 3, 2)), 2)
    with pytest.raises(ValueError, match=r"time must be a positive integer; received 0"):
        video.inflate_2d_to_3d(kernel, 0)


# ---------------------------------------------------------------- the registered video models


def test_video_models_are_registered_with_the_clip_shape():
    for name in VIDEO_MODELS:
        assert name in list_models() and model_tags(name)["task"] == "video"
        assert create_model(name).input_shape == (None, 8, 32, 32, 1)


def test_per_frame_layers_are_2d_convolutions_on_each_frame():
    model = create_model("per_frame_cnn", input_shape=(4, 16, 16, 1), widths=(6,))
    conv3d = model.get_layer("conv1")
    conv2d = keras.layers.Conv2D(6, 3, padding="same", use_bias=False)
    conv2d.build((None, 16, 16, 1))
    conv2d.set_weights([conv3d.get_weights()[0][0]])
    clip = rand(2, 4, 16, 16, 1)
    out3d = keras.ops.convert_to_numpy(conv3d(clip))
    for t in range(4):
        np.testing.assert_allclose(out3d[:, t], keras.ops.convert_to_numpy(conv2d(clip[:, t])), atol=1e-5)


def test_only_the_per_frame_model_ignores_frame_order():
    clip = rand(3, 8, 32, 32, 1, seed=4)
    reordered = data.shuffle_frames(clip, seed=1)
    for name in VIDEO_MODELS:
        keras.utils.set_random_seed(0)
        model = create_model(name)
        a = keras.ops.convert_to_numpy(model(clip, training=False))
        b = keras.ops.convert_to_numpy(model(reordered, training=False))
        if name == "per_frame_cnn":
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        else:
            assert np.abs(a - b).max() > 1e-3, f"{name} should depend on frame order"


def test_temporal_receptive_fields():
    # Time is the first axis of the receptive field of a Conv3D model.
    assert analysis.receptive_field(create_model("per_frame_cnn")).size[0] == 1
    c3d = analysis.receptive_field(create_model("c3d_small"))
    r21 = analysis.receptive_field(create_model("r2plus1d_small"))
    assert c3d["conv1"].size == (3, 3, 3) and r21["conv1"].size == (3, 3, 3)
    assert c3d.size == r21.size and c3d.size[0] > 8  # the last layer sees the whole 8-frame clip


def test_2plus1d_model_has_about_the_parameters_of_c3d():
    c3d, r21 = create_model("c3d_small"), create_model("r2plus1d_small")
    assert abs(trainable_count(r21) - trainable_count(c3d)) / trainable_count(c3d) < 0.01
    assert create_model("per_frame_cnn").count_params() < c3d.count_params() / 2


@pytest.mark.parametrize("builder, kwargs, pattern", [
    ("c3d_small", {"input_shape": (32, 32, 1)}, r"input_shape must be \(time, height, width, channels\)"),
    ("c3d_small", {"temporal_kernel": 0}, r"temporal_kernel must be a positive integer; received 0"),
    ("per_frame_cnn", {"widths": ()}, r"widths must be a non-empty sequence of positive integers; received \(\)"),
    ("r2plus1d_small", {"input_shape": (8, 2, 2, 1)}, r"too small for 3 stages"),
    ("cnn_gru", {"units": 0}, r"units must be a positive integer; received 0"),
])
def test_builders_validate(builder, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        create_model(builder, **kwargs)


# ---------------------------------------------------------------- temporal saliency


def one_frame_model(frames=6, size=8, k=3):
    """A fixed classifier that reads only frame k: class 0 scores its mean brightness, class 1 minus that."""
    inputs = keras.Input((frames, size, size, 1))
    x = keras.layers.Cropping3D(((k, frames - k - 1), (0, 0), (0, 0)))(inputs)
    x = keras.layers.GlobalAveragePooling3D()(x)
    scores = keras.layers.Dense(2, name="scores")(x)
    model = keras.Model(inputs, scores)
    model.get_layer("scores").set_weights([np.array([[5.0, -5.0]], np.float32), np.zeros(2, np.float32)])
    return model


def test_saliency_finds_the_one_frame_a_model_reads():
    clips, _, _ = data.make_motion_clips(num_samples=4, frames=6, image_size=8, num_dots=6, seed=0)
    model = one_frame_model(k=3)
    saliency, classes = video.temporal_saliency(model, clips)
    assert saliency.shape == (4, 6) and classes.tolist() == [0] * 4  # bright frames: class 0 wins
    np.testing.assert_allclose(saliency[:, [0, 1, 2, 4, 5]], 0.0, atol=1e-6)
    # Blanking frame 3 takes the class-0 logit margin from 10 * mean brightness to 0: p drops to 1/2.
    brightness = clips[:, 3].mean(axis=(1, 2, 3))
    np.testing.assert_allclose(saliency[:, 3], 1 / (1 + np.exp(-10 * brightness)) - 0.5, rtol=1e-4)
    one, cls = video.temporal_saliency(model, clips[0], class_index=1)
    assert one.shape == (6,) and cls == 1 and one[3] < 0  # class 1 becomes MORE likely without frame 3


def test_blank_frame_and_saliency_arguments():
    clips = rand(2, 4, 8, 8, 1)
    blanked = video.blank_frame(clips, 2, fill=0.5)
    assert np.all(blanked[:, 2] == 0.5)
    np.testing.assert_array_equal(np.delete(blanked, 2, axis=1), np.delete(clips, 2, axis=1))
    with pytest.raises(ValueError, match=r"t must be an integer in \[0, 3\]; received 4"):
        video.blank_frame(clips, 4)
    with pytest.raises(ValueError, match=r"class_index must be an integer in \[0, 1\] or None; received 5"):
        video.temporal_saliency(one_frame_model(frames=4, k=1), clips, class_index=5)
    with pytest.raises(ValueError, match=r"clips must have shape \(N, T, H, W, C\) or \(T, H, W, C\) with T >= 2"):
        video.temporal_saliency(one_frame_model(frames=4, k=1), rand(8, 8, 1))


# ---------------------------------------------------------------- plots and animation


def test_filmstrip_one_row_per_clip():
    clips = rand(3, 6, 8, 8, 1).clip(0, 1)
    fig = viz.show_filmstrip(clips, row_titles=["a", "b", "c"], frame_step=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert isinstance(fig, Figure) and len(visible) == 9
    assert [ax.get_title() for ax in visible[:3]] == ["t=0", "t=2", "t=4"]
    assert [visible[i].get_ylabel() for i in (0, 3, 6)] == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"Expected a clip \(T, H, W, C\) or a batch of clips"):
        viz.show_filmstrip(np.zeros((8, 8)))


def test_space_time_slice_turns_motion_into_a_slanted_line():
    clip, label, _ = data.make_motion_clips(num_samples=1, frames=6, image_size=16, num_dots=1, speed=2.0,
                                            num_directions=2, seed=0)  # one dot, right or left
    xt = viz.space_time_slice(clip[0], axis="x")
    assert xt.shape == (6, 16)
    step = (np.diff(xt.argmax(axis=1)) + 8) % 16 - 8  # the dot's x position frame to frame
    assert np.all(step == (2 if label[0] == 0 else -2))
    assert isinstance(viz.show_space_time(clip[0], axis="y"), Figure)


def test_gif_has_one_image_per_frame_and_clips_side_by_side():
    from PIL import Image

    clips = np.zeros((2, 5, 8, 8, 1), np.float32)
    for t in range(5):
        clips[:, t, 2, t] = 1.0  # a dot moving right (identical frames would be merged by the GIF writer)
    gif = viz.clip_to_gif(clips, fps=5, scale=2, gap=2)
    image = Image.open(io.BytesIO(gif))
    assert gif[:6] == b"GIF89a" and image.n_frames == 5
    assert image.size == ((8 + 2 + 8) * 2, 8 * 2)
    assert image.info["duration"] == 200 and len(gif) < 5_000
    html = viz.animate_clips(clips, labels=["right", "<left>"]).data
    assert html.startswith("<img src='data:image/gif;base64,") and "right | &lt;left&gt;" in html


def test_temporal_filters_and_saliency_plots():
    fig = viz.show_temporal_filters(rand(3, 3, 3, 2, 10), max_filters=4)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 12 and [ax.get_title() for ax in visible[:4]] == [f"filter {f}" for f in range(4)]
    assert [visible[i].get_ylabel() for i in (0, 4, 8)] == ["t=0", "t=1", "t=2"]
    with pytest.raises(ValueError, match=r"Expected a Conv3D kernel"):
        viz.show_temporal_filters(rand(3, 3, 2, 10))
    fig = viz.plot_temporal_saliency(np.abs(rand(5, 8)), window=(2, 5), title="s")
    assert isinstance(fig, Figure) and len(fig.axes[0].patches) >= 8
