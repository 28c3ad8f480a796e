"""Deprecated: the sound plots moved to :mod:`cnnkit.viz.audio`, ``show_patches`` to :mod:`cnnkit.viz.inspect`.

Plots are grouped by topic, not by notebook. ``cnnkit.viz.<function>`` is the
path to use; this module keeps the old one working for one release, with a
``DeprecationWarning``.
"""

from cnnkit._deprecated import moved

__getattr__ = moved(__name__, {
    **{name: "cnnkit.viz.audio" for name in ("show_filterbank", "show_sounds", "show_spectrogram", "show_waveform")},
    "show_patches": "cnnkit.viz.inspect",
})
