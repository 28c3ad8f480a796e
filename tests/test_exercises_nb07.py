"""The checks of notebook 07's exercises on the wrong answers a learner is likely to give.

The generic test in ``tests/test_exercises.py`` runs every check with its
registered correct and wrong examples; these add the other typical mistakes and
recompute the facts the checks hold: the temporal fields of 07.3 by section 6's
rule against ``analysis.receptive_field``, the reversal invariance of an
inflated network (07.4), and chance and the opposite direction with eight
classes (07.6) from ``cnnkit.data``.
"""

from __future__ import annotations

import keras
import numpy as np
from exercise_helpers import check, rejected

from cnnkit import data, exercises
from cnnkit.exercises import TODO, nb07
from cnnkit.models import create_model


def test_every_exercise_of_07_is_registered_in_order():
    assert [e.id for e in exercises.registered("07")] == [f"07.{k}" for k in range(1, 7)]
    answered = {"07.2", "07.3", "07.4", "07.6"}
    for e in exercises.registered("07"):
        assert (e.kind == exercises.MODEL_ANSWER) == (e.id not in answered), e.id


def test_speed_classes_two_balanced_classes_and_wrong_reasoning_is_rejected():
    correct = {"chance": 0.5, "reversal_changes_label": False, "per_frame_can_solve": False}
    assert check("07.2", correct).startswith("✔ 07.2")
    # Reversed, a clip has the same frame-to-frame differences (in the other order): its speed is unchanged.
    clips, _, _ = data.make_motion_clips(num_samples=4, frames=8, image_size=16, speed=2.5, seed=3)
    step = lambda c: np.abs(np.diff(c, axis=1)).mean(axis=(2, 3, 4))  # noqa: E731
    np.testing.assert_allclose(np.sort(step(clips), axis=1), np.sort(step(clips[:, ::-1]), axis=1), rtol=1e-6)
    rejected("07.2", {**correct, "chance": 0.25}, "chance accuracy")
    rejected("07.2", {**correct, "reversal_changes_label": True}, "backwards")
    rejected("07.2", {**correct, "per_frame_can_solve": True}, "per-frame CNN")
    assert check("07.2", {**correct, "chance": TODO}).startswith("07.2: not answered yet (still TODO: chance)")


def fields_by_the_rule(temporal_kernel: int) -> list[int]:
    """Section 6's rule for c3d_small: conv adds (k - 1) × j; each 2-frame pooling adds 1 × j and doubles j."""
    field, jump, fields = 1, 1, []
    for stage in range(3):
        field += (temporal_kernel - 1) * jump
        fields.append(field)
        if stage < 2:  # pool1 and pool2 pool time by 2
            field += jump
            jump *= 2
    return fields


def test_temporal_fields_follow_section_6s_rule_and_analysis():
    for t in (1, 3, 5):
        assert nb07.temporal_fields(t) == fields_by_the_rule(t)
    assert nb07.temporal_fields(3) == [3, 8, 18]  # the notebook's section 6
    answer = {"fields_t1": fields_by_the_rule(1), "fields_t5": fields_by_the_rule(5)}
    assert check("07.3", answer).startswith("✔ 07.3")
    assert check("07.3", {k: tuple(v) for k, v in answer.items()}).startswith("✔ 07.3")  # a tuple is fine
    rejected("07.3", {**answer, "fields_t5": [5, 13, 29]}, "temporal_kernel=5")  # pooling windows forgotten
    rejected("07.3", {**answer, "fields_t1": 4}, "sequence of 3 values")  # only conv3's field


def per_frame_cnn(seed=0):
    keras.utils.set_random_seed(seed)
    return create_model("per_frame_cnn", num_classes=nb07.CLASSES, input_shape=(nb07.FRAMES, nb07.SIZE, nb07.SIZE, 1))


def test_an_inflated_network_is_exactly_reversal_invariant():
    inflated = nb07.inflate_reference(per_frame_cnn())
    clips, _, _ = data.make_motion_clips(num_samples=6, frames=nb07.FRAMES, image_size=nb07.SIZE, seed=11)
    original = inflated.predict(clips, verbose=0)
    np.testing.assert_allclose(inflated.predict(clips[:, ::-1], verbose=0), original, atol=1e-5)
    c3d = create_model("c3d_small", num_classes=nb07.CLASSES, input_shape=clips.shape[1:])  # random 3D kernels are not
    assert np.abs(c3d.predict(clips[:, ::-1], verbose=0) - c3d.predict(clips, verbose=0)).max() > 1e-4


def test_inflation_slips_are_rejected_and_an_unfinished_function_is_not_answered():
    assert check("07.4", {"inflate_network": nb07.inflate_reference, "reversal_invariant": True}).startswith("✔ 07.4")

    def batch_norm_not_copied(per_frame_model):
        c3d = nb07.inflate_reference(per_frame_model)
        for name in ("bn1", "bn2", "bn3"):
            layer = c3d.get_layer(name)
            layer.set_weights([np.ones_like(w) if i in (0, 3) else np.zeros_like(w)
                               for i, w in enumerate(layer.get_weights())])
        return c3d

    message = rejected("07.4", {"inflate_network": batch_norm_not_copied, "reversal_invariant": True},
                       "differ by up to")
    assert "hidden network 1 of 2" in message
    rejected("07.4", {"inflate_network": lambda model: model, "reversal_invariant": True}, "inflated")
    rejected("07.4", {"inflate_network": lambda model: model.get_weights(), "reversal_invariant": True},
             "keras Model")
    rejected("07.4", {"inflate_network": lambda model: 1 / 0, "reversal_invariant": True}, "ZeroDivisionError",
             received=False)
    rejected("07.4", {"inflate_network": nb07.inflate_reference, "reversal_invariant": False}, "reversal")
    unfinished = {"inflate_network": lambda model: TODO, "reversal_invariant": True}
    assert check("07.4", unfinished) == "07.4: not answered yet\n"


def test_eight_directions_chance_and_opposite_come_from_the_data():
    clips, labels, names = data.make_motion_clips(num_samples=16, frames=4, image_size=16, num_directions=8, seed=5)
    assert np.bincount(labels).tolist() == [2] * 8  # balanced: chance is 1/8
    _, reversed_labels = data.reverse_clips(clips, labels, num_directions=8)
    opposite = dict(zip(labels.tolist(), reversed_labels.tolist()))
    assert (names[1], names[opposite[1]]) == ("up-right", "down-left")
    assert check("07.6", {"chance": 1 / len(names), "opposite_of_class_1": opposite[1]}).startswith("✔ 07.6")
    rejected("07.6", {"chance": 0.125, "opposite_of_class_1": (1 + 2) % 8}, "opposite")  # four-direction thinking
    rejected("07.6", {"chance": 0.125, "opposite_of_class_1": "down-left"}, "whole number")  # a name, not a label


def test_open_questions_point_to_their_model_answer():
    for exercise_id in ("07.1", "07.5"):
        assert "07_video_3d_solutions" in check(exercise_id)
