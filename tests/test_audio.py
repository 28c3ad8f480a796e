"""cnnkit.audio: STFT, mel filterbank and log-mel spectrograms, checked against scipy and tf.signal."""

import numpy as np
import pytest
import scipy.signal

from cnnkit import audio


@pytest.fixture
def waves():
    rng = np.random.default_rng(0)
    return rng.normal(size=(3, 2000))


def test_hann_window_matches_scipy():
    for n in (1, 4, 255, 256):
        np.testing.assert_allclose(audio.hann_window(n), scipy.signal.get_window("hann", n), atol=1e-12)
        np.testing.assert_allclose(audio.hann_window(n, periodic=False), scipy.signal.windows.hann(n, sym=True), atol=1e-12)


def test_frame_matches_a_loop():
    x = np.arange(23)
    frames = audio.frame(x, frame_length=5, frame_step=3)
    expected = np.stack([x[s : s + 5] for s in range(0, 23 - 5 + 1, 3)])
    np.testing.assert_array_equal(frames, expected)


@pytest.mark.parametrize("frame_length, frame_step, fft_length", [(256, 128, 256), (200, 80, 256), (64, 64, 64)])
def test_stft_matches_scipy(waves, frame_length, frame_step, fft_length):
    ours = audio.stft(waves, frame_length, frame_step, fft_length)
    window = scipy.signal.get_window("hann", frame_length)
    _, _, ref = scipy.signal.stft(
        waves, window=window, nperseg=frame_length, noverlap=frame_length - frame_step, nfft=fft_length,
        boundary=None, padded=False, detrend=False, return_onesided=True,
    )
    # scipy scales the spectrum by 1 / sum(window) and puts time on the last axis.
    ref = np.swapaxes(ref, -1, -2) * window.sum()
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_stft_matches_tensorflow(waves):
    tf = pytest.importorskip("tensorflow")
    ours = audio.stft(waves, frame_length=200, frame_step=80)  # default fft_length: 256
    ref = tf.signal.stft(waves.astype(np.float32), 200, 80).numpy()
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-3)  # TF computes in float32


def test_stft_of_a_pure_tone_peaks_at_its_bin():
    sample_rate, fft_length = 8000, 256
    freq = 40 * sample_rate / fft_length  # exactly bin 40
    wave = np.sin(2 * np.pi * freq * np.arange(4000) / sample_rate)
    spectrum = np.abs(audio.stft(wave, 256, 128, fft_length))
    assert (spectrum.argmax(axis=-1) == 40).all()


@pytest.mark.parametrize(
    "num_mel_bins, num_spectrogram_bins, sample_rate, low, high",
    [(20, 129, 8000, 125.0, 3800.0), (40, 257, 16000, 20.0, 8000.0), (8, 65, 4000, 0.0, 2000.0)],
)
def test_mel_filterbank_matches_tensorflow(num_mel_bins, num_spectrogram_bins, sample_rate, low, high):
    tf = pytest.importorskip("tensorflow")
    ours = audio.mel_filterbank(num_mel_bins, num_spectrogram_bins, sample_rate, low, high)
    ref = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins, num_spectrogram_bins, sample_rate, low, high, dtype=tf.float64
    ).numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_mel_scale_round_trip_and_1000_hz_anchor():
    hz = np.array([0.0, 100.0, 1000.0, 3999.0])
    np.testing.assert_allclose(audio.mel_to_hz(audio.hz_to_mel(hz)), hz, atol=1e-9)
    assert abs(float(audio.hz_to_mel(1000.0)) - 1000.0) < 0.1  # HTK scale: 1000 Hz is about 1000 mel


