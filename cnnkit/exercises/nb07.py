"""Exercises of notebook 07, Video: convolutions over time (``notebooks/07_video_3d.ipynb``); solutions in ``solutions/07_video_3d_solutions.ipynb``.

07.2 (the speed task's chance level and what the reversal control says about
it), 07.3 (temporal receptive fields of ``c3d_small`` with other temporal
kernels, computed by ``cnnkit.analysis.receptive_field``) and 07.6 (chance and
the opposite class with eight directions, from ``cnnkit.data``) have exact
answers. 07.4's ``inflate_network`` function is run on two hidden per-frame
CNNs with random weights and compared, output for output, with the reference
inflation below. 07.1 and 07.5 are experiments whose outcome depends on seeds
and budget: they get a model answer. The format and the recipe are in
``cnnkit.exercises`` and CONTRIBUTING.md ("Exercises and solutions").
"""

from __future__ import annotations

import numpy as np

# From the private modules, not from the package, which imports this module (no import cycle).
from cnnkit.exercises._checkers import (
    call_answer,
    describe,
    expect_close,
    expect_equal,
    expect_fields,
)
from cnnkit.exercises._core import exercise, lazy, model_answer, resolve

FRAMES, SIZE, CLASSES = 8, 32, 4  # the notebook's clips: 8 frames of 32×32, 4 directions
CONVS = ("conv1", "conv2", "conv3")


# ---------------------------------------------------------------- 07.1 harder motion


model_answer("07.1", (
    "Train the CNN + GRU with `train_on_hard_clips` over the same seeds and add it to `hard_results` "
    "before calling `experiments.compare`, so that it gets section 5's budget exactly. Its features "
    "are per-frame 2D features of 16-32-32 channels, compared only by the GRU after global pooling: "
    "with 30% coherent dots and noise, the few coherent dots are a small part of each frame's pooled "
    "feature vector, so expect it to rank below the models that mix time early (early fusion, R(2+1)D), "
    "possibly without learning at all in this budget (in section 3 it took off later than the 3D models, on "
    "clean clips); read its rank from the verdicts, not from the means. "
    "With `coherence=0.2` every model loses accuracy and the spreads grow: a verdict that survives "
    "(a gap larger than the combined spread) is a finding, one that turns into 'hypothesis only' was "
    "never more than the seeds; with more coherence removed, expect more of them to become hypotheses."),
    title="Harder motion", level=3, minutes=40)


# ---------------------------------------------------------------- 07.2 speed classes


exercise("07.2", title="Speed classes", level=2, minutes=20,
         check=expect_fields({
             "chance": expect_close(0.5, rtol=1e-3, what="the chance accuracy of the two-class speed task"),
             "reversal_changes_label": expect_equal(False, what="whether playing a speed clip backwards changes "
                                                                "its label"),
             "per_frame_can_solve": expect_equal(False, what="whether a per-frame CNN (features averaged over "
                                                             "time) can beat chance on it"),
         }),
         correct={"chance": 0.5, "reversal_changes_label": False, "per_frame_can_solve": False},
         wrong={"chance": 0.25, "reversal_changes_label": True, "per_frame_can_solve": True},
         hint="Backwards, a dot still moves the same number of pixels per frame. Then ask what one frame of a "
              "slow clip and one of a fast clip look like: dots at random places in both.")


# ---------------------------------------------------------------- 07.3 temporal kernel size


def temporal_fields(temporal_kernel: int) -> list[int]:
    """The temporal receptive fields of c3d_small's conv1, conv2 and conv3 with this temporal kernel."""
    from cnnkit import analysis  # lazily: registering stays cheap
    from cnnkit.models import create_model

    model = create_model("c3d_small", num_classes=CLASSES, input_shape=(FRAMES, SIZE, SIZE, 1),
                         temporal_kernel=temporal_kernel)
    field = analysis.receptive_field(model)
    return [int(field[name].size[0]) for name in CONVS]


exercise("07.3", title="Temporal kernel size", level=2, minutes=20,
         check=expect_fields({
             f"fields_t{t}": expect_equal(lazy(lambda t=t: temporal_fields(t)),
                                          what=f"the temporal fields of conv1, conv2, conv3 with temporal_kernel={t}")
             for t in (1, 5)}),
         correct=lazy(lambda: {"fields_t1": temporal_fields(1), "fields_t5": temporal_fields(5)}),
         wrong={"fields_t1": [1, 2, 3], "fields_t5": [5, 10, 15]},  # pooling that does not double the jump
         hint="Section 6's rule: a layer of temporal extent k adds (k - 1) × j frames, a pooling window of 2 frames "
              "adds 1 × j and doubles j. analysis.receptive_field(model)['conv3'].size[0] checks it.")


# ---------------------------------------------------------------- 07.4 inflate a whole network


def inflate_reference(per_frame_model):
    """Reference: a c3d_small with the per-frame CNN's weights, each (1, 3, 3) kernel inflated to (3, 3, 3)."""
    from cnnkit import video
    from cnnkit.models import create_model

    c3d = create_model("c3d_small", num_classes=per_frame_model.output_shape[-1],
                       input_shape=tuple(per_frame_model.input_shape[1:]))
    for layer in c3d.layers:
        weights = per_frame_model.get_layer(layer.name).get_weights()
        if layer.name in CONVS:
            kernel_2d = weights[0][0]  # (1, 3, 3, in, out) -> (3, 3, in, out)
            weights = [video.inflate_2d_to_3d(kernel_2d, time=layer.kernel_size[0]), *weights[1:]]
        layer.set_weights(weights)
    return c3d


