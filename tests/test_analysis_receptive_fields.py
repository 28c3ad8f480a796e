"""cnnkit.analysis.receptive_field against ground truth: measured fields, published values, hand arithmetic.

Three kinds of reference:

* *measured*: for linear models with all-ones kernels, the input pixels an output
  unit depends on are exactly where the gradient of that unit is non-zero; we
  compare the predicted field of a unit with that support;
* *published*: receptive fields of standard architectures from Araujo, Norris &
  Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill
  2019, and their library's tables (google-research/receptive_field,
  ``receptive_field/RECEPTIVE_FIELD_TABLE.md`` and ``RF_Keras_Applications.ipynb``);
* *hand-computed*: the arithmetic written out in the test.
"""

import warnings

import keras
import numpy as np
import pytest
from analysis_models import (
    branches,
    chain_1d,
    chain_2d,
    chain_3d,
    custom_layer,
    depthwise_separable,
    nested,
    padding_and_cropping,
    permuted,
    shifted_branches,
    time_distributed,
)

from cnnkit import analysis

L = keras.layers


# ---------------------------------------------------------------- measured receptive fields


def measured_support(model, unit):
    """Per spatial axis, the (first, last) input index the output unit at ``unit`` depends on.

    The models are linear with non-negative weights, so the unit is positive for an input that is
    one on a single slice (all pixels with coordinate i on one axis) exactly when that slice crosses
    its field. One batch holds every slice of every axis.
    """
    shape = tuple(model.inputs[0].shape[1:])
    spatial = shape[:-1]
    probes, owners = [], []
    for axis, n in enumerate(spatial):
        for i in range(n):
            x = np.zeros(shape, "float32")
            x[(slice(None),) * axis + (i,)] = 1.0
            probes.append(x)
            owners.append((axis, i))
    y = model.predict(np.stack(probes), verbose=0)
    values = y[(slice(None), *unit)].reshape(len(probes), -1).sum(axis=1)
    support = []
    for axis in range(len(spatial)):
        hits = [i for (a, i), v in zip(owners, values) if a == axis and v > 1e-6]
        support.append((hits[0], hits[-1]))
    return support


def predicted_support(row, unit, input_size):
    out = []
    for s, j, r, u, n in zip(row.start, row.jump, row.size, unit, input_size):
        first = s + u * j
        out.append((max(first, 0), min(first + r - 1, n - 1)))
    return out


@pytest.mark.parametrize("build", [chain_2d, padding_and_cropping, chain_1d, chain_3d, branches, nested,
                                   custom_layer, time_distributed, depthwise_separable,
                                   shifted_branches],
                         ids=lambda f: f.__name__)