def test_log_mel_spectrogram_matches_the_tensorflow_recipe(waves):
    tf = pytest.importorskip("tensorflow")
    ours = audio.log_mel_spectrogram(waves, 8000, 256, 128, num_mel_bins=32, lower_edge_hertz=60.0)
    magnitude = tf.abs(tf.signal.stft(waves, 256, 128, 256))
    weights = tf.signal.linear_to_mel_weight_matrix(32, 129, 8000, 60.0, 4000.0, dtype=tf.float64)
    ref = tf.math.log(tf.tensordot(magnitude, weights, 1) + 1e-6).numpy()
    assert ours.shape == ref.shape == (3, 14, 32) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_a_higher_tone_lands_in_a_higher_mel_band():
    t = np.arange(4000) / 8000
    low, high = (audio.log_mel_spectrogram(np.sin(2 * np.pi * f * t), 8000).mean(axis=0).argmax() for f in (300, 2500))
    centers = audio.mel_band_centers(40, 8000)
    assert high > low
    assert abs(centers[low] - 300) < 60 and abs(centers[high] - 2500) < 250


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: audio.stft(np.zeros(100), frame_length=200), r"at least one frame of samples.*received 100 samples"),
        (lambda: audio.stft(np.zeros(500), frame_length=256, fft_length=128), r"fft_length must be at least"),
        (lambda: audio.stft(np.zeros(500), window="hamming"), r"window must be one of \('hann', None\); received 'hamming'"),
        (lambda: audio.frame(np.zeros(10), 4, 0), r"frame_step must be a positive integer; received 0"),
        (lambda: audio.mel_filterbank(10, 129, 8000, 100.0, 5000.0), r"Nyquist \(4000 Hz\)"),
        (lambda: audio.stft(np.zeros(300, complex)), r"must be a real array"),
    ],
)
def test_bad_arguments_say_what_was_received(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# ---------------------------------------------------------------- WAV files


def test_wav_round_trip_and_scipy_reads_what_we_write(tmp_path):
    import scipy.io.wavfile

    signal = np.sin(2 * np.pi * 440 * np.arange(4000) / 8000) * 0.8
    path = audio.write_wav(tmp_path / "tone.wav", signal, 8000)
    decoded, rate = audio.read_wav(path)
    assert rate == 8000 and decoded.dtype == np.float32 and decoded.shape == (4000,)
    np.testing.assert_allclose(decoded, signal, atol=0.5 / 32768 + 1e-7)  # 16 bits: half a step of rounding
    scipy_rate, scipy_pcm = scipy.io.wavfile.read(path)
    assert scipy_rate == 8000 and scipy_pcm.dtype == np.int16
    np.testing.assert_array_equal(scipy_pcm, np.round(signal * 32768).astype(np.int16))


@pytest.mark.parametrize("dtype, full_scale", [(np.int16, 32768), (np.int32, 2**31), (np.uint8, 128)])
def test_read_wav_decodes_what_scipy_writes_and_averages_channels(tmp_path, dtype, full_scale):
    import scipy.io.wavfile

    rng = np.random.default_rng(1)
    info = np.iinfo(dtype)
    stereo = rng.integers(info.min, info.max, size=(300, 2), endpoint=True).astype(dtype)
    scipy.io.wavfile.write(tmp_path / "s.wav", 16000, stereo)
    decoded, rate = audio.read_wav(tmp_path / "s.wav")
    centred = stereo.astype(np.float64) - (128 if dtype == np.uint8 else 0)
    assert rate == 16000
    np.testing.assert_allclose(decoded, centred.mean(axis=1) / full_scale, atol=1e-6)


def test_fix_length_pads_and_trims_at_the_end():
    x = np.arange(1, 6, dtype=np.float32)
    np.testing.assert_array_equal(audio.fix_length(x, 3), [1, 2, 3])
    np.testing.assert_array_equal(audio.fix_length(x, 7), [1, 2, 3, 4, 5, 0, 0])
    assert audio.fix_length(np.ones((2, 5)), 8).shape == (2, 8)


def test_wav_helpers_refuse_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"\[-1, 1\].*received values up to 2"):
        audio.write_wav(tmp_path / "loud.wav", np.array([0.0, 2.0]), 8000)
    with pytest.raises(ValueError, match="existing WAV file"):
        audio.read_wav(tmp_path / "missing.wav")
    (tmp_path / "text.wav").write_text("not a wav")
    with pytest.raises(ValueError, match="not a PCM WAV file"):
        audio.read_wav(tmp_path / "text.wav")
    with pytest.raises(ValueError, match="num_samples"):
        audio.fix_length(np.ones(3), 0)
