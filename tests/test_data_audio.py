"""cnnkit.data.audio: the synthetic sound clips and their loader."""

import numpy as np
import pytest

from cnnkit import audio, data

# ---------------------------------------------------------------- the synthetic audio set


def test_make_audio_is_deterministic_balanced_and_bounded():
    x1, y1, names = data.make_audio(num_samples=60, seed=1)
    x2, y2, _ = data.make_audio(num_samples=60, seed=1)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert x1.shape == (60, 4000) and x1.dtype == np.float32
    assert np.abs(x1).max() <= 1.0
    assert names == list(data.AUDIO_CLASSES)
    assert np.bincount(y1).tolist() == [10] * len(names)


def _band_energy_over_time(wave, sample_rate=8000):
    """Dominant frequency (Hz) of each frame with energy, from the STFT."""
    spectrum = np.abs(audio.stft(wave, 256, 128, 256))
    loud = spectrum.max(axis=1) > 0.5 * spectrum.max()
    return spectrum.argmax(axis=1)[loud] * sample_rate / 256


def test_each_class_sounds_as_its_name_says():
    x, y, names = data.make_audio(num_samples=120, snr_db=(40, 40), seed=2)
    for cls in ("chirp_up", "chirp_down", "tone"):
        for wave in x[y == names.index(cls)][:5]:
            freqs = _band_energy_over_time(wave)
            slope = np.polyfit(np.arange(len(freqs)), freqs, 1)[0]
            if cls == "chirp_up":
                assert slope > 10, (cls, freqs)
            elif cls == "chirp_down":
                assert slope < -10, (cls, freqs)
            else:
                assert np.ptp(freqs) <= 2 * 8000 / 256, (cls, freqs)
    # Noise and clicks spread their energy over many frequency bins; a tone concentrates it in a
    # few. Count the bins above 1% of the peak power in each clip's loudest frame:
    bandwidth = {}
    for cls in ("noise", "clicks", "tone"):
        spec = np.abs(audio.stft(x[y == names.index(cls)], 256, 128)) ** 2
        loudest = spec[np.arange(len(spec)), spec.sum(-1).argmax(-1)]
        bandwidth[cls] = np.median((loudest > 0.01 * loudest.max(-1, keepdims=True)).sum(-1))
    assert bandwidth["noise"] > 5 * bandwidth["tone"] and bandwidth["clicks"] > 5 * bandwidth["tone"], bandwidth


def test_load_audio_splits_and_reports_the_sample_rate():
    ds = data.load_dataset("audio", num_samples=240, seed=0)
    assert ds.x_train.shape[1:] == (4000, 1)
    assert len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == 240
    assert ds.extras["sample_rate"] == 8000
    assert ds.class_names == list(data.AUDIO_CLASSES)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"num_samples": 0}, r"num_samples must be a positive integer; received 0"),
        ({"classes": ("tone", "whistle")}, r"classes must be 2 or more distinct names from \('tone'.*received \('tone', 'whistle'\)"),
        ({"snr_db": (10, 0)}, r"snr_db must be a \(low, high\) pair"),
        ({"duration": 0.01}, r"duration must be"),
    ],
)
def test_make_audio_rejects_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        data.make_audio(**kwargs)