def _hidden_per_frame_cnns():
    """Two per-frame CNNs with random weights, batch-norm statistics included, and clips to run them on."""
    import keras

    from cnnkit import data
    from cnnkit.models import create_model

    models = []
    for seed in (701, 702):
        keras.utils.set_random_seed(seed)
        model = create_model("per_frame_cnn", num_classes=CLASSES, input_shape=(FRAMES, SIZE, SIZE, 1))
        rng = np.random.default_rng(seed)
        for layer in model.layers:
            if layer.name.startswith("bn"):  # gamma, beta, moving mean, moving variance
                gamma, beta, mean, variance = layer.get_weights()
                layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                                   rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 1.5, variance.shape)])
        models.append(model)
    clips, _, _ = data.make_motion_clips(num_samples=8, frames=FRAMES, image_size=SIZE, seed=707)
    return models, clips


HIDDEN = lazy(_hidden_per_frame_cnns)  # built on first use


def _check_inflate(function):
    import keras

    if not callable(function):
        raise AssertionError(f"Expected inflate_network as a function of a per-frame CNN. Received {describe(function)}.")
    models, clips = resolve(HIDDEN)
    for i, per_frame in enumerate(models, start=1):
        inflated = call_answer(function, per_frame, name="inflate_network",
                               where=f"on hidden per-frame network {i} of {len(models)}")
        if not isinstance(inflated, keras.Model):
            raise AssertionError(f"Expected inflate_network to return a keras Model (a c3d_small). "
                                 f"Received {describe(inflated)} for hidden network {i}.")
        try:
            received = keras.ops.convert_to_numpy(inflated(clips, training=False))  # no predict: no retracing
        except Exception as error:  # a model built for other clips
            raise AssertionError(f"Expected the inflated model to take clips of shape {clips.shape[1:]}. Received "
                                 f"an error: {type(error).__name__}: {str(error)[:300]}") from None
        expected = keras.ops.convert_to_numpy(inflate_reference(per_frame)(clips, training=False))
        if received.shape != expected.shape or not np.allclose(received, expected, rtol=1e-4, atol=1e-4):
            difference = (f"outputs of shape {received.shape}" if received.shape != expected.shape else
                          f"outputs that differ by up to {float(np.abs(received - expected).max()):.3g}")
            raise AssertionError(f"Expected the inflated model to give the outputs of the per-frame CNN's weights "
                                 f"inflated to a c3d_small, on hidden clips. Received {difference} for hidden "
                                 f"network {i} of {len(models)}.")
    return f"matches the reference inflation on {len(models)} hidden per-frame CNNs"


def _inflate_without_dividing(per_frame_model):
    """A typical mistake: the 2D kernel repeated along time but not divided by t (3 times too strong)."""
    c3d = inflate_reference(per_frame_model)
    for name in CONVS:
        layer = c3d.get_layer(name)
        layer.set_weights([w * layer.kernel_size[0] if w.ndim == 5 else w for w in layer.get_weights()])
    return c3d


exercise("07.4", title="Inflate a whole network", level=3, minutes=40,
         check=expect_fields({
             "inflate_network": _check_inflate,
             "reversal_invariant": expect_equal(True, what="whether the inflated network, before fine-tuning, "
                                                           "gives a clip and its reversal the same output"),
         }),
         correct={"inflate_network": inflate_reference, "reversal_invariant": True},
         wrong={"inflate_network": _inflate_without_dividing, "reversal_invariant": False},
         hint="Per layer: video.inflate_2d_to_3d(kernel[0], time=3) for conv1-conv3 (the per-frame kernels are "
              "(1, 3, 3, in, out)), get_weights/set_weights unchanged for bn1-bn3 and logits. An inflated kernel "
              "has the same slice at every time tap: what does that make it under time reversal?")


# ---------------------------------------------------------------- 07.5 where the GRU looks


model_answer("07.5", (
    "Compute it as section 9 does: `video.temporal_saliency(results['cnn_gru']['model'], x_win)` and compare the "
    "mean drop inside the motion window (frames 2-4) with the drop outside it, next to C3D's. A GRU that learned "
    "to compare consecutive frames also depends on the moving frames and hardly on the still ones, but the way "
    "it reads them differs: C3D's decision is a sum of local space-time detectors, so each moving frame counts "
    "about equally, while the GRU reads the frames in order and its state carries what it has seen, so blanking "
    "a frame can change everything after it, and its drops may be less even across the window. Measure it on the notebook's models before concluding; "
    "with one trained model per architecture, a difference in shape is an observation, not a law."),
    title="Where the GRU looks", level=2, minutes=15)


# ---------------------------------------------------------------- 07.6 eight directions


exercise("07.6", title="Eight directions", level=1, minutes=10,
         check=expect_fields({
             "chance": expect_close(0.125, rtol=1e-3, what="the chance accuracy with eight directions"),
             "opposite_of_class_1": expect_equal(5, what="the label of the direction opposite to class 1"),
         }),
         correct={"chance": 0.125, "opposite_of_class_1": 5}, wrong={"chance": 0.25, "opposite_of_class_1": 3},
         hint="Eight balanced classes; the names come from data.make_motion_clips(..., num_directions=8), and "
              "data.reverse_clips(clips, labels, num_directions=8) maps every label to its opposite.")