def test_predicted_field_is_the_measured_one(build):
    model = build()
    rf = analysis.receptive_field(model)
    out_size = model.outputs[0].shape[1:-1]
    in_size = model.inputs[0].shape[1:-1]
    # Unit 0 (its field reaches into the left/top padding) and interior units. (Near the far border a
    # field can cover positions that are padding in some intermediate layer, or pixels a "valid"
    # stride never reaches: the formula gives the span of the field, the gradient what is used.)
    for unit in [(0,) * len(out_size), tuple(n // 2 for n in out_size), tuple(n // 3 for n in out_size)]:
        assert predicted_support(rf.final, unit, in_size) == measured_support(model, unit), (unit, rf)


def test_hand_computed_chain():
    # conv 3 (same) -> conv 5 stride 2 (valid) -> pool 3 stride 2 (same) -> conv 3 dilation 2 -> conv (3, 1)
    # size:  1 + 2*1 = 3;  3 + 4*1 = 7;  7 + 2*2 = 11;  11 + 4*4 = 27;  then (27 + 2*4, 27) = (35, 27)
    # jump:  1, 1, 2, 4, 4, 4
    rf = analysis.receptive_field(chain_2d())
    assert [r.size for r in rf.rows] == [(3, 3), (7, 7), (11, 11), (27, 27), (35, 27)]
    assert [r.jump for r in rf.rows] == [(1, 1), (1, 1), (2, 2), (4, 4), (4, 4), (4, 4)][1:]
    # start: -1 (same pad 1), -1, then TF "same" pooling on (19, 16): pads (1, 0) -> -1 - 1*2 = -3,
    # dilated conv pads 2 at jump 4 -> -11; the (3, 1) conv pads 1 on the height only -> (-15, -11).
    assert [r.start for r in rf.rows] == [(-1, -1), (-1, -1), (-3, -1), (-11, -9), (-15, -9)]
    assert rf.final.center == (-15 + 17, -9 + 13)


def test_temporal_field_of_a_conv3d_model():
    # Time axis: conv 3 (same, stride 1) -> pool 2 -> conv 3 at jump 2: 1 + 2 + 1 + 2*2 = 8 frames.
    rf = analysis.receptive_field(chain_3d())
    assert rf.size[0] == 8 and rf.jump[0] == 2
    assert rf.size[1:] == (3 + 2 * 1 + 0, 3 + 2 * 1 + 0) and rf.jump[1:] == (4, 4)


# ---------------------------------------------------------------- published receptive fields

# google-research/receptive_field, RECEPTIVE_FIELD_TABLE.md, vgg_16 at resolution 224:
# end-point: (receptive field, effective stride, effective padding). Keras's VGG16 has the same layers.
VGG16 = {
    "block1_conv1": (3, 1, 1), "block1_pool": (6, 2, 2), "block2_conv1": (10, 2, 4), "block2_pool": (16, 4, 6),
    "block3_conv1": (24, 4, 10), "block3_conv2": (32, 4, 14), "block3_pool": (44, 8, 18),
    "block4_conv1": (60, 8, 26), "block4_conv2": (76, 8, 34), "block4_pool": (100, 16, 42),
    "block5_conv1": (132, 16, 58), "block5_conv2": (164, 16, 74), "block5_pool": (212, 32, 90),
}

# Same table, mobilenet_v1 at 224, Conv2d_{i}_pointwise (Keras names them conv_pw_{i}).
MOBILENET_V1 = {1: (7, 2, 2), 2: (11, 4, 2), 3: (19, 4, 6), 4: (27, 8, 6), 5: (43, 8, 14), 6: (59, 16, 14),
                7: (91, 16, 30), 8: (123, 16, 46), 9: (155, 16, 62), 10: (187, 16, 78), 11: (219, 16, 94),
                12: (251, 32, 94), 13: (315, 32, 126)}


def check(row, expected):
    size, stride, padding = expected
    assert (row.size, row.jump, row.effective_padding) == ((size,) * 2, (stride,) * 2, (padding,) * 2), row


def test_vgg16_every_end_point():
    rf = analysis.receptive_field(keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3)))
    for name, expected in VGG16.items():
        check(rf[name], expected)
    assert rf.final.name == "block5_pool"


def test_vgg16_with_unknown_input_size_and_given_input_shape():
    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(None, None, 3))
    check(analysis.receptive_field(model).final, VGG16["block5_pool"])  # valid pools: no size dependence
    check(analysis.receptive_field(model, input_shape=(224, 224, 3)).final, VGG16["block5_pool"])


def test_mobilenet_v1_every_pointwise_layer():
    rf = analysis.receptive_field(keras.applications.MobileNet(weights=None, input_shape=(224, 224, 3)))
    for i, expected in MOBILENET_V1.items():
        check(rf[f"conv_pw_{i}"], expected)


