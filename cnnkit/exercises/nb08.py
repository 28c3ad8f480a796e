"""Exercises of notebook 08, Beyond images (``notebooks/08_beyond_images.ipynb``); solutions in ``solutions/08_beyond_images_solutions.ipynb``.

08.1 (frames and frequency bins of a longer STFT frame) and 08.6 (the depth a
dilated CNN needs) are numbers the tests recompute with ``cnnkit.audio`` and
``cnnkit.analysis``; 08.3's token and parameter counts come from building
``tiny_vit``; the functions of 08.2 (a log-mel spectrogram) and 08.7
(per-channel int8 weights) run on hidden inputs against ``cnnkit.audio`` and
``cnnkit.export.int8_code``. 08.4 and 08.5 are open questions with a model
answer. The format and the recipe are in ``cnnkit.exercises`` and
CONTRIBUTING.md ("Exercises and solutions").
"""

from __future__ import annotations

import numpy as np

# From the private modules, not from the package, which imports this module (no import cycle).
from cnnkit.exercises._checkers import expect_equal, expect_fields, expect_function
from cnnkit.exercises._core import exercise, lazy, model_answer

SAMPLE_RATE, CLIP_SAMPLES = 8000, 4000  # the notebook's clips: 0.5 s at 8 kHz


# ---------------------------------------------------------------- 08.1 longer frames


exercise("08.1", title="Longer frames", level=1, minutes=10,
         check=expect_fields({
             "frames": expect_equal(28, what="the number of STFT frames of one clip"),
             "hz_per_bin": expect_equal(15.625, what="the spacing of the STFT's frequency bins in Hz"),
         }),
         correct={"frames": 28, "hz_per_bin": 15.625}, wrong={"frames": 30, "hz_per_bin": 31.25},
         hint="A clip of N samples gives 1 + (N - frame_length) // frame_step frames; the bins of an FFT of "
              "length L are sample_rate / L apart.")


# ---------------------------------------------------------------- 08.2 a spectrogram in Keras


def log_mel_reference(waves):
    """Reference: section 1's log-mel spectrogram (256-sample frames every 128, 40 mel bands, HTK scale)."""
    from cnnkit import audio  # lazily: registering stays cheap

    return audio.log_mel_spectrogram(np.asarray(waves, dtype=np.float32), SAMPLE_RATE, 256, 128, num_mel_bins=40)


def _hidden_waves():
    from cnnkit import data

    waves, _, _ = data.make_audio(num_samples=4, seed=808)  # not the notebook's clips
    rng = np.random.default_rng(808)
    return [(waves,), (rng.normal(scale=0.3, size=(2, CLIP_SAMPLES)).astype(np.float32),)]


exercise("08.2", title="A spectrogram inside the model", level=3, minutes=40,
         check=expect_function(log_mel_reference, lazy(_hidden_waves), rtol=1e-3, atol=2e-3,
                               what="your log-mel function of a batch of waveforms"),
         correct=log_mel_reference,
         wrong=lambda waves: log_mel_reference(waves) / np.log(10.0),  # log10 instead of the natural logarithm
         hint="keras.ops.stft(x, 256, 128, 256, window='hann', center=False) returns the real and imaginary "
              "parts; their magnitude times audio.mel_filterbank(40, 129, 8000, 20.0) (section 1's bands, from "
              "20 Hz) is the mel spectrogram; then log(· + 1e-6), as audio.log_mel_spectrogram does.")


# ---------------------------------------------------------------- 08.3 patch size


# tiny_vit's defaults (embed_dim 48, depth 3) on 32×32×3 images, 6 classes; the tests rebuild them.
PATCH_COUNTS = {"tokens_p2": 256, "params_p2": 70_182, "tokens_p8": 16, "params_p8": 67_302}

exercise("08.3", title="Patch size", level=2, minutes=20,
         check=expect_fields({
             key: expect_equal(value, what=f"the number of {'tokens' if key.startswith('tokens') else 'parameters'} "
                                          f"with patch_size={key[-1]}")
             for key, value in PATCH_COUNTS.items()}),
         correct=dict(PATCH_COUNTS),
         wrong={"tokens_p2": 16, "params_p2": 62_694, "tokens_p8": 4, "params_p8": 62_694},
         hint="A 32×32 image cut into p×p patches gives (32 / p)² tokens. The patch embedding has p·p·3 "
              "weights per token unit, and the position embedding one vector per token: count_params() tells.")


