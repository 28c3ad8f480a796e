"""Plots of sounds: waveforms, spectrograms, the mel filterbank.

Same conventions as every ``cnnkit.viz`` function: single-panel plots take
``ax=None``, multi-panel plots ``axes=None``; each returns its Figure and
leaves Matplotlib's global settings alone.
"""

from __future__ import annotations

import numpy as np

from cnnkit import _validate as V
from cnnkit.viz.core import floats, grid_axes, new_axes


def show_waveform(wave, sample_rate: float, title: str | None = None, ax=None, figsize=(4.0, 1.8)):
    """Plot a 1D signal against time in seconds.

    Args:
        wave: ``(samples,)`` or ``(samples, 1)``.
        sample_rate: samples per second.

    Returns:
        The Figure.
    """
    wave = floats(wave, "wave")
    if wave.ndim == 2 and wave.shape[1] == 1:
        wave = wave[:, 0]
    if wave.ndim != 1:
        raise ValueError(f"Expected a waveform of shape (samples,) or (samples, 1); received shape {wave.shape}.")
    sample_rate = V.positive_float(sample_rate, "sample_rate")
    fig, ax = new_axes(ax, figsize)
    ax.plot(np.arange(len(wave)) / sample_rate, wave, linewidth=0.5)
    ax.set_xlim(0, len(wave) / sample_rate)
    ax.set_xlabel("time (s)", fontsize=8)
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def show_spectrogram(spectrogram, sample_rate: float | None = None, frame_step: int | None = None,
                     band_hz=None, title: str | None = None, ax=None, colorbar: bool = False, figsize=(4.0, 2.4),
                     vmin: float | None = None, vmax: float | None = None):
    """Show a ``(frames, bins)`` spectrogram as an image: time to the right, frequency upwards.

    Args:
        spectrogram: ``(frames, bins)`` or ``(frames, bins, 1)``, e.g. from
            :func:`cnnkit.audio.log_mel_spectrogram`.
        sample_rate, frame_step: when both are given, the x axis is in seconds.
        band_hz: optional centre frequency of each bin (e.g.
            :func:`cnnkit.audio.mel_band_centers`); labels a few y ticks in Hz.
        colorbar: draw a colour bar (log magnitude).
        vmin, vmax: the log magnitudes at the two ends of the colour map (default: this
            spectrogram's own range); give several spectrograms the same ones to compare them.

    Returns:
        The Figure.
    """
    sample_rate = V.positive_float(sample_rate, "sample_rate", allow_none=True)
    frame_step = V.positive_int(frame_step, "frame_step", allow_none=True)
    title, colorbar = V.text(title, "title"), V.boolean(colorbar, "colorbar")
    spec = floats(spectrogram, "spectrogram")
    if spec.ndim == 3 and spec.shape[-1] == 1:
        spec = spec[..., 0]
    if spec.ndim != 2:
        raise ValueError(f"Expected a spectrogram of shape (frames, bins); received shape {spec.shape}.")
    fig, ax = new_axes(ax, figsize)
    frames, bins = spec.shape
    extent_x = frames * frame_step / sample_rate if sample_rate and frame_step else frames
    shown = ax.imshow(spec.T, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
                      extent=(0, extent_x, -0.5, bins - 0.5), vmin=vmin, vmax=vmax)
    ax.set_xlabel("time (s)" if sample_rate and frame_step else "frame", fontsize=8)
    if band_hz is not None:
        ticks = np.linspace(0, bins - 1, 4).round().astype(int)
        ax.set_yticks(ticks, [f"{band_hz[t]:.0f}" for t in ticks])
        ax.set_ylabel("Hz (mel scale)", fontsize=8)
    else:
        ax.set_ylabel("band", fontsize=8)
    ax.tick_params(labelsize=7)
    if colorbar:
        fig.colorbar(shown, ax=ax, shrink=0.8, label="log magnitude")
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def show_sounds(waves, spectrograms, titles, sample_rate: float, frame_step: int, band_hz=None, axes=None,
                panel_size: float = 1.9, colorbar: bool = True):
    """One column per sound: its waveform on top, its spectrogram below.

    Args:
        waves: sequence of ``(samples,)`` waveforms.
        spectrograms: the matching ``(frames, bins)`` spectrograms.
        titles: one title per column (e.g. the class names).
        sample_rate, frame_step, band_hz: as in :func:`show_spectrogram`.
        axes: ``2 * n`` existing axes (waveforms first), or ``None``.
        colorbar: one colour scale for every spectrogram (the range of all of them), shown
            as a colour bar right of the last one, so the same colour means the same log
            magnitude in every panel.

    Returns:
        The Figure.
    """
    colorbar = V.boolean(colorbar, "colorbar")
    n = len(waves)
    if len(spectrograms) != n or len(titles) != n:
        raise ValueError(f"Expected as many spectrograms and titles as waves ({n}); received "
                         f"{len(spectrograms)} spectrograms and {len(titles)} titles.")
    fig, flat = grid_axes(2 * n, ncols=n, axes=axes, panel_size=panel_size, aspect=0.6)
    values = [np.asarray(s, dtype=np.float32) for s in spectrograms]
    low, high = (min(float(v.min()) for v in values), max(float(v.max()) for v in values)) if colorbar else (None, None)
    for i in range(n):
        show_waveform(waves[i], sample_rate, title=titles[i], ax=flat[i])
        flat[i].set_yticks([])
        show_spectrogram(values[i], sample_rate, frame_step, band_hz if i == 0 else None, ax=flat[n + i],
                         vmin=low, vmax=high)
        if i:
            flat[n + i].set_ylabel("")
            flat[n + i].set_yticks([])
    if colorbar:
        fig.colorbar(flat[2 * n - 1].images[0], ax=list(flat[n:2 * n]), shrink=0.9, pad=0.02, label="log magnitude")
    return fig


def show_filterbank(weights, sample_rate: float, title: str | None = "mel filterbank", ax=None, figsize=(4.5, 2.2)):
    """Draw each mel band's triangle over the linear frequency axis.

    Args:
        weights: ``(num_spectrogram_bins, num_mel_bins)`` from :func:`cnnkit.audio.mel_filterbank`.
        sample_rate: samples per second (the x axis runs to Nyquist).

    Returns:
        The Figure.
    """
    sample_rate = V.positive_float(sample_rate, "sample_rate")
    weights = floats(weights, "weights")
    if weights.ndim != 2:
        raise ValueError(f"Expected weights of shape (spectrogram_bins, mel_bins); received shape {weights.shape}.")
    fig, ax = new_axes(ax, figsize)
    freqs = np.linspace(0, sample_rate / 2, weights.shape[0])
    ax.plot(freqs, weights, linewidth=0.8)
    ax.set_xlabel("frequency (Hz)", fontsize=8)
    ax.set_ylabel("weight", fontsize=8)
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return fig
