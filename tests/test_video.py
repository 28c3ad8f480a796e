"""cnnkit.video: the (2+1)D width rule, parameter and MAC formulas, I3D inflation, temporal saliency."""


import keras
import numpy as np
import pytest

from cnnkit import analysis, data, video


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


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


# ---------------------------------------------------------------- torchvision's R3D-18 and R(2+1)D-18, rebuilt


# ---------------------------------------------------------------- costs


def test_conv_formulas_agree_with_keras_and_the_analysis_table():
    inputs = keras.Input((8, 32, 32, 1))
    model = keras.Model(inputs, keras.layers.Conv3D(16, 3, padding="same", name="c")(inputs))
    table = analysis.summary_table(model)
    assert table["c"].macs == video.conv_macs((8, 32, 32, 16), (3, 3, 3), in_channels=1) == 8 * 32 * 32 * 16 * 27
    assert table["c"].params == video.conv3d_params(1, 16, 3) == 27 * 16 + 16
    assert video.conv_macs((32, 32, 16), (3, 3), in_channels=1) * 8 * 3 == table["c"].macs  # 8 frames x 3 taps
    eager = keras.layers.Conv2D(16, 3, padding="same")(keras.ops.zeros((1, 32, 32, 1)))
    assert video.conv_macs(eager.shape[1:], (3, 3), in_channels=1) == 32 * 32 * 16 * 9  # a backend's shape object
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
    with pytest.raises(ValueError, match=r"conv2d_weights must hold a Conv2D kernel of shape \(k_h, k_w, C_in, C_out\); received an array of shape \(3, 3, 2\)"):
        video.inflate_2d_to_3d(np.zeros((3, 3, 2)), 2)
    with pytest.raises(ValueError, match=r"time must be a positive integer; received 0"):
        video.inflate_2d_to_3d(kernel, 0)


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
