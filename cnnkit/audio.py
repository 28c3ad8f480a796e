"""Sound as an image: the short-time Fourier transform, the mel filterbank and log-mel spectrograms.

A CNN sees a sound through its *spectrogram*: cut the waveform into short
overlapping frames, take the Fourier transform of each (the STFT), keep the
magnitudes, pool the frequency bins into bands spaced the way the ear hears
them (the mel scale), and take the logarithm. The result is a 2D grid
(time x frequency) in which nearby values share meaning, exactly what
convolutions are built for.

Everything here is NumPy, written to be read, and checked in the tests against
references: the STFT against ``scipy.signal.stft`` and ``tf.signal.stft``, the
mel filterbank against ``tf.signal.linear_to_mel_weight_matrix``. The mel scale
is the **HTK** formula ``mel = 1127 ln(1 + f / 700)`` with triangles that are
linear *in mel* and a zeroed DC bin, as TensorFlow uses (librosa's default
"Slaney" scale and area normalisation differ).

Conventions: signals are ``(..., samples)`` arrays (any leading batch axes);
spectrograms are ``(..., frames, bins)``, time first, like ``tf.signal``.

Example:
    >>> import numpy as np
    >>> from cnnkit import audio
    >>> t = np.arange(8000) / 8000
    >>> wave = np.sin(2 * np.pi * 440 * t)
    >>> audio.log_mel_spectrogram(wave, sample_rate=8000).shape
    (61, 40)
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from cnnkit import _validate as V

MEL_BREAK_HZ = 700.0  # HTK mel scale, as in tf.signal: mel = 1127 ln(1 + f / 700)
MEL_Q = 1127.0


# ---------------------------------------------------------------- argument checks


def _signal(signal, frame_length: int) -> np.ndarray:
    """A real, finite ``(..., samples)`` array holding at least one frame; returned without a copy."""
    signal = np.asarray(signal)
    if signal.ndim < 1 or not np.issubdtype(signal.dtype, np.number) or np.iscomplexobj(signal):
        raise V.ArgumentTypeError(f"signal must be a real array of shape (..., samples); received "
                                  f"{V.describe(signal)}.")
    V.value_range(signal, "signal")  # NaN or infinity would fill every frame it touches
    if signal.shape[-1] < frame_length:
        raise ValueError(
            f"signal must have at least one frame of samples on its last axis (frame_length={frame_length}); "
            f"received {signal.shape[-1]} samples in {V.describe(signal)}."
        )
    return signal


def _hertz(value, name: str, allow_none: bool = False) -> np.ndarray | None:
    """Frequencies (or mels): finite, non-negative real numbers, as float64 (any shape)."""
    if value is None and allow_none:
        return None
    array = V.finite_array(value, name, np.float64)
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must be non-negative; received values down to {array.min():g} in "
                         f"{V.describe(array)}.")
    return array


# ---------------------------------------------------------------- framing and the STFT


def hann_window(length: int, periodic: bool = True) -> np.ndarray:
    """The Hann window ``0.5 - 0.5 cos(2 pi n / N)``, float64.

    ``periodic=True`` (``N = length``, the default of ``tf.signal.stft`` and
    ``scipy.signal.get_window``) is the right one for spectral analysis: its
    shifted copies at 50% overlap sum to a constant. ``periodic=False``
    (``N = length - 1``) is the symmetric window used to design filters.

    Example:
        >>> np.round(hann_window(4), 6).tolist()
        [0.0, 0.5, 1.0, 0.5]
        >>> np.round(hann_window(4, periodic=False), 6).tolist()
        [0.0, 0.75, 0.75, 0.0]
    """
    length = V.positive_int(length, "length")
    periodic = V.boolean(periodic, "periodic")
    if length == 1:  # the convention of scipy and tf.signal: a one-sample window keeps the sample
        return np.ones(1)
    denominator = length if periodic else length - 1
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / denominator)


def frame(signal, frame_length: int, frame_step: int) -> np.ndarray:
    """Cut the last axis into overlapping frames, without copying (a strided view).

    Frames start at ``0, frame_step, 2 frame_step, ...``; a last partial frame
    is dropped (``tf.signal.frame`` with ``pad_end=False``).

    Args:
        signal: ``(..., samples)``.
        frame_length: samples per frame.
        frame_step: samples between the starts of consecutive frames (the hop).

    Returns:
        ``(..., 1 + (samples - frame_length) // frame_step, frame_length)``, read-only.

    Example:
        >>> frame(np.arange(6), frame_length=4, frame_step=2).tolist()
        [[0, 1, 2, 3], [2, 3, 4, 5]]
    """
    frame_length = V.positive_int(frame_length, "frame_length")
    frame_step = V.positive_int(frame_step, "frame_step")
    signal = _signal(signal, frame_length)
    windows = np.lib.stride_tricks.sliding_window_view(signal, frame_length, axis=-1)
    return windows[..., ::frame_step, :]


def stft(signal, frame_length: int = 256, frame_step: int = 128, fft_length: int | None = None,
         window: str | None = "hann") -> np.ndarray:
    """Short-time Fourier transform: the spectrum of every frame.

    Each frame is multiplied by the window (which tapers its ends so cutting
    the signal does not smear energy over all frequencies), zero-padded to
    ``fft_length`` and Fourier transformed; only the non-negative frequencies
    are kept (the signal is real, so the rest is their mirror image).

    Args:
        signal: ``(..., samples)`` real array.
        frame_length: samples per frame.
        frame_step: hop between frames, in samples.
        fft_length: FFT size, at least ``frame_length``; default the smallest
            power of two that holds a frame (``tf.signal.stft``'s default).
        window: ``"hann"`` (periodic) or ``None`` for no window (rectangular).

    Returns:
        Complex array ``(..., frames, fft_length // 2 + 1)``; bin ``k`` is the
        frequency ``k * sample_rate / fft_length``.

    Example:
        >>> stft(np.zeros(1000), frame_length=200, frame_step=100).shape
        (9, 129)
    """
    frame_length = V.positive_int(frame_length, "frame_length")
    if fft_length is None:
        fft_length = 1 << (frame_length - 1).bit_length()
    fft_length = V.positive_int(fft_length, "fft_length")
    if fft_length < frame_length:
        raise ValueError(f"fft_length must be at least frame_length ({frame_length}); received {fft_length}.")
    V.choice(window, "window", ("hann", None))
    frames = frame(signal, frame_length, frame_step)  # refuses complex signals, too short ones
    V.finite_array(signal, "signal", dtype=np.float64)  # NaN would fill every frame it touches with NaN
    if window == "hann":
        frames = frames * hann_window(frame_length)
    return np.fft.rfft(frames, n=fft_length, axis=-1)


# ---------------------------------------------------------------- the mel scale


def hz_to_mel(hertz):
    """Frequency in Hz to mel (HTK formula): roughly linear below 700 Hz, logarithmic above.

    Example:
        >>> round(float(hz_to_mel(1000.0)), 1)
        1000.0
    """
    return MEL_Q * np.log1p(_hertz(hertz, "hertz") / MEL_BREAK_HZ)


def mel_to_hz(mels):
    """Mel to frequency in Hz: the inverse of :func:`hz_to_mel`."""
    return MEL_BREAK_HZ * np.expm1(_hertz(mels, "mels") / MEL_Q)


def _edges(sample_rate, lower_edge_hertz, upper_edge_hertz) -> tuple[float, float]:
    """The band edges in Hz: ``0 <= lower < upper <= Nyquist`` (upper ``None``: Nyquist)."""
    sample_rate = V.positive_float(sample_rate, "sample_rate")
    lower_edge_hertz = V.non_negative_float(lower_edge_hertz, "lower_edge_hertz")
    upper_edge_hertz = V.positive_float(upper_edge_hertz, "upper_edge_hertz", allow_none=True)
    nyquist = sample_rate / 2.0
    upper_edge_hertz = nyquist if upper_edge_hertz is None else upper_edge_hertz
    if not 0.0 <= lower_edge_hertz < upper_edge_hertz <= nyquist:
        raise ValueError(
            f"lower_edge_hertz and upper_edge_hertz must satisfy 0 <= lower_edge_hertz < upper_edge_hertz <= "
            f"Nyquist ({nyquist:g} Hz); received lower_edge_hertz={lower_edge_hertz!r}, "
            f"upper_edge_hertz={upper_edge_hertz!r}."
        )
    return lower_edge_hertz, upper_edge_hertz


def mel_filterbank(num_mel_bins: int, num_spectrogram_bins: int, sample_rate: float,
                   lower_edge_hertz: float = 0.0, upper_edge_hertz: float | None = None) -> np.ndarray:
    """Matrix that pools linear-frequency STFT bins into triangular mel bands.

    The ``num_mel_bins + 2`` band edges are evenly spaced in mel between the
    two edge frequencies; band ``m`` rises linearly (in mel) from edge ``m``
    to 1 at edge ``m + 1`` and falls back to 0 at edge ``m + 2``. Low bands
    are narrow and high bands wide, as the ear's resolution is. The DC bin
    (0 Hz) gets no weight. This reproduces
    ``tf.signal.linear_to_mel_weight_matrix`` (HTK mel scale, no area
    normalisation).

    Args:
        num_mel_bins: number of mel bands.
        num_spectrogram_bins: STFT bins, ``fft_length // 2 + 1``.
        sample_rate: samples per second of the signal.
        lower_edge_hertz: bottom of the lowest band.
        upper_edge_hertz: top of the highest band (default: Nyquist, ``sample_rate / 2``).

    Returns:
        ``(num_spectrogram_bins, num_mel_bins)`` float64: ``mel = spectrogram @ matrix``.

    Example:
        >>> mel_filterbank(20, 129, 8000, 125.0, 3800.0).shape
        (129, 20)
    """
    num_mel_bins = V.positive_int(num_mel_bins, "num_mel_bins")
    num_spectrogram_bins = V.positive_int(num_spectrogram_bins, "num_spectrogram_bins")
    lower_edge_hertz, upper_edge_hertz = _edges(sample_rate, lower_edge_hertz, upper_edge_hertz)
    nyquist = V.positive_float(sample_rate, "sample_rate") / 2.0
    bin_mels = hz_to_mel(np.linspace(0.0, nyquist, num_spectrogram_bins))[1:, None]  # skip DC
    edges = np.linspace(hz_to_mel(lower_edge_hertz), hz_to_mel(upper_edge_hertz), num_mel_bins + 2)
    lower, center, upper = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
    rising = (bin_mels - lower) / (center - lower)
    falling = (upper - bin_mels) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.concatenate([np.zeros((1, num_mel_bins)), weights], axis=0)


def log_mel_spectrogram(signal, sample_rate: float, frame_length: int = 256, frame_step: int = 128,
                        fft_length: int | None = None, num_mel_bins: int = 40,
                        lower_edge_hertz: float = 20.0, upper_edge_hertz: float | None = None,
                        log_offset: float = 1e-6) -> np.ndarray:
    """Log-mel spectrogram: ``log(|STFT| @ mel_filterbank + log_offset)``, float32.

    This is the usual input of audio CNNs: a (time, mel band) image whose
    values are log magnitudes (so a sound 10x louder is a constant shift, not
    a 10x scale).

    Args:
        signal: ``(..., samples)`` real waveform(s).
        sample_rate: samples per second.
        frame_length, frame_step, fft_length: see :func:`stft`.
        num_mel_bins, lower_edge_hertz, upper_edge_hertz: see :func:`mel_filterbank`.
        log_offset: added before the logarithm so silence gives ``log(log_offset)``, not ``-inf``.

    Returns:
        ``(..., frames, num_mel_bins)`` float32.

    Example:
        >>> log_mel_spectrogram(np.zeros((2, 4000)), 8000).shape
        (2, 30, 40)
    """
    log_offset = V.positive_float(log_offset, "log_offset")
    spectrum = np.abs(stft(signal, frame_length, frame_step, fft_length))
    weights = mel_filterbank(num_mel_bins, spectrum.shape[-1], sample_rate, lower_edge_hertz, upper_edge_hertz)
    return np.log(spectrum @ weights + log_offset).astype(np.float32)


def frame_times(num_frames: int, frame_length: int, frame_step: int, sample_rate: float) -> np.ndarray:
    """Time in seconds of the centre of each STFT frame (for plot axes)."""
    num_frames = V.positive_int(num_frames, "num_frames")
    frame_length = V.positive_int(frame_length, "frame_length")
    frame_step = V.positive_int(frame_step, "frame_step")
    sample_rate = V.positive_float(sample_rate, "sample_rate")
    return (np.arange(num_frames) * frame_step + frame_length / 2) / sample_rate


def mel_band_centers(num_mel_bins: int, sample_rate: float, lower_edge_hertz: float = 20.0,
                     upper_edge_hertz: float | None = None) -> np.ndarray:
    """Centre frequency in Hz of each mel band of :func:`mel_filterbank` (for plot axes)."""
    num_mel_bins = V.positive_int(num_mel_bins, "num_mel_bins")
    lower_edge_hertz, upper_edge_hertz = _edges(sample_rate, lower_edge_hertz, upper_edge_hertz)
    edges = np.linspace(hz_to_mel(lower_edge_hertz), hz_to_mel(upper_edge_hertz), num_mel_bins + 2)
    return mel_to_hz(edges[1:-1])


# ---------------------------------------------------------------- WAV files: the real-world format


PCM_WIDTHS = {1: np.uint8, 2: np.int16, 4: np.int32}  # bytes per sample -> NumPy dtype (8-bit WAV is unsigned)


def write_wav(path, signal, sample_rate: int) -> Path:
    """Write a mono waveform in ``[-1, 1]`` as a 16-bit PCM WAV file (Python's ``wave`` module); return the path.

    Args:
        path: the file to write (``.wav``).
        signal: ``(samples,)`` float waveform, every value in ``[-1, 1]``.
        sample_rate: samples per second.

    Example:
        >>> path = write_wav(tmp / "tone.wav", np.sin(np.arange(8000) / 4), 8000)   # doctest: +SKIP
    """
    path = Path(path)
    sample_rate = V.positive_int(sample_rate, "sample_rate")
    signal = V.finite_array(signal, "signal", dtype=np.float64, ndim=1)
    if signal.size and np.abs(signal).max() > 1.0:
        raise ValueError(f"signal must lie in [-1, 1] (a WAV file stores fractions of full scale); "
                         f"received values up to {np.abs(signal).max():.3g}.")
    pcm = np.clip(np.round(signal * 32768), -32768, 32767).astype("<i2")  # read_wav divides by 32768
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return path


def read_wav(path) -> tuple[np.ndarray, int]:
    """Decode a PCM WAV file (8, 16 or 32 bits) to float32 in ``[-1, 1]``; return ``(signal, sample_rate)``.

    Several channels are averaged to one, since the course's models take mono sound.

    Returns:
        ``(signal, sample_rate)``: ``(samples,)`` float32 and the file's samples per second.

    Example:
        >>> signal, rate = read_wav(path)        # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be an existing WAV file; received {str(path)!r}.")
    try:
        with wave.open(str(path), "rb") as source:
            channels, width, rate = source.getnchannels(), source.getsampwidth(), source.getframerate()
            raw = source.readframes(source.getnframes())
    except (wave.Error, EOFError) as error:
        raise ValueError(f"{str(path)!r} is not a PCM WAV file Python's wave module can read: {error}.") from None
    if width not in PCM_WIDTHS:
        raise ValueError(f"read_wav reads 8-, 16- and 32-bit PCM; {str(path)!r} has {8 * width}-bit samples.")
    pcm = np.frombuffer(raw, dtype=np.dtype(PCM_WIDTHS[width]).newbyteorder("<")).astype(np.float64)
    if width == 1:
        pcm = pcm - 128.0  # 8-bit WAV is unsigned, centred on 128
    full_scale = 2.0 ** (8 * width - 1)
    signal = (pcm / full_scale).reshape(-1, channels).mean(axis=1)
    return signal.astype(np.float32), int(rate)


def fix_length(signal, num_samples: int) -> np.ndarray:
    """Trim the end off a longer waveform, or pad a shorter one with silence (zeros) at the end.

    Real recordings come in any length; a CNN with a fixed input wants exactly
    ``num_samples`` (Speech Commands' keyword models pad or trim every clip to 1 s).

    Args:
        signal: ``(..., samples)`` waveform(s).
        num_samples: the length to return.

    Returns:
        ``(..., num_samples)`` float32.

    Example:
        >>> fix_length(np.ones(5), 3).tolist(), fix_length(np.ones(2), 4).tolist()
        ([1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0])
    """
    num_samples = V.positive_int(num_samples, "num_samples")
    signal = V.finite_array(signal, "signal", dtype=np.float32)
    if signal.ndim == 0:
        raise ValueError(f"signal must have a samples axis; received a scalar {float(signal)!r}.")
    missing = num_samples - signal.shape[-1]
    if missing <= 0:
        return np.ascontiguousarray(signal[..., :num_samples])
    return np.pad(signal, [(0, 0)] * (signal.ndim - 1) + [(0, missing)])