# ---------------------------------------------------------------- 08.4, 08.5 open questions


model_answer("08.4", """
With a ninth of the shapes (233 images), the CNN's locality and weight sharing do most of the
work: its first layers only need to learn a few edge and corner detectors, which every image
shows many times. The ViT must first learn from those few images that neighbouring patches
belong together. Two fixes put the missing bias back:

* **augmentation** (`train.make_augmentation`: flips, shifts, rotations) multiplies the
  images the ViT sees; it helps both models, so it narrows the gap only partly;
* a **convolutional stem** (two 3×3 convolutions, stride 1 then 2, before a patch embedding
  of half the size) hands the ViT local features: the tokens then carry edges instead of raw
  pixels, and most of the gap to the CNN closes (Xiao et al., 2021, "Early convolutions help
  transformers see better").

Measure it over 3 seeds with the notebook's recipe: `experiments.repeat` for each variant,
`experiments.verdict` for the conclusion, and say "hypothesis" when the gap stays within the
spread.
""", title="Help the ViT", level=3, minutes=40)

model_answer("08.5", """
With `filler_tokens=0` the filler is drawn from the same tokens as the two that are compared,
so "first = last" must be decided against many look-alike pairs in between. The transformer
still learns it (attention can find position 0 and position L-1 through the position
vectors), and so does a GRU when it learns at all. A CNN's receptive field must still cover
the whole sequence, and now every window inside it also holds pairs of equal tokens that mean
nothing: with a mean over positions, those windows add the same evidence for "equal" to both
classes, so it needs more data or epochs (or a field that covers the sequence only at the one
output position that sees both ends, as `padding="valid"` gives) before it beats chance.
""", title="Filler that looks like content", level=2, minutes=20)


# ---------------------------------------------------------------- 08.6 longer sequences


exercise("08.6", title="Longer sequences", level=1, minutes=10,
         check=expect_fields({
             "depth": expect_equal(7, what="the fewest kernel-2 layers (dilations 1, 2, 4, ...) covering 128 tokens"),
             "field_kernel3_depth6": expect_equal(127, what="the receptive field of 6 kernel-3 layers (dilations 1 ... 32)"),
         }),
         correct={"depth": 7, "field_kernel3_depth6": 127}, wrong={"depth": 6, "field_kernel3_depth6": 128},
         hint="Layer i (from 0) with kernel k and dilation 2**i adds (k - 1) · 2**i tokens to a field of 1. "
              "analysis.receptive_field on the model after its embedding (section 3's receptive_field_of) checks it.")


# ---------------------------------------------------------------- 08.7 int8 weights by hand


def per_channel_int8(kernel):
    """Reference: symmetric int8 with one scale per output channel (the last axis), as LiteRT quantizes weights."""
    from cnnkit import export

    kernel = np.asarray(kernel, dtype=np.float32)
    code = export.int8_code(kernel, axis=-1)
    return code.quantize(kernel), code.scale.reshape(-1)


def _hidden_kernels():
    rng = np.random.default_rng(807)
    return [(rng.normal(size=(3, 3, 4, 6)).astype(np.float32) * np.geomspace(0.01, 1, 6).astype(np.float32),),
            (rng.normal(size=(5, 5, 1, 3)).astype(np.float32),)]


def _per_tensor_int8(kernel):
    kernel = np.asarray(kernel, dtype=np.float32)
    scale = np.abs(kernel).max() / 127
    return np.round(kernel / scale).astype(np.int8), np.full(kernel.shape[-1], scale)


exercise("08.7", title="int8 weights by hand", level=2, minutes=15,
         check=expect_function(per_channel_int8, lazy(_hidden_kernels), rtol=1e-5, atol=0,
                               what="your (int8 kernel, scale per output channel) function"),
         correct=per_channel_int8, wrong=_per_tensor_int8,
         hint="For each output channel c: s_c = max |w[..., c]| / 127 and q = round(w / s_c), so the largest "
              "weight of every filter becomes ±127; return q as int8 and the scales as a 1D array.")