def test_resnet50():
    # Table, resnet_v1_50: block1..block4 fields 35, 99, 291, 483; final stride 32. TF-slim puts each
    # stage's stride at the end of the previous stage, Keras (like the original Caffe model) at its
    # start, so the per-stage strides differ (slim: 8, 16, 32, 32) while the fields agree.
    rf = analysis.receptive_field(keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3)))
    sizes = [rf[f"conv{i}_block{n}_out"].size[0] for i, n in ((2, 3), (3, 4), (4, 6), (5, 3))]
    assert sizes == [35, 99, 291, 483] and rf.final.name == "conv5_block3_out" and rf.jump == (32, 32)
    # Effective padding: the table gives 239 at 224 and 241 at 321. Keras pads the 3x3 max pool
    # explicitly by 1 (ZeroPadding2D), slim uses TF "SAME", which pads 0 before on an even input
    # (112) and 1 on an odd one (161). By hand for Keras: conv1 3, pool 1*2, stage 2: 3 blocks*1*4,
    # stage 3: 4*8, stage 4: 6*16, stage 5: 3*32 -> 3 + 2 + 12 + 32 + 96 + 96 = 241.
    assert rf.final.effective_padding == (241, 241)


def test_inception_v3():
    # RF_Keras_Applications.ipynb (google-research/receptive_field) runs their library on
    # tf.keras.applications.InceptionV3: conv2d_85 -> field 1183, stride 32, padding 554.
    model = keras.applications.InceptionV3(weights=None, input_shape=(299, 299, 3))
    rf = analysis.receptive_field(model)
    convs = sorted((layer for layer in model.layers if type(layer) is L.Conv2D),
                   key=lambda layer: int(layer.name.rsplit("_", 1)[1]) if "_" in layer.name else 0)
    check(rf[convs[85].name], (1183, 32, 554))  # the 86th Conv2D created: "conv2d_85" in a fresh session
    # The table's inception_v3 / Mixed_7c (Keras: mixed10): 1311, 32, 618.
    check(rf["mixed10"], (1311, 32, 618))
    assert rf.final.name == "mixed10" and rf.rows[-1].is_global


# ---------------------------------------------------------------- global pooling, SE gates, unknown layers


def test_global_rows_and_final_feature_map():
    model = keras.Sequential([keras.Input((16, 16, 3)), L.Conv2D(4, 3), L.MaxPooling2D(),
                              L.GlobalAveragePooling2D(), L.Dense(2)])
    rf = analysis.receptive_field(model)
    assert rf.final.name == rf.rows[1].name and rf.size == (4, 4)
    assert rf.rows[2].is_global and rf.rows[3].is_global and rf.rows[3].size == (16, 16)
    assert "global" in str(rf)


def test_squeeze_excite_gate_is_global_context():
    inputs = keras.Input((16, 16, 4))
    x = L.Conv2D(4, 3, padding="same")(inputs)
    gate = L.Dense(4, activation="sigmoid")(L.GlobalAveragePooling2D(keepdims=True)(x))
    out = L.Multiply(name="excite")([x, gate])
    rf = analysis.receptive_field(keras.Model(inputs, out))
    assert rf["excite"].size == (3, 3) and not rf["excite"].is_global
    assert rf["excite"].note == "global context merged in"


def test_unknown_layers_warn_and_say_what_was_assumed():
    model = keras.Sequential([keras.Input((16, 16, 1)), L.Conv2D(1, 3, padding="same"),
                              L.Lambda(lambda t: t * 2.0, name="double"),
                              L.Lambda(lambda t: t[:, ::2, ::2, :], name="subsample")])
    with pytest.warns(UserWarning) as caught:
        rf = analysis.receptive_field(model)
    messages = [str(w.message) for w in caught]
    assert any("unknown layer Lambda 'double' keeps the spatial size" in m for m in messages), messages
    assert rf["double"].size == (3, 3) and rf["double"].note == "unknown: treated as transparent"
    assert rf["subsample"].jump == (2, 2) and "treated as a window" in " ".join(rf.warnings)


