"""cnnkit.viz.audio: waveform, spectrogram, filterbank and sound-grid plots."""

import pytest

from cnnkit import audio, data

# ---------------------------------------------------------------- plots


def test_sound_plots_return_their_figure_and_check_shapes():
    from cnnkit import viz

    waves, labels, names = data.make_audio(num_samples=6, seed=0)
    specs = audio.log_mel_spectrogram(waves, 8000)
    bands = audio.mel_band_centers(40, 8000)
    fig = viz.show_sounds(waves, specs, names, sample_rate=8000, frame_step=128, band_hz=bands)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 12 + 1  # and the shared colour bar
    assert fig.axes[6].get_xlabel() == "time (s)"
    limits = {ax.images[0].get_clim() for ax in fig.axes[6:12]}  # one colour scale for every spectrogram
    assert limits == {(float(specs.min()), float(specs.max()))}
    assert fig.axes[12].get_ylabel() == "log magnitude"
    assert len(viz.show_sounds(waves, specs, names, 8000, 128, colorbar=False).axes) == 12
    assert viz.show_spectrogram(specs[0][..., None], colorbar=True).axes[0].get_ylabel() == "band"
    assert viz.show_filterbank(audio.mel_filterbank(10, 129, 8000), 8000).axes[0].lines[0].get_xdata()[-1] == 4000
    with pytest.raises(ValueError, match=r"Expected a spectrogram of shape \(frames, bins\); received shape \(2, 30, 40\)"):
        viz.show_spectrogram(specs[:2])
    with pytest.raises(ValueError, match=r"as many spectrograms and titles as waves \(6\)"):
        viz.show_sounds(waves, specs[:3], names, 8000, 128)
