"""Synthetic sounds: an offline audio-classification set that is generated, not downloaded.

Six kinds of sound, each a short event at a random time inside a clip of
background noise, with random pitch, speed, loudness and noise level:

=============  ==============================================================
``tone``       a steady sine at one frequency
``chirp_up``   a sine sweeping up in frequency (2-3.5x)
``chirp_down`` the same sweep, downwards
``tremolo``    a steady sine whose loudness pulses 6-14 times a second
``clicks``     a train of sharp clicks, 15-40 per second
``noise``      a burst of band-limited noise (a "hiss" in one frequency band)
=============  ==============================================================

``tone``/``tremolo`` differ only in *loudness over time* and
``chirp_up``/``chirp_down`` only in the *order* of the same frequencies, so a
model must see both time and frequency, which a spectrogram lays out as an
image. Everything is vectorised NumPy: thousands of clips take a second.

Example:
    >>> from cnnkit import data
    >>> ds = data.load_audio(num_samples=300)
    >>> ds.input_shape, ds.extras["sample_rate"]
    ((4000, 1), 8000)
"""

from __future__ import annotations

import numpy as np

from cnnkit import _validate as V
from cnnkit.data.core import Dataset, stratified_split

AUDIO_CLASSES = ("tone", "chirp_up", "chirp_down", "tremolo", "clicks", "noise")
RAMP_SECONDS = 0.01  # fade in/out of each event, so its edges do not click


def _log_uniform(rng, low, high, n):
    return np.exp(rng.uniform(np.log(low), np.log(high), size=n))


def _envelope(n_samples, starts, lengths, sample_rate):
    """(N, T) raised-cosine gate: 0 outside the event, 1 inside, 10 ms ramps at both ends."""
    t = np.arange(n_samples, dtype=np.float32)[None, :]
    into = t - starts[:, None]
    left = lengths[:, None] - into
    ramp = RAMP_SECONDS * sample_rate
    rise = np.clip(np.minimum(into, left) / ramp, 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(np.pi * rise)).astype(np.float32)


def _sweep(rng, f_start, f_end, starts, lengths, n_samples, sample_rate):
    """(N, T) sine whose frequency moves linearly from f_start to f_end over the event."""
    t = np.arange(n_samples, dtype=np.float32)[None, :]
    progress = np.clip((t - starts[:, None]) / lengths[:, None], 0.0, 1.0)
    freq = f_start[:, None] + (f_end - f_start)[:, None] * progress
    # Phase is the running sum of the frequency: the sweep stays continuous.
    phase = 2 * np.pi * np.cumsum(freq, axis=1) / sample_rate + rng.uniform(0, 2 * np.pi, (len(starts), 1))
    return np.sin(phase)


def _band_noise(rng, n, n_samples, sample_rate):
    """(N, T) white noise with everything outside one random frequency band removed (via the FFT)."""
    spectrum = np.fft.rfft(rng.normal(size=(n, n_samples)), axis=1)
    freqs = np.fft.rfftfreq(n_samples, 1.0 / sample_rate)[None, :]
    center = _log_uniform(rng, 400.0, 2500.0, n)[:, None]
    half_width = center * rng.uniform(0.25, 0.5, size=(n, 1))
    return np.fft.irfft(spectrum * (np.abs(freqs - center) < half_width), n=n_samples, axis=1)


def _events(kind, rng, starts, lengths, n_samples, sample_rate):
    """The (N, T) event waveforms of one class, before gating and noise."""
    n = len(starts)
    t = np.arange(n_samples, dtype=np.float32)[None, :]
    if kind in ("tone", "tremolo"):
        freq = _log_uniform(rng, 250.0, 3000.0, n)
        wave = _sweep(rng, freq, freq, starts, lengths, n_samples, sample_rate)
        if kind == "tremolo":
            rate = rng.uniform(6.0, 14.0, size=(n, 1))
            wave = wave * (0.5 + 0.5 * np.cos(2 * np.pi * rate * (t - starts[:, None]) / sample_rate))
        return wave
    if kind in ("chirp_up", "chirp_down"):
        low = _log_uniform(rng, 300.0, 1000.0, n)
        high = low * rng.uniform(2.0, 3.5, size=n)
        f_start, f_end = (low, high) if kind == "chirp_up" else (high, low)
        return _sweep(rng, f_start, f_end, starts, lengths, n_samples, sample_rate)
    if kind == "clicks":
        period = sample_rate / rng.uniform(15.0, 40.0, size=(n, 1))
        since_click = np.mod(t - starts[:, None], period)
        return np.exp(-since_click / (0.001 * sample_rate))  # each click decays in about 1 ms
    if kind == "noise":
        return _band_noise(rng, n, n_samples, sample_rate)
    raise ValueError(f"kind must be one of {AUDIO_CLASSES}; received {kind!r}.")