def test_custom_layer_that_cannot_be_traced_uses_its_declared_path():
    class Opaque(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = L.Conv2D(2, 5, strides=2, padding="same")

        def build(self, input_shape):
            self.conv.build(input_shape)

        def call(self, inputs):
            if isinstance(inputs, keras.KerasTensor):  # refuses symbolic tracing
                raise TypeError("eager tensors only")
            return self.conv(inputs)

        def compute_output_shape(self, input_shape):
            return self.conv.compute_output_shape(input_shape)

        def receptive_field_path(self):
            return [(5, 2, 1)]

    model = keras.Sequential([keras.Input((16, 16, 1)), Opaque(name="opaque")])
    rf = analysis.receptive_field(model)
    assert rf["opaque"].size == (5, 5) and rf["opaque"].jump == (2, 2) and rf["opaque"].start == (-1, -1)
    assert rf["opaque"].note == "receptive_field_path()"
    assert analysis.summary_table(model).unknown == ["opaque"]  # its MACs cannot be seen


def test_adaptive_pooling_exact_and_unequal_bins():
    model = keras.Sequential([keras.Input((8, 7, 1)), L.AdaptiveAveragePooling2D((4, 4), name="adaptive")])
    row = analysis.receptive_field(model)["adaptive"]
    # 8 -> 4: bins of exactly 2 (a pooling window 2, stride 2); 7 -> 4: bins of 2 or 3 pixels.
    assert row.size == (2, 3) and row.jump == (2, 1.75) and row.note == "unequal bins: largest bin used"


# ---------------------------------------------------------------- errors and the table


def test_errors_say_what_was_expected():
    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match=r"received Subclassed, a subclassed model"):
        analysis.receptive_field(Subclassed())
    with pytest.raises(ValueError, match=r"has no spatial axes"):
        analysis.receptive_field(keras.Sequential([keras.Input((5,)), L.Dense(2)]))
    with pytest.raises(ValueError, match=r"input_shape must give one shape .* received \(32, 32\)"):
        analysis.receptive_field(chain_2d(), input_shape=(32, 32))
    with pytest.raises(KeyError, match=r"No layer named 'nope'"):
        analysis.receptive_field(chain_2d())["nope"]


def test_the_table_as_rows_and_text():
    rf = analysis.receptive_field(chain_2d())
    assert len(rf) == 5 and [r.name for r in rf] == [r["name"] for r in rf.to_rows()]
    assert rf.to_rows()[-1] == {"name": rf.final.name, "kind": "Conv2D", "output_shape": (10, 8, 2), "size": (35, 27),
                                "jump": (4, 4), "start": (-15, -9), "is_global": False, "note": ""}
    assert str(rf).splitlines()[-1] == (f"final ({rf.final.name}): receptive field 35x27, jump 4, start -15x-9 "
                                        "(input (41, 36, 1))")
    assert len(rf.to_string(only_changes=True).splitlines()) == len(str(rf).splitlines())  # each row changes


def test_no_warnings_for_standard_layers():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analysis.receptive_field(branches())
        analysis.receptive_field(nested())


def test_merged_branches_take_the_union_of_their_fields():
    # frames t + 1 and t merged: 2 frames (the old rule, largest size, said 1); rows 2 apart: 3 rows.
    rf = analysis.receptive_field(shifted_branches())
    assert rf.rows[2].size == (2, 3, 1) and rf.rows[2].start == (0, 0, 0)
    assert rf.size == (3, 5, 3)


def test_frame_differences_see_two_frames():
    x = keras.Input((8, 16, 16, 1))
    diff = L.Subtract()([L.Cropping3D(((1, 0), (0, 0), (0, 0)))(x), L.Cropping3D(((0, 1), (0, 0), (0, 0)))(x)])
    assert analysis.receptive_field(keras.Model(x, diff)).size == (2, 1, 1)


def test_permute_reorders_the_axes_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rf = analysis.receptive_field(permuted())
    # Fields are per axis of each layer's output: after the swap, axis 0 is the input's width.
    assert rf.rows[0].size == (5, 1) and rf.rows[1].size == (1, 5)
    assert rf.size == (3, 5) and rf.jump == (2, 1) and not rf.warnings