def make_audio(num_samples: int = 1800, sample_rate: int = 8000, duration: float = 0.5,
               classes=AUDIO_CLASSES, snr_db=(0.0, 20.0), seed: int = 0):
    """Generate labelled sound clips.

    Each clip holds one event lasting 50-80% of the clip at a random time,
    in white background noise whose level gives a signal-to-noise ratio drawn
    from ``snr_db``; the clip is then scaled to a random peak level in
    ``[0.3, 0.9]``, so loudness says nothing about the class.

    Args:
        num_samples: number of clips (classes are balanced to within one).
        sample_rate: samples per second (the highest frequency used is 3.5 kHz,
            so keep it at least 8000).
        duration: clip length in seconds.
        classes: which of :data:`AUDIO_CLASSES` to use; labels index this list.
        snr_db: ``(low, high)`` range of the event-to-background ratio in dB.
        seed: the random seed: the same seed gives the same clips.

    Returns:
        ``(waves, labels, class_names)``: waves ``(N, samples)`` float32 in
        ``[-1, 1]``, labels ``(N,)`` int32.

    Example:
        >>> waves, labels, names = make_audio(num_samples=12)
        >>> waves.shape
        (12, 4000)
    """
    num_samples = V.positive_int(num_samples, "num_samples")
    sample_rate = V.integer(sample_rate, "sample_rate", minimum=8000, reason="sounds reach 3.5 kHz")
    duration = V.number(duration, "duration", 0.1, 10, reason="seconds")
    class_names = V.distinct_choices(classes, "classes", AUDIO_CLASSES, min_count=2)
    snr_db = V.number_range(snr_db, "snr_db")
    seed = V.seed(seed)
    V.memory_of(8.0 * 4 * num_samples * sample_rate * duration,
                {"num_samples": num_samples, "sample_rate": sample_rate, "duration": duration},
                "the waveforms (and drawing them)")

    rng = np.random.default_rng(seed)
    n_samples = round(duration * sample_rate)
    labels = rng.permutation(np.arange(num_samples) % len(class_names)).astype(np.int32)
    lengths = rng.uniform(0.5, 0.8, size=num_samples) * n_samples
    starts = rng.uniform(0.0, 1.0, size=num_samples) * (n_samples - lengths)

    waves = np.empty((num_samples, n_samples), dtype=np.float32)
    for k, kind in enumerate(class_names):
        sel = labels == k
        if sel.any():
            events = _events(kind, rng, starts[sel], lengths[sel], n_samples, sample_rate)
            gate = _envelope(n_samples, starts[sel], lengths[sel], sample_rate)
            events = events * gate
            # Equal loudness for every class: unit RMS over the event.
            rms = np.sqrt(np.sum(events**2, axis=1, keepdims=True) / np.sum(gate**2, axis=1, keepdims=True))
            waves[sel] = events / rms

    snr = rng.uniform(snr_db[0], snr_db[1], size=(num_samples, 1))
    waves += rng.normal(size=waves.shape).astype(np.float32) * (10.0 ** (-snr / 20.0)).astype(np.float32)
    peak = rng.uniform(0.3, 0.9, size=(num_samples, 1))
    waves *= (peak / np.abs(waves).max(axis=1, keepdims=True)).astype(np.float32)
    return waves.astype(np.float32), labels, class_names


def load_audio(num_samples: int = 1800, sample_rate: int = 8000, duration: float = 0.5,
               classes=AUDIO_CLASSES, snr_db=(0.0, 20.0), val_fraction: float = 0.15,
               test_fraction: float = 0.15, seed: int = 0) -> Dataset:
    """The synthetic sounds as a :class:`Dataset`, split train / val / test.

    The "images" are waveforms ``(samples, 1)`` in ``[-1, 1]`` (one channel,
    ready for ``Conv1D``); ``extras["sample_rate"]`` gives the sample rate.
    Turn them into spectrograms with :func:`cnnkit.audio.log_mel_spectrogram`.

    Example:
        >>> ds = load_audio(num_samples=300)
        >>> ds.x_train.shape[1:], ds.num_classes
        ((4000, 1), 6)
    """
    V.open_fraction(val_fraction, "val_fraction")
    V.open_fraction(test_fraction, "test_fraction")
    waves, labels, names = make_audio(num_samples, sample_rate, duration, classes, snr_db, seed)
    splits = stratified_split(waves[..., None], labels, val_fraction, test_fraction, seed)
    return Dataset(
        "audio", *splits, class_names=names,
        source=f"synthetic sounds generated by cnnkit (seed={seed}, {num_samples} clips, {sample_rate} Hz)",
        extras={"sample_rate": sample_rate, "duration": duration},
    )
